"""The sweep of one open run (cluster/sweep_pass.sweep_one) over a run state and a lock kept in
memory: the outcomes that need no reports. Reporting a lost run (reports, email, status
file) is tested with a real Redis in tests/integration/test_sweep.py."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from mnaas_missing_files.cluster import sweep_pass
from mnaas_missing_files.cluster.store import MemoryRunState
from mnaas_missing_files.cluster.sweep_pass import sweep_one
from mnaas_missing_files.cluster.sweeping import Sweep
from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.states import Stage
from mnaas_missing_files.state.history import recent_runs, record_run
from tests.helpers.memorylock import MemoryRunLock
from tests.helpers.settings import settings_for_tests

RUN = "20261124-lost0001"


@pytest.fixture
def settings(tmp_path):
    return settings_for_tests(conf_path=tmp_path, lock_ttl=60, group_time_limit=600)


@pytest.fixture(autouse=True)
def day_settings_load(monkeypatch, settings):
    """The lost run's day's settings load (a sweep reads them from MNAAS_CONFIG before taking
    a run over: sweep_pass._reportable_now); the test below says what happens when not."""
    monkeypatch.setattr(sweep_pass, "settings_for", lambda day, shadow_dir=None: settings)


def open_run(lock: MemoryRunLock, *, updated: str | None = None) -> MemoryRunState:
    token = lock.acquire({"run_id": RUN, "day": "2026-11-24", "trigger": "submit"})
    fields = {"day": "2026-11-24", "trigger": "submit", "state": Stage.RUNNING, "total": 4, "done": 1}
    if updated is not None:
        fields["updated"] = updated
    return MemoryRunState(RUN, fields, token=token)


def stamp(seconds_ago: float) -> str:
    return (dt.datetime.now().astimezone() - dt.timedelta(seconds=seconds_ago)).strftime("%Y-%m-%d %H:%M:%S%z")


def test_a_run_holding_its_lock_is_running_and_an_ended_one_is_forgotten(settings):
    lock = MemoryRunLock()
    state = open_run(lock)
    assert sweep_one(settings, state, lock) is Sweep.RUNNING
    state.finish(state=Stage.DONE, exit_code=0)
    assert sweep_one(settings, state, lock) is Sweep.ENDED


def test_a_lapsed_run_is_watched_until_the_group_time_limit_then_taken_over(settings):
    lock = MemoryRunLock()
    state = open_run(lock)
    lock.lapse()
    assert sweep_one(settings, state, lock) is Sweep.LAPSED
    assert lock.current is None  # watching takes nothing
    # a group finishing resets the watch: the first sighting with done=2 is now
    state.fields["done"] = 2
    assert sweep_one(settings, state, lock) is Sweep.LAPSED
    assert state.lapse_seen(done=2, now=time.time() + 1) < time.time()  # remembered, not reset again


def test_a_run_that_took_its_lock_back_a_moment_ago_is_running(settings):
    lock = MemoryRunLock()
    state = open_run(lock)
    lock.lapse()
    state.lapse_seen(done=1, now=time.time() - 601)  # lapsed long enough
    lock.current = dict(lock.last or {})  # ... and it extended just before the takeover
    lock.current["token"] = state.token()
    assert sweep_one(settings, state, lock) is Sweep.RUNNING


def superseded(updated_seconds_ago: float) -> tuple[MemoryRunState, MemoryRunLock]:
    """A run whose lock lapsed and was taken by the next run."""
    lock = MemoryRunLock()
    state = open_run(lock, updated=stamp(updated_seconds_ago))
    lock.lapse()
    lock.acquire({"run_id": "20261124-next0002", "day": "2026-11-24", "trigger": "submit"})
    return state, lock


def test_a_run_whose_job_another_run_took_is_marked_failed_once_untouched_for_the_lock_ttl(settings):
    state, lock = superseded(61)
    assert sweep_one(settings, state, lock) is Sweep.SUPERSEDED
    record = state.record()
    assert record is not None and record.state is Stage.FAILED and record.exit_code == 1
    assert "another run has held the job since (run 20261124-next0002 holds it now)" in record.message
    [entry] = recent_runs(settings.status_file)  # ended through the one boundary: the history
    assert (entry["run_id"], entry["outcome"], entry["trigger"]) == (RUN, "failed", "submit")
    assert sweep_one(settings, state, lock) is Sweep.ENDED


def test_a_superseded_run_touched_lately_is_left_for_its_finalize_or_sweeper(settings):
    state, lock = superseded(5)
    assert sweep_one(settings, state, lock) is None
    record = state.record()
    assert record is not None and record.state is Stage.RUNNING
    assert recent_runs(settings.status_file) == []


def test_a_lost_run_whose_settings_do_not_load_is_left_for_a_later_sweep(settings, monkeypatch):
    def not_loading(day, shadow_dir=None):
        raise ConfigError("warehouse file missing", key="MNAAS_WAREHOUSE_URL")

    monkeypatch.setattr(sweep_pass, "settings_for", not_loading)
    lock = MemoryRunLock()
    state = open_run(lock)
    lock.lapse()
    state.lapse_seen(done=1, now=time.time() - 700)  # first seen lapsed 700 s ago: past the 600 s limit
    assert sweep_one(settings, state, lock) is Sweep.LAPSED  # not taken over: it could not be reported
    assert lock.current is None and state.fields["state"] == Stage.RUNNING


def test_a_run_the_history_says_ended_is_recorded_and_its_lock_freed_not_ended_again(settings):
    lock = MemoryRunLock()
    state = open_run(lock)
    record_run(
        settings.status_file, {"run_id": RUN, "day": "2026-11-24", "ended": "2026-11-25 07:02:04", "outcome": "lost"}
    )
    assert sweep_one(settings, state, lock) is Sweep.ENDED
    assert state.fields["state"] == Stage.DONE and state.fields["exit_code"] == 1
    assert lock.current is None
    assert [e["outcome"] for e in recent_runs(settings.status_file)] == ["lost"]  # not rewritten
