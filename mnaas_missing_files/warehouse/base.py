"""Warehouse access behind one small interface: `query(sql, params) -> rows` and `close()`,
and `query_many(statements) -> [rows, ...]` for statements the warehouse may run side by side
(`query_many()` below falls back to one `query` after another for a warehouse without it).

Two implementations: DuckDB (embedded, opened read-only: a check never writes the warehouse
and many processes may read it at once) and Impala over HiveServer2 (see impala.py).
Connections are kept one per thread (one per worker process under Celery's prefork pool),
reused across groups and reopened after they break.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from mnaas_missing_files.config.settings import duckdb_path
from mnaas_missing_files.core.errors import TransientWarehouseError, WarehouseError
from mnaas_missing_files.core.secrets import mask_secrets

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


class DuckDBWarehouse:
    """A read-only DuckDB connection, opened on first use."""

    def __init__(self, url: str):
        self.url = url
        self._path = None if url == "duckdb:///:memory:" else duckdb_path(url)
        self._conn: Any = None  # duckdb.DuckDBPyConnection once opened (duckdb is imported lazily)

    def _connect(self):
        import duckdb

        if self._path is not None and not self._path.is_file():
            raise WarehouseError(f"DuckDB warehouse {self._path} does not exist")
        try:
            if self._path is None:
                return duckdb.connect(":memory:")
            return duckdb.connect(str(self._path), read_only=True)
        except duckdb.IOException as exc:
            # Another process holds the file for writing (e.g. a loader): worth retrying.
            raise TransientWarehouseError(f"cannot open DuckDB warehouse {self._path}: {exc}") from exc

    def query(self, sql: str, params: Sequence) -> list[tuple]:
        return list(self._rows(sql, params))

    def query_many(self, statements: Sequence[tuple[str, Sequence]]) -> list[Iterator[tuple]]:
        """One after another (DuckDB already runs one query on every core): each statement runs
        when its rows are first read, and they are fetched in batches, so a large result never
        sits whole in Python. One connection holds one result: read them in the order given."""
        return [self._rows(sql, params) for sql, params in statements]

    def _rows(self, sql: str, params: Sequence) -> Iterator[tuple]:
        import duckdb

        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        try:
            result = conn.execute(sql, list(params))
            while batch := result.fetchmany(_FETCH_BATCH):
                yield from batch
        except (duckdb.IOException, duckdb.InterruptException) as exc:
            self.close()
            raise TransientWarehouseError(f"DuckDB I/O error: {exc}") from exc
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB query failed: {exc}") from exc

    def interrupt(self) -> None:
        conn = self._conn
        if conn is not None:
            conn.interrupt()  # DuckDB's own cancel, made to be called from another thread

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


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
