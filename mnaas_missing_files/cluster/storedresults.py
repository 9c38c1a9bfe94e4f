"""A run's group results read from its run state as the callback asks for them (contract §19:
the callback's memory does not grow with the day).

Holding every group's result at once cost the scale model's callback ~115 MB at 1,000,000
pairs (each group's counts as a dict). The domain reads results group by group in plan order
(the analysis, the CSV and TXT, the outstanding report), so this mapping fetches a chunk of
the plan's next groups in one MGET, keeps their JSON until the next chunk replaces it, and
decodes one group at a time. Each pass over the plan reads the results from Redis again:
a few seconds at 1,000,000 pairs, instead of memory that grows with the day.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence

import redis

from mnaas_missing_files.cluster.keys import result_key, run_part_key
from mnaas_missing_files.core.model import GroupResult
from mnaas_missing_files.state.redisconn import reply_str

CHUNK = 50  # groups per MGET: at most MNAAS_GROUP_SIZE customers' JSON each, ~1.5 MB in all


class StoredResults(Mapping[str, GroupResult]):
    """group id -> its recorded result, for the groups counted done whose result is still
    in the run state (what RunState.results() returns as a dict), in plan order."""

    def __init__(self, client: redis.Redis, run_id: str, order: Sequence[str], chunk: int = CHUNK) -> None:
        self.client = client
        self.run_id = run_id
        self.chunk = max(1, chunk)
        done = {reply_str(g) for g in client.smembers(run_part_key(run_id, "done"))}
        planned = set(order)
        # plan order first, then any group the plan does not name (sorted, as results() read them)
        self._order = [g for g in order if g in done] + sorted(done - planned)
        self._place = {g: n for n, g in enumerate(self._order)}
        self._raw: dict[str, str | None] = {}  # the current chunk's JSON (None: expired)
        self._last: tuple[str, GroupResult] | None = None  # decoded once, asked for twice

    def _fetch(self, group_id: str) -> str | None:
        if group_id not in self._raw:
            start = self._place[group_id]
            ids = self._order[start : start + self.chunk]
            raw = self.client.mget([result_key(self.run_id, g) for g in ids])
            self._raw = {g: None if r is None else reply_str(r) for g, r in zip(ids, raw)}
        return self._raw[group_id]

    def __getitem__(self, group_id: str) -> GroupResult:
        if self._last is not None and self._last[0] == group_id:
            return self._last[1]
        raw = self._fetch(group_id) if group_id in self._place else None
        if raw is None:
            raise KeyError(group_id)
        result = GroupResult.from_json(json.loads(raw))
        self._last = (group_id, result)
        return result

    def __contains__(self, group_id: object) -> bool:
        return isinstance(group_id, str) and group_id in self._place and self._fetch(group_id) is not None

    def __iter__(self) -> Iterator[str]:
        return (g for g in self._order if self._fetch(g) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)
