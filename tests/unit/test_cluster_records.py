"""The Celery side's records (cluster/records.py): one JSON form each, and the lock as a
sweeper or a follower reads it."""

from __future__ import annotations

from mnaas_missing_files.cluster.records import LockHolder, LockView, RunRecord, TaskResult
from mnaas_missing_files.core.states import Stage


def test_a_run_record_reads_what_the_run_state_gives_and_round_trips():
    read = {  # RunState.read()'s shape: typed counts, decoded outcome, failed groups
        "run_id": "20261124-aaaa",
        "day": "2026-11-24",
        "trigger": "submit",
        "dry_run": False,
        "state": "running",
        "total": 4,
        "done": 2,
        "failed": 1,
        "exit_code": None,
        "outcome": None,
        "message": "",
        "created": "2026-11-25 07:00:00+0100",
        "updated": "2026-11-25 07:00:09+0100",
        "job": "mnaas-missing-files:lock:job:0123456789ab",
        "failed_groups": {"traffic/regular/1": "timed out"},
        "lapse_seen_at": "1764050000.0",  # the sweeper's bookkeeping: not part of the record
    }
    record = RunRecord.from_json(read)
    assert record.state is Stage.RUNNING and (record.done, record.total, record.failed) == (2, 4, 1)
    assert not record.ended and not record.not_started
    assert RunRecord.from_json(record.to_json()) == record
    assert record.to_json() == {k: v for k, v in read.items() if k != "lapse_seen_at"}


def test_a_run_record_s_stage_tells_ended_and_not_started():
    assert RunRecord("r", "d", Stage.QUEUED).not_started and RunRecord("r", "d", None).not_started
    assert all(RunRecord("r", "d", s).ended for s in (Stage.DONE, Stage.REFUSED, Stage.FAILED))
    assert not any(RunRecord("r", "d", s).ended for s in (Stage.RUNNING, Stage.FINALIZING, Stage.STARTING))


def test_a_lock_holder_round_trips_and_its_acquire_form_leaves_out_what_is_unknown():
    stored = {
        "run_id": "20261124-aaaa",
        "day": "2026-11-24",
        "trigger": "submit",
        "host": "edge01",
        "pid": 4242,
        "started": "2026-11-25 07:00:00",
        "executor": "local",
        "token": "secret-token",
        "acquired": 1764050000.5,
        "ttl_seconds": 60,
    }
    holder = LockHolder.from_json(stored)
    assert (holder.run_id, holder.pid, holder.executor, holder.token) == (
        "20261124-aaaa",
        4242,
        "local",
        "secret-token",
    )
    assert holder.to_json() == {
        k: stored[k] for k in ("run_id", "day", "trigger", "host", "pid", "started", "executor")
    }
    assert LockHolder.sweeper("20261124-aaaa", "2026-11-24").to_json() == {
        "run_id": "20261124-aaaa",
        "day": "2026-11-24",
        "trigger": "sweeper",
    }


def test_lock_takeover_is_possible_only_while_nobody_held_the_job_since():
    mine, other = LockHolder("r1", token="t1"), LockHolder("r2", token="t2")
    assert LockView(mine, mine).owned_by("t1") and LockView(mine, mine).resumable("t1")
    lapsed = LockView(None, mine)  # the key expired; its last holder is still this run
    assert not lapsed.owned_by("t1") and lapsed.resumable("t1")
    taken = LockView(other, other)
    assert not taken.resumable("t1") and not LockView(None, other).resumable("t1")
    assert not LockView(mine, mine).resumable(None) and not LockView().owned_by(None)
    assert LockView.of({"run_id": "r1", "token": "t1"}, None) == LockView(LockHolder("r1", token="t1"), None)


def test_a_task_result_keeps_its_details_beside_the_run_and_state():
    result = TaskResult("20261124-aaaa", "running", {"groups": 8})
    assert result.to_json() == {"run_id": "20261124-aaaa", "state": "running", "groups": 8}
    assert TaskResult.from_json(result.to_json()) == result
