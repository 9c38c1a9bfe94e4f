"""Celery settings of the product (contract §6) and nothing else.

Values come from the environment, then from the properties file named by MNAAS_CONFIG (the
environment wins; `mnaas_missing_files.config.settings` does that merge). `celery -A workers.app`
loads this module as the app's configuration; `tasks.client` builds the same settings from the
Settings it has already loaded (`celery_settings(settings)`), so both always agree.

The defaults below are the only place the product names a default broker or backend.
"""

from __future__ import annotations

import os
from typing import Any

from kombu import Exchange, Queue

from mnaas_missing_files.config.options import OPTIONS_BY_KEY, convert
from mnaas_missing_files.config.redis_url import check_sentinel_settings, is_sentinel_url
from mnaas_missing_files.config.settings import CONFIG_ENV, Settings, load_settings
from mnaas_missing_files.core.errors import ConfigError
from tasks import CATCH_UP, CHECK_GROUP, FINALIZE_RUN, RUN_FAILED, START_RUN, SWEEP_LOST_RUNS

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
DEFAULT_RESULT_BACKEND = "redis://127.0.0.1:6379/1"

# Control tasks touch the status file and the report directory: pin this queue to the host
# that owns them. Group tasks only query the warehouse: any number of workers anywhere.
CONTROL_QUEUE = "mnaas-control"
GROUPS_QUEUE = "mnaas-groups"

# The longest run is bounded by the lock TTL extended per group, in practice minutes to an
# hour; results and run state live a week so that a late `status` or Flower still shows them.
RESULT_EXPIRES = 7 * 24 * 3600
# A scheduled task still in the queue this long after its tick is stale: the next tick (or an
# operator's submit) does the work instead of a pile of catch-up runs.
SCHEDULED_RUN_EXPIRES = 20 * 3600
# A sentinel that does not answer within this is skipped for the next one in the list.
SENTINEL_TIMEOUT = 5.0
DAILY_ENTRY = "mnaas-daily-run"
SWEEP_ENTRY = "mnaas-sweep-lost-runs"

# Set when MNAAS_CONFIG names a file that does not load; workers and beat refuse to start on
# it (workers/app.py), while Flower, which needs no job configuration, still can.
CONFIG_ERROR: str | None = None


def job_settings(environ: dict[str, str] | None = None) -> Settings | None:
    """The job's settings when MNAAS_CONFIG is set; None when it is not."""
    environ = dict(os.environ if environ is None else environ)
    path = environ.get(CONFIG_ENV)
    return load_settings(path, environ=environ) if path else None


def _setting(settings: Settings | None, key: str, environ: dict[str, str]) -> Any:
    """One MNAAS_* value from the loaded settings, or from the environment alone."""
    option = OPTIONS_BY_KEY[key]
    if settings is not None:
        return getattr(settings, option.attr)
    raw = environ.get(key, "")
    if raw == "":
        return None if callable(option.default) else option.default
    return convert(option, raw, "environment")


def crontab_of(cron: str):
    """MNAAS_SCHEDULE's five cron fields as a Celery crontab (evaluated in `timezone`)."""
    from celery.schedules import crontab

    minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
    return crontab(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year, day_of_week=day_of_week
    )


def celery_settings(settings: Settings | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Every Celery setting of the product, as lower-case names for `app.conf.update`."""
    environ = dict(os.environ if environ is None else environ)

    def value(key: str) -> Any:
        return _setting(settings, key, environ)

    time_limit = int(value("MNAAS_GROUP_TIME_LIMIT"))
    visibility = int(value("MNAAS_VISIBILITY_TIMEOUT"))
    if visibility <= time_limit:
        raise ConfigError(
            f"MNAAS_VISIBILITY_TIMEOUT ({visibility} s) must exceed MNAAS_GROUP_TIME_LIMIT "
            f"({time_limit} s), or a slow task would be delivered twice",
            key="MNAAS_VISIBILITY_TIMEOUT",
        )
    timezone = value("MNAAS_TIMEZONE")
    sweep = int(value("MNAAS_SWEEP_INTERVAL"))
    control = Exchange(CONTROL_QUEUE, type="direct")
    groups = Exchange(GROUPS_QUEUE, type="direct")
    broker_url = value("MNAAS_BROKER_URL") or DEFAULT_BROKER_URL
    result_backend = value("MNAAS_RESULT_BACKEND") or DEFAULT_RESULT_BACKEND
    sentinel = _sentinel_options(
        broker_url, result_backend, value("MNAAS_SENTINEL_MASTER"), value("MNAAS_SENTINEL_PASSWORD")
    )
    conf: dict[str, Any] = {
        "broker_url": broker_url,
        "result_backend": result_backend,
        # Task arguments and results are shown by Flower and cross hosts: plain JSON only, and
        # a worker never unpickles what a broker user could have put there.
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Acknowledge after the task ran, so a task whose worker dies is delivered again...
        "task_acks_late": True,
        # ...including when the pool process was killed (OOM, SIGKILL); the tasks count their
        # deliveries and give up after MNAAS_MAX_DELIVERIES (tasks/runs.py).
        "task_reject_on_worker_lost": True,
        # A task that raised or hit its time limit is acknowledged: retrying it forever would
        # not help, and the chord's error handler reports it.
        "task_acks_on_failure_or_timeout": True,
        # One message reserved per pool process: a long group never holds others hostage, and
        # a dying worker takes at most one unacknowledged task per process with it.
        "worker_prefetch_multiplier": 1,
        # Hard limit from MNAAS_GROUP_TIME_LIMIT; the soft limit lets a group report a timeout.
        "task_time_limit": time_limit,
        "task_soft_time_limit": max(1, int(time_limit * 0.9)),
        # Redis broker: an unacknowledged message goes back to the queue after this long, so
        # it must exceed every task's hard limit (and retry countdowns, at most 30 s).
        # With sentinel:// URLs, kombu asks the sentinels for the master of that name on every
        # (re)connect, so the queues follow a failover (contract §12).
        "broker_transport_options": {
            "visibility_timeout": visibility,
            **(sentinel if is_sentinel_url(broker_url) else {}),
        },
        # The same for the results: the chord joins on the master of the moment.
        "result_backend_transport_options": sentinel if is_sentinel_url(result_backend) else {},
        # Far above the longest run, so the chord callback and Flower find every result.
        "result_expires": RESULT_EXPIRES,
        # Results carry the task name and arguments, for Flower and `celery result`.
        "result_extended": True,
        # Task events for Flower: sent, started, succeeded, retried, failed.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_track_started": True,
        # A lost broker connection lets running tasks finish. Cancelling them needs the result
        # backend, usually the same Redis that just went away: the cancel then fails and Celery
        # records each task as revoked, which fails the chord (tests/integration/
        # test_celery_redis_restart.py). Finished, they are acknowledged on the new connection;
        # one whose ack still got lost runs once more after the visibility timeout, which is
        # harmless: a group's result counts once per run, the email goes once per run.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # A task a worker sends (the chord's callback, a retry) while the broker is away for a
        # failover or a restart is retried for about 30 s instead of Celery's default 0.6 s, so
        # the run goes on once a master answers again (contract §12).
        "task_publish_retry_policy": {
            "max_retries": 30,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1.0,
        },
        # Workers started before the broker keep trying instead of exiting.
        "broker_connection_retry_on_startup": True,
        # A lost pool process is declared lost (and its task requeued) after this many
        # seconds instead of Celery's 10, so redelivery after a kill is prompt.
        "worker_lost_wait": 2.0,
        # Two queues, each with its own exchange and routing key: a group task can only ever
        # be routed to GROUPS_QUEUE. A worker started without -Q consumes both.
        "task_queues": (
            Queue(CONTROL_QUEUE, control, routing_key=CONTROL_QUEUE),
            Queue(GROUPS_QUEUE, groups, routing_key=GROUPS_QUEUE),
        ),
        "task_routes": {
            CHECK_GROUP: {"queue": GROUPS_QUEUE, "exchange": GROUPS_QUEUE, "routing_key": GROUPS_QUEUE},
            START_RUN: {"queue": CONTROL_QUEUE, "exchange": CONTROL_QUEUE, "routing_key": CONTROL_QUEUE},
            FINALIZE_RUN: {"queue": CONTROL_QUEUE, "exchange": CONTROL_QUEUE, "routing_key": CONTROL_QUEUE},
            RUN_FAILED: {"queue": CONTROL_QUEUE, "exchange": CONTROL_QUEUE, "routing_key": CONTROL_QUEUE},
            SWEEP_LOST_RUNS: {"queue": CONTROL_QUEUE, "exchange": CONTROL_QUEUE, "routing_key": CONTROL_QUEUE},
            CATCH_UP: {"queue": CONTROL_QUEUE, "exchange": CONTROL_QUEUE, "routing_key": CONTROL_QUEUE},
        },
        # Anything unrouted (Celery's own helpers) goes where a control worker always listens.
        "task_default_queue": CONTROL_QUEUE,
        "task_default_exchange": CONTROL_QUEUE,
        "task_default_routing_key": CONTROL_QUEUE,
        # Never invent a queue nobody consumes because of a typo in -Q.
        "task_create_missing_queues": False,
        # The schedule's wall clock: MNAAS_TIMEZONE, else the system's zone (DST-aware either
        # way); internal timestamps stay UTC when a zone is named.
        "timezone": timezone,
        "enable_utc": bool(timezone),
        "beat_schedule": {
            # The tick: the catch-up window's missed days first, then the tick's own day
            # (trigger schedule), each through its day's claim (mnaas_missing_files/cluster/catchup_pass.py).
            DAILY_ENTRY: {
                "task": CATCH_UP,
                "schedule": crontab_of(value("MNAAS_SCHEDULE")),
                "kwargs": {"tick": True},
                "options": {"queue": CONTROL_QUEUE, "expires": SCHEDULED_RUN_EXPIRES},
            },
            # A sweep still queued at the next one's time is redundant: it expires.
            SWEEP_ENTRY: {
                "task": SWEEP_LOST_RUNS,
                "schedule": float(sweep),
                "options": {"queue": CONTROL_QUEUE, "expires": float(sweep)},
            },
        },
    }
    return conf


def _sentinel_options(broker_url: str, result_backend: str, master: str | None, password: str | None) -> dict[str, Any]:
    """kombu's and Celery's Sentinel transport options: the master's name and how to talk to the
    sentinels themselves (their own password; the Redis password is in the first URL)."""
    if not (is_sentinel_url(broker_url) or is_sentinel_url(result_backend)):
        return {}
    # Flower reads only the environment: its sentinel URLs are checked here, not by Settings.
    check_sentinel_settings({"MNAAS_BROKER_URL": broker_url, "MNAAS_RESULT_BACKEND": result_backend}, master)
    sentinel_kwargs: dict[str, Any] = {"socket_timeout": SENTINEL_TIMEOUT, "socket_connect_timeout": SENTINEL_TIMEOUT}
    if password:
        sentinel_kwargs["password"] = password
    return {"master_name": master, "sentinel_kwargs": sentinel_kwargs}


def _load_module_settings() -> dict[str, Any]:
    global CONFIG_ERROR
    try:
        settings = job_settings()
        if settings is not None and not settings.lock_url:
            raise ConfigError(
                "the cluster needs MNAAS_LOCK_URL or a redis:// MNAAS_RESULT_BACKEND in the "
                "job's configuration, so that `run` and `submit` share one lock",
                key="MNAAS_LOCK_URL",
                where=str(settings.config_path),
            )
        return celery_settings(settings)
    except ConfigError as exc:
        from mnaas_missing_files.core.secrets import mask_secrets

        CONFIG_ERROR = mask_secrets(exc)
        environ = {k: v for k, v in os.environ.items() if k != CONFIG_ENV}
        try:
            return celery_settings(None, environ)
        except ConfigError:
            return celery_settings(None, {})


# Module-level names are what `app.config_from_object("celeryconfig")` reads.
globals().update(_load_module_settings())
