"""What a submitted run is doing, kept in Redis so that `submit --wait`, `status` and an
operator can follow it without holding a worker. No Celery here: plain redis-py. Its keys
(`<prefix>:run:<run_id>` and its side keys, all living STATE_TTL) are listed in keys.py; the
job's other keys (a day's claim, a tick, a task message's deliveries): jobkeys.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading

import redis

from mnaas_missing_files.cluster.groupprogress import GroupProgress
from mnaas_missing_files.cluster.keys import STATE_TTL, open_key, plan_batch_key, run_part_key
from mnaas_missing_files.cluster.records import RunRecord, now_stamp
from mnaas_missing_files.core.model import Plan
from mnaas_missing_files.core.states import TERMINAL_STAGES, Stage
from mnaas_missing_files.state.redisconn import REDIS_TIMEOUT, connect_redis, reply_str, reply_text

_clients: dict[tuple, redis.Redis] = {}
_clients_lock = threading.Lock()


def redis_client(url: str, *, sentinel_master: str | None = None, sentinel_password: str | None = None) -> redis.Redis:
    """One client per process and URL: a forked pool process never reuses its parent's sockets.
    A sentinel URL gives a client of the master its sentinels name, as the run lock's is."""
    key = (os.getpid(), url, sentinel_master, sentinel_password)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = connect_redis(
                url,
                sentinel_master=sentinel_master,
                sentinel_password=sentinel_password,
                decode_responses=True,
                timeout=REDIS_TIMEOUT,
            )
        return client


class RunState(GroupProgress):
    """One run's progress record; its groups' progress and results: GroupProgress
    (groupprogress.py)."""

    def create(
        self,
        *,
        day: dt.date | str,
        trigger: str,
        dry_run: bool,
        total: int,
        job: str,
        state: Stage = Stage.QUEUED,
        token: str | None = None,
    ) -> None:
        """`job` is the job's lock key: the run is listed among the job's open runs until it
        ends. The token lets a redelivered scheduled start_run go on with its lock, and the
        sweeper tell whether the run still holds the job."""
        fields = {
            "run_id": self.run_id,
            "day": str(day),
            "trigger": trigger,
            "dry_run": int(bool(dry_run)),
            "state": state,
            "total": int(total),
            "done": 0,
            "failed": 0,
            "created": now_stamp(),
            "updated": now_stamp(),
            "job": job,
        }
        if token:
            fields["token"] = token
        pipe = self.client.pipeline()
        pipe.hset(self.key, mapping=fields)  # type: ignore[arg-type]  # str and int values only
        pipe.expire(self.key, STATE_TTL)
        pipe.sadd(open_key(job), self.run_id)
        pipe.expire(open_key(job), STATE_TTL)
        pipe.execute()

    def create_for(self, plan: Plan, *, job: str, state: Stage, token: str | None = None) -> None:
        """`create` for a planned run."""
        self.create(
            day=plan.day,
            trigger=plan.trigger,
            dry_run=plan.dry_run,
            total=len(plan.groups),
            job=job,
            state=state,
            token=token,
        )

    def exists(self) -> bool:
        return bool(self.client.exists(self.key))

    def token(self) -> str | None:
        return reply_text(self.client.hget(self.key, "token"))

    def set(self, **fields) -> None:
        fields["updated"] = now_stamp()
        pipe = self.client.pipeline()
        pipe.hset(self.key, mapping={k: str(v) for k, v in fields.items()})
        pipe.expire(self.key, STATE_TTL)
        pipe.execute()

    def _set_if_updated(self, updated: str, fields: dict) -> bool:
        fields = {k: str(v) for k, v in {**fields, "updated": now_stamp()}.items()}
        with self.client.pipeline() as pipe:
            try:
                pipe.watch(self.key)
                if pipe.hget(self.key, "updated") != updated:
                    return False
                pipe.multi()
                pipe.hset(self.key, mapping=fields)
                pipe.expire(self.key, STATE_TTL)
                pipe.execute()
                return True
            except redis.exceptions.WatchError:
                return False

    def lapse_seen(self, *, done: int, now: float) -> float:
        """When a sweeper first saw the run lapsed with `done` groups done (now, if this is the
        first sighting or a group has finished since the last one)."""
        seen_at, seen_done = self.client.hmget(self.key, "lapse_seen_at", "lapse_seen_done")
        if seen_at is not None and seen_done == str(done):
            return float(seen_at)
        self.client.hset(self.key, mapping={"lapse_seen_at": repr(now), "lapse_seen_done": str(done)})
        return now

    def save_plan(self, plan: dict) -> None:
        """Keep the run's plan once, for its callback: the chord's callback signature rides in
        every group task's message, so it carries only the run id and day. A key per batch
        (`:plan:<n>`, the size of one group task's message) under a small header, so that no
        key grows with the day: 100,000 customers made a 1.5 MB plan."""
        batches = plan["batches"]
        header = {k: v for k, v in plan.items() if k != "batches"} | {"batch_keys": len(batches)}
        pipe = self.client.pipeline()
        for n, batch in enumerate(batches):
            pipe.set(plan_batch_key(self.run_id, n), json.dumps(batch), ex=STATE_TTL)
        pipe.set(self.plan_key, json.dumps(header), ex=STATE_TTL)  # last: whole once seen
        pipe.execute()

    def plan(self) -> dict | None:
        raw = self.client.get(self.plan_key)
        if not raw:
            return None
        plan = json.loads(raw)
        count = plan.pop("batch_keys", None)
        if not isinstance(count, int):  # not a header this version wrote: the decoder refuses it
            return plan
        parts = self.client.mget([plan_batch_key(self.run_id, n) for n in range(count)]) if count else []
        plan["batches"] = [json.loads(part) for part in parts if part is not None]
        return plan if len(plan["batches"]) == count else None  # partly expired: as good as gone

    def journal(self) -> RedisJournal:
        return RedisJournal(self.client)

    def claim_finalizer(self, me: str, ttl: int) -> str | None:
        """Take the run's one-callback-at-a-time claim for `me` (None: taken), or say who holds
        it. A broker failover can put a running callback's message back in the queue (kombu
        restores unacknowledged messages when its connection drops): two copies riding out an
        SMTP outage both sent the report (chaos soak). The claim lives at most `ttl`, so a
        holder killed meanwhile blocks nobody for long."""
        if self.client.set(self.part_key("finalizer"), me, nx=True, ex=ttl):
            return None
        return reply_str(self.client.get(self.part_key("finalizer")) or b"(gone)")

    def release_finalizer(self, me: str) -> None:
        """Give the claim back if `me` still holds it (compare, then delete)."""
        key = self.part_key("finalizer")
        if reply_str(self.client.get(key) or b"") == me:
            self.client.delete(key)

    def finish(
        self,
        *,
        state: Stage,
        exit_code: int,
        outcome: dict | None = None,
        message: str = "",
        only_if_open: bool = False,
        if_updated: str | None = None,
    ) -> bool:
        """Record how the run ended. With only_if_open, an ended run is left as it is (a stale
        duplicate must not overwrite the real outcome); with if_updated, only a run whose
        record nobody touched since it read `updated` so. False when nothing was written."""
        if only_if_open and self.read().get("state") in TERMINAL_STAGES:
            return False
        fields = {"state": state, "exit_code": exit_code, "message": message}
        if outcome is not None:
            fields["outcome"] = json.dumps(outcome, default=str)
        if if_updated is not None:
            if not self._set_if_updated(if_updated, fields):
                return False
        else:
            self.set(**fields)
        self.client.delete(self.part_key("active"))
        job = self.client.hget(self.key, "job")
        if job:
            self.client.srem(open_key(reply_str(job)), self.run_id)
        return True

    def record(self) -> RunRecord | None:
        """The run's record, typed; None for an unknown run."""
        raw = self.read()
        return RunRecord.from_json(raw) if raw else None

    def read(self) -> dict:
        """The run's record with typed counts (empty dict for an unknown run); never the token."""
        raw = self.client.hgetall(self.key)
        if not raw:
            return {}
        record: dict = {k: v for k, v in raw.items() if k != "token"}
        for name in ("total", "done", "failed"):
            record[name] = int(raw.get(name) or 0)
        record["dry_run"] = raw.get("dry_run") == "1"
        record["exit_code"] = int(raw["exit_code"]) if raw.get("exit_code") not in (None, "") else None
        record["outcome"] = json.loads(raw["outcome"]) if raw.get("outcome") else None
        record["failed_groups"] = self.client.hgetall(self.part_key("failed"))
        return record


class RedisJournal:
    """finalize's DeliveryJournal: which emails of a run went out, shared by every worker."""

    def __init__(self, client: redis.Redis):
        self.client = client

    def was_sent(self, run_id: str, kind: str) -> bool:
        return bool(self.client.sismember(run_part_key(run_id, "sent"), kind))

    def mark_sent(self, run_id: str, kind: str) -> None:
        pipe = self.client.pipeline()
        pipe.sadd(run_part_key(run_id, "sent"), kind)
        pipe.expire(run_part_key(run_id, "sent"), STATE_TTL)
        pipe.execute()
