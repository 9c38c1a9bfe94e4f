"""The embedded warehouse's engine: one DuckDB instance per file and process, one statement at a
time, and the URL's memory_limit and threads options (config/duckdb_url.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import duckdb
import pytest

from mnaas_missing_files.config.duckdb_url import parse_duckdb_url
from mnaas_missing_files.core.errors import ConfigError, TransientWarehouseError
from mnaas_missing_files.warehouse import duckdb_engine as base
from mnaas_missing_files.warehouse.duckdb_engine import DuckDBWarehouse


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "wh.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE t AS SELECT range AS n FROM range(50000)")
    conn.close()
    return path


def test_warehouses_of_one_file_share_one_instance_until_the_last_closes(db):
    first, second = DuckDBWarehouse(f"duckdb:///{db}"), DuckDBWarehouse(f"duckdb:///{db}")
    assert first.query("SELECT count(*) FROM t", []) == [(50000,)]
    assert second.query("SELECT max(n) FROM t", []) == [(49999,)]
    # Only this file's entry counts: a worker-style shared instance that an earlier test left
    # open in this process (the callback's warehouse is kept per process) is another file's.
    mine = str(db.resolve())
    assert [key for key in base._databases if key == mine] == [mine]
    first.close()
    assert mine in base._databases  # still used by the second
    second.close()
    assert mine not in base._databases
    # Closed for real: the same process may now open the file for writing.
    writer = duckdb.connect(str(db))
    writer.execute("INSERT INTO t VALUES (50000)")
    writer.close()


@pytest.fixture
def two(db):
    """Two warehouses of the same file (one instance, one turn)."""
    first, second = DuckDBWarehouse(f"duckdb:///{db}"), DuckDBWarehouse(f"duckdb:///{db}")
    yield first, second
    first.close()
    second.close()


def started(warehouse: DuckDBWarehouse, sql: str):
    """`sql` executed and read up to its first row: it holds the turn. (rows, first row)"""
    rows = warehouse.query_many([(sql, [])])[0]
    return rows, next(iter(rows))


class InThread(threading.Thread):
    """`query` of a warehouse in a thread of its own; its rows, or what it raised."""

    def __init__(self, warehouse: DuckDBWarehouse, sql: str):
        super().__init__()
        self.warehouse, self.sql = warehouse, sql
        self.rows: list | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.rows = self.warehouse.query(self.sql, [])
        except BaseException as exc:
            self.error = exc


def test_a_second_statement_waits_until_the_first_is_read_to_its_end(two):
    reading, waiting = two
    rows, first = started(reading, "SELECT n FROM t ORDER BY n")
    assert first == (0,)  # executed, and being read
    other = InThread(waiting, "SELECT count(*) FROM t")
    other.join(0.5)
    assert other.is_alive()  # its turn has not come
    assert sum(1 for _ in rows) == 49999  # the rest of the first result
    other.join(10)
    assert not other.is_alive() and other.rows == [(50000,)]


def test_a_half_read_result_closed_gives_the_turn_back(two):
    reading, other = two
    rows, _ = started(reading, "SELECT n FROM t")
    rows.close()  # what check_batch does when it stops reading (an error, say)
    query = InThread(other, "SELECT 1")
    query.join(5)
    assert query.rows == [(1,)]


def test_an_interrupt_while_waiting_for_the_turn_ends_the_wait(two):
    holder, waiter = two
    rows, _ = started(holder, "SELECT n FROM t")
    waiting = InThread(waiter, "SELECT 1")
    time.sleep(0.3)
    interrupted = time.monotonic()
    waiter.interrupt()
    waiting.join(5)
    assert not waiting.is_alive() and time.monotonic() - interrupted < 2
    assert isinstance(waiting.error, TransientWarehouseError)
    assert "cancelled before it started" in str(waiting.error)
    rows.close()
    assert waiter.query("SELECT 2", []) == [(2,)]  # the next query is not cancelled


def test_memory_limit_and_threads_reach_duckdb_and_the_spill_directory_goes_with_it(db):
    warehouse = DuckDBWarehouse(f"duckdb:///{db}?memory_limit=64MB&threads=1")
    try:
        [(limit, threads, spill)] = warehouse.query(
            "SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory')", []
        )
        # DuckDB reports 64 MB (decimal) in binary units: 61.0 MiB
        assert limit == "61.0 MiB" and threads == 1
        assert os.path.isdir(spill) and os.path.basename(spill).startswith("mnaas-duckdb-spill-")
        # A sort far larger than the limit spills and still completes
        assert warehouse.query(
            "SELECT count(*) FROM (SELECT range::VARCHAR || 'x' AS s FROM range(3000000) ORDER BY s)", []
        ) == [(3000000,)]
    finally:
        warehouse.close()
    assert not os.path.exists(spill)


@pytest.mark.parametrize(
    "url, problem",
    [
        ("duckdb:///wh.duckdb?memory_limit=lots", "memory_limit='lots': expected a size"),
        ("duckdb:///wh.duckdb?threads=0", "threads='0': expected a whole number"),
        ("duckdb:///wh.duckdb?access_mode=read_write", "unknown DuckDB URL option 'access_mode'"),
        ("duckdb:///?threads=2", "malformed DuckDB URL"),
    ],
)
def test_a_bad_option_names_what_is_wrong(url, problem):
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace("?", r"\?")) as caught:
        parse_duckdb_url(url)
    assert caught.value.key == "MNAAS_WAREHOUSE_URL"


def test_the_options_are_parsed_and_the_path_keeps_no_query():
    target = parse_duckdb_url("duckdb:////srv/wh.duckdb?memory_limit=1.5GB&threads=4")
    assert str(target.path) == "/srv/wh.duckdb"
    assert target.config == {"memory_limit": "1.5GB", "threads": "4"}
    assert parse_duckdb_url("duckdb:///:memory:").path is None


# Run in a fresh interpreter each: the allocator's state is the process's. Prints the MB the
# process kept after a statement that held ~150 MB, then after duckdb_memory.release().
_KEPT = """
import sys, duckdb
from mnaas_missing_files.warehouse import duckdb_memory
from mnaas_missing_files.warehouse.duckdb_engine import DuckDBWarehouse
def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
BIG = "SELECT count(*) FROM (SELECT DISTINCT 'a long enough file name ' || range AS n FROM range(1500000))"
if sys.argv[2] == "plain":
    run = duckdb.connect(sys.argv[1], read_only=True).execute
else:
    run = DuckDBWarehouse("duckdb:///" + sys.argv[1]).query
run("SELECT 1", [])
before = rss()
run(BIG, [])
kept = rss() - before
duckdb_memory.release()
print(kept, rss() - before)
"""


def _kept_mb(db, way: str) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, "-c", _KEPT, str(db), way], capture_output=True, text=True, timeout=120, check=True
    )
    kept, released = done.stdout.split()
    return float(kept), float(released)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process's RSS from /proc")
def test_what_a_statement_freed_goes_back_to_the_system_before_the_next(db):
    from mnaas_missing_files.warehouse import duckdb_memory

    assert duckdb_memory._libraries()[0] is not None  # DuckDB's own jemalloc, found in its module
    kept, released = _kept_mb(db, "plain")
    assert kept > 60  # DuckDB alone keeps what the statement freed
    assert released < kept / 3  # until release() gives it back
    kept, _ = _kept_mb(db, "warehouse")
    assert kept < 20  # the warehouse gives it back itself


# In a fresh interpreter: every arena's dirty decay before, inside and after returning_at_once().
_DECAY = """
import ctypes, duckdb, json
from mnaas_missing_files.warehouse import duckdb_memory
duckdb.connect().execute("SELECT 1")  # DuckDB's arenas exist once it has allocated
mallctl, _ = duckdb_memory._libraries()
def decays():
    arenas, size = ctypes.c_uint(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_uint))
    mallctl(b"arenas.narenas", ctypes.byref(arenas), ctypes.byref(size), None, 0)
    found = []
    for arena in range(arenas.value):
        value, size = ctypes.c_ssize_t(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_ssize_t))
        if mallctl(f"arena.{arena}.dirty_decay_ms".encode(), ctypes.byref(value), ctypes.byref(size), None, 0) == 0:
            found.append(value.value)
    return found
before = decays()
with duckdb_memory.returning_at_once():
    inside = decays()
print(json.dumps([before, inside, decays()]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DuckDB's jemalloc is its Linux builds'")
def test_only_a_groups_statements_give_back_at_once_and_the_decay_comes_back():
    """The decay is 0 inside returning_at_once() (a group's statements), and what it was after:
    the other statements (the day-input query's aggregation) keep jemalloc's reuse."""
    done = subprocess.run([sys.executable, "-c", _DECAY], capture_output=True, text=True, timeout=60, check=True)
    before, inside, after = json.loads(done.stdout)
    assert before and all(value > 0 for value in before)  # jemalloc's default decay (ms), not 0
    assert inside == [0] * len(before)
    assert after == before
