"""The sweeper's rules (contract §13), over what one look at a run saw: its record, its lock
token and the job's lock. The sweep task reads those, asks here, and does what is decided.

A run is lost when it has not ended but no longer holds the job's lock: nothing moved for
MNAAS_LOCK_TTL seconds, so the lock lapsed, and it stayed so, with no group finishing, for
MNAAS_GROUP_TIME_LIMIT after a sweeper first saw it lapsed. The sweeper then takes the job
over from it (only if nobody has held the job since) and reports it; a run whose job another
run took meanwhile is only marked failed, once nothing has touched it for MNAAS_LOCK_TTL.
"""

from __future__ import annotations

from enum import StrEnum

from mnaas_missing_files.cluster.records import LockView, RunRecord


class Sweep(StrEnum):
    """What the sweep did with (or decided for) one open run."""

    ENDED = "ended"  # it ended (or is gone): no longer open
    RUNNING = "running"  # it holds the lock, or took it back a moment ago
    LAPSED = "lapsed"  # its lock lapsed, not for long enough yet
    TAKE_OVER = "take over"  # lost: take the job over from it, then report it
    SUPERSEDED = "superseded"  # another run held the job since: marked failed
    REPORTED = "reported"  # taken over and reported
    UNREPORTABLE = "unreportable"  # taken over, could not be reported: marked failed, job freed


# What the sweep task lists per outcome in its result (TAKE_OVER is never final).
LISTED = (Sweep.REPORTED, Sweep.UNREPORTABLE, Sweep.SUPERSEDED, Sweep.LAPSED, Sweep.RUNNING)


def first_look(record: RunRecord | None, token: str | None, lock: LockView) -> Sweep:
    """ENDED, RUNNING, LAPSED (the caller then asks `lapsed_long_enough`) or TAKE_OVER."""
    if record is None or record.ended:
        return Sweep.ENDED
    if not token or lock.owned_by(token):
        return Sweep.RUNNING
    if lock.resumable(token):
        return Sweep.LAPSED
    return Sweep.TAKE_OVER


def lapsed_long_enough(first_seen: float, now: float, group_time_limit: float) -> bool:
    """Whether the run has stayed lapsed, without a group finishing, for MNAAS_GROUP_TIME_LIMIT
    since a sweeper first saw it so (`first_seen`, reset whenever a group finishes). By then a
    group still running when the lock lapsed has finished, and taken the lock back, or been
    killed by its hard time limit: a healthy run is never reported lost."""
    return now - first_seen >= group_time_limit


# A lost run is reported with its day's settings. While they do not load (a DuckDB file moved
# away for a moment) the report waits for a later sweep, up to this long past the lapse's
# grace: taken over then, the run could only be marked failed, with no reports and no email
# (found by the chaos soak, docs/reliability.md).
CONFIG_PATIENCE_SECONDS = 300


def report_waits_for_settings(first_seen: float, now: float, group_time_limit: float) -> bool:
    """While the run's day's settings do not load: whether the sweep leaves the lost run for a
    later sweep (True) rather than take it over now and only mark it failed."""
    return now - first_seen < group_time_limit + CONFIG_PATIENCE_SECONDS


def ended_in_history(entries: list[dict], run_id: str) -> dict | None:
    """The run history's end of `run_id`, if it has one. A run whose end the history holds has
    ended even when Redis lost the record of it (a write to a stale master that woke up after a
    failover was dropped): ending it again would rewrite its history or report it twice."""
    return next((e for e in entries if e.get("run_id") == run_id and e.get("ended")), None)


def may_mark_superseded(updated_age: float, lock_ttl: float) -> bool:
    """A superseded run is marked failed only when nothing touched its record for the lock's
    TTL: a finalize ending it, or a sweeper reporting it, would have."""
    return updated_age >= lock_ttl


def superseded_message(lock_ttl: int, holder_run_id: str | None) -> str:
    now = f"run {holder_run_id} holds it now" if holder_run_id else "it is free now"
    return (
        f"lost: its lock lapsed ({lock_ttl} s without progress, MNAAS_LOCK_TTL) "
        f"and another run has held the job since ({now}); this run wrote nothing more"
    )


def lost_reason(lock_ttl: int) -> str:
    """Why a lost run's groups without a result count as failed, in its reports."""
    return (
        f"lost: no result came back before the run's lock lapsed ({lock_ttl} s "
        "without progress, MNAAS_LOCK_TTL): were its workers stopped or its messages lost?"
    )
