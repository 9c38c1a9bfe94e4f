"""The job's lock in memory, for unit tests of the passes: RedisRunLock's rules (its Lua
scripts) without a Redis. A holder record carries its token; `last` keeps the last holder
until it releases, so a lapsed run may take the lock back only while nobody held it since."""

from __future__ import annotations

import itertools

from mnaas_missing_files.core.errors import LockHeld, LockLost

_tokens = itertools.count(1)


class MemoryRunLock:
    def __init__(self) -> None:
        self.current: dict | None = None
        self.last: dict | None = None

    def acquire(self, holder: dict, *, after: str | None = None) -> str:
        if after is not None and (self.last or {}).get("token") != after:
            raise LockLost("another run has held the lock since the run that lapsed")
        if self.current is not None:
            raise LockHeld(f"another run of this job holds the lock: run {self.current.get('run_id')}")
        token = f"token-{next(_tokens)}"
        self.current = self.last = {**holder, "token": token}
        return token

    def release(self, token: str) -> bool:
        if (self.current or {}).get("token") != token:
            return False
        self.current = self.last = None
        return True

    def lapse(self) -> None:
        """The key expires (nothing extended it for the TTL); `last` stays."""
        self.current = None

    def holder(self) -> dict | None:
        return {k: v for k, v in self.current.items() if k != "token"} if self.current else None

    def holder_and_last(self) -> tuple[dict | None, dict | None]:
        return self.current, self.last
