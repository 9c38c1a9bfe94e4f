"""The job's lock on the cluster (contract §6): `SET key holder-json NX PX ttl` in Redis, with
compare-and-act scripts, so that only the run that knows the token extends or releases it and
a crashed run's lock expires with its TTL. The interface and the file lock: locks.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import time

import redis

from mnaas_missing_files.core.errors import LockHeld, LockLost, LockUnavailable
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.state.liveness import dead_local_run
from mnaas_missing_files.state.locks import _describe, _holder_record, _public
from mnaas_missing_files.state.redisconn import (
    REDIS_TIMEOUT,
    acknowledge_by_replica,
    connect_redis,
    describe_redis_error,
    sentinel_options,
)

log = logging.getLogger(__name__)

LOCK_PREFIX = "mnaas-missing-files:lock"  # listed with every other key in cluster/keys.py


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
_ACQUIRE = (
    _OWNER
    + """
if ARGV[4] ~= '' and not owned_by(redis.call('get', KEYS[2]), ARGV[4]) then return -1 end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('set', KEYS[2], ARGV[1], 'EX', ARGV[3])
  return 1
end
return 0
"""
)
_EXTEND = (
    _OWNER
    + """
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
)
_RELEASE = (
    _OWNER
    + """
if owned_by(redis.call('get', KEYS[1]), ARGV[1]) then
  redis.call('del', KEYS[2])
  return redis.call('del', KEYS[1])
end
return 0
"""
)
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
    return f"{LOCK_PREFIX}:{script_name}:{digest}"


class RedisRunLock:
    """`SET key holder-json NX PX ttl`; the token in the JSON identifies the owner.

    A run whose lock lapsed takes it back on its next `extend` when nobody else has taken the
    job since; once another run took it, the lapsed run only ever gets LockLost."""

    def __init__(
        self,
        url: str,
        key: str,
        ttl_seconds: int,
        *,
        sentinel_master: str | None = None,
        sentinel_password: str | None = None,
    ):
        self.url = url
        self.key = key
        self.last_key = f"{key}:last"
        self.ttl_seconds = int(ttl_seconds)
        if self.ttl_seconds < 1:
            raise ValueError("the lock TTL must be at least one second")
        try:
            self._client = connect_redis(
                url, sentinel_master=sentinel_master, sentinel_password=sentinel_password, timeout=REDIS_TIMEOUT
            )
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
        return cls(
            settings.lock_url,
            lock_key(settings.script_name, settings.status_file),
            settings.lock_ttl,
            **sentinel_options(settings),
        )

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
                raise LockLost(
                    f"another run has held the lock {self.key} since the run "
                    f"that lapsed; that run's outcome is no longer this job's"
                )
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
            log.warning(
                "the run lock %s was held by %s, whose process is gone (this host); taking it over",
                self.key,
                _describe(record),
            )
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
            log.warning(
                "the run lock %s had lapsed; nobody took the job meanwhile, so the run holds it again", self.key
            )
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
