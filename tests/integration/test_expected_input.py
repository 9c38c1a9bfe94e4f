"""Expected input (contract §14) on a real DuckDB warehouse with five weeks of KPIs: silent and
low-input pairs, the pairs and processes not judged, the not-monitored list, and what the
email, the history, the metrics and `status` say of them. Expected values: see
tests/helpers/volumescenario.py, worked out by hand."""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import subprocess
import sys
from email import policy

import pytest

from mnaas_missing_files.cli.demo_data import write_duckdb
from mnaas_missing_files.config.settings import load_settings
from mnaas_missing_files.run.local import run_local
from mnaas_missing_files.warehouse import duckdb_engine as base
from mnaas_missing_files.warehouse import queries
from tests.helpers import volumescenario as scenario
from tests.helpers.jobconfig import make_job

CLI = [sys.executable, "-m", "mnaas_missing_files.cli.main"]
DS = scenario.D.isoformat()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("volume") / "wh.duckdb"
    write_duckdb(path, scenario.rows())
    return path


def job_for(root, warehouse, **extra):
    settings = {**scenario.SETTINGS, "MNAAS_WAREHOUSE_URL": f"duckdb:///{warehouse}", **extra}
    return make_job(root, settings)


def cli(job, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    return subprocess.run(
        [*CLI, *args, "--config", str(job.config)], capture_output=True, text=True, env=env, timeout=120
    )


def history_of(job) -> list[dict]:
    path = job.status_file.with_name(job.status_file.name + ".runs.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def report_of(job):
    [path] = [p for p in job.emails() if p.name.endswith("_report.eml")]
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def test_silent_and_low_input_pairs_in_the_email_history_metrics_and_status(tmp_path, warehouse):
    metrics = tmp_path / "metrics.prom"
    job = job_for(tmp_path / "job", warehouse, MNAAS_METRICS_FILE=str(metrics))
    result = cli(job, "run", "--date", DS)
    assert result.returncode == 0, result.stderr  # findings: the outcome stands
    assert "'nosuch' names no configured process" in result.stderr
    assert "SUCCESS" in result.stdout
    assert "  SILENT: sms / eLUX: 0 received, usually 46" in result.stdout
    assert "  not monitored: 2 pair(s)" in result.stdout
    [entry] = history_of(job)
    assert (entry["outcome"], entry["verdicts"], entry["unmonitored"]) == ("success", scenario.VERDICTS, 2)
    status = job.status_file.read_text()
    assert "MNAAS_job_status=Success" in status and "MNAAS_email_sdp_created=No" in status

    report = report_of(job)
    assert report["Subject"].strip() == "NO INPUT - SILENT - LOW INPUT - Missing customer files 2026-11-23: 0 missing"
    text = report.get_body(("plain",)).get_content()
    lines = text.splitlines()
    # the input section (contract §15, 4): one line per silent or low pair, silent first
    flagged = [line for line in lines if line.startswith(("  SILENT ", "  LOW INPUT ")) and " / " in line]
    assert [" ".join(line.split()[: 4 + line.startswith("  LOW")]) for line in flagged] == [
        "SILENT sms / eLUX:",
        "LOW INPUT sms / JLR:",
        "LOW INPUT mms / eLUX:",
    ]
    assert [line.split(": ", 1)[1] for line in flagged] == scenario.EMAIL_LINES
    needs_action = next(i for i, line in enumerate(lines) if line.startswith("NEEDS ACTION"))
    assert lines.index("INPUT") < lines.index(flagged[0]) < needs_action
    assert "History too short to judge: 5 pair(s)" in " ".join(text.split())
    assert "Processes not judged for volume: idle (no input), late (KPI not loaded)" in text
    assert "  KPI NOT LOADED late: received files on 2026-11-23 but has no KPI row" in text
    at = next(i for i, line in enumerate(lines) if line.startswith("NOT MONITORED: 2 pair(s)"))
    unmonitored = lines[at + 1 : lines.index("", at)]
    assert unmonitored == ["  cdr / eLUX: 7 received", "  sms / Stranger: 2 received"]
    page = report.get_body(("html",)).get_content()
    assert ">SILENT</b>" in page and ">LOW INPUT</b>" in page and scenario.EMAIL_LINES[0] in page

    samples = metrics.read_text()
    for process, verdict, count in (("sms", "silent", 1), ("sms", "low_input", 1), ("mms", "low_input", 1)):
        assert (
            f'pairs{{job_name="MNAAS_Missing_Customer_Files.sh",process="{process}",verdict="{verdict}"}} {count}.0'
            in samples
        )
    assert 'process="fax",verdict="no_input"} 5.0' in samples and 'process="idle",verdict="silent"} 0.0' in samples
    assert 'mnaas_missing_files_unmonitored_pairs{job_name="MNAAS_Missing_Customer_Files.sh"} 2.0' in samples

    shown = cli(job, "status")
    assert "silent 1, low_input 2" in shown.stdout and "not monitored: 2 pair(s)" in shown.stdout


class Counting:
    """Counts the statements every DuckDB warehouse of this process runs."""

    def __init__(self, monkeypatch):
        self.statements: list[str] = []
        rows = base.DuckDBWarehouse._rows

        def counted(warehouse, sql, params, **options):
            self.statements.append(sql)
            return rows(warehouse, sql, params, **options)

        monkeypatch.setattr(base.DuckDBWarehouse, "_rows", counted)


def test_reports_identical_with_volume_checks_off_and_one_query_more_at_most(tmp_path, warehouse, monkeypatch):
    counting = Counting(monkeypatch)
    reports, queries_of = {}, {}
    for name, weeks in (("off", "0"), ("on", "4")):
        job = job_for(tmp_path / name, warehouse, MNAAS_BASELINE_WEEKS=weeks)
        settings = load_settings(job.config, day=scenario.D, environ={})
        before = len(counting.statements)
        outcome = run_local(settings)
        queries_of[name] = len(counting.statements) - before
        reports[name] = (job.csv(scenario.D).read_bytes(), job.txt(scenario.D).read_bytes())
        verdicts = outcome.analysis.verdicts if outcome.analysis else {}
        assert (verdicts["silent"], verdicts["low_input"]) == ((0, 0) if weeks == "0" else (1, 2))
    assert reports["on"] == reports["off"]
    assert queries_of["on"] <= queries_of["off"] + 1
    # the day's input is one query of the run, never one per group (30 groups here)
    day_input = queries.day_input("t", scenario.D, [], ["p"], "r", ["c"])[0].split("FROM")[0]
    assert sum(day_input in sql for sql in counting.statements) == 2  # one per run


def test_an_unreadable_day_input_judges_no_volume_and_says_the_list_is_unknown(tmp_path, warehouse, monkeypatch):
    def broken(*args, **kwargs):
        return "SELECT * FROM no_such_table", []

    monkeypatch.setattr(queries, "day_input", broken)
    job = job_for(tmp_path / "job", warehouse, MNAAS_QUERY_ATTEMPTS="2", MNAAS_RETRY_BACKOFF="0.01")
    outcome = run_local(load_settings(job.config, day=scenario.D, environ={}))
    assert outcome.outcome == "success" and outcome.exit_code == 0  # the outcome stands
    assert outcome.analysis is not None
    verdicts = outcome.analysis.verdicts
    assert (verdicts["silent"], verdicts["low_input"], verdicts["no_input"]) == (0, 0, 5)
    text = report_of(job).get_body(("plain",)).get_content()
    assert "Silent / low input pairs: not judged (see Input)" in " ".join(text.split())
    assert "  Volume not judged this run: the day's input could not be read (" in text
    assert "no_such_table" in text
    assert "NOT MONITORED: unknown" in text and "  The list is unknown this run: the day's input could not" in text
    [entry] = history_of(job)
    assert entry["unmonitored"] is None and entry["verdicts"]["silent"] == 0


def tree(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_backtest_flags_the_days_engineered_to_be_flagged_and_writes_nothing(tmp_path, warehouse):
    job = job_for(tmp_path / "job", warehouse)
    before = tree(tmp_path)
    saturday = scenario.D - dt.timedelta(days=2)
    result = cli(job, "backtest", "--from", saturday.isoformat(), "--to", DS)
    assert result.returncode == 0, result.stderr
    flagged = [line.split() for line in result.stdout.splitlines() if line.startswith("20")]
    # by hand (volumescenario.py): the three findings of D, nothing on the weekend before
    assert [(w[0], w[1], w[2], w[4].rstrip(":"), w[5], w[8]) for w in flagged] == [
        (DS, verdict, process, customer, str(received), str(expected))
        for process, customer, verdict, received, expected, _days in scenario.FINDINGS
    ]
    # Saturday: only sms has input; its Weekend sender got its usual 30 (4 pairs: Ign is ignored).
    # Sunday: nobody sends. Monday: sms 4 and mms 5 pairs judged, voice's 5 too short.
    assert "summary: 3 day(s), 13 pair-days judged, 3 flagged (silent 1, low_input 2)" in result.stdout
    assert f"  {saturday} (Sat): 0 flagged of 4 judged; not judged: mms (no input)," in result.stdout
    assert f"  {DS} (Mon): 3 flagged of 9 judged, history too short for 5;" in result.stdout
    assert tree(tmp_path) == before  # no report, email, status, history, memory or metrics
