"""Latency and accounting around the warehouse, for the benchmark only.

`MeasuredWarehouse` wraps any Warehouse: it sleeps a fixed time before each query (a remote
Impala's planning and admission cost, which an embedded DuckDB does not have) and appends one
line per query to a log file shared by every process of a way (threads of `run`, Celery worker
processes): `pid <TAB> process/first customer <TAB> seconds`. Appends of one short line with
O_APPEND are atomic, so no coordination is needed. `install()` puts the wrapper under every
warehouse the product opens in this process, without touching the product's code paths.

Environment: BENCH_LATENCY_S (default 0), BENCH_QUERY_LOG (no log when unset).
"""

from __future__ import annotations

import os
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

LATENCY_ENV = "BENCH_LATENCY_S"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LOG_ENV = "BENCH_QUERY_LOG"


class MeasuredWarehouse:
    def __init__(self, inner, latency_s: float = 0.0, log_path: str | os.PathLike | None = None):
        self.inner = inner
        self.names_in_engine = getattr(inner, "names_in_engine", False)  # which SQL the check sends
        self.latency_s = latency_s
        self.log_path = log_path

    def query(self, sql: str, params: Sequence) -> list[tuple]:
        started = time.monotonic()
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        try:
            return self.inner.query(sql, params)
        finally:
            if self.log_path:
                record_query(self.log_path, params, time.monotonic() - started)

    def query_many(self, statements: Sequence[tuple[str, Sequence]]) -> list:
        """The statements go out together, so they pay the injected latency once, side by
        side; each is logged with the time from the previous one's end to its own (the
        group's queries then add up to its wall time)."""
        from mnaas_missing_files.warehouse.duckdb_engine import query_many

        clock = [time.monotonic()]
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        return [
            self._timed(rows, params, clock)
            for rows, (_sql, params) in zip(query_many(self.inner, statements), statements)
        ]

    def _timed(self, rows, params: Sequence, clock: list[float]):
        try:
            yield from rows
        finally:
            now = time.monotonic()
            if self.log_path:
                record_query(self.log_path, params, now - clock[0])
            clock[0] = now

    def interrupt(self) -> None:
        interrupt = getattr(self.inner, "interrupt", None)
        if interrupt is not None:
            interrupt()

    def close(self) -> None:
        self.inner.close()


def record_query(log_path: str | os.PathLike, params: Sequence, seconds: float) -> None:
    # The product binds dates, processes, then customers: the first process and the last
    # customer name the group task (the baseline's: its one pair).
    names = [str(p) for p in params if not _DATE.match(str(p))]
    key = f"{names[0]}/{names[-1]}" if names else "?"
    line = f"{os.getpid()}\t{key}\t{seconds:.6f}\n".encode()
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def install(factory=None) -> None:
    """Wrap every warehouse this process opens (idempotent). Patches `open_warehouse` where
    the product looks it up, so DuckDB and Impala alike are measured. `factory(url)`, when
    given, replaces the product's warehouse (the scale model's synthetic one)."""
    from mnaas_missing_files.warehouse import duckdb_engine as warehouse

    if getattr(warehouse.open_warehouse, "_bench_measured", False):
        return
    latency = float(os.environ.get(LATENCY_ENV) or 0)
    log_path = os.environ.get(LOG_ENV) or None
    original = warehouse.open_warehouse
    opener = factory or original

    def measured_open_warehouse(url: str):
        return MeasuredWarehouse(opener(url), latency, log_path)

    measured_open_warehouse._bench_measured = True
    import sys

    for name, module in list(sys.modules.items()):
        if (
            name.split(".")[0] in ("mnaas_missing_files", "tasks", "workers")
            and getattr(module, "open_warehouse", None) is original
        ):
            module.open_warehouse = measured_open_warehouse


def read_log(log_path: Path) -> dict:
    """Queries issued, the longest group's query time (its two queries), and the query time of
    the busiest process (a Celery worker; for `run`, all its threads together)."""
    per_group: dict[str, float] = defaultdict(float)
    per_process: dict[str, float] = defaultdict(float)
    count = 0
    if log_path.is_file():
        for line in log_path.read_text().splitlines():
            pid, key, seconds = line.split("\t")
            per_group[key] += float(seconds)
            per_process[pid] += float(seconds)
            count += 1
    # With W single-process workers, the busiest process's query time is the least wall time
    # any scheduler could reach: what the fan-out adds is measured above it.
    return {
        "queries": count,
        "longest_group_s": max(per_group.values(), default=0.0),
        "query_s": sum(per_group.values()),
        "busiest_process_query_s": max(per_process.values(), default=0.0),
    }
