"""`demo` builds everything it needs and runs twice; `status` tells an operator what is going on."""

from __future__ import annotations

import csv
import email
import os
import subprocess
import sys
from email import policy

from tests.helpers.lockholder import file_lock_held

CLI = [sys.executable, "-m", "mnaas_missing_files.cli.main"]


def run_cli(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    env.update(env_extra or {})
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=180)


def test_demo_runs_twice_ignoring_the_environment(tmp_path):
    root = tmp_path / "demo"
    first = run_cli("demo", "--dir", str(root), env_extra={"MNAAS_WAREHOUSE_URL": "impala://nowhere:1"})
    assert first.returncode == 0, first.stderr
    assert "ignoring environment settings MNAAS_WAREHOUSE_URL" in first.stderr
    second = run_cli("demo", "--dir", str(root))
    assert second.returncode == 0, second.stderr
    reports = root / "MNAASConfigFiles" / "Missing_Customer_Files"
    # the day before yesterday, then yesterday: its CSV is the newest
    csv_path = sorted(reports.glob("*Report_*.csv"))[-1]
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 4 * 12  # 4 processes x (10 regular + 2 infonova)
    assert {r["customer_type"] for r in rows} == {"regular", "infonova"}
    missing = sum(int(r["missing_files_listed"]) for r in rows)
    txt = sorted(reports.glob("Missing_Customer_Files_2*.txt"))[-1]
    assert 0 < missing == len(txt.read_text().splitlines())
    emails = sorted((reports / "outbox").glob("*_report.eml"))
    assert len(emails) == 4  # two runs per demo
    # yesterday's email shows every label a day can have but UNKNOWN (no group fails)
    msg = email.message_from_bytes(emails[-1].read_bytes(), policy=policy.default)
    text = msg.get_body(("plain",)).get_content()
    labels = (
        "NO INPUT",
        "SILENT",
        "LOW INPUT",
        "MISMATCH",
        "PERSISTING",
        "NEW",
        "OUTSTANDING",
        "RESOLVED",
        "RECOVERED",
    )
    for label in labels:
        assert f"\n  {label} " in text, label
    assert msg["Subject"].strip().startswith("[DEMO] NO INPUT - SILENT - LOW INPUT - Missing customer files")
    # contract §14: Volvo_Cars's feed stopped, actives/Maersk came in short, and a process
    # and a customer nobody configured received files
    assert " traffic / Volvo_Cars: 0 received, usually " in text and " actives / Maersk: 8 received, usually " in text
    assert "\nNOT MONITORED: 15 pair(s)" in text and "\n  cdr_unbilled / eLUX: " in text
    assert "\n  traffic / Unlisted_Customer: " in text
    for out in (first.stdout, second.stdout):
        assert "CSV:" in out and "TXT:" in out and "email:" in out and "status file:" in out


def test_status_shows_fields_lock_holder_and_recent_runs(tmp_path):
    root = tmp_path / "demo"
    assert run_cli("demo", "--dir", str(root)).returncode == 0
    config = root / "conf" / "MNAAS_Missing_Customer_Files.properties"
    status_file = root / "MNAASConfigFiles" / "MNAAS_Missing_Customer_Files_ProcessStatusFile"
    with file_lock_held(status_file, "20990101-cafef00d", "2099-01-01", pid=4242):
        out = run_cli("status", "--config", str(config))
    assert out.returncode == 0, out.stderr
    assert "MNAAS_Daily_ProcessStatusFlag=0" in out.stdout
    assert "MNAAS_job_status=Success" in out.stdout
    assert "HELD by run 20990101-cafef00d for 2099-01-01" in out.stdout
    assert "success" in out.stdout.split("recent runs:")[1]
    # the last run's findings, as its history entry has them (the demo's yesterday)
    findings = out.stdout.split("last run's findings")[1].split("recent runs:")[0]
    assert "verdicts: unknown 0, no_input 12, silent 3, low_input 1, mismatch 1," in findings
    assert "not monitored: 15 pair(s)" in findings
    assert "NO INPUT: tolling" in findings and "outstanding " in findings and "recovered " in findings
    free = run_cli("status", "--config", str(config))
    assert "lock: free" in free.stdout
