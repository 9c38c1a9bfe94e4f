"""SIGTERM and SIGINT of `run` (contract §13): stop checking, cancel the queries in flight, and
let the run end through the one boundary as `interrupted`.

The handler only sets a flag and asks the open warehouse connections to cancel; the run
itself notices at safe points (between attempts, in a retry's wait, before each group), so
nothing is ever left half-written. Once the run is writing its outcome, a signal is noted
and the outcome is finished first: it takes seconds, and stopping it midway is what would
leave something half-done.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

from mnaas_missing_files.core.errors import RunInterrupted

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interruption:
    """The stop flag of one run, and the warehouses whose queries a signal cancels."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.RLock()  # the handler may run while the main thread holds it
        self._cancellable: list = []
        self.reason = ""

    def is_set(self) -> bool:
        return self._event.is_set()

    def stop(self, reason: str) -> None:
        with self._lock:
            first = not self._event.is_set()
            if first:
                self.reason = reason
                self._event.set()
            cancellable = list(self._cancellable)
        if first:
            log.warning("%s: stopping the run (queries in flight are cancelled)", reason)
        for warehouse in cancellable:
            try:
                warehouse.interrupt()
            except Exception:  # best effort: the query's own timeout still ends it
                log.debug("cancelling a query failed", exc_info=True)

    def watch(self, warehouse) -> None:
        """Cancel `warehouse`'s query in flight when the run is stopped."""
        with self._lock:
            self._cancellable.append(warehouse)
            stopped = self._event.is_set()
        if stopped:
            warehouse.interrupt()

    def check(self) -> None:
        if self._event.is_set():
            raise RunInterrupted(self.reason)

    def sleep(self, seconds: float) -> None:
        """A retry's wait, cut short (RunInterrupted) when the run is stopped."""
        if self._event.wait(seconds):
            raise RunInterrupted(self.reason)


@contextlib.contextmanager
def signals_stop(interruption: Interruption) -> Iterator[Interruption]:
    """While inside, SIGTERM and SIGINT stop `interruption` instead of killing the process.
    Only the main thread may install handlers; elsewhere this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield interruption
        return

    def handler(signum, _frame):
        interruption.stop(f"interrupted by {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield interruption
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
