"""Build a job configuration for tests from the repository's production examples (examples/).

The job file sources the common file by its absolute production path, so the copies rewrite
that line, and the platform directories are pointed into the test's temporary directory.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

PROCESSES = ["traffic", "actives", "activations", "tolling"]
CUSTOMERS = ["eLUX", "MyRep", "JLR", "Uber_soft_SIM", "Sky Roam"]
INFONOVA = ["INFONOVA_CHT", "INFONOVA_VF"]


@dataclass
class Job:
    root: Path
    config: Path
    common: Path
    conf_dir: Path
    status_file: Path

    def csv(self, day: dt.date) -> Path:
        return self.conf_dir / "Missing_Customer_Files" / f"Missing_Customer_Files_Report_{day:%Y-%m-%d}.csv"

    def txt(self, day: dt.date) -> Path:
        return self.conf_dir / "Missing_Customer_Files" / f"Missing_Customer_Files_{day:%Y-%m-%d}.txt"

    def outstanding(self, day: dt.date) -> Path:
        return self.conf_dir / "Missing_Customer_Files" / f"Missing_Customer_Files_Outstanding_{day:%Y-%m-%d}.csv"

    @property
    def outbox(self) -> Path:
        return self.conf_dir / "Missing_Customer_Files" / "outbox"

    def emails(self) -> list[Path]:
        return sorted(self.outbox.glob("*.eml")) if self.outbox.is_dir() else []


def make_job(root: Path, settings: dict[str, str] | None = None) -> Job:
    """Copy the example files into `root`, rewired to it; `settings` lines are appended.
    MNAAS_MIN_GROUP_CUSTOMERS=1 unless `settings` says otherwise: the example's 7 customers
    would be one group task by default, and the fault tests need several to fail apart."""
    settings = dict(settings or {})
    settings.setdefault("MNAAS_MIN_GROUP_CUSTOMERS", "1")  # last: the lines above keep their numbers
    root.mkdir(parents=True, exist_ok=True)
    conf_dir, logs = root / "MNAASConfigFiles", root / "Logs"
    conf_dir.mkdir(exist_ok=True)
    logs.mkdir(exist_ok=True)
    common_text = (EXAMPLES / "MNAAS_CommonProperties.properties").read_text()
    common_text = re.sub(r"(?m)^MNAASLocalLogPath=.*$", f"MNAASLocalLogPath={logs}", common_text)
    common_text = re.sub(r"(?m)^MNAASConfPath=.*$", f"MNAASConfPath={conf_dir}", common_text)
    common = root / "MNAAS_CommonProperties.properties"
    common.write_text(common_text)
    job_text = (EXAMPLES / "MNAAS_Missing_Customer_Files.properties").read_text()
    job_text = re.sub(r"(?m)^\. /app/\S+$", f". {common}", job_text)
    for key, value in settings.items():
        job_text += f"\n{key}={value}"
    config = root / "MNAAS_Missing_Customer_Files.properties"
    config.write_text(job_text + "\n")
    status = conf_dir / "MNAAS_Missing_Customer_Files_ProcessStatusFile"
    status.write_text((EXAMPLES / "MNAAS_Missing_Customer_Files_ProcessStatusFile").read_text())
    return Job(root, config, common, conf_dir, status)


def small_duckdb_job(tmp_path: Path, day: dt.date, settings: dict[str, str] | None = None) -> Job:
    """The example job over a small generated DuckDB day (28 pairs, a few missing files): for
    the fault tests, which need a real run that takes about a second, not its data."""
    from mnaas_missing_files.cli.demo_data import DataSpec, generate, write_duckdb

    data = generate(
        DataSpec(
            days=[day], processes=PROCESSES, customers=CUSTOMERS + INFONOVA, files_per_pair=3, missing_fraction=0.1
        )
    )
    write_duckdb(tmp_path / "wh.duckdb", data)
    return make_job(tmp_path / "job", {"MNAAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/wh.duckdb", **(settings or {})})
