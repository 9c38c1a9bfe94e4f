"""Every Redis key the product writes and how long it lives, in one place (contract §20).

`LAYOUT` lists each key pattern with its type, TTL and meaning: the design page is checked
against it. The job's lock key is computed by the lock itself (state/redislock.py), because
`run` pointing at a Redis takes the same lock from a layer below this one; it is listed here.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from mnaas_missing_files.state.redislock import LAST_HOLDER_TTL, LOCK_PREFIX, lock_key

__all__ = ["LAST_HOLDER_TTL", "LOCK_PREFIX", "lock_key"]

PREFIX = "mnaas-missing-files"

DAY = 24 * 3600
STATE_TTL = 7 * DAY  # a run's keys: far above the longest run, long enough to look back a week
SCHEDULED_TTL = 8 * DAY  # longer than any day can be "yesterday" for a late tick
DELIVERY_TTL = 2 * DAY  # a task message is redelivered within hours, never days
ALERT_TTL = 4 * DAY  # outlives the two days in which a day can be the overdue one


def job_name(job_lock_key: str) -> str:
    """The job's part of its lock key (`<script>:<digest of the status file>`), which names
    the job's other keys."""
    return job_lock_key.rsplit(":lock:", 1)[-1]


def run_key(run_id: str) -> str:
    return f"{PREFIX}:run:{run_id}"


def run_part_key(run_id: str, part: str) -> str:
    """One of a run's side keys: failed, done, active, sent, plan, finalizer."""
    return f"{run_key(run_id)}:{part}"


def result_key(run_id: str, group_id: str) -> str:
    return f"{run_key(run_id)}:result:{group_id}"


def plan_batch_key(run_id: str, number: int) -> str:
    return f"{run_key(run_id)}:plan:{number}"


def open_key(job_lock_key: str) -> str:
    return f"{PREFIX}:open:{job_name(job_lock_key)}"


def scheduled_key(job_lock_key: str, day: dt.date) -> str:
    return f"{PREFIX}:scheduled:{job_name(job_lock_key)}:{day.isoformat()}"


def tick_key(job_lock_key: str, day: dt.date) -> str:
    return f"{PREFIX}:tick:{job_name(job_lock_key)}:{day.isoformat()}"


def deadline_key(job_lock_key: str, day: dt.date) -> str:
    return f"{PREFIX}:deadline:{job_name(job_lock_key)}:{day.isoformat()}"


def deliveries_key(task_id: str, retries: int) -> str:
    return f"{PREFIX}:deliveries:{task_id}:{retries}"


def claim_ttl(catchup_days: int) -> int:
    """A day's claim and tick outlive the catch-up window (K + 1 days at least), so no day of
    it is started twice."""
    return max(SCHEDULED_TTL, (catchup_days + 2) * DAY)


class KeyPattern(NamedTuple):
    pattern: str
    kind: str  # the Redis type
    ttl: str  # how long it lives, in words (some follow a setting)
    meaning: str


_RUN = f"{PREFIX}:run:<run_id>"
_JOB = "<job>"  # <script name>:<first 12 hex of the SHA-1 of the status file's absolute path>

LAYOUT: tuple[KeyPattern, ...] = (
    KeyPattern(
        f"{LOCK_PREFIX}:{_JOB}",
        "string",
        "MNAAS_LOCK_TTL, extended by the run",
        "the job's lock: the holder's JSON with its token (contract §6)",
    ),
    KeyPattern(
        f"{LOCK_PREFIX}:{_JOB}:last",
        "string",
        f"{LAST_HOLDER_TTL // DAY} days, deleted on release",
        "the last holder's JSON: a lapsed run may take the lock back while it is still the last holder",
    ),
    KeyPattern(
        _RUN,
        "hash",
        f"{STATE_TTL // DAY} days",
        "the run's record: run_id day trigger dry_run state total done failed exit_code outcome "
        "message created updated job token lapse_seen_at lapse_seen_done",
    ),
    KeyPattern(f"{_RUN}:failed", "hash", f"{STATE_TTL // DAY} days", "group id -> error of each failed group"),
    KeyPattern(
        f"{_RUN}:result:<group id>",
        "string",
        f"{STATE_TTL // DAY} days",
        "one group's result JSON: a key per group, so that no key holds the whole day",
    ),
    KeyPattern(f"{_RUN}:done", "set", f"{STATE_TTL // DAY} days", "the group ids counted in `done`"),
    KeyPattern(
        f"{_RUN}:active", "hash", f"{STATE_TTL // DAY} days", "group task (batch) id -> host and pid checking it now"
    ),
    KeyPattern(f"{_RUN}:sent", "set", f"{STATE_TTL // DAY} days", "the kinds of email sent for the run (one each)"),
    KeyPattern(
        f"{_RUN}:plan",
        "string",
        f"{STATE_TTL // DAY} days",
        "the run's plan JSON without its batches, for its callback",
    ),
    KeyPattern(f"{_RUN}:plan:<n>", "string", f"{STATE_TTL // DAY} days", "the plan's batch n (one group task's)"),
    KeyPattern(
        f"{_RUN}:finalizer",
        "string",
        "MNAAS_GROUP_TIME_LIMIT + 5 s, deleted by its holder",
        "the task id and pid of the run's callback copy now ending it: one copy at a time",
    ),
    KeyPattern(
        f"{PREFIX}:open:{_JOB}",
        "set",
        f"{STATE_TTL // DAY} days",
        "ids of the job's runs not yet ended (the sweeper's)",
    ),
    KeyPattern(
        f"{PREFIX}:scheduled:{_JOB}:<day>",
        "string",
        f"{SCHEDULED_TTL // DAY} days or MNAAS_CATCHUP_DAYS + 2 days",
        "the id of the run that claimed the day (scheduled or catch-up): each day starts once",
    ),
    KeyPattern(
        f"{PREFIX}:tick:{_JOB}:<day>",
        "string",
        f"{SCHEDULED_TTL // DAY} days or MNAAS_CATCHUP_DAYS + 2 days",
        "beat's tick for the day came: its run has trigger `schedule`",
    ),
    KeyPattern(
        f"{PREFIX}:deadline:{_JOB}:<day>",
        "string",
        f"{ALERT_TTL // DAY} days",
        "the day's NOT DELIVERED alert: `alerting` while it is sent, then `sent`",
    ),
    KeyPattern(
        f"{PREFIX}:deliveries:<task id>:<retries>",
        "string",
        f"{DELIVERY_TTL // DAY} days",
        "how often one task message was delivered (MNAAS_MAX_DELIVERIES)",
    ),
)
