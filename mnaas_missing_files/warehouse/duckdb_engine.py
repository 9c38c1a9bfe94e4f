"""Warehouse access behind one small interface: `query(sql, params) -> rows` and `close()`,
and `query_many(statements) -> [rows, ...]` for statements the warehouse may run side by side
(`query_many()` below falls back to one `query` after another for a warehouse without it).

Two implementations: DuckDB (embedded, opened read-only: a check never writes the warehouse
and many processes may read it at once) and Impala over HiveServer2 (see impala.py).
Connections are kept one per thread (one per worker process under Celery's prefork pool),
reused across groups and reopened after they break.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from mnaas_missing_files.config.duckdb_url import parse_duckdb_url
from mnaas_missing_files.core.errors import EngineOutOfMemory, TransientWarehouseError, WarehouseError
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.warehouse import duckdb_memory

log = logging.getLogger(__name__)


class Warehouse(Protocol):
    def query(self, sql: str, params: Sequence) -> list[tuple]: ...

    def interrupt(self) -> None:
        """From any thread: cancel the query in flight, if any (a stopped run, contract §13)."""

    def close(self) -> None: ...


_FETCH_BATCH = 10_000


def query_many(warehouse: Warehouse, statements: Sequence[tuple[str, Sequence]]) -> list[Iterable[tuple]]:
    """The rows of each statement, read in the order given, each to its end before the next:
    the warehouse's own `query_many` (statements sent at once, rows streamed) when it has one."""
    many = getattr(warehouse, "query_many", None)
    if many is not None:
        return many(statements)
    return [warehouse.query(sql, params) for sql, params in statements]


class _SharedDatabase:
    """One DuckDB instance per database file and process, shared by its warehouses' cursors.

    DuckDB already runs one query on every core, so two at once in one process only add up
    their memory (a large day's window query holds hundreds of MB while it joins; four at once
    measured 1.4 GB against 0.5 GB one at a time, in the same wall time): `turn` lets one
    statement of the process run, and its rows be read, at a time. With a memory_limit
    (config/duckdb_url.py) what does not fit spills to `spill_dir`, made for this instance
    and removed with it."""

    def __init__(self, key: str, conn: Any, spill_dir: str | None):
        self.key = key  # its file's resolved path, under which _databases holds it
        self.conn = conn
        self.spill_dir = spill_dir
        self.turn = threading.RLock()
        self.users = 0


_databases: dict[str, _SharedDatabase] = {}
_databases_lock = threading.Lock()
_TURN_POLL_S = 0.1  # how soon a warehouse waiting for its turn notices it was interrupted


class DuckDBWarehouse:
    """A read-only DuckDB cursor, opened on first use, of the process's one instance of the
    file (`:memory:` is a database of its own per warehouse)."""

    def __init__(self, url: str):
        self.url = url
        target = parse_duckdb_url(url)
        self._path, self._config = target.path, target.config
        # The check asks it for each pair-day's names as their TXT lines, joined by the engine
        # (queries.missing_name_lines): a large day's million names never become Python rows.
        # Not under a memory_limit: joining holds a pair-day's names at once and cannot spill,
        # where the rows query's sort does (measured: out of memory at 64MB on the large day).
        self.names_in_engine = "memory_limit" not in self._config
        self._conn: Any = None  # duckdb.DuckDBPyConnection once opened (duckdb is imported lazily)
        self._shared: _SharedDatabase | None = None
        self._turn: Any = threading.RLock()  # its own, until it shares a file's
        self._cancel = threading.Event()

    def _connect(self):
        import duckdb

        if self._path is None:
            return duckdb.connect(":memory:")
        if not self._path.is_file():
            raise WarehouseError(f"DuckDB warehouse {self._path} does not exist")
        key = str(self._path.resolve())
        with _databases_lock:
            shared = _databases.get(key)
            if shared is None:
                shared = _databases[key] = _open_database(key, self._config)
            shared.users += 1
            self._shared, self._turn = shared, shared.turn
            return shared.conn.cursor()

    def query(self, sql: str, params: Sequence) -> list[tuple]:
        return list(self._rows(sql, params))

    def query_many(self, statements: Sequence[tuple[str, Sequence]]) -> list[Iterator[tuple]]:
        """One after another (DuckDB already runs one query on every core): each statement runs
        when its rows are first read, and they are fetched in batches, so a large result never
        sits whole in Python. One connection holds one result: read them in the order given.
        These are a group's statements, the run's peak (its names): what they free goes back
        to the system while they run."""
        return [self._rows(sql, params, at_once=True) for sql, params in statements]

    def _take_turn(self) -> None:
        while not self._cancel.is_set():
            if self._turn.acquire(timeout=_TURN_POLL_S):
                if not self._cancel.is_set():
                    return
                self._turn.release()
        raise TransientWarehouseError("DuckDB query cancelled before it started")

    def _rows(self, sql: str, params: Sequence, *, at_once: bool = False) -> Iterator[tuple]:
        import duckdb

        self._cancel.clear()
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        self._take_turn()
        try:
            with duckdb_memory.returning_at_once() if at_once else contextlib.nullcontext():
                result = conn.execute(sql, list(params))
                while batch := result.fetchmany(_FETCH_BATCH):
                    yield from batch
        except (duckdb.IOException, duckdb.InterruptException) as exc:
            self.close()
            raise TransientWarehouseError(f"DuckDB I/O error: {exc}") from exc
        except duckdb.OutOfMemoryException as exc:
            raise EngineOutOfMemory(f"DuckDB query ran out of memory: {exc}") from exc
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB query failed: {exc}") from exc
        finally:
            # What the statement freed goes back before the next one runs: the process's
            # peak is then one statement's, not the sum of what each left behind.
            duckdb_memory.release()
            self._turn.release()

    def interrupt(self) -> None:
        self._cancel.set()  # a warehouse still waiting for its turn gives up
        conn = self._conn
        if conn is not None:
            conn.interrupt()  # DuckDB's own cancel, made to be called from another thread

    def close(self) -> None:
        conn, shared = self._conn, self._shared
        self._conn = self._shared = None
        if conn is None:
            return
        try:
            conn.close()
        finally:
            if shared is not None:
                _release_database(shared)


def _open_database(path: str, options: dict[str, str]) -> _SharedDatabase:
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = dict(options)
    spill = None
    if "memory_limit" in config:
        # Beside a read-only file DuckDB would spill to `<file>.tmp`, which need not be writable.
        spill = tempfile.mkdtemp(prefix="mnaas-duckdb-spill-")
        config["temp_directory"] = spill
    try:
        return _SharedDatabase(path, duckdb.connect(path, read_only=True, config=config), spill)
    except duckdb.IOException as exc:
        _remove_spill(spill)
        # Another process holds the file for writing (e.g. a loader): worth retrying.
        raise TransientWarehouseError(f"cannot open DuckDB warehouse {path}: {exc}") from exc
    except duckdb.Error as exc:
        _remove_spill(spill)
        raise WarehouseError(f"cannot open DuckDB warehouse {path}: {exc}") from exc


def _remove_spill(spill: str | None) -> None:
    if spill is not None:
        shutil.rmtree(spill, ignore_errors=True)


def _release_database(shared: _SharedDatabase) -> None:
    with _databases_lock:
        shared.users -= 1
        if shared.users > 0:
            return
        del _databases[shared.key]
    try:
        shared.conn.close()
    finally:
        _remove_spill(shared.spill_dir)


def open_warehouse(url: str) -> Warehouse:
    """A new warehouse object for `url`; connections open lazily on the first query."""
    if url.startswith("duckdb:"):
        return DuckDBWarehouse(url)
    if url.startswith("impala:"):
        from mnaas_missing_files.config.impala_url import parse_impala_url
        from mnaas_missing_files.warehouse.impala import ImpalaWarehouse

        return ImpalaWarehouse(parse_impala_url(url))
    raise WarehouseError(f"unsupported warehouse URL {mask_secrets(url)!r}")


_local = threading.local()


def shared_warehouse(url: str) -> Warehouse:
    """This thread's warehouse for `url`, created once and reused across groups."""
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    if url not in cache:
        cache[url] = open_warehouse(url)
    return cache[url]


def close_shared_warehouses() -> None:
    cache = getattr(_local, "cache", None) or {}
    for warehouse in cache.values():
        try:
            warehouse.close()
        except Exception:  # closing is best effort; the process is ending anyway
            log.debug("closing a warehouse connection failed", exc_info=True)
    cache.clear()
