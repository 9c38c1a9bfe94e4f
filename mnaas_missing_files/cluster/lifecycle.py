"""The rules at a submitted run's start and end, over what the task saw (its record, its
token, how often its message was delivered, the job's lock): whether start_run starts the
run, and whether a callback may report it, or who reports a run whose lock was lost.
"""

from __future__ import annotations

from enum import StrEnum

from mnaas_missing_files.cluster.records import LockView, RunRecord

NO_TOKEN = "the callback carries no lock token, so it cannot prove the run still holds the job; nothing is written"
PLAN_GONE = "the run's plan is no longer in its run state (expired or deleted), so its reports cannot be written"
TAKEN_BEFORE_START = "the run's lock was taken by another run before a worker started this one; not starting"


class Start(StrEnum):
    ALREADY = "already"  # it started (or ended) on an earlier delivery: do nothing
    ABANDON = "abandon"  # its message kept killing workers: end it failed, free the job
    CLAIM = "claim"  # no lock yet (beat's path): claim the day, then take the lock
    RESUME = "resume"  # it holds the lock (submit's token, or its own on a redelivery)


def start_step(record: RunRecord | None, token: str | None, delivery: int, max_deliveries: int) -> Start:
    """What start_run does with this delivery. `token`: the message's, else the run state's."""
    if record is not None and not record.not_started:
        return Start.ALREADY
    if delivery > max_deliveries:
        return Start.ABANDON
    return Start.RESUME if token else Start.CLAIM


def too_many_deliveries(task: str, delivery: int, max_deliveries: int) -> str:
    return f"{task} was delivered {delivery} times (MNAAS_MAX_DELIVERIES={max_deliveries}); its worker kept dying"


def finish_problem(*, delivery: int, max_deliveries: int, plan_known: bool, token: str | None) -> str | None:
    """Why the chord's callback cannot report the run (it is then abandoned), or None."""
    if delivery > max_deliveries:
        return too_many_deliveries("finalize_run", delivery, max_deliveries)
    if not plan_known:
        return PLAN_GONE
    if token is None:
        return NO_TOKEN
    return None


class LockLostEnd(StrEnum):
    """A run found its lock lost while reporting: who records its end."""

    SWEEPER = "sweeper"  # the sweeper holds the lock under this run's id and is reporting it
    THIS_RUN = "this run"  # nobody else will: mark it failed, once (if it is still open)
    ENDED = "ended"  # the run history holds its end already: a late copy of its callback


def who_ends_lock_lost(run_id: str, lock: LockView, *, ended_in_history: bool = False) -> LockLostEnd:
    """A late copy of a run's callback finds the job taken. When the run history already holds
    the run's end, nobody ends it again, even if a failover lost Redis's record of that end
    (the chaos soak saw such a copy rewrite a `success` as `failed` and send a notice)."""
    if ended_in_history:
        return LockLostEnd.ENDED
    return LockLostEnd.SWEEPER if lock.held_for(run_id) else LockLostEnd.THIS_RUN
