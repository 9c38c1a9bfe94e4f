"""The job's keys in Redis beside its runs' state (runstate.py): which runs are open, which
run claimed a day, whether the day's tick came, how often a task message was delivered. The
keys and their TTLs: keys.py. No Celery here: plain redis-py.
"""

from __future__ import annotations

import datetime as dt

import redis

from mnaas_missing_files.cluster.keys import (
    DELIVERY_TTL,
    SCHEDULED_TTL,
    deadline_key,
    deliveries_key,
    open_key,
    scheduled_key,
    tick_key,
)
from mnaas_missing_files.state.redisconn import reply_str, reply_text

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
    return sorted(reply_str(run_id) for run_id in client.smembers(open_key(lock_key)))


def forget_open_run(client: redis.Redis, lock_key: str, run_id: str) -> None:
    client.srem(open_key(lock_key), run_id)


def claim_scheduled_day(client: redis.Redis, lock_key: str, day: dt.date, run_id: str) -> str | None:
    """Claim the day's scheduled run for `run_id`. Returns None when claimed now (or already by
    this same run, on a redelivery), else the run id that claimed it first."""
    key = scheduled_key(lock_key, day)
    if client.set(key, run_id, nx=True, ex=SCHEDULED_TTL):
        return None
    owner = client.get(key)
    owner_id = reply_text(owner)
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
    key = tick_key(lock_key, day)
    if mark:
        client.set(key, "1", ex=ttl)
        return True
    return bool(client.exists(key))


def release_scheduled_day(client: redis.Redis, lock_key: str, day: dt.date, run_id: str) -> None:
    """Give the day back (the run was refused before it changed anything)."""
    client.register_script(_DELETE_IF_OWNER)(keys=[scheduled_key(lock_key, day)], args=[run_id])


def count_delivery(client: redis.Redis, task_id: str, retries: int) -> int:
    """This delivery's number (1 for the first) of one task message; a retry is a new message."""
    key = deliveries_key(task_id, retries)
    pipe = client.pipeline()
    pipe.incr(key)
    pipe.expire(key, DELIVERY_TTL)
    count, _ = pipe.execute()
    return int(count)


def claim_deadline_alert(client: redis.Redis, lock_key: str, day: dt.date, ttl: int) -> bool:
    """Claim the sending of the day's NOT DELIVERED alert: False when it went out already
    (this sweeper or another)."""
    return bool(client.set(deadline_key(lock_key, day), "alerting", nx=True, ex=ttl))


def deadline_alert_sent(client: redis.Redis, lock_key: str, day: dt.date, ttl: int, *, sent: bool) -> None:
    """Mark the claimed alert sent, or give the claim back when nothing went out."""
    if sent:
        client.set(deadline_key(lock_key, day), "sent", ex=ttl)
    else:
        client.delete(deadline_key(lock_key, day))
