"""What a task or the submit client needs around the domain code: the job's settings for a
day, the Redis that keeps the lock and the run state, the run lock. No Celery here."""

from __future__ import annotations

import datetime as dt
import logging
import os

from mnaas_missing_files.locks import RedisRunLock, lock_key
from mnaas_missing_files.runlog import attach_log_file
from mnaas_missing_files.errors import ConfigError
from mnaas_missing_files.settings import Settings, config_path_from, load_settings

from .runstate import RunState, redis_client


def settings_for(day: dt.date | str | None = None) -> Settings:
    """The job's settings for `day` (default: yesterday in MNAAS_TIMEZONE), read from
    MNAAS_CONFIG and this process's environment on every call, so that a task never carries
    a connection setting and an edited file takes effect without a restart."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return load_settings(config_path_from(None), day=day)


NO_SHARED_LOCK = ("the cluster needs MNAAS_LOCK_URL or a redis:// MNAAS_RESULT_BACKEND in the job's "
                  "configuration (file or environment), so that `run` and `submit` share one lock")


def state_url(settings: Settings) -> str:
    """The Redis of the run lock and the run state: MNAAS_LOCK_URL, else a Redis result
    backend. Never a silent default: `run` reads the same setting, and a cluster on a default
    Redis while `run` used its file lock would let the two overlap."""
    if not settings.lock_url:
        raise ConfigError(NO_SHARED_LOCK, key="MNAAS_LOCK_URL")
    return settings.lock_url


def job_lock_key(settings: Settings) -> str:
    return lock_key(settings.script_name, settings.status_file)


_locks: dict[tuple, RedisRunLock] = {}


def run_lock(settings: Settings) -> RedisRunLock:
    """The job's one lock, the same key `run` takes when it points at the same Redis; one
    object (one connection pool) per process."""
    key = (os.getpid(), state_url(settings), job_lock_key(settings), settings.lock_ttl)
    if key not in _locks:
        _locks[key] = RedisRunLock(key[1], key[2], key[3])
    return _locks[key]


def run_state(settings: Settings, run_id: str) -> RunState:
    return RunState(redis_client(state_url(settings)), run_id)


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
