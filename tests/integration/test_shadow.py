"""`run --shadow DIR` beside production (contract §16): the real status file, reports, outbox
and mail untouched; the shadow's reports those of a normal run; shadow and real runs never
wait for each other's locks."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess

import pytest

from tests.helpers.celeryproc import CLI, run_cli, start_cli
from tests.helpers.jobconfig import small_duckdb_job
from tests.helpers.lockholder import file_lock_held
from tests.helpers.smtpd import SmtpServer
from tests.helpers.snapshot import snapshot

DAY = dt.date(2026, 11, 24)
STATUS = "MNAAS_Missing_Customer_Files_ProcessStatusFile"
REPORTS = (
    f"Missing_Customer_Files_Report_{DAY}.csv",
    f"Missing_Customer_Files_{DAY}.txt",
    f"Missing_Customer_Files_Outstanding_{DAY}.csv",
)


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def job(tmp_path, smtp):
    return small_duckdb_job(tmp_path, DAY, {"MNAAS_SMTP_URL": smtp.url()})


@pytest.fixture
def env():
    return {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}


def test_a_shadow_run_touches_nothing_real_and_reports_as_a_normal_run(job, env, smtp, tmp_path):
    # The production reports of the day go to non-default names, as a legacy file may say.
    text = job.config.read_text().replace("Missing_Customer_Files_Report_$(", "Report_Of_$(")
    job.config.write_text(text)
    before = snapshot(job.root)
    shadow = tmp_path / "shadow"
    done = run_cli(job.config, env, "run", "--date", str(DAY), "--shadow", str(shadow))
    assert done.returncode == 0, done.stderr
    assert snapshot(job.root) == before  # status file, reports, outbox, log, history: untouched
    assert smtp.messages == []  # never sent: neither report nor ticket
    # Its own world: reports under their default names, the status file copied then edited,
    # its log, its lock, its history, its email in its outbox.
    for name in REPORTS:
        assert (shadow / name).is_file(), name
    status = (shadow / STATUS).read_text()
    assert "MNAAS_job_status=Success" in status and "MNAAS_Daily_ProcessStatusFlag=0" in status
    assert "MOVE_Delay_Email_sent=No" in status  # a key of another job, copied from the real file
    assert (shadow / f"{STATUS}.runs.jsonl").is_file() and (shadow / f"{STATUS}.run.lock").exists()
    assert [p.name.endswith("_report.eml") for p in (shadow / "outbox").iterdir()] == [True]
    [log] = [p for p in shadow.iterdir() if p.name.startswith("MNAAS_Missing_Customer_Files.log")]
    assert "run" in log.read_text()
    # A normal run of a copy of the job writes the same reports, byte for byte.
    normal = tmp_path / "normal"
    shutil.copytree(job.root, normal)
    copy_config = normal / job.config.name
    copy_config.write_text(
        copy_config.read_text()
        .replace(str(job.common), str(normal / job.common.name))
        .replace("Report_Of_$(", "Missing_Customer_Files_Report_$(")
    )
    common = normal / job.common.name
    common.write_text(common.read_text().replace(str(job.root), str(normal)))
    assert run_cli(copy_config, env, "run", "--date", str(DAY)).returncode == 0
    reports = normal / job.conf_dir.name / "Missing_Customer_Files"
    for name in REPORTS:
        assert (shadow / name).read_bytes() == (reports / name).read_bytes(), name
    # And compare agrees.
    compared = subprocess.run([*CLI, "compare", str(reports), str(shadow)], capture_output=True, text=True, env=env)
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert compared.stdout.splitlines()[0] == f"{DAY} identical"


def test_shadow_and_real_runs_do_not_block_each_other_wrongly(job, env, smtp, tmp_path):
    first, second = tmp_path / "shadow1", tmp_path / "shadow2"
    # Production's lock held (a real run in progress): a shadow run goes ahead.
    with file_lock_held(job.status_file, "real-run", str(DAY)):
        assert run_cli(job.config, env, "run", "--date", str(DAY)).returncode == 3
        done = run_cli(job.config, env, "run", "--date", str(DAY), "--shadow", str(first))
        assert done.returncode == 0, done.stderr
    # A shadow's lock held: the same shadow waits its turn (3), another shadow and the real
    # run go ahead.
    first_status = first / STATUS
    with file_lock_held(first_status, "shadow-run", str(DAY)):
        assert run_cli(job.config, env, "run", "--date", str(DAY), "--shadow", str(first)).returncode == 3
        assert run_cli(job.config, env, "run", "--date", str(DAY), "--shadow", str(second)).returncode == 0
        assert run_cli(job.config, env, "run", "--date", str(DAY)).returncode == 0
    # All three at once: each has a lock of its own.
    started = [
        start_cli(job.config, env, "run", "--date", str(DAY)),
        start_cli(job.config, env, "run", "--date", str(DAY), "--shadow", str(first)),
        start_cli(job.config, env, "run", "--date", str(DAY), "--shadow", str(second)),
    ]
    outputs = [p.communicate(timeout=120)[1] for p in started]
    assert [p.returncode for p in started] == [0, 0, 0], outputs
    assert len(smtp.messages) == 2  # the real runs' reports, none of the shadows'
    assert len(list((first / "outbox").glob("*_report.eml"))) == 2


def test_the_setting_shadows_a_run_too_and_a_real_directory_is_refused(job, env, tmp_path):
    before = snapshot(job.root)
    done = run_cli(job.config, {**env, "MNAAS_SHADOW_DIR": str(tmp_path / "s")}, "run", "--date", str(DAY))
    assert done.returncode == 0, done.stderr
    assert snapshot(job.root) == before
    assert (tmp_path / "s" / REPORTS[0]).is_file()
    done = run_cli(job.config, env, "run", "--date", str(DAY), "--shadow", str(job.conf_dir / "Missing_Customer_Files"))
    assert done.returncode == 2
    assert "a shadow run must write elsewhere" in done.stderr
    assert snapshot(job.root) == before


def test_a_shadow_backfill_runs_every_day_into_the_directory(job, env, smtp, tmp_path):
    before = snapshot(job.root)
    shadow = tmp_path / "s"
    first = DAY - dt.timedelta(days=1)
    # The day before has no data: without input it completes, with a warning.
    shadow_env = {**env, "MNAAS_SHADOW_DIR": str(shadow), "MNAAS_EMPTY_INPUT": "warn"}
    done = run_cli(job.config, shadow_env, "backfill", "--from", str(first), "--to", str(DAY))
    assert done.returncode == 0, done.stderr
    assert snapshot(job.root) == before and smtp.messages == []
    for day in (first, DAY):
        assert (shadow / f"Missing_Customer_Files_Report_{day}.csv").is_file()
    assert len((shadow / f"{STATUS}.runs.jsonl").read_text().splitlines()) == 2
