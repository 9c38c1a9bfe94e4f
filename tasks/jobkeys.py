"""The job's keys in Redis beside its runs' state (runstate.py): which runs are open, which
run claimed a day, whether the day's tick came, how often a task message was delivered.
No Celery here: plain redis-py.

    mnaas-missing-files:open:<job>              set: ids of the job's runs not yet ended (sweeper)
    mnaas-missing-files:scheduled:<job>:<day>   the run id of the day's scheduled or catch-up run
    mnaas-missing-files:tick:<job>:<day>        a tick for the day came (its run: trigger schedule)
    mnaas-missing-files:deadline:<job>:<day>    the day's NOT DELIVERED alert was sent (deadline.py)
    mnaas-missing-files:deliveries:<task>:<n>   deliveries of one task message (retry n)
"""

from __future__ import annotations

import datetime as dt

import redis

from .runstate import PREFIX, _job, _str, _text, open_key

SCHEDULED_TTL = 8 * 24 * 3600  # longer than any day can be "yesterday" for a late tick
DELIVERY_TTL = 2 * 24 * 3600

_REPLACE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""

_DELETE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def open_runs(client: redis.Redis, lock_key: str) -> list[str]:
    """Ids of the job's runs that have not ended (or whose end was never recorded)."""
    return sorted(_str(run_id) for run_id in client.smembers(open_key(lock_key)))


def forget_open_run(client: redis.Redis, lock_key: str, run_id: str) -> None:
    client.srem(open_key(lock_key), run_id)


def scheduled_key(lock_key: str, day: dt.date) -> str:
    return f"{PREFIX}:scheduled:{_job(lock_key)}:{day.isoformat()}"


def claim_scheduled_day(client: redis.Redis, lock_key: str, day: dt.date, run_id: str) -> str | None:
    """Claim the day's scheduled run for `run_id`. Returns None when claimed now (or already by
    this same run, on a redelivery), else the run id that claimed it first."""
    key = scheduled_key(lock_key, day)
    if client.set(key, run_id, nx=True, ex=SCHEDULED_TTL):
        return None
    owner = client.get(key)
    owner_id = _text(owner)
    return None if owner_id == run_id else (owner_id or "?")


def claim_day(
    client: redis.Redis, lock_key: str, day: dt.date, run_id: str, *, ttl: int, replacing: str | None = None
) -> bool:
    """Claim the day for `run_id` (True), or take over the claim of the stale run `replacing`;
    False when another run claimed it first."""
    key = scheduled_key(lock_key, day)
    if replacing and replacing != run_id:
        return bool(client.register_script(_REPLACE_IF_OWNER)(keys=[key], args=[replacing, run_id, ttl]))
    if client.set(key, run_id, nx=True, ex=ttl):
        return True
    return client.get(key) == run_id


def claim_age(client: redis.Redis, lock_key: str, day: dt.date, ttl: int) -> float:
    """Seconds since the day was claimed (its key's TTL counts down from `ttl`)."""
    left = client.ttl(scheduled_key(lock_key, day))
    return float(ttl - left) if left and left > 0 else float("inf")


def pending_tick(client: redis.Redis, lock_key: str, day: dt.date, *, ttl: int, mark: bool = False) -> bool:
    """Whether a tick for `day` came (mark=True records one): the day then runs with trigger
    `schedule` even if an operator ran it before, as a scheduled day always did."""
    key = f"{PREFIX}:tick:{_job(lock_key)}:{day.isoformat()}"
    if mark:
        client.set(key, "1", ex=ttl)
        return True
    return bool(client.exists(key))


def release_scheduled_day(client: redis.Redis, lock_key: str, day: dt.date, run_id: str) -> None:
    """Give the day back (the run was refused before it changed anything)."""
    client.register_script(_DELETE_IF_OWNER)(keys=[scheduled_key(lock_key, day)], args=[run_id])


def count_delivery(client: redis.Redis, task_id: str, retries: int) -> int:
    """This delivery's number (1 for the first) of one task message; a retry is a new message."""
    key = f"{PREFIX}:deliveries:{task_id}:{retries}"
    pipe = client.pipeline()
    pipe.incr(key)
    pipe.expire(key, DELIVERY_TTL)
    count, _ = pipe.execute()
    return int(count)
