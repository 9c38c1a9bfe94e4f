"""A run's groups in Redis: which process is checking which group now, which groups are done
(each counted once however often its task is delivered), and their results, read back whole
or a chunk of the plan at a time (storedresults.py). RunState (runstate.py), the run's record,
is built on it. The keys and their TTL: keys.py. No Celery here: plain redis-py.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping

import redis

from mnaas_missing_files.cluster.keys import STATE_TTL, result_key, run_key, run_part_key
from mnaas_missing_files.cluster.records import now_stamp
from mnaas_missing_files.cluster.storedresults import StoredResults
from mnaas_missing_files.core.model import GroupResult, Plan
from mnaas_missing_files.state.redisconn import reply_str

RESULTS_CHUNK = 200  # group results per MGET: a few MB at most per reply

# Count a group once however often its task is delivered, so `done` never exceeds `total`.
_GROUP_DONE = """
local first = redis.call('sadd', KEYS[2], ARGV[1])
redis.call('set', KEYS[3], ARGV[4])
redis.call('hdel', KEYS[5], ARGV[1])
if first == 1 then
  redis.call('hincrby', KEYS[1], 'done', 1)
  if ARGV[2] == '0' then
    redis.call('hincrby', KEYS[1], 'failed', 1)
    redis.call('hset', KEYS[4], ARGV[1], ARGV[3])
  end
end
redis.call('hset', KEYS[1], 'updated', ARGV[6])
for i = 1, 6 do redis.call('expire', KEYS[i], ARGV[5]) end
return first
"""


class GroupProgress:
    """One run's keys, and the progress and results of its groups."""

    def __init__(self, client: redis.Redis, run_id: str):
        self.client = client
        self.run_id = run_id
        self.key = run_key(run_id)

    def _keys(self, group_id: str) -> list[str]:
        return [
            self.key,
            self.part_key("done"),
            self.result_key(group_id),
            self.part_key("failed"),
            self.part_key("active"),
            self.plan_key,
        ]

    def part_key(self, part: str) -> str:
        return run_part_key(self.run_id, part)

    def result_key(self, group_id: str) -> str:
        return result_key(self.run_id, group_id)

    @property
    def plan_key(self) -> str:
        return self.part_key("plan")

    def group_started(self, group_id: str) -> None:
        self.client.hset(self.part_key("active"), group_id, f"{socket.gethostname()} pid {os.getpid()}")
        self.client.expire(self.part_key("active"), STATE_TTL)

    def active(self) -> dict[str, str]:
        """group id -> "host pid N" of the process checking it right now."""
        return {reply_str(k): reply_str(v) for k, v in self.client.hgetall(self.part_key("active")).items()}

    def group_done(self, result: GroupResult) -> bool:
        """Record a group's result; False when it had been counted already (a redelivery)."""
        script = self.client.register_script(_GROUP_DONE)
        first = script(
            keys=self._keys(result.group_id),
            args=[
                result.group_id,
                int(result.ok),
                result.error or "",
                json.dumps(result.to_json()),
                STATE_TTL,
                now_stamp(),
            ],
        )
        return bool(first)

    def batch_done(self, batch_id: str, results: list[GroupResult]) -> None:
        """Record every group's result of one group task (a batch); then it is not active."""
        for result in results:
            self.group_done(result)
        self.client.hdel(self.part_key("active"), batch_id)

    def stored_results(self, plan: Plan) -> Mapping[str, GroupResult]:
        """The recorded results as the callback reads them: fetched from Redis a chunk of the
        plan's groups at a time, never all held at once (contract §19; storedresults.py)."""
        return StoredResults(self.client, self.run_id, [g.group_id for g in plan.groups])

    def results(self) -> dict[str, GroupResult]:
        """Every recorded group's result (the groups counted in `done`), read in chunks."""
        group_ids = sorted(reply_str(g) for g in self.client.smembers(self.part_key("done")))
        found: dict[str, GroupResult] = {}
        for start in range(0, len(group_ids), RESULTS_CHUNK):
            chunk = group_ids[start : start + RESULTS_CHUNK]
            for group_id, raw in zip(chunk, self.client.mget([self.result_key(g) for g in chunk])):
                if raw is not None:
                    found[group_id] = GroupResult.from_json(json.loads(raw))
        return found
