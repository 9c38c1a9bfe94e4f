"""A pair's missing names as one text of TXT lines (core/namelines.py), joined by DuckDB itself
(queries.missing_name_lines) or, from Impala's rows, here: the same names either way."""

from __future__ import annotations

import datetime as dt

import pytest

from mnaas_missing_files.checking.check import check_batch
from mnaas_missing_files.cli.demo_data import Rows, write_duckdb
from mnaas_missing_files.core.errors import EngineOutOfMemory, MessageFormatError
from mnaas_missing_files.core.model import Batch, GroupResult, pack_names, unpack_names
from mnaas_missing_files.core.namelines import NameLines, escape_txt_name, unescape_txt_line
from mnaas_missing_files.warehouse import queries
from mnaas_missing_files.warehouse.duckdb_engine import DuckDBWarehouse, query_many
from tests.helpers.settings import settings_for_tests

D = "2026-11-24"
EARLIER = "2026-11-22"
HOSTILE = ["b\\n.dat", "a\nb.dat", 'c,"q".dat', "z\r.dat", "B.dat", "é.dat", "a.dat", "a.dat"]
# By hand, code point order of "X_" + name (B 0x42 < a 0x61 < b < c < z < é 0xE9), each once,
# then escaped: backslash doubled, newline and CR as \n and \r.
BACKSLASHED = "Q\\"  # a customer whose own name needs escaping in the TXT: Q\\_f.dat
HOSTILE_LINES = "\n".join(["X_B.dat", "X_a\\nb.dat", "X_a.dat", "X_b\\\\n.dat", 'X_c,"q".dat', "X_z\\r.dat", "X_é.dat"])


def test_escaping_is_undone_exactly_and_lines_read_as_the_names():
    for name in ["plain.dat", "a\nb", "b\\n", "\\", "x\r\n", "ends\\"]:
        assert unescape_txt_line(escape_txt_name(name)) == name
        assert "\n" not in escape_txt_name(name)
    lines = NameLines.of(["a\nb", "b\\n", "c"])
    assert lines.text == "a\\nb\nb\\\\n\nc" and len(lines) == 3
    assert list(lines) == ["a\nb", "b\\n", "c"] and lines == ["a\nb", "b\\n", "c"]
    assert lines[:2] == ["a\nb", "b\\n"] and lines.head(1) == ["a\nb"] and lines[-1] == "c"
    assert len(NameLines()) == 0 and list(NameLines()) == [] and NameLines() == []


def test_packed_text_is_the_lines_and_the_version_before_still_reads():
    packed = pack_names({"eLUX": ["eLUX_A.dat", "eLUX_\n.dat"]})
    assert packed.startswith("2:")
    assert unpack_names(packed)["eLUX"].text == "eLUX_A.dat\neLUX_\\n.dat"
    odd = {"a\nb": ["x\n", "y"], "empty": [], 'é,"': ["z"]}
    assert unpack_names(pack_names(odd)) == odd
    # version 1 (a JSON list per key, no prefix): the memory of listed names on disk reads it
    version_1 = "eJyLjlZK9QmNUNKB0PGOeimJJUqxsbEAYDcHoA=="
    assert unpack_names(version_1, version_1=True) == {"eLUX": ["eLUX_A.dat"]}
    with pytest.raises(ValueError, match="version 1's form"):
        unpack_names(version_1)


def test_a_group_result_with_names_packed_by_the_version_before_is_refused_by_name():
    # Group results live only as long as their run: only a rolling upgrade mid-run hands this
    # version one packed in version 1's form, and it fails loudly rather than being read.
    version_1 = "eJyLjlZK9QmNUNKB0PGOeimJJUqxsbEAYDcHoA=="
    wire = GroupResult("g", True, counts={"eLUX": [1, 0]}, missing={"eLUX": ["eLUX_A.dat"]}).to_json()
    for field, value in (("missing_z", version_1), ("outstanding_z", {"2026-11-23": version_1})):
        with pytest.raises(MessageFormatError, match=f"a group's result is malformed: {field}.* a version before this"):
            GroupResult.from_json(wire | {field: value})
    assert GroupResult.from_json(wire).missing_names() == {"eLUX": ["eLUX_A.dat"]}


@pytest.fixture
def hostile_day(tmp_path):
    rows = Rows(
        kpi=[(D, "traffic", "X", "File Received", 8)],
        received=[(D, "traffic", "X", n, 1) for n in HOSTILE]
        + [(D, "traffic", "X", "made.dat", 1), (EARLIER, "traffic", "X", "old.dat", 1)]
        + [(D, "traffic", BACKSLASHED, "f.dat", 1)],
        generated=[(D, "traffic", "X", "made.dat", "X_made.dat", 1)],
    )
    path = tmp_path / "wh.duckdb"
    write_duckdb(path, rows)
    return path


def batch() -> Batch:
    return Batch("1/1", ("traffic",), ("X", BACKSLASHED))


def test_duckdb_joins_the_names_itself_exactly_as_the_rows_would_be(hostile_day):
    settings = settings_for_tests(day=dt.date(2026, 11, 24))
    engine = DuckDBWarehouse(f"duckdb:///{hostile_day}")
    rows = DuckDBWarehouse(f"duckdb:///{hostile_day}")
    rows.names_in_engine = False  # what Impala gets: the rows query, joined in Python
    try:
        assert engine.names_in_engine
        [joined] = check_batch(engine, settings, batch())
        [streamed] = check_batch(rows, settings, batch())
    finally:
        engine.close()
        rows.close()
    for result in (joined, streamed):
        assert result.queries == 2
        names = result.missing_names()["X"]
        assert names.text == HOSTILE_LINES and len(names) == 7
        assert result.outstanding_names(EARLIER) == {"X": ["X_old.dat"]}
        assert result.missing_names()[BACKSLASHED].text == "Q\\\\_f.dat"
    assert joined.to_json()["missing_z"] == streamed.to_json()["missing_z"]


def test_a_large_batch_is_joined_in_slices_of_one_statement_with_the_same_names(hostile_day, monkeypatch):
    monkeypatch.setattr(queries, "_LINES_SLICE_PAIRS", 1)  # one customer a slice: X, then Q\\
    sql, params = queries.missing_name_lines("r", "g", dt.date(2026, 11, 24), ["traffic"], ["X", BACKSLASHED, "Y"])
    assert (
        sql.count("UNION ALL") == 2 and sql.count("?") == len(params) == 3 * 2 * 4
    )  # each slice: 2 days, 1 process, 1 customer, twice
    engine = DuckDBWarehouse(f"duckdb:///{hostile_day}")
    try:
        [result] = check_batch(engine, settings_for_tests(day=dt.date(2026, 11, 24)), batch())
    finally:
        engine.close()
    assert result.queries == 2
    assert result.missing_names()["X"].text == HOSTILE_LINES
    assert result.missing_names()[BACKSLASHED].text == "Q\\\\_f.dat"
    assert result.outstanding_names(EARLIER) == {"X": ["X_old.dat"]}


def test_a_bounded_duckdb_gets_the_rows_query_whose_sort_spills(hostile_day):
    assert not DuckDBWarehouse(f"duckdb:///{hostile_day}?memory_limit=64MB").names_in_engine


class OutOfMemoryOnce:
    """DuckDB as it is, but the first joined-names query runs out of memory."""

    def __init__(self, inner: DuckDBWarehouse):
        self.inner, self.names_in_engine, self.sent = inner, True, []

    def query(self, sql, params):
        return self.inner.query(sql, params)

    def query_many(self, statements):
        self.sent += [sql for sql, _ in statements]
        streams = query_many(self.inner, statements)
        joined = "filename_lines"  # the column of the joined names' query only
        if any(joined in sql for sql, _ in statements) and sum(joined in s for s in self.sent) == 1:
            streams[-1] = self._fail()
        return streams

    @staticmethod
    def _fail():
        raise EngineOutOfMemory("DuckDB query ran out of memory: (simulated)")
        yield  # a generator, as a real stream, raising when read

    def close(self):
        self.inner.close()


def test_a_joined_query_out_of_memory_is_asked_again_row_by_row(hostile_day, caplog):
    warehouse = OutOfMemoryOnce(DuckDBWarehouse(f"duckdb:///{hostile_day}"))
    try:
        [result] = check_batch(warehouse, settings_for_tests(day=dt.date(2026, 11, 24)), batch())
    finally:
        warehouse.close()
    assert result.missing_names()["X"].text == HOSTILE_LINES
    assert list(result.missing_names()[BACKSLASHED]) == ["Q\\_f.dat"]
    assert result.queries == 3  # KPI, the joined names that failed, the rows
    assert "asking for its missing names row by row" in caplog.text
    assert isinstance(GroupResult.from_json(result.to_json()).missing_names()["X"], NameLines)


def test_a_memory_of_listed_names_of_format_1_is_still_read(tmp_path):
    import json

    from mnaas_missing_files.state.listed import ListedMemory, memory_path

    status = tmp_path / "status"
    # format 1, as the version before wrote it: JSON [[day, [names]]] per pair, no "2:"
    entry = "eJyLjlYyMjAy0zU01DUyUdKJVkr1CY2IdzRSio2NBQBd/Qb5"
    memory_path(status).write_text(
        json.dumps({"format": 1, "newest_day": "2026-11-24", "pairs": {"traffic\teLUX": entry}})
    )
    memory = ListedMemory.load(status)
    assert memory.problem is None
    assert memory.days_of("traffic", "eLUX") == {"2026-11-24": ["eLUX_A2"]}
