"""A stopped run (SIGTERM/SIGINT, contract §13) cancels the query in flight and cuts a retry's
wait short; the real signal path is tests/integration/test_run_signals.py."""

from __future__ import annotations

import threading
import time

import pytest

from mnaas_missing_files.core.errors import RunInterrupted, TransientWarehouseError
from mnaas_missing_files.run.interrupt import Interruption
from mnaas_missing_files.warehouse.duckdb_engine import DuckDBWarehouse

# Minutes of work for DuckDB: only a cancel ends it within the test's bound.
ENDLESS = "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3"


def test_stopping_cancels_a_duckdb_query_in_flight():
    warehouse = DuckDBWarehouse("duckdb:///:memory:")
    warehouse.query("SELECT 1", [])  # open the connection
    stop = Interruption()
    stop.watch(warehouse)
    caught: list[BaseException] = []

    def query():
        try:
            warehouse.query(ENDLESS, [])
        except BaseException as exc:
            caught.append(exc)

    thread = threading.Thread(target=query)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()  # the query really is under way
    started = time.monotonic()
    stop.stop("interrupted by SIGTERM")
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert isinstance(caught[0], TransientWarehouseError)  # then the retry's wait stops it


def test_a_retry_wait_ends_at_once_when_the_run_is_stopped():
    stop = Interruption()
    threading.Timer(0.2, stop.stop, args=("interrupted by SIGINT",)).start()
    started = time.monotonic()
    with pytest.raises(RunInterrupted, match="SIGINT"):
        stop.sleep(30)
    assert time.monotonic() - started < 5


def test_a_warehouse_opened_after_the_stop_is_cancelled_at_once():
    class Recorder:
        interrupted = False

        def interrupt(self):
            self.interrupted = True

    stop = Interruption()
    stop.stop("interrupted by SIGTERM")
    late = Recorder()
    stop.watch(late)
    assert late.interrupted
    with pytest.raises(RunInterrupted):
        stop.check()
