"""The group check's SQL on a real DuckDB warehouse, against hand-worked expectations."""

import datetime as dt

import pytest

from mnaas_missing_files.checking.check import check_group
from mnaas_missing_files.cli.demo_data import Rows, write_duckdb
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import WarehouseError
from mnaas_missing_files.core.model import Group
from mnaas_missing_files.warehouse.base import DuckDBWarehouse

D = "2026-11-24"
OTHER_DAY = "2026-11-23"
QUOTED = "O'Brien \"Logistics\""


@pytest.fixture
def warehouse(tmp_path):
    rows = Rows(
        kpi=[
            (D, "traffic", "eLUX", "File Received", 2),
            (D, "traffic", "eLUX", "File Received", 1),    # split KPI: summed to 3
            (D, "traffic", "eLUX", "File Generated", 1),
            (D, "traffic", "eLUX", "Records Processed", 999),  # another KPI: ignored
            (D, "traffic", QUOTED, "File Received", 2),
            (D, "traffic", QUOTED, "File Generated", 2),
            (OTHER_DAY, "traffic", "eLUX", "File Received", 50),  # other day: ignored
            (D, "actives", "eLUX", "File Received", 70),          # other process: ignored
            (D, "traffic", "Unlisted", "File Received", 80),      # unconfigured customer
        ],
        received=[
            (D, "traffic", "eLUX", "F1.dat", 10),
            (D, "traffic", "eLUX", "F1.dat", 10),   # duplicate row: counted once
            (D, "traffic", "eLUX", "F2.dat", 10),
            (D, "traffic", "eLUX", "F3.dat", 10),
            (D, "traffic", QUOTED, "Q1.dat", 10),
            (D, "traffic", QUOTED, "Q2.dat", 10),
            (D, "traffic", "JLR", "J1.dat", 10),    # JLR has no KPI rows at all
            (OTHER_DAY, "traffic", "eLUX", "OLD.dat", 10),
            (D, "actives", "eLUX", "A1.dat", 10),
            (D, "traffic", "Unlisted", "U1.dat", 10),
        ],
        generated=[
            (D, "traffic", "eLUX", "F2.dat", "eLUX_F2.dat", 10),
            (OTHER_DAY, "traffic", "eLUX", "F3.dat", "eLUX_F3.dat", 10),  # generated another day
            (D, "actives", "eLUX", "F1.dat", "eLUX_F1.dat", 10),          # other process
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
    return Settings.for_tests(day=dt.date(2026, 11, 24), **kw)


def test_counts_and_missing_names_match_hand_worked_values(warehouse):
    group = Group("traffic/regular/1", "traffic", "regular", ("eLUX", QUOTED, "JLR"))
    result = check_group(warehouse, settings(), group)
    assert result.ok and result.queries == 2
    assert result.counts == {"eLUX": [3, 1], QUOTED: [2, 2], "JLR": [0, 0]}
    # F1 duplicated but listed once; F3 generated only on another day; F2 generated.
    assert result.missing == {"eLUX": ["eLUX_F1.dat", "eLUX_F3.dat"], "JLR": ["JLR_J1.dat"]}


def test_delimiter_and_table_names_come_from_settings(warehouse):
    group = Group("traffic/regular/1", "traffic", "regular", ("eLUX",))
    result = check_group(warehouse, settings(delimiter="--"), group)
    assert result.missing == {"eLUX": ["eLUX--F1.dat", "eLUX--F3.dat"]}


def test_a_customer_name_that_looks_like_sql_is_only_data(warehouse):
    group = Group("traffic/regular/1", "traffic", "regular", ("x' OR '1'='1",))
    result = check_group(warehouse, settings(), group)
    assert result.counts == {"x' OR '1'='1": [0, 0]} and result.missing == {}


def test_missing_table_is_a_permanent_error(warehouse):
    group = Group("traffic/regular/1", "traffic", "regular", ("eLUX",))
    with pytest.raises(WarehouseError) as caught:
        check_group(warehouse, settings(kpi_table="mnaas.no_such_table"), group)
    assert "no_such_table" in str(caught.value)
    assert type(caught.value) is WarehouseError  # not transient: no retries
