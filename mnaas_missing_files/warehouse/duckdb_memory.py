"""Give the memory a DuckDB statement freed back to the system before the next one starts.

DuckDB's Linux builds allocate through their own jemalloc (symbols prefixed `duckdb_je_`),
which keeps freed pages for reuse and returns them only as it allocates again: measured on
the large day, one group's names query left the process ~110 MB larger than before it,
although DuckDB's own accounting (duckdb_memory()) said 5 MB were in use, and the run's next
queries added to that. DuckDB returns them itself only when a database closes or its thread
count changes (its Allocator::FlushAll: purge every jemalloc arena, then glibc's
malloc_trim). `release()` does the same after each statement, in a few milliseconds;
inside `returning_at_once()` jemalloc gives back what a statement frees while it runs (its
decay times 0), which lowers the peak of a statement that frees as it goes.

Where the library is not there (another build, another platform), these do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

_ALL_ARENAS = 4096  # jemalloc's MALLCTL_ARENAS_ALL
_lock = threading.Lock()  # DuckDB purges every arena under one lock too
_loaded: tuple[Any, Any] | None = None


def _libraries() -> tuple[Any, Any]:
    """(DuckDB's jemalloc mallctl or None, glibc's malloc_trim or None), found once."""
    global _loaded
    if _loaded is None:
        _loaded = (_duckdb_mallctl(), _malloc_trim())
    return _loaded


def _duckdb_mallctl() -> Any:
    for name in ("_duckdb", "duckdb.duckdb"):  # DuckDB's compiled module: its name by version
        try:
            path = getattr(importlib.import_module(name), "__file__", None)
            mallctl = getattr(ctypes.CDLL(path), "duckdb_je_mallctl", None) if path else None
            if mallctl is not None:  # int mallctl(name, oldp, oldlenp, newp, newlen)
                mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
                mallctl.restype = ctypes.c_int
                return mallctl
        except (ImportError, OSError):
            continue
    return None


def _malloc_trim() -> Any:
    try:
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc's; musl has none
    except OSError:
        return None
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def _mallctl(mallctl: Any, name: str, value: int | None = None) -> int:
    if value is None:
        return mallctl(name.encode(), None, None, None, 0)
    number = ctypes.c_ssize_t(value)
    return mallctl(name.encode(), None, None, ctypes.byref(number), ctypes.sizeof(number))


def release() -> None:
    """Return the memory DuckDB (and this process's C heap) holds freed: call between statements."""
    mallctl, malloc_trim = _libraries()
    with _lock:
        if mallctl is not None:
            _mallctl(mallctl, f"arena.{_ALL_ARENAS}.purge")
        if malloc_trim is not None:
            malloc_trim(0)


@contextlib.contextmanager
def returning_at_once() -> Iterator[None]:
    """While inside, jemalloc gives freed pages back at once (decay 0 in every arena), which
    lowers the peak of a statement that frees as it goes (a group's names); the decay times
    are restored after. Not for every statement: a large aggregation that frees and allocates
    again (the day-input query over five weeks of KPIs) pays for each page twice, ~10 % of a
    standard run's CPU. Callers hold the instance's turn, so no other statement runs meanwhile."""
    mallctl, _ = _libraries()
    if mallctl is None:
        yield
        return
    with _lock:
        saved = _set_decay(mallctl, 0)
    try:
        yield
    finally:
        with _lock:
            _set_decay(mallctl, saved)


def _set_decay(mallctl: Any, value: int | dict[str, int]) -> dict[str, int]:
    """Set every arena's dirty and muzzy decay (ms) to `value` (one number, or what an earlier
    call returned); returns what they were."""
    arenas, size = ctypes.c_uint(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_uint))
    mallctl(b"arenas.narenas", ctypes.byref(arenas), ctypes.byref(size), None, 0)
    names = [f"arena.{arena}.{kind}_decay_ms" for kind in ("dirty", "muzzy") for arena in range(arenas.value)]
    names += ["arenas.dirty_decay_ms", "arenas.muzzy_decay_ms"]  # arenas made meanwhile
    saved: dict[str, int] = {}
    for name in names:
        old, old_size = ctypes.c_ssize_t(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_ssize_t))
        if mallctl(name.encode(), ctypes.byref(old), ctypes.byref(old_size), None, 0) != 0:
            continue  # an arena not initialised: nothing to set
        saved[name] = old.value
        new = value.get(name, old.value) if isinstance(value, dict) else value
        if _mallctl(mallctl, name, new) != 0:
            log.debug("jemalloc's %s could not be set", name)
    return saved
