"""What a task or the submit client needs around the domain code: the job's settings for a
day, the Redis that keeps the lock and the run state, the run lock. No Celery here."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import redis

from mnaas_missing_files.cluster.runstate import RunState, redis_client
from mnaas_missing_files.config.settings import Settings, config_path_from, load_settings
from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.runlog import attach_log_file
from mnaas_missing_files.run.shadow import shadowed
from mnaas_missing_files.state.redisconn import sentinel_options
from mnaas_missing_files.state.redislock import RedisRunLock, lock_key


def settings_for(day: dt.date | str | None = None, shadow_dir: str | None = None, *, real: bool = False) -> Settings:
    """The job's settings for `day` (default: yesterday in MNAAS_TIMEZONE) from MNAAS_CONFIG
    and this process's environment, so that a task never carries a connection setting and an
    edited file takes effect without a restart. Parsed once per process while nothing it was
    read from changes (SettingsCache): a 2,000-customer file costs 20 ms to parse.

    A shadow run's (`shadow_dir`, from its plan, or this process's MNAAS_SHADOW_DIR) write
    only in that directory (run/shadow.py); `real` asks for the job's own paths."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    environ = dict(os.environ)
    settings = _settings_cache.get(
        config_path_from(None, environ), day=day, environ=environ, now=dt.datetime.now().astimezone()
    )
    shadow = None if real else shadow_dir or settings.shadow_dir
    return shadowed(settings, shadow) if shadow else settings


class SettingsCache:
    """load_settings, remembered per (config file, day) until what it was read from changes:
    a file the parser read (the config or a file it sourced: device, inode, size, mtime and
    ctime, so that even a same-size edit with its mtime put back is seen), the environment
    (all of it: `$VAR` expands from any variable, MNAAS_* override settings), or the date in
    the job's zone (the default day and a `$(date +FMT)` log name follow the clock; a FMT
    with a time of day keeps the time of the process's first read of that day).

    Files changed less than `settle_seconds` before a parse are not trusted: a filesystem
    stamps times from a coarse clock, so a second write within the same tick, of the same
    size, would look unchanged. Such a parse is used but not kept."""

    def __init__(self, settle_seconds: float = 1.0, max_entries: int = 16) -> None:
        self.settle_ns = int(settle_seconds * 1e9)
        self.max_entries = max_entries  # one per (file, day): a backfill asks for many days
        self._entries: dict[tuple[str, dt.date | None], _Entry] = {}
        self._lock = threading.Lock()

    def get(self, path: Path, *, day: dt.date | None, environ: dict[str, str], now: dt.datetime) -> Settings:
        key = (str(path), day)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry.still_valid(environ, now):
            return entry.settings
        started_ns = time.time_ns()
        settings = load_settings(path, environ=environ, day=day, now=now)
        signature = _signature(settings.files)
        settled_before = started_ns - self.settle_ns
        with self._lock:
            self._entries.pop(key, None)
            if signature is not None and all(max(f.mtime_ns, f.ctime_ns) < settled_before for f in signature):
                while len(self._entries) >= self.max_entries:
                    self._entries.pop(next(iter(self._entries)))
                self._entries[key] = _Entry(settings, dict(environ), signature, now.astimezone(settings.tzinfo).date())
        return settings

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class _Entry:
    settings: Settings
    environ: dict[str, str]
    signature: tuple[_FileStamp, ...]
    today: dt.date  # in the job's zone, when the file was parsed

    def still_valid(self, environ: dict[str, str], now: dt.datetime) -> bool:
        return (
            environ == self.environ
            and now.astimezone(self.settings.tzinfo).date() == self.today
            and _signature(self.settings.files) == self.signature
        )


class _FileStamp(NamedTuple):
    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int  # set by the kernel on every change: an mtime put back does not hide one


def _signature(files: tuple[str, ...]) -> tuple[_FileStamp, ...] | None:
    """What identifies each file's content without reading it; None if one is gone."""
    try:
        return tuple(
            _FileStamp(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) for st in map(os.stat, files)
        )
    except OSError:
        return None


_settings_cache = SettingsCache()


NO_SHARED_LOCK = (
    "the cluster needs MNAAS_LOCK_URL or a redis:// MNAAS_RESULT_BACKEND in the job's "
    "configuration (file or environment), so that `run` and `submit` share one lock"
)


def state_url(settings: Settings) -> str:
    """The Redis of the run lock and the run state: MNAAS_LOCK_URL, else a Redis result
    backend. Never a silent default: `run` reads the same setting, and a cluster on a default
    Redis while `run` used its file lock would let the two overlap."""
    if not settings.lock_url:
        raise ConfigError(NO_SHARED_LOCK, key="MNAAS_LOCK_URL")
    return settings.lock_url


def job_lock_key(settings: Settings) -> str:
    return lock_key(settings.script_name, settings.status_file)


def state_client(settings: Settings) -> redis.Redis:
    """The client of the run state: the lock's Redis, through its sentinels when it has some."""
    return redis_client(state_url(settings), **sentinel_options(settings))


_locks: dict[tuple, RedisRunLock] = {}


def run_lock(settings: Settings) -> RedisRunLock:
    """The job's one lock, the same key `run` takes when it points at the same Redis; one
    object (one connection pool) per process."""
    state_url(settings)  # no lock URL: the cluster's configuration error, not a file lock
    key = (
        os.getpid(),
        settings.lock_url,
        job_lock_key(settings),
        settings.lock_ttl,
        settings.sentinel_master,
        settings.sentinel_password,
    )
    if key not in _locks:
        _locks[key] = RedisRunLock.for_job(settings)
    return _locks[key]


def run_state(settings: Settings, run_id: str) -> RunState:
    return RunState(state_client(settings), run_id)


def attach_job_log(settings: Settings) -> None:
    """The run's start and end lines go to the job's log file. Its name may carry the day it
    is written (`$(date +_%F)`): a long-lived worker moves to the new file and lets go of
    yesterday's instead of writing both."""
    path = f"file:{settings.log_path}"
    root = logging.getLogger()
    for handler in list(root.handlers):
        name = getattr(handler, "_mnaas", None)
        if isinstance(name, str) and name.startswith("file:") and name != path:
            root.removeHandler(handler)
            handler.close()
    attach_log_file(settings.log_path)
