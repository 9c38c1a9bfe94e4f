"""One job, one lock (contract §6): a Redis key for the cluster, a flock for a local `run`.

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
import hashlib
import json
import logging
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Protocol

import redis

from mnaas_missing_files.core.errors import LockHeld, LockLost, LockUnavailable
from mnaas_missing_files.core.fsio import os_error
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.state.liveness import dead_local_run
from mnaas_missing_files.state.redisconn import (
    REDIS_TIMEOUT,
    acknowledge_by_replica,
    connect_redis,
    describe_redis_error,
    sentinel_options,
)

log = logging.getLogger(__name__)

KEY_PREFIX = "mnaas-missing-files:lock"
LOCK_FILE_MODE = 0o640
# A reader probing the file lock holds it for microseconds; a starting run waits this long
# before it takes a failed flock for a real holder.
PROBE_GRACE = 0.2


# Compare-and-act scripts: the value is the holder JSON, which carries the owner's token.
# KEYS[2] (`<lock>:last`) keeps the last holder's JSON until that holder releases: a run whose
# lock lapsed may take it back only while it is still the last holder, i.e. nobody else has
# held the job since (a long stall, Redis briefly away, every worker dead for a while).
_OWNER = """
local function owned_by(value, token)
  if not value then return false end
  local ok, holder = pcall(cjson.decode, value)
  return ok and type(holder) == 'table' and holder['token'] == token
end
"""
_ACQUIRE = _OWNER + """
if ARGV[4] ~= '' and not owned_by(redis.call('get', KEYS[2]), ARGV[4]) then return -1 end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('set', KEYS[2], ARGV[1], 'EX', ARGV[3])
  return 1
end
return 0
"""
_EXTEND = _OWNER + """
local value = redis.call('get', KEYS[1])
if value then
  if owned_by(value, ARGV[1]) then return redis.call('pexpire', KEYS[1], ARGV[2]) end
  return 0
end
local last = redis.call('get', KEYS[2])
if owned_by(last, ARGV[1]) then
  redis.call('set', KEYS[1], last, 'PX', ARGV[2])
  return 2
end
return 0
"""
_RELEASE = _OWNER + """
if owned_by(redis.call('get', KEYS[1]), ARGV[1]) then
  redis.call('del', KEYS[2])
  return redis.call('del', KEYS[1])
end
return 0
"""
# A holder found dead (a `run` of this host whose pid is gone) is removed only if the lock
# still holds exactly that record, so two runs finding it dead cannot both remove a live one.
_TAKE_OVER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  return 1
end
return 0
"""
# How long `<lock>:last` outlives its holder's lapse: far beyond any stall worth resuming.
LAST_HOLDER_TTL = 8 * 24 * 3600

def lock_key(script_name: str, status_file: str | os.PathLike) -> str:
    """The Redis key of a job: one job is one status file, named by its absolute path."""
    digest = hashlib.sha1(os.path.abspath(os.fspath(status_file)).encode()).hexdigest()[:12]
    return f"{KEY_PREFIX}:{script_name}:{digest}"


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


class RedisRunLock:
    """`SET key holder-json NX PX ttl`; the token in the JSON identifies the owner.

    A run whose lock lapsed takes it back on its next `extend` when nobody else has taken the
    job since; once another run took it, the lapsed run only ever gets LockLost."""

    def __init__(self, url: str, key: str, ttl_seconds: int, *, sentinel_master: str | None = None,
                 sentinel_password: str | None = None):
        self.url = url
        self.key = key
        self.last_key = f"{key}:last"
        self.ttl_seconds = int(ttl_seconds)
        if self.ttl_seconds < 1:
            raise ValueError("the lock TTL must be at least one second")
        try:
            self._client = connect_redis(url, sentinel_master=sentinel_master,
                                         sentinel_password=sentinel_password, timeout=REDIS_TIMEOUT)
        except ValueError as exc:
            raise LockUnavailable(f"bad lock URL {mask_secrets(url)}: {mask_secrets(exc)}") from None
        self._acquire = self._client.register_script(_ACQUIRE)
        self._extend = self._client.register_script(_EXTEND)
        self._release = self._client.register_script(_RELEASE)
        self._take_over = self._client.register_script(_TAKE_OVER)

    @contextlib.contextmanager
    def _talking(self, action: str):
        try:
            yield
        except redis.exceptions.RedisError as exc:
            raise LockUnavailable(
                f"cannot {action} the run lock {self.key} at {mask_secrets(self.url)}: "
                f"{describe_redis_error(exc, self._client)}"
            ) from None

    @classmethod
    def for_job(cls, settings) -> RedisRunLock:
        """The job's lock at MNAAS_LOCK_URL (through its sentinels when it names some)."""
        return cls(settings.lock_url, lock_key(settings.script_name, settings.status_file),
                   settings.lock_ttl, **sentinel_options(settings))

    def acquire(self, holder: dict, *, after: str | None = None) -> str:
        """Take the lock; LockHeld names the holder. With `after` (a lapsed run's token), take it
        only if that run was its last holder, else LockLost: someone has held the job since."""
        token = secrets.token_hex(16)
        record = _holder_record(holder, token)
        record["ttl_seconds"] = self.ttl_seconds
        value = json.dumps(record, default=str)
        args: list[str | int] = [value, self.ttl_seconds * 1000, LAST_HOLDER_TTL, after or ""]
        for _ in range(3):  # the holder may expire between our SET and GET: try again then
            with self._talking("take"):
                taken = self._acquire(keys=[self.key, self.last_key], args=args)
            if taken == 1:
                # The run starts only once a replica has the lock too (contract §12): a failover
                # after this point cannot hand the job to a second run.
                acknowledge_by_replica(self._client, f"run {holder.get('run_id', '?')}: the run lock {self.key}")
                return token
            if taken == -1:
                raise LockLost(f"another run has held the lock {self.key} since the run "
                               f"that lapsed; that run's outcome is no longer this job's")
            if self._took_over_dead_holder():
                continue
            current = self.holder()
            if current is not None:
                raise LockHeld(
                    f"another run of this job holds the lock {self.key}: {_describe(current)}, "
                    f"expires in {current.get('ttl', '?')} s",
                    holder=current,
                )
        raise LockUnavailable(f"the run lock {self.key} keeps changing hands; try again")

    def _took_over_dead_holder(self) -> bool:
        """Remove the lock of a `run` of this host whose process is gone (contract §13): it
        would otherwise refuse every run for the rest of its TTL."""
        with self._talking("read"):
            raw = self._client.get(self.key)
        if not isinstance(raw, (bytes, str)):
            return False
        try:
            record = json.loads(raw)
        except ValueError:
            return False
        if not isinstance(record, dict) or not dead_local_run(record):
            return False
        with self._talking("take over"):
            removed = self._take_over(keys=[self.key], args=[raw])
        if removed:
            log.warning("the run lock %s was held by %s, whose process is gone (this host); "
                        "taking it over", self.key, _describe(record))
        return bool(removed)

    def extend(self, token: str, ttl_seconds: int | None = None) -> bool:
        """Push the expiry `ttl_seconds` (default: the lock's TTL) ahead; LockLost if not ours.
        True when the lock had lapsed and was taken back (nobody held the job meanwhile)."""
        ttl_ms = int((ttl_seconds or self.ttl_seconds) * 1000)
        with self._talking("extend"):
            extended = self._extend(keys=[self.key, self.last_key], args=[token, ttl_ms])
        if not extended:
            current = self.holder()
            who = f"now held by {_describe(current)}" if current else "expired"
            raise LockLost(f"this run no longer holds the lock {self.key}: {who}")
        if extended == 2:
            log.warning("the run lock %s had lapsed; nobody took the job meanwhile, so the run "
                        "holds it again", self.key)
            acknowledge_by_replica(self._client, f"the run lock {self.key}, taken back")
        return extended == 2

    def release(self, token: str) -> bool:
        """Delete the key if `token` owns it; False when it had expired or belongs to another."""
        with self._talking("release"):
            return bool(self._release(keys=[self.key, self.last_key], args=[token]))

    def resumable(self, token: str | None) -> bool:
        """Whether the run of `token` still holds the lock or may take it back on `extend`."""
        return bool(token) and any(r.get("token") == token for r in self.holder_and_last() if r)

    def holder_and_last(self) -> tuple[dict | None, dict | None]:
        """The current holder's and the last holder's records, tokens included, in one read."""
        with self._talking("read"):
            values = self._client.mget(self.key, self.last_key)
        records = []
        for value in values:
            try:
                record = json.loads(value) if value is not None else None
            except ValueError:
                record = None
            records.append(record if isinstance(record, dict) else None)
        return records[0], records[1]

    def _record(self) -> tuple[dict | None, int]:
        with self._talking("read"):
            pipe = self._client.pipeline(transaction=True)
            pipe.get(self.key)
            pipe.pttl(self.key)
            value, pttl = pipe.execute()
        if value is None:
            return None, pttl
        try:
            record = json.loads(value)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            record = {"raw": value[:200].decode(errors="replace")}
        return record, pttl

    def holder(self) -> dict | None:
        """The holder (no token) with `ttl` (seconds left) and `age` (seconds), or None."""
        record, pttl = self._record()
        if record is None:
            return None
        public = _public(record)
        public["ttl"] = round(pttl / 1000, 1) if pttl >= 0 else None
        if isinstance(record.get("acquired"), (int, float)):
            public["age"] = round(time.time() - record["acquired"], 1)
        return public

    read_holder = holder

    def is_owner(self, token: str | None) -> bool:
        record, _ = self._record()
        return bool(record and token and record.get("token") == token)

    def close(self) -> None:
        self._client.close()
