"""finish_run when the run no longer holds the job: it writes nothing, and it leaves the run's
outcome to the sweeper when the sweeper is the one reporting that run (real redis-server)."""

from __future__ import annotations

import datetime as dt

import pytest

from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.cluster.context import job_lock_key, run_lock
from mnaas_missing_files.cluster.run_end import finish_run
from mnaas_missing_files.cluster.runstate import RunState, redis_client
from tests.helpers.settings import settings_for_tests

DAY = dt.date(2026, 11, 24)


@pytest.fixture
def job(redis_server, tmp_path):
    settings = settings_for_tests(conf_path=tmp_path, day=DAY, lock_url=redis_server.url(4))
    plan = make_plan(settings, workers=settings.group_workers, trigger="submit", run_id="20261124-late0001")
    state = RunState(redis_client(settings.lock_url), plan.run_id)
    lock = run_lock(settings)
    lost = lock.acquire({"run_id": plan.run_id})
    redis_server.client(db=4).delete(lock.key)  # its lock lapsed
    state.create(
        day=DAY,
        trigger="submit",
        dry_run=False,
        total=len(plan.groups),
        job=job_lock_key(settings),
        state="finalizing",
        token=lost,
    )
    return settings, plan, state, lock, lost


def test_a_late_callback_leaves_a_run_the_sweeper_is_reporting_to_the_sweeper(job):
    settings, plan, state, lock, lost = job
    lock.acquire({"run_id": plan.run_id, "trigger": "sweeper"}, after=lost)

    assert finish_run(settings, plan, {}, lost, state) == {"run_id": plan.run_id, "outcome": "lock lost"}

    assert state.read()["state"] == "finalizing"  # the sweeper records the outcome, not this
    assert not settings.status_file.exists() and not settings.csv_path.exists()


def test_a_late_callback_of_a_run_whose_job_another_run_took_marks_it_failed(job):
    settings, plan, state, lock, lost = job
    lock.acquire({"run_id": "20261124-newer001"})

    finish_run(settings, plan, {}, lost, state)

    record = state.read()
    assert (record["state"], record["exit_code"]) == ("failed", 1)
    assert "20261124-newer001" in record["message"]
    assert not settings.status_file.exists() and not settings.csv_path.exists()
