"""The metrics file as `run` writes it (contract §11), read as Prometheus reads it: the
values after a success and after a failure, and `promtool check metrics` on the file; the
shipped alert rules pass their `promtool test rules` unit tests."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mnaas_missing_files.cli.demo_data import DataSpec, generate, write_duckdb
from tests.helpers.expected import expected_reports
from tests.helpers.jobconfig import CUSTOMERS, INFONOVA, PROCESSES, make_job
from tests.helpers.tools import require_tool

DAY = dt.date(2026, 11, 24)
CLI = [sys.executable, "-m", "mnaas_missing_files.cli.main"]
RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


@pytest.fixture
def job(tmp_path):
    data = generate(
        DataSpec(
            days=[DAY - dt.timedelta(days=1), DAY],
            processes=PROCESSES,
            customers=CUSTOMERS + INFONOVA,
            files_per_pair=12,
            missing_fraction=0.08,
        )
    )
    write_duckdb(tmp_path / "wh.duckdb", data)
    job = make_job(
        tmp_path / "job",
        {
            "MNAAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/wh.duckdb",
            "MNAAS_METRICS_FILE": str(tmp_path / "textfile" / "mnaas_missing_files.prom"),
            "MNAAS_TIMEZONE": "UTC",
        },
    )
    job.data = data  # type: ignore[attr-defined]
    job.metrics = tmp_path / "textfile" / "mnaas_missing_files.prom"  # type: ignore[attr-defined]
    return job


def run(job, day: dt.date) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    return subprocess.run(
        [*CLI, "run", "--date", day.isoformat(), "--config", str(job.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def read(path: Path) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset((k, v) for k, v in s.labels.items() if k != "job_name")): s.value
        for f in text_string_to_metric_families(path.read_text())
        for s in f.samples
    }


def test_run_writes_the_metrics_and_a_failure_keeps_the_last_success(job):
    assert run(job, DAY).returncode == 0
    after_success = read(job.metrics)
    want_csv, _ = expected_reports(job.data, DAY, PROCESSES, CUSTOMERS, INFONOVA)
    missing = Counter()
    for row in csv.DictReader(io.StringIO(want_csv)):
        missing[row["process_name"]] += int(row["missing_files_listed"])
    assert sum(missing.values()) > 5
    for process in PROCESSES:
        assert (
            after_success[("mnaas_missing_files_missing_files", frozenset({("process", process)}))] == missing[process]
        )
    success_end = after_success[("mnaas_missing_files_last_success_end_timestamp_seconds", frozenset())]
    assert success_end > 0
    assert after_success[("mnaas_missing_files_last_success_day_timestamp_seconds", frozenset())] == (
        dt.datetime(2026, 11, 24, tzinfo=dt.UTC).timestamp()
    )
    assert after_success[("mnaas_missing_files_last_run_outcome", frozenset({("outcome", "success")}))] == 1

    bad = DAY + dt.timedelta(days=1)
    job.txt(bad).mkdir(parents=True)  # that day's TXT cannot be written: the run fails
    assert run(job, bad).returncode == 1
    after_failure = read(job.metrics)
    assert after_failure[("mnaas_missing_files_last_run_outcome", frozenset({("outcome", "failed")}))] == 1
    assert after_failure[("mnaas_missing_files_last_run_outcome", frozenset({("outcome", "success")}))] == 0
    assert after_failure[("mnaas_missing_files_last_success_end_timestamp_seconds", frozenset())] == success_end
    assert after_failure[("mnaas_missing_files_last_success_day_timestamp_seconds", frozenset())] == (
        dt.datetime(2026, 11, 24, tzinfo=dt.UTC).timestamp()
    )


def test_a_day_without_input_says_so_in_the_outcome_and_the_pairs(job):
    empty = DAY + dt.timedelta(days=3)  # the warehouse has nothing for it
    assert run(job, empty).returncode == 1  # MNAAS_EMPTY_INPUT=fail (the default)
    found = read(job.metrics)
    assert [
        dict(labels)["outcome"]
        for (name, labels), v in found.items()
        if name == "mnaas_missing_files_last_run_outcome" and v == 1
    ] == ["no_input"]
    pairs_per_process = len(CUSTOMERS) + len(INFONOVA)
    for process in PROCESSES:
        assert found[("mnaas_missing_files_pairs", frozenset({("process", process), ("verdict", "no_input")}))] == (
            pairs_per_process
        )
        assert found[("mnaas_missing_files_pairs", frozenset({("process", process), ("verdict", "ok")}))] == 0
    assert found[("mnaas_missing_files_last_success_day_timestamp_seconds", frozenset())] == 0


def test_backfill_only_missing_runs_only_the_days_that_never_ran(job):
    before, last = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)
    assert run(job, DAY).returncode == 0  # DAY ran
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    env["MNAAS_EMPTY_INPUT"] = "warn"  # `last` has no data
    result = subprocess.run(
        [
            *CLI,
            "backfill",
            "--from",
            before.isoformat(),
            "--to",
            last.isoformat(),
            "--only-missing",
            "--config",
            str(job.config),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    table = [line.split()[:3] for line in result.stdout.splitlines()[1:]]
    assert table == [
        [before.isoformat(), "success", "0"],
        [DAY.isoformat(), "skipped", "0"],
        [last.isoformat(), "success", "0"],
    ]
    history = [json.loads(line) for line in Path(f"{job.status_file}.runs.jsonl").read_text().splitlines()]
    assert [(e["day"], e["trigger"]) for e in history] == [
        (DAY.isoformat(), "run"),
        (before.isoformat(), "backfill"),
        (last.isoformat(), "backfill"),
    ]


@pytest.mark.promtool
def test_promtool_accepts_a_metrics_file_the_product_wrote(job):
    promtool = require_tool("promtool", "prometheus")
    assert run(job, DAY).returncode == 0
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=job.metrics.read_bytes(), capture_output=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == b""  # not even a lint warning


@pytest.mark.promtool
def test_the_shipped_alert_rules_pass_their_promtool_unit_tests():
    promtool = require_tool("promtool", "prometheus")
    for args in (
        ["check", "rules", "mnaas-missing-files.rules.yml"],
        ["test", "rules", "mnaas-missing-files.rules.test.yml"],
    ):
        result = subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
