"""Settings for tests that need no properties file: a complete job rooted at `conf_path`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mnaas_missing_files.config.settings import Settings


def settings_for_tests(**overrides: Any) -> Settings:
    """One process (traffic), one customer (eLUX), an in-memory DuckDB, rooted at
    overrides['conf_path'] (default /tmp/mnaas-test); any attribute may be overridden."""
    conf = Path(overrides.pop("conf_path", "/tmp/mnaas-test"))
    day = overrides.pop("day", dt.date(2026, 11, 24))
    values: dict[str, Any] = {
        "conf_path": conf,
        "config_path": conf / "test.properties",
        "log_path": conf / "test.log",
        "status_file": conf / "status",
        "script_name": "MNAAS_Missing_Customer_Files.sh",
        "processes": ("traffic",),
        "customers": ("eLUX",),
        "mail_to": ("ops@example.com",),
        "mail_from": "hdfs@example.com",
        "sdp_to": ("sdp@example.com",),
        "warehouse_url": "duckdb:///:memory:",
    }
    values.update(overrides)
    return Settings.from_values(values, day=day, config_path=values["config_path"])
