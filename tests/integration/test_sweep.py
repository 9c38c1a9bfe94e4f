"""The sweeper of lost runs, called in-process against a real redis-server (the Celery path,
with a real beat and workers, is in test_celery_lost_runs.py)."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.cli.demo_data import DataSpec, generate, write_duckdb
from mnaas_missing_files.cluster.context import run_lock, run_state, settings_for
from mnaas_missing_files.cluster.sweep_pass import sweep
from tests.helpers.jobconfig import CUSTOMERS, INFONOVA, PROCESSES, make_job

DAY = dt.date(2026, 11, 24)


@pytest.fixture
def lapsed_run(redis_server, tmp_path, monkeypatch):
    """A submitted run, plan saved, whose lock has just lapsed; (settings, state, lock, job)."""
    write_duckdb(
        tmp_path / "wh.duckdb", generate(DataSpec(days=[DAY], processes=PROCESSES, customers=CUSTOMERS + INFONOVA))
    )
    job = make_job(
        tmp_path / "job",
        {"MNAAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/wh.duckdb", "MNAAS_LOCK_URL": redis_server.url(5)},
    )
    for key in [k for k in os.environ if k.startswith("MNAAS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MNAAS_CONFIG", str(job.config))
    settings = settings_for(DAY)
    plan = make_plan(settings, workers=settings.group_workers, trigger="submit", run_id="20261124-lost0001")
    lock, state = run_lock(settings), run_state(settings, plan.run_id)
    token = lock.acquire({"run_id": plan.run_id, "day": DAY.isoformat()})
    state.create(
        day=DAY, trigger="submit", dry_run=False, total=len(plan.groups), job=lock.key, state="running", token=token
    )
    state.save_plan(plan.to_json())
    redis_server.client(db=5).delete(lock.key)
    return settings, state, lock, job


def test_a_run_first_seen_lapsed_is_only_noted(lapsed_run):
    settings, state, lock, job = lapsed_run
    before = job.status_file.read_bytes()

    assert sweep(settings)["lapsed"] == [state.run_id]
    assert sweep(settings)["lapsed"] == [state.run_id]  # within MNAAS_GROUP_TIME_LIMIT (900 s)

    assert state.read()["state"] == "running" and lock.holder() is None
    assert job.status_file.read_bytes() == before and job.emails() == []


def unwritable_status_file(state, job) -> None:
    job.status_file.unlink()
    job.status_file.mkdir()


def unreadable_plan(state, job) -> None:
    state.client.set(state.plan_key, '{"written by": "something else"}')


@pytest.mark.parametrize("break_it", [unwritable_status_file, unreadable_plan])
def test_a_lost_run_that_cannot_be_reported_is_marked_failed_and_frees_the_job(lapsed_run, break_it):
    settings, state, lock, job = lapsed_run
    state.lapse_seen(done=0, now=time.time() - settings.group_time_limit - 1)  # lapsed long enough
    break_it(state, job)

    assert sweep(settings)["unreportable"] == [state.run_id]

    record = state.read()
    assert (record["state"], record["exit_code"]) == ("failed", 1)
    assert record["message"].startswith("lost, and could not be reported: "), record["message"]
    assert lock.holder() is None  # the next run may start at once, not after the TTL
    assert sweep(settings) == {
        "reported": [],
        "unreportable": [],
        "superseded": [],
        "lapsed": [],
        "running": [],
    }  # ended: no longer an open run
