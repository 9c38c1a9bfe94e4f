"""A local `run` whose Redis lock was taken over mid-run writes nothing more."""

from __future__ import annotations

import datetime as dt

import pytest

from mnaas_missing_files.cli.demo_data import DataSpec, generate, write_duckdb
from mnaas_missing_files.config.settings import load_settings
from mnaas_missing_files.core.errors import LockLost
from mnaas_missing_files.run import local as runner
from mnaas_missing_files.state.redislock import lock_key
from tests.helpers.jobconfig import CUSTOMERS, INFONOVA, PROCESSES, make_job

DAY = dt.date(2026, 11, 24)


def test_a_run_that_lost_its_redis_lock_does_not_write_reports_or_status(redis_server, tmp_path, monkeypatch):
    write_duckdb(
        tmp_path / "wh.duckdb", generate(DataSpec(days=[DAY], processes=PROCESSES, customers=CUSTOMERS + INFONOVA))
    )
    job = make_job(
        tmp_path / "job",
        {"MNAAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/wh.duckdb", "MNAAS_LOCK_URL": redis_server.url(3)},
    )
    settings = load_settings(job.config, day=DAY, environ={})
    key = lock_key(settings.script_name, settings.status_file)
    checked = runner.check_groups_locally

    def check_then_lose_the_lock(*args, **kwargs):
        results = checked(*args, **kwargs)
        # The lock expired and another run took it: a different holder, a different token.
        redis_server.client(db=3).set(key, '{"token": "someone-else", "run_id": "other"}')
        return results

    monkeypatch.setattr(runner, "check_groups_locally", check_then_lose_the_lock)
    with pytest.raises(LockLost):
        runner.run_local(settings)
    assert not job.csv(DAY).exists() and not job.txt(DAY).exists()
    # Its one message is the failure notice naming the run that holds the job now (§15).
    [notice] = job.emails()
    assert notice.name.endswith("_failure-notice.eml")
    assert "run other" in notice.read_text() and "another run holds the job" in notice.read_text()
    status = job.status_file.read_text()
    assert "MNAAS_job_status=Success\n" in status  # the example's previous outcome, untouched
    assert "MNAAS_job_ran_time=2026-11-24 06:30:04" in status
    # the other run's lock is left alone
    assert redis_server.client(db=3).get(key) is not None


def test_run_and_submit_with_the_lock_redis_down_change_nothing(redis_server, tmp_path):
    import os
    import subprocess
    import sys

    job = make_job(
        tmp_path / "job",
        {
            "MNAAS_WAREHOUSE_URL": "duckdb:///:memory:",
            "MNAAS_LOCK_URL": redis_server.url(3).replace("redis://", "redis://:Lock-Pw-9@"),
        },
    )
    redis_server.stop()
    before = job.status_file.read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    for command in ("run", "submit"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mnaas_missing_files.cli.main",
                command,
                "--config",
                str(job.config),
                "--date",
                DAY.isoformat(),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert result.returncode == 1, (command, result.stderr)
        assert f"127.0.0.1:{redis_server.port}" in result.stderr
        assert "Lock-Pw-9" not in result.stderr + result.stdout
        assert job.status_file.read_bytes() == before
        assert not job.csv(DAY).exists() and job.emails() == []
