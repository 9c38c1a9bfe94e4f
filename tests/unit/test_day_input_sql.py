"""The day-input query's received part (queries.day_input, contract §14) on a real DuckDB
warehouse: configured pairs say only whether they received a file, the distinct files are
counted for the pairs nobody configured that have no File Received KPI above 0. Expected
values worked out by hand from the rows below."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from mnaas_missing_files.checking.dayinput import read_day_input
from mnaas_missing_files.cli.demo_data import Rows, write_duckdb
from mnaas_missing_files.warehouse import queries
from mnaas_missing_files.warehouse.duckdb_engine import DuckDBWarehouse
from tests.helpers.settings import settings_for_tests

DAY = dt.date(2026, 11, 24)
D, BEFORE = DAY.isoformat(), "2026-11-23"
PROCESSES, CUSTOMERS = ["sms", "voice"], ["eLUX", "JLR"]


@pytest.fixture
def warehouse(tmp_path):
    received = [
        (D, "sms", "eLUX", "a.dat"),
        (D, "sms", "eLUX", "a.dat"),
        (D, "sms", "eLUX", "b.dat"),  # configured: 3 rows with a name
        (D, "voice", "JLR", "x.dat"),  # configured: 1
        (D, "cdr", "Zed", "z1.dat"),
        (D, "cdr", "Zed", "z2.dat"),  # not configured, KPI 4: no files row
        (D, "cdr", "Kpi0", "k1.dat"),
        (D, "cdr", "Kpi0", "k1.dat"),
        (D, "cdr", "Kpi0", "k2.dat"),  # not configured, KPI 0: 2 distinct files
        (D, "cdr", "NoKpi", "n1.dat"),  # not configured, no KPI row: 1
        (D, "sms", "Unlisted", "u1.dat"),  # configured process, other customer, KPI 2: none
        (D, "sms", "Other", "o1.dat"),
        (D, "sms", "Other", "o2.dat"),
        (D, "sms", "Other", "o1.dat"),  # configured process, other customer, no KPI: 2
        (BEFORE, "cdr", "NoKpi", "old.dat"),  # another day: nowhere
        (BEFORE, "sms", "JLR", "old.dat"),
    ]
    kpi = [
        (D, "sms", "eLUX", "File Received", 5),
        (D, "cdr", "Zed", "File Received", 4),
        (D, "cdr", "Kpi0", "File Received", 0),
        (D, "cdr", "Kpi0", "File Generated", 9),  # not File Received: still 0
        (D, "sms", "Unlisted", "File Received", 2),
        (BEFORE, "cdr", "NoKpi", "File Received", 7),  # another day: NoKpi has none on D
    ]
    path = tmp_path / "wh.duckdb"
    generated = [(D, "sms", "eLUX", "a.dat", "eLUX_a.dat", 1)]  # the generated side plays no part
    write_duckdb(path, Rows(kpi=kpi, received=[(*r, 1) for r in received], generated=generated))
    conn = duckdb.connect(str(path))
    table = settings_for_tests().received_table
    for row in ((D, "sms", "JLR", None), (D, None, "eLUX", "p.dat"), (D, "sms", None, "q.dat")):
        conn.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?, 1)", list(row))
    conn.close()
    wh = DuckDBWarehouse(f"duckdb:///{path}")
    yield wh
    wh.close()


def settings():
    return settings_for_tests(day=DAY, processes=tuple(PROCESSES), customers=tuple(CUSTOMERS))


def test_configured_pairs_are_counted_cheaply_and_the_others_by_distinct_files_without_a_kpi(warehouse):
    s = settings()
    sql, params = queries.day_input(s.kpi_table, DAY, [], PROCESSES, s.received_table, CUSTOMERS)
    parts = sorted(
        (part, process or "-", customer or "-", int(received))
        for part, _day, process, customer, received in warehouse.query(sql, params)
        if part != "kpi"
    )
    assert parts == [
        ("files", "-", "eLUX", 1),  # no process name: not configured
        ("files", "cdr", "Kpi0", 2),
        ("files", "cdr", "NoKpi", 1),
        ("files", "sms", "-", 1),  # no customer name: not configured
        ("files", "sms", "Other", 2),
        ("listed", "sms", "JLR", 0),  # a row without a file name is no file
        ("listed", "sms", "eLUX", 3),
        ("listed", "voice", "JLR", 1),
    ]


def test_the_backtest_reads_the_kpi_part_alone(warehouse):
    s = settings()
    sql, params = queries.day_input(s.kpi_table, DAY, [], PROCESSES)
    assert {row[0] for row in warehouse.query(sql, params)} == {"kpi"}
    with pytest.raises(ValueError, match="at least one customer"):
        queries.day_input(s.kpi_table, DAY, [], PROCESSES, s.received_table)


def test_input_and_the_not_monitored_list_read_from_the_query(warehouse):
    found = read_day_input(lambda: warehouse, settings())
    assert found.problem is None
    assert found.has_input("sms", ["eLUX"]) and found.has_files("voice", ["JLR"])
    assert not found.has_input("sms", ["JLR"])  # no KPI, and its one row names no file
    assert not found.has_files("voice", ["eLUX"])
    listed = [(u.process, u.customer, u.received) for u in found.unmonitored(PROCESSES, CUSTOMERS, ())]
    # by hand: the KPI when above 0, else the distinct files; largest first, then by name
    assert listed == [
        ("cdr", "Zed", 4),
        ("cdr", "Kpi0", 2),
        ("sms", "Other", 2),
        ("sms", "Unlisted", 2),
        ("None", "eLUX", 1),
        ("cdr", "NoKpi", 1),
        ("sms", "None", 1),
    ]
