"""The callback's results read from the run state as asked (cluster/storedresults.py, contract
§19): a chunk of the plan's groups per MGET, in plan order, what RunState.results() returns
as a dict, and no more than one chunk held. A stand-in for redis-py's client: a dict."""

from __future__ import annotations

import json

import pytest

from mnaas_missing_files.cluster.keys import result_key, run_part_key
from mnaas_missing_files.cluster.storedresults import StoredResults
from mnaas_missing_files.core.model import GroupResult

RUN = "20261123-abcdef01"


class DictRedis:
    """smembers and mget over a dict, counting the MGETs and the keys each asked for."""

    def __init__(self, values: dict[str, object]):
        self.values = values
        self.mgets: list[list[str]] = []

    def smembers(self, key: str) -> set:
        return set(self.values.get(key, set()))  # type: ignore[call-overload]

    def mget(self, keys: list[str]) -> list:
        self.mgets.append(list(keys))
        return [self.values.get(k) for k in keys]


def _result(group_id: str, received: int) -> GroupResult:
    return GroupResult(group_id, True, counts={"eLUX": [received, received]}, missing={})


def _store(done: list[str], expired: tuple[str, ...] = ()) -> DictRedis:
    values: dict[str, object] = {run_part_key(RUN, "done"): set(done)}
    for n, group_id in enumerate(done):
        if group_id not in expired:
            values[result_key(RUN, group_id)] = json.dumps(_result(group_id, n).to_json())
    return DictRedis(values)


def test_results_are_fetched_a_chunk_of_the_plan_at_a_time_in_plan_order():
    plan = ["t/regular/1", "t/regular/2", "t/infonova/1", "s/regular/1", "s/regular/2"]
    client = _store(plan[:4] + ["x/regular/9"])  # s/regular/2 not done; x/regular/9 not planned
    results = StoredResults(client, RUN, plan, chunk=2)  # type: ignore[arg-type]
    assert [results.get(g) is not None for g in plan] == [True, True, True, True, False]
    # t/regular/1 fetched t/regular/1 + t/regular/2; t/infonova/1 the next two done ones
    assert client.mgets == [
        [result_key(RUN, "t/regular/1"), result_key(RUN, "t/regular/2")],
        [result_key(RUN, "t/infonova/1"), result_key(RUN, "s/regular/1")],
    ]
    assert results["t/infonova/1"].counts == {"eLUX": [2, 2]}  # the third done group's
    assert list(results) == [*plan[:4], "x/regular/9"]  # the unplanned one last
    assert len(results) == 5


def test_a_group_counted_done_whose_result_expired_is_not_there():
    plan = ["t/regular/1", "t/regular/2"]
    results = StoredResults(_store(plan, expired=("t/regular/2",)), RUN, plan)  # type: ignore[arg-type]
    assert "t/regular/1" in results and "t/regular/2" not in results
    assert results.get("t/regular/2") is None
    with pytest.raises(KeyError):
        results["t/regular/2"]
    assert dict(results) == {"t/regular/1": _result("t/regular/1", 0).compact()}


def test_a_group_asked_for_twice_running_is_decoded_once():
    plan = ["t/regular/1"]
    results = StoredResults(_store(plan), RUN, plan)  # type: ignore[arg-type]
    assert results["t/regular/1"] is results["t/regular/1"]
