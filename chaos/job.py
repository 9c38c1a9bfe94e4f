"""The soak's job: a properties file in CHAOS_DIR in the job's usual layout (reports under
CHAOS_DIR/Missing_Customer_Files/, the status file and its run history in CHAOS_DIR), a small
generated DuckDB warehouse with every day of the soak, and the reference job under
CHAOS_DIR/reference/ that runs the same days without the cluster and without faults."""

from __future__ import annotations

import datetime as dt
import email
import json
import re
from email import policy
from pathlib import Path

from chaos.invariants import Message
from mnaas_missing_files.cli.demo_data import DataSpec, generate, write_duckdb
from tests.helpers.jobconfig import CUSTOMERS, EXAMPLES, INFONOVA, PROCESSES

STATUS_NAME = "MNAAS_Missing_Customer_Files_ProcessStatusFile"
REPORT_DIR = "Missing_Customer_Files"
# Each run in a few seconds, and every fault worth its cost: see docs/reliability.md.
SOAK_SETTINGS = {
    "MNAAS_TIMEZONE": "UTC",
    # Ticks at midnight UTC: the catch-up window ends yesterday (soak_days), whatever the hour.
    "MNAAS_SCHEDULE": "0 0 * * *",
    "MNAAS_GROUP_SIZE": "2",  # 16 groups over 4 tasks: pool processes to kill mid-run
    "MNAAS_QUERY_ATTEMPTS": "3",
    "MNAAS_RETRY_BACKOFF": "1",
    # Retries 1+2+4+8+16+30 s apart: the 7th attempt comes 61 s after the first, past the
    # menu's longest SMTP outage (60 s).
    "MNAAS_MAIL_ATTEMPTS": "7",
    # Every task's hard limit (the callback's too, which rides out that outage: soft 72 s).
    "MNAAS_GROUP_TIME_LIMIT": "80",
    "MNAAS_VISIBILITY_TIMEOUT": "90",
    # Above the callback's longest mail ride-out (61 s), so a run riding it out keeps the job.
    "MNAAS_LOCK_TTL": "90",
    "MNAAS_SWEEP_INTERVAL": "5",
    "MNAAS_DEADLINE": "",
}


def write_job(root: Path, settings: dict[str, str]) -> Path:
    """The example job rewired to `root`; `settings` appended. The properties file's path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    common = (EXAMPLES / "MNAAS_CommonProperties.properties").read_text()
    common = re.sub(r"(?m)^MNAASLocalLogPath=.*$", f"MNAASLocalLogPath={root / 'logs'}", common)
    common = re.sub(r"(?m)^MNAASConfPath=.*$", f"MNAASConfPath={root}", common)
    (root / "common.properties").write_text(common)
    text = (EXAMPLES / "MNAAS_Missing_Customer_Files.properties").read_text()
    text = re.sub(r"(?m)^\. /app/\S+$", f". {root / 'common.properties'}", text)
    # Single quotes: a sentinel URL list holds ';', which the shell syntax would split on.
    text += "".join(f"\n{key}='{value}'" for key, value in settings.items())
    config = root / "job.properties"
    config.write_text(text + "\n")
    (root / STATUS_NAME).write_text((EXAMPLES / STATUS_NAME).read_text())
    return config


def write_warehouse(path: Path, days: list[dt.date]) -> None:
    spec = DataSpec(
        days=days, processes=PROCESSES, customers=CUSTOMERS + INFONOVA, files_per_pair=3, missing_fraction=0.1
    )
    write_duckdb(path, generate(spec))


def soak_days(runs: int, today: dt.date) -> list[dt.date]:
    """RUNS distinct days ending yesterday (the catch-up window's last days among them)."""
    yesterday = today - dt.timedelta(days=1)
    return [yesterday - dt.timedelta(days=n) for n in range(runs - 1, -1, -1)]


def history(root: Path) -> list[dict]:
    path = root / f"{STATUS_NAME}.runs.jsonl"
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue  # a torn last line is the writer's to repair; the checker reads the rest
    return entries


def status(root: Path) -> dict[str, str]:
    lines = (root / STATUS_NAME).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def reports(root: Path, days: list[str]) -> dict[str, dict[str, bytes]]:
    """day -> {file name: bytes} of the report files named for that day."""
    directory = root / REPORT_DIR
    found: dict[str, dict[str, bytes]] = {}
    if not directory.is_dir():
        return found
    for path in directory.iterdir():
        for day in days:
            if path.is_file() and day in path.name:
                found.setdefault(day, {})[path.name] = path.read_bytes()
    return found


def messages(directory: Path) -> list[Message]:
    found = []
    for path in sorted(directory.glob("*.eml")) if directory.is_dir() else []:
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        found.append(
            Message(
                str(parsed.get("X-MNAAS-Run-Id", "")),
                str(parsed.get("X-MNAAS-Day", "")),
                str(parsed.get("X-MNAAS-Kind", "")),
                path.name,
            )
        )
    return found
