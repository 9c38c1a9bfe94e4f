"""The sweeper's rules (cluster/sweeping.py) over snapshots: no Redis, no worker, no wait."""

from __future__ import annotations

import pytest

from mnaas_missing_files.cluster.records import LockHolder, LockView, RunRecord
from mnaas_missing_files.cluster.sweeping import (
    CONFIG_PATIENCE_SECONDS,
    Sweep,
    ended_in_history,
    first_look,
    lapsed_long_enough,
    may_mark_superseded,
    report_waits_for_settings,
    superseded_message,
)
from mnaas_missing_files.core.states import Stage

TOKEN = "t-run"


def record(state: Stage = Stage.RUNNING) -> RunRecord:
    return RunRecord("20261124-aaaa", "2026-11-24", state, trigger="submit", total=4, done=1)


def holder(token: str, run_id: str = "20261124-aaaa") -> LockHolder:
    return LockHolder(run_id, "2026-11-24", "submit", token=token)


HELD = LockView(holder(TOKEN), holder(TOKEN))
LAPSED = LockView(None, holder(TOKEN))  # nobody took the job since it lapsed
TAKEN = LockView(holder("t-other", "20261124-bbbb"), holder("t-other", "20261124-bbbb"))
FREE_AFTER_ANOTHER = LockView(None, None)  # another run held it since, and released it


@pytest.mark.parametrize(
    ("seen", "token", "lock", "expected"),
    [
        (None, TOKEN, FREE_AFTER_ANOTHER, Sweep.ENDED),  # its record expired
        (record(Stage.DONE), TOKEN, FREE_AFTER_ANOTHER, Sweep.ENDED),
        (record(Stage.REFUSED), None, FREE_AFTER_ANOTHER, Sweep.ENDED),
        (record(Stage.FAILED), TOKEN, TAKEN, Sweep.ENDED),
        (record(Stage.QUEUED), None, FREE_AFTER_ANOTHER, Sweep.RUNNING),  # no token yet: still starting
        (record(Stage.RUNNING), TOKEN, HELD, Sweep.RUNNING),
        (record(Stage.FINALIZING), TOKEN, HELD, Sweep.RUNNING),
        (record(Stage.RUNNING), TOKEN, LAPSED, Sweep.LAPSED),
        (record(Stage.RUNNING), TOKEN, TAKEN, Sweep.TAKE_OVER),
        (record(Stage.STARTING), TOKEN, FREE_AFTER_ANOTHER, Sweep.TAKE_OVER),
    ],
)
def test_the_first_look_at_an_open_run(seen, token, lock, expected):
    assert first_look(seen, token, lock) is expected


def test_a_lapsed_run_is_taken_over_only_after_the_group_time_limit_since_first_seen():
    assert not lapsed_long_enough(first_seen=1000.0, now=1000.0, group_time_limit=600)
    assert not lapsed_long_enough(first_seen=1000.0, now=1599.9, group_time_limit=600)
    assert lapsed_long_enough(first_seen=1000.0, now=1600.0, group_time_limit=600)


def test_a_superseded_run_is_marked_only_once_untouched_for_the_lock_ttl():
    assert not may_mark_superseded(updated_age=59.0, lock_ttl=60)  # a finalize may be ending it
    assert may_mark_superseded(updated_age=60.0, lock_ttl=60)
    assert may_mark_superseded(updated_age=float("inf"), lock_ttl=60)  # no readable stamp


def test_a_record_s_age_is_read_from_its_updated_stamp_and_infinite_when_unreadable():
    import datetime as dt

    now = dt.datetime(2026, 11, 25, 6, 0, 30, tzinfo=dt.UTC)
    stamped = RunRecord("r", "2026-11-24", Stage.RUNNING, updated="2026-11-25 07:00:00+0100")
    assert stamped.updated_age(now) == 30.0
    assert RunRecord("r", "2026-11-24", Stage.RUNNING, updated="").updated_age(now) == float("inf")


def test_the_superseded_message_names_the_holder_or_says_the_job_is_free():
    assert "run 20261124-bbbb holds it now" in superseded_message(60, "20261124-bbbb")
    assert "it is free now" in superseded_message(60, None)
    assert "(60 s without progress, MNAAS_LOCK_TTL)" in superseded_message(60, None)


def test_a_lost_run_waits_for_its_settings_for_the_group_time_limit_plus_the_patience():
    # first seen lapsed at t = 1000, group time limit 600: the report waits until 1000 + 600 + 300
    assert CONFIG_PATIENCE_SECONDS == 300
    assert report_waits_for_settings(1000.0, 1000.0 + 899.0, 600)
    assert not report_waits_for_settings(1000.0, 1000.0 + 900.0, 600)  # then it is taken over anyway


def test_the_history_s_end_of_a_run_is_found_only_when_it_ended():
    entries = [
        {"run_id": "a", "started": "2026-12-05 07:00:00", "ended": None, "outcome": "running"},
        {"run_id": "b", "ended": "2026-12-05 07:02:04", "outcome": "lost"},
    ]
    assert ended_in_history(entries, "a") is None  # started, not ended
    assert ended_in_history(entries, "b") == entries[1]
    assert ended_in_history(entries, "c") is None
