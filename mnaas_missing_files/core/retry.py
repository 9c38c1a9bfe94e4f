"""The one retry policy: which errors are worth another attempt, and how long to wait first.

A warehouse query (`run`'s threads and the Celery group task alike) and an email delivery
retry only errors marked `Transient` (core/errors.py: connection refused or reset, timeouts,
4xx replies), after `backoff` seconds doubling per attempt and capped, up to `attempts` in
all. Anything else fails at once: retrying cannot fix a missing table or a refused password.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnaas_missing_files.core.errors import Transient

MAX_DELAY = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    backoff: float
    max_delay: float = MAX_DELAY

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return min(self.backoff * 2 ** (attempt - 1), self.max_delay)

    @staticmethod
    def is_transient(exc: BaseException) -> bool:
        return isinstance(exc, Transient)

    def retries(self, exc: BaseException, attempt: int) -> bool:
        """Whether failed attempt `attempt` should be followed by another."""
        return self.is_transient(exc) and attempt < self.attempts
