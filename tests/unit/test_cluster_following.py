"""Following a submitted run (cluster/following.py): progress, the end, and when it is lost,
driven with a made-up clock."""

from __future__ import annotations

from mnaas_missing_files.cluster.following import Follower
from mnaas_missing_files.cluster.records import LockHolder, LockView, RunRecord
from mnaas_missing_files.core.states import Stage

RUN, TOKEN = "20261124-aaaa", "t-run"
MINE = LockView(LockHolder(RUN, token=TOKEN), LockHolder(RUN, token=TOKEN))
LAPSED = LockView(None, LockHolder(RUN, token=TOKEN))
GONE = LockView(None, None)
SWEEPER = LockView(LockHolder(RUN, trigger="sweeper", token="t-sweeper"), LockHolder(RUN, token="t-sweeper"))


def record(state: Stage, done: int = 0, exit_code: int | None = None) -> RunRecord:
    return RunRecord(RUN, "2026-11-24", state, total=4, done=done, exit_code=exit_code)


def follower() -> Follower:
    return Follower(RUN, TOKEN, lock_ttl=60, sweep_wait=100, grace=5)


def test_progress_is_shown_once_per_change_and_only_once_the_run_is_running():
    f = follower()
    assert f.saw(0, record(Stage.QUEUED), MINE).progress is None
    assert f.saw(1, record(Stage.RUNNING, done=0), MINE).progress == (0, 4, 0)
    assert f.saw(2, record(Stage.RUNNING, done=0), MINE).progress is None
    assert f.saw(3, record(Stage.RUNNING, done=2), MINE).progress == (2, 4, 0)


def test_an_ended_run_stops_with_its_exit_code_or_1_when_none_was_recorded():
    seen = follower().saw(0, record(Stage.DONE, done=4, exit_code=0), GONE)
    assert (seen.exit_code, seen.ended, seen.progress) == (0, record(Stage.DONE, done=4, exit_code=0), (4, 4, 0))
    assert follower().saw(0, record(Stage.FAILED), GONE).exit_code == 1


def test_a_run_holding_its_lock_is_followed_for_ever():
    f = follower()
    for now in range(0, 100_000, 1000):
        assert f.saw(now, record(Stage.RUNNING), MINE).exit_code is None


def test_a_run_whose_lock_went_to_nobody_it_could_resume_is_lost_after_the_grace():
    f = follower()
    assert f.saw(0, record(Stage.RUNNING), GONE).exit_code is None
    assert f.saw(5, record(Stage.RUNNING), GONE).exit_code is None
    seen = f.saw(5.1, record(Stage.RUNNING), GONE)
    assert seen.exit_code == 1 and "lost: its lock expired and no outcome was recorded" in (seen.say or "")


def test_a_lapsed_run_is_told_once_and_waited_for_the_sweeper_before_it_counts_as_lost():
    f = follower()
    assert f.saw(0, record(Stage.RUNNING), LAPSED).say is None
    told = f.saw(6, record(Stage.RUNNING), LAPSED)
    assert told.exit_code is None and "its lock lapsed" in (told.say or "") and "up to 105 s" in (told.say or "")
    assert f.saw(50, record(Stage.RUNNING), LAPSED).say is None  # told once
    assert f.saw(105, record(Stage.RUNNING), LAPSED).exit_code is None
    assert f.saw(105.1, record(Stage.RUNNING), LAPSED).exit_code == 1


def test_the_sweeper_reporting_the_run_under_its_id_keeps_it_followed():
    f = follower()
    for now in (0, 10, 1000):
        assert f.saw(now, record(Stage.FINALIZING), SWEEPER).exit_code is None
    assert f.saw(1001, record(Stage.DONE, exit_code=1), GONE).exit_code == 1


def test_the_owner_coming_back_resets_the_ownerless_clock():
    f = follower()
    f.saw(0, record(Stage.RUNNING), GONE)
    f.saw(4, record(Stage.RUNNING), MINE)
    assert f.saw(8, record(Stage.RUNNING), GONE).exit_code is None
    assert f.saw(13, record(Stage.RUNNING), GONE).exit_code is None
    assert f.saw(13.1, record(Stage.RUNNING), GONE).exit_code == 1


def test_an_unreachable_redis_is_waited_for_up_to_the_lock_ttl():
    f = follower()
    first = f.unreachable(0, "Connection refused")
    assert first.exit_code is None and "Redis unreachable (Connection refused); waiting for it (up to 60 s)" in (
        first.say or ""
    )
    assert f.unreachable(60, "Connection refused") == f.unreachable(30, "x")  # quiet while waiting
    gave_up = f.unreachable(60.1, "Connection refused")
    assert gave_up.exit_code == 1 and "lost track" in (gave_up.say or "")


def test_redis_coming_back_resets_both_clocks():
    f = follower()
    f.saw(0, record(Stage.RUNNING), GONE)  # ownerless since 0
    f.unreachable(1, "down")
    f.saw(50, record(Stage.RUNNING), MINE)
    assert f.unreachable(51, "down").say  # a new outage is told again
    assert f.unreachable(100, "down").exit_code is None
    f.saw(102, record(Stage.RUNNING), GONE)  # the ownerless clock started again at 102
    assert f.saw(107, record(Stage.RUNNING), GONE).exit_code is None
