"""A group's missing names cross the wire and wait for the report writer compressed."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mnaas_missing_files.core.model import Group, GroupResult, Plan, iter_rows

DAY = dt.date(2026, 11, 24)
NAMES = {"eLUX": ["eLUX_A.dat", "eLUX_B.dat"], "Téléphonie": ["Téléphonie_é.dat"]}


def result():
    return GroupResult(
        "traffic/regular/1", True, counts={"eLUX": [5, 3], "Téléphonie": [1, 0], "JLR": [2, 2]}, missing=NAMES
    )


def test_the_wire_form_carries_no_plain_names_and_reads_back_the_same():
    wire = json.dumps(result().to_json())
    assert "eLUX_A.dat" not in wire and "missing_z" in wire
    back = GroupResult.from_json(json.loads(wire))
    assert back.missing_names() == NAMES
    assert back.counts == {"eLUX": [5, 3], "Téléphonie": [1, 0], "JLR": [2, 2]}


def test_a_compacted_result_keeps_its_names_and_drops_the_plain_copy():
    small = result().compact()
    assert small.missing == {} and small.missing_names() == NAMES
    assert small.compact() is small


def test_many_similar_names_cost_a_few_bytes_each():
    names = {"Cust_0001": [f"Cust_0001_TRAFFIC_20261124_{n:05d}.dat" for n in range(5000)]}
    packed = GroupResult("g", True, counts={"Cust_0001": [5000, 0]}, missing=names).to_json()["missing_z"]
    assert len(packed) < 5000 * 10  # plain, the names are 36 bytes each


def test_a_result_without_its_packed_names_or_of_another_version_is_refused_by_name():
    from mnaas_missing_files.core.errors import MessageFormatError

    plain = {"group_id": "g", "ok": True, "counts": {"eLUX": [2, 0]}, "missing": {"eLUX": ["eLUX_A.dat"]}}
    with pytest.raises(MessageFormatError, match="a group's result has no 'missing_z' field"):
        GroupResult.from_json(plain)
    future = result().to_json() | {"version": 2}
    with pytest.raises(MessageFormatError, match="a group's result is of format version 2; this version reads 1"):
        GroupResult.from_json(future)
    assert GroupResult.from_json(result().to_json()).missing_names() == result().missing


def test_rows_come_lazily_in_plan_order_from_compacted_results():
    group = Group("traffic/regular/1", "traffic", "regular", ("eLUX", "JLR", "Téléphonie"))
    failed = Group("traffic/infonova/1", "traffic", "infonova", ("INFONOVA_VF",))
    plan = Plan("r", DAY, [group, failed])
    rows = iter_rows(
        plan, {group.group_id: result().compact(), failed.group_id: GroupResult.failed(failed.group_id, "boom")}
    )
    assert next(rows).missing == ["eLUX_A.dat", "eLUX_B.dat"]
    rest = list(rows)
    assert [(r.customer, r.received, r.missing) for r in rest] == [
        ("JLR", 2, []),
        ("Téléphonie", 1, ["Téléphonie_é.dat"]),
        ("INFONOVA_VF", None, None),
    ]
