"""One job (one properties file, one status file, one DuckDB warehouse) for the Celery tests.

Workers read the properties file on every task, so a test may reconfigure the job between
runs (`configure(...)`) while the same workers keep running: one job = one status file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import json
import shutil
from dataclasses import dataclass
from email import policy
from pathlib import Path

from mnaas_missing_files.cli.demo_data import DataSpec, Rows, generate, write_duckdb
from tests.helpers.expected import expected_outstanding, expected_reports
from tests.helpers.jobconfig import CUSTOMERS, INFONOVA, PROCESSES, Job, make_job

DAY = dt.date(2026, 11, 24)
# By hand: 7 customers (5 regular, 2 InfONova), at most 2 a group task (MNAAS_GROUP_SIZE), 4
# group workers (MNAAS_GROUP_WORKERS' default): 4 tasks, (eLUX) (MyRep JLR) (Uber_soft_SIM
# "Sky Roam") (both InfONova), each every process: 4 x 4 = 16 groups (process x type parts).
TASKS = 4
GROUPS = 16
BASE_SETTINGS = {
    "MNAAS_GROUP_SIZE": "2",
    "MNAAS_MIN_GROUP_CUSTOMERS": "1",  # several group tasks from 7 customers, whatever the cap
    "MNAAS_QUERY_ATTEMPTS": "3",
    "MNAAS_RETRY_BACKOFF": "0.2",
    "MNAAS_GROUP_TIME_LIMIT": "60",
    "MNAAS_VISIBILITY_TIMEOUT": "120",
    "MNAAS_LOCK_TTL": "90",
    "MNAAS_TIMEZONE": "UTC",
    # DAY lies days back: a beat started by a test would otherwise run the real clock's
    # catch-up window too. The catch-up tests set their own.
    "MNAAS_CATCHUP_DAYS": "0",
}


def status_fields(path: Path) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")
    )


def job_rows() -> Rows:
    """The generated warehouse rows of DAY and the day before (a few missing files a day)."""
    return generate(
        DataSpec(
            days=[DAY - dt.timedelta(days=1), DAY],
            processes=PROCESSES,
            customers=CUSTOMERS + INFONOVA,
            files_per_pair=12,
            missing_fraction=0.08,
        )
    )


@dataclass
class CeleryJob:
    root: Path
    rows: Rows
    warehouse: Path
    job: Job

    @classmethod
    def build(cls, root: Path) -> CeleryJob:
        rows = job_rows()
        warehouse = root / "warehouse.duckdb"
        write_duckdb(warehouse, rows)
        instance = cls(root, rows, warehouse, None)  # type: ignore[arg-type]
        instance.configure()
        return instance

    @property
    def config(self) -> Path:
        return self.job.config

    @property
    def status_file(self) -> Path:
        return self.job.status_file

    def configure(self, **settings: str) -> Job:
        """Rewrite the properties file (base settings + `settings`), reset the status file to
        the production example and remove reports, emails and run history."""
        values = {"MNAAS_WAREHOUSE_URL": f"duckdb:///{self.warehouse}", **BASE_SETTINGS, **settings}
        self.job = make_job(self.root / "job", values)
        shutil.rmtree(self.job.conf_dir / "Missing_Customer_Files", ignore_errors=True)
        Path(f"{self.job.status_file}.runs.jsonl").unlink(missing_ok=True)
        Path(f"{self.job.status_file}.listed.json").unlink(missing_ok=True)  # memory of listed names
        return self.job

    def expected(self, day: dt.date = DAY, unknown=frozenset()) -> tuple[str, str]:
        return expected_reports(self.rows, day, PROCESSES, CUSTOMERS, INFONOVA, unknown=unknown)

    def reports(self, day: dt.date = DAY) -> tuple[bytes, bytes]:
        return self.job.csv(day).read_bytes(), self.job.txt(day).read_bytes()

    def expected_outstanding(self, day: dt.date = DAY, lookback: int = 7) -> str:
        return expected_outstanding(self.rows, day, lookback, PROCESSES, CUSTOMERS, INFONOVA)

    def status(self) -> dict[str, str]:
        return status_fields(self.status_file)

    def history(self) -> list[dict]:
        path = Path(f"{self.status_file}.runs.jsonl")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def emails(self, kind: str | None = None) -> list[Path]:
        found = self.job.emails()
        return [p for p in found if kind is None or p.name.endswith(f"_{kind}.eml")]

    @staticmethod
    def message(path: Path):
        return email.message_from_bytes(path.read_bytes(), policy=policy.default)

    @contextlib.contextmanager
    def locked_warehouse(self, name: str, **settings: str):
        """Point the job at a fresh copy of the warehouse that this process holds open for
        writing: every reader's connection attempt fails (DuckDB's file lock), as when a
        loader holds the warehouse. Leaving the block releases it."""
        import duckdb

        copy = self.root / f"{name}.duckdb"
        copy.unlink(missing_ok=True)
        shutil.copyfile(self.warehouse, copy)
        writer = duckdb.connect(str(copy))
        try:
            self.configure(MNAAS_WAREHOUSE_URL=f"duckdb:///{copy}", **settings)
            yield writer
        finally:
            writer.close()
