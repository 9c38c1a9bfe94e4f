"""The batch check's SQL on a real DuckDB warehouse, against hand-worked expectations."""

import datetime as dt

import pytest

from mnaas_missing_files.checking.check import _joined_lines, _pack_names, check_batch
from mnaas_missing_files.cli.demo_data import Rows, write_duckdb
from mnaas_missing_files.core.errors import WarehouseError
from mnaas_missing_files.core.model import Batch, Group, unpack_names
from mnaas_missing_files.warehouse.duckdb_engine import DuckDBWarehouse
from tests.helpers.settings import settings_for_tests

D = "2026-11-24"
OTHER_DAY = "2026-11-23"
QUOTED = 'O\'Brien "Logistics"'


@pytest.fixture
def warehouse(tmp_path):
    rows = Rows(
        kpi=[
            (D, "traffic", "eLUX", "File Received", 2),
            (D, "traffic", "eLUX", "File Received", 1),  # split KPI: summed to 3
            (D, "traffic", "eLUX", "File Generated", 1),
            (D, "traffic", "eLUX", "Records Processed", 999),  # another KPI: ignored
            (D, "traffic", QUOTED, "File Received", 2),
            (D, "traffic", QUOTED, "File Generated", 2),
            (OTHER_DAY, "traffic", "eLUX", "File Received", 50),  # other day: ignored
            (D, "actives", "eLUX", "File Received", 70),  # other process: ignored
            (D, "traffic", "Unlisted", "File Received", 80),  # unconfigured customer
        ],
        received=[
            (D, "traffic", "eLUX", "F1.dat", 10),
            (D, "traffic", "eLUX", "F1.dat", 10),  # duplicate row: counted once
            (D, "traffic", "eLUX", "F2.dat", 10),
            (D, "traffic", "eLUX", "F3.dat", 10),
            (D, "traffic", QUOTED, "Q1.dat", 10),
            (D, "traffic", QUOTED, "Q2.dat", 10),
            (D, "traffic", "JLR", "J1.dat", 10),  # JLR has no KPI rows at all
            (OTHER_DAY, "traffic", "eLUX", "OLD.dat", 10),
            (D, "actives", "eLUX", "A1.dat", 10),
            (D, "traffic", "Unlisted", "U1.dat", 10),
        ],
        generated=[
            (D, "traffic", "eLUX", "F2.dat", "eLUX_F2.dat", 10),
            (OTHER_DAY, "traffic", "eLUX", "F3.dat", "eLUX_F3.dat", 10),  # generated another day
            (D, "actives", "eLUX", "F1.dat", "eLUX_F1.dat", 10),  # other process
            (D, "traffic", QUOTED, "Q1.dat", "x", 10),
            (D, "traffic", QUOTED, "Q2.dat", "y", 10),
        ],
    )
    path = tmp_path / "wh.duckdb"
    write_duckdb(path, rows)
    wh = DuckDBWarehouse(f"duckdb:///{path}")
    yield wh
    wh.close()


def settings(**kw):
    return settings_for_tests(day=dt.date(2026, 11, 24), **kw)


def one_group(customers, process="traffic"):
    return Batch("1/1", (process,), tuple(customers))


def test_counts_and_missing_names_match_hand_worked_values(warehouse):
    [result] = check_batch(warehouse, settings(), one_group(("eLUX", QUOTED, "JLR")))
    assert result.ok and result.queries == 2 and result.group_id == "traffic/regular/1"
    assert result.counts == {"eLUX": [3, 1], QUOTED: [2, 2], "JLR": [0, 0]}
    # F1 duplicated but listed once; F3 generated only on another day; F2 generated.
    assert result.missing_names() == {"eLUX": ["eLUX_F1.dat", "eLUX_F3.dat"], "JLR": ["JLR_J1.dat"]}
    # The day before (lookback): OLD.dat was received and never generated.
    assert result.outstanding_days() == [OTHER_DAY]
    assert result.outstanding_names(OTHER_DAY) == {"eLUX": ["eLUX_OLD.dat"]}


def test_one_batch_answers_every_process_and_customer_type_with_two_queries(warehouse):
    """Two processes x (two regular + one InfONova customer): four groups, two queries."""
    batch = Batch("1/1", ("traffic", "actives"), ("eLUX", QUOTED), ("JLR",), (1, 1))
    results = {r.group_id: r for r in check_batch(warehouse, settings(lookback_days=0), batch)}
    assert list(results) == ["traffic/regular/1", "traffic/infonova/1", "actives/regular/1", "actives/infonova/1"]
    assert sum(r.queries for r in results.values()) == 2
    by_hand = {  # counts, names on D
        "traffic/regular/1": ({"eLUX": [3, 1], QUOTED: [2, 2]}, {"eLUX": ["eLUX_F1.dat", "eLUX_F3.dat"]}),
        "traffic/infonova/1": ({"JLR": [0, 0]}, {"JLR": ["JLR_J1.dat"]}),
        "actives/regular/1": ({"eLUX": [70, 0], QUOTED: [0, 0]}, {"eLUX": ["eLUX_A1.dat"]}),
        "actives/infonova/1": ({"JLR": [0, 0]}, {}),
    }
    for group_id, (counts, names) in by_hand.items():
        assert results[group_id].counts == counts, group_id
        assert results[group_id].missing_names() == names, group_id


def test_delimiter_and_table_names_come_from_settings(warehouse):
    [result] = check_batch(warehouse, settings(delimiter="--"), one_group(("eLUX",)))
    assert result.missing_names() == {"eLUX": ["eLUX--F1.dat", "eLUX--F3.dat"]}


def test_a_customer_name_that_looks_like_sql_is_only_data(warehouse):
    [result] = check_batch(warehouse, settings(), one_group(("x' OR '1'='1",)))
    assert result.counts == {"x' OR '1'='1": [0, 0]} and result.missing_names() == {}


def test_missing_table_is_a_permanent_error(warehouse):
    with pytest.raises(WarehouseError) as caught:
        check_batch(warehouse, settings(kpi_table="mnaas.no_such_table"), one_group(("eLUX",)))
    assert "no_such_table" in str(caught.value)
    assert type(caught.value) is WarehouseError  # not transient: no retries


def test_names_are_packed_as_they_stream_in_and_disorder_is_refused():
    group_a = Group("p/regular/1", "p", "regular", ("a", "b"))
    of_pair = {("p", "a"): group_a, ("p", "b"): group_a}
    rows = iter([("p", D, "a", "f2"), ("p", D, "a", "f1"), ("p", D, "b", "f1"), ("p", OTHER_DAY, "a", "old")])
    packed = _pack_names(_joined_lines(rows, "_"), of_pair)
    assert unpack_names(packed["p/regular/1"][D]) == {"a": ["a_f1", "a_f2"], "b": ["b_f1"]}
    assert unpack_names(packed["p/regular/1"][OTHER_DAY]) == {"a": ["a_old"]}
    # A pair's names split by another's would be packed twice: refused, not half-reported.
    with pytest.raises(WarehouseError, match="out of order"):
        _pack_names(_joined_lines(iter([("p", D, "a", "f1"), ("p", D, "b", "f1"), ("p", D, "a", "f2")]), "_"), of_pair)
    with pytest.raises(WarehouseError, match="out of order"):
        _pack_names(
            _joined_lines(iter([("p", D, "a", "f1"), ("p", OTHER_DAY, "a", "x"), ("p", D, "b", "f1")]), "_"), of_pair
        )
