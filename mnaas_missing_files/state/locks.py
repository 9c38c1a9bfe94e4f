"""One job, one lock (contract §6): a Redis key for the cluster (redislock.py), a flock for a
local `run` (here), behind one interface, RunLock.

Both locks record a holder (run id, day, pid, host, start time) so a refused run can say who
holds the job. The Redis lock carries a random token: only the run that knows it can extend
or release the lock, and a crashed run's lock expires with its TTL. The file lock belongs to
the open file description; the kernel drops it when the holding process dies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mnaas_missing_files.core.errors import LockHeld, LockUnavailable
from mnaas_missing_files.core.fsio import os_error

LOCK_FILE_MODE = 0o640
# A reader probing the file lock holds it for microseconds; a starting run waits this long
# before it takes a failed flock for a real holder.
PROBE_GRACE = 0.2


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _holder_record(holder: dict, token: str) -> dict:
    record = {"pid": os.getpid(), "host": socket.gethostname(), "started": _now().isoformat()}
    record.update({k: v for k, v in holder.items() if v is not None})
    # `started` is the caller's to format; the age is measured from our own clock reading.
    record["acquired"] = time.time()
    record["token"] = token
    return record


def _public(record: dict) -> dict:
    """The holder as shown to others: without the token, which would let them release it."""
    return {k: v for k, v in record.items() if k != "token"}


def _describe(holder: dict) -> str:
    return (
        f"run {holder.get('run_id', '?')} for day {holder.get('day', '?')} "
        f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"started {holder.get('started', '?')})"
    )


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) the job's lock: the record the lock keeps as JSON. `token` is
    only known to readers of the raw record (the sweeper, a follower), never shown."""

    run_id: str
    day: str = "?"
    trigger: str = ""
    host: str = "?"
    pid: int | None = None
    started: str = "?"
    executor: str | None = None
    token: str | None = None

    def to_json(self) -> dict:
        """The holder as handed to the lock's `acquire` (which adds the token)."""
        data: dict[str, Any] = {"run_id": self.run_id, "day": self.day, "trigger": self.trigger}
        for name in ("host", "pid", "started", "executor"):
            value = getattr(self, name)
            if value not in (None, "?"):
                data[name] = value
        return data

    @classmethod
    def from_json(cls, data: dict) -> LockHolder:
        pid = data.get("pid")
        return cls(
            run_id=str(data.get("run_id", "?")),
            day=str(data.get("day", "?")),
            trigger=str(data.get("trigger") or ""),
            host=str(data.get("host", "?")),
            pid=int(pid) if isinstance(pid, int) or (isinstance(pid, str) and pid.isdigit()) else None,
            started=str(data.get("started", "?")),
            executor=data.get("executor"),
            token=data.get("token"),
        )

    @classmethod
    def sweeper(cls, run_id: str, day: str) -> LockHolder:
        """The sweeper, taking the job over from the lost run `run_id` to report it: it holds
        the lock under the run's id, so a follower of the run keeps following."""
        return cls(run_id=run_id, day=day, trigger="sweeper")


class RunLock(Protocol):
    """The job's one lock, whichever kind: what `run`, `submit`, `status` and the sweeper ask
    of it. `acquire` raises LockHeld (naming the holder) or LockUnavailable; `extend` raises
    LockLost once another run owns the job; `release` frees it only for its owner."""

    def acquire(self, holder: dict) -> str: ...

    def extend(self, token: str) -> object: ...

    def release(self, token: str) -> bool: ...

    def holder(self) -> dict | None: ...

    def is_owner(self, token: str | None) -> bool: ...


class FileRunLock:
    """A non-blocking flock of the lock file `lock_path` holding the holder's JSON.

    The job's lock file is `<status file>.run.lock` (contract §4): see `for_status_file`.
    """

    def __init__(self, lock_path: str | os.PathLike):
        self.lock_path = Path(lock_path)
        self._fd: int | None = None
        self._token: str | None = None

    @classmethod
    def for_status_file(cls, status_file: str | os.PathLike) -> FileRunLock:
        return cls(f"{os.fspath(status_file)}.run.lock")

    def acquire(self, holder: dict) -> str:
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, LOCK_FILE_MODE)
        except OSError as exc:
            raise LockUnavailable(f"cannot open the run lock {self.lock_path}: {os_error(exc)}") from None
        if not self._flock_within_grace(fd):
            os.close(fd)
            current = self.read_holder() or {}
            raise LockHeld(
                f"another run of this job holds the lock {self.lock_path}: {_describe(current)}",
                holder=current,
            )
        token = secrets.token_hex(16)
        data = json.dumps(_holder_record(holder, token), default=str).encode()
        # Write first, then cut: a reader sees old-and-new bytes at worst, never an empty file.
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
        self._fd, self._token = fd, token
        return token

    @staticmethod
    def _flock_within_grace(fd: int) -> bool:
        deadline = time.monotonic() + PROBE_GRACE
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def read_holder(self) -> dict | None:
        """The holder while the lock is held (from any process), else None."""
        try:
            fd = os.open(self.lock_path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return None  # nobody holds it
            except BlockingIOError:
                pass
            for _ in range(25):  # the holder may be writing its record right now
                with contextlib.suppress(ValueError):
                    record = json.loads(os.pread(fd, 65536, 0))
                    if isinstance(record, dict):
                        return _public(record)
                time.sleep(0.01)
            return {}
        finally:
            os.close(fd)

    holder = read_holder

    def is_owner(self, token: str | None) -> bool:
        return self._fd is not None and token is not None and token == self._token

    def extend(self, token: str | None = None) -> bool:
        """Nothing to renew: a flock lasts as long as the process holds it."""
        return self.is_owner(token)

    def release(self, token: str | None = None) -> bool:
        if self._fd is None:
            return False
        fd, self._fd, self._token = self._fd, None, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # drops the flock
        return True
