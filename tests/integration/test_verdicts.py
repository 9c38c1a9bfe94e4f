"""Verdicts (contract §7) through the real CLI on a hand-built DuckDB warehouse: a process with
no input under each MNAAS_EMPTY_INPUT policy and the allowed list, a KPI/file mismatch, and a
day after today refused."""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import subprocess
import sys
from email import policy

import pytest

from mnaas_missing_files.cli.demo_data import Rows, write_duckdb
from tests.helpers.jobconfig import make_job

D = dt.date(2026, 11, 24)
DS, PREV = D.isoformat(), (D - dt.timedelta(days=1)).isoformat()
CLI = [sys.executable, "-m", "mnaas_missing_files.cli.main"]

# traffic/eLUX: F2 missing, KPI 2 - 1 = 1: `missing`. traffic/JLR: J2 missing but the KPIs
# say 2 - 2 = 0: `mismatch`. actives: rows of the day before only, nothing on D: `no_input`.
ROWS = Rows(
    kpi=[
        (DS, "traffic", "eLUX", "File Received", 2),
        (DS, "traffic", "eLUX", "File Generated", 1),
        (DS, "traffic", "JLR", "File Received", 2),
        (DS, "traffic", "JLR", "File Generated", 2),
        (PREV, "actives", "eLUX", "File Received", 1),
        (PREV, "actives", "eLUX", "File Generated", 1),
        (DS, "actives", "Unlisted", "File Received", 3),
    ],  # an unconfigured customer: no input still
    received=[
        (DS, "traffic", "eLUX", "F1.dat", 1),
        (DS, "traffic", "eLUX", "F2.dat", 1),
        (DS, "traffic", "JLR", "J1.dat", 1),
        (DS, "traffic", "JLR", "J2.dat", 1),
        (PREV, "actives", "eLUX", "A1.dat", 1),
        (DS, "actives", "Unlisted", "U1.dat", 1),
    ],
    generated=[
        (DS, "traffic", "eLUX", "F1.dat", "eLUX_F1.dat", 1),
        (DS, "traffic", "JLR", "J1.dat", "JLR_J1.dat", 1),
        (PREV, "actives", "eLUX", "A1.dat", "eLUX_A1.dat", 1),
    ],
)


def status_of(job) -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in job.status_file.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )


def history_of(job) -> list[dict]:
    path = job.status_file.with_name(job.status_file.name + ".runs.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def cli(job, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    env.update(env_extra or {})
    return subprocess.run(
        [*CLI, *args, "--config", str(job.config)], capture_output=True, text=True, env=env, timeout=120
    )


def messages(job, kind):
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in job.emails()
        if p.name.endswith(f"_{kind}.eml")
    ]


@pytest.fixture
def job(tmp_path):
    write_duckdb(tmp_path / "wh.duckdb", ROWS)
    return make_job(
        tmp_path / "job",
        {
            "MNAAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/wh.duckdb",
            "MNAAS_LOOKBACK_DAYS": "1",
            "process_list": "(traffic actives)",
            "customer_names": "(eLUX JLR)",
            "infonova_customer_names": "()",
            "MNAAS_GROUP_SIZE": "1",
        },
    )


def test_no_input_fails_the_run_once_per_episode_and_names_the_process(job):
    first = cli(job, "run", "--date", DS)
    assert first.returncode == 1, first.stderr
    assert "NO INPUT: actives received nothing on 2026-11-24" in first.stdout
    status = status_of(job)
    assert (status["MNAAS_Daily_ProcessStatusFlag"], status["MNAAS_job_status"], status["MNAAS_email_sdp_created"]) == (
        "1",
        "Failure",
        "Yes",
    )
    [report] = messages(job, "report")
    # by hand: 2 missing on D (F2, J2), both in NEW pairs; nothing outstanding
    assert report["Subject"].strip() == "NO INPUT - Missing customer files 2026-11-24: 2 missing (2 new), 0 outstanding"
    [ticket] = messages(job, "sdp-ticket")
    assert ticket["Subject"].strip().startswith("NO INPUT - ")  # a long subject is folded
    assert "no input on 2026-11-24 for process(es) actives" in ticket.get_content()
    [entry] = history_of(job)
    assert entry["outcome"] == "no_input"
    assert entry["verdicts"] == {
        "unknown": 0,
        "no_input": 2,
        "silent": 0,
        "low_input": 0,
        "mismatch": 1,
        "missing": 1,
        "ok": 0,
    }
    # CSV and TXT keep their format: the no-input pairs are zeros, as before
    assert job.csv(D).read_text().splitlines()[3:] == [
        "2026-11-24,actives,regular,eLUX,0,0,0,0",
        "2026-11-24,actives,regular,JLR,0,0,0,0",
    ]

    second = cli(job, "run", "--date", DS)
    assert second.returncode == 1
    assert len(messages(job, "sdp-ticket")) == 1  # one ticket per failure episode
    assert len(messages(job, "report")) == 2


def test_a_mismatch_pair_is_labelled_mismatch_first_in_the_email(job):
    cli(job, "run", "--date", DS, env_extra={"MNAAS_EMPTY_INPUT": "warn"})
    [report] = messages(job, "report")
    text = report.get_body(("plain",)).get_content()
    lines = [
        line.split()
        for line in text.splitlines()
        if line.startswith("  ") and " / " in line and not line.startswith("  label")
    ]
    # most severe first: the mismatch, then the NEW one; the process without input is one
    # line of the input section, not a line per pair (contract §15)
    assert [" ".join(w[: w.index("/") + 2]) for w in lines[:2]] == ["MISMATCH traffic / JLR", "NEW traffic / eLUX"]
    assert "  NO INPUT    actives: nothing received for any of its 2 configured customers" in text
    page = report.get_body(("html",)).get_content()
    assert ">MISMATCH</b>" in page


def test_warn_completes_but_still_says_no_input(job):
    result = cli(job, "run", "--date", DS, env_extra={"MNAAS_EMPTY_INPUT": "warn"})
    assert result.returncode == 0, result.stderr
    assert "SUCCESS" in result.stdout and "NO INPUT: actives" in result.stdout
    status = status_of(job)
    assert (status["MNAAS_job_status"], status["MNAAS_email_sdp_created"]) == ("Success", "No")
    assert messages(job, "sdp-ticket") == []
    [report] = messages(job, "report")
    assert report["Subject"].strip().startswith("NO INPUT - Missing customer files 2026-11-24")
    [entry] = history_of(job)
    assert entry["outcome"] == "success" and entry["no_input"] == ["actives"]


def test_an_allowed_process_is_never_no_input(job):
    result = cli(job, "run", "--date", DS, env_extra={"MNAAS_EMPTY_INPUT_ALLOWED": "actives, nosuch"})
    assert result.returncode == 0, result.stderr
    assert "'nosuch' is not a configured process" in result.stderr
    [report] = messages(job, "report")
    assert report["Subject"] == "Missing customer files 2026-11-24: 2 missing (2 new), 0 outstanding"
    [entry] = history_of(job)
    assert entry["verdicts"] == {
        "unknown": 0,
        "no_input": 0,
        "silent": 0,
        "low_input": 0,
        "mismatch": 1,
        "missing": 1,
        "ok": 2,
    }


def test_a_day_after_today_is_refused_before_anything_is_touched(job):
    before = job.status_file.read_bytes()
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    for command in (
        ["run", "--date", str(tomorrow)],
        ["submit", "--date", str(tomorrow)],
        ["backfill", "--from", DS, "--to", str(tomorrow)],
    ):
        result = cli(job, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert f"day {tomorrow} has not happened yet" in result.stderr
    assert job.status_file.read_bytes() == before
    assert history_of(job) == [] and job.emails() == [] and not job.csv(D).exists()
    assert not job.csv(tomorrow).exists()
