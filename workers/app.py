"""The Celery app: `celery -A workers.app worker|beat|flower`.

Settings come from celeryconfig (environment, then the properties file named by MNAAS_CONFIG).
The signals here give each pool process its own warehouse connection (opened on first use,
closed when the process ends), keep passwords out of Celery's log output, and refuse to start
a worker or beat on a missing or broken job configuration.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from celery import Celery, signals

import celeryconfig
from mnaas_missing_files.config.settings import CONFIG_ENV
from mnaas_missing_files.core.runlog import SecretFilter
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.warehouse.duckdb_engine import close_shared_warehouses

log = logging.getLogger("mnaas_missing_files.workers")

app = Celery("mnaas_missing_files", include=["tasks.runs", "tasks.sweep", "tasks.catchup"])
app.config_from_object("celeryconfig")


def _refuse_to_start_without_a_job(role: str) -> None:
    """A worker or beat without its job's configuration would fail every task or schedule
    nothing: stop now, with one line naming the problem (exit 2, like the CLI)."""
    problem = None
    if not os.environ.get(CONFIG_ENV):
        problem = f"{CONFIG_ENV} is not set: it must name the job's properties file"
    elif celeryconfig.CONFIG_ERROR:
        problem = celeryconfig.CONFIG_ERROR
    if problem:
        print(f"mnaas-missing-files {role}: configuration error: {problem}", file=sys.stderr)
        sys.stderr.flush()
        os._exit(2)  # SystemExit would be caught and reported as a crash with a traceback


def _describe(role: str) -> None:
    conf = app.conf
    log.info(
        "%s of job %s: broker %s, result backend %s, queues %s, time limit %s s "
        "(soft %s s), visibility timeout %s s, schedule %s",
        role,
        os.environ.get(CONFIG_ENV),
        mask_secrets(conf.broker_url),
        mask_secrets(conf.result_backend),
        ", ".join(q.name for q in conf.task_queues),
        conf.task_time_limit,
        conf.task_soft_time_limit,
        conf.broker_transport_options.get("visibility_timeout"),
        conf.beat_schedule[celeryconfig.DAILY_ENTRY]["schedule"],
    )


def _warn_about_sentinels(role: str) -> None:
    """A Sentinel deployment that could not fail over is said so at start, not found out when
    the master dies (contract §12)."""
    from mnaas_missing_files.state.sentinelcheck import check_sentinels

    try:
        settings = celeryconfig.job_settings()
        if settings is None:
            return
        problems = check_sentinels(
            [settings.broker_url, settings.result_backend, settings.lock_url],
            settings.sentinel_master,
            settings.sentinel_password,
        )
    except Exception as exc:  # the look is advice: it never stops a worker or beat
        problems = [f"could not be checked: {mask_secrets(exc)}"]
    for problem in problems:
        log.warning("%s of job %s: Redis Sentinel: %s", role, os.environ.get(CONFIG_ENV), mask_secrets(problem))


# (keytab, principal) when the job logs in from a keytab: read once by the worker's main
# process, then used by each pool process it forks, without reading the configuration again.
_keytab_login: tuple[Path, str | None] | None = None


def _kerberos_login(role: str) -> None:
    """With MNAAS_KERBEROS_KEYTAB and GSSAPI, this process gets and renews its own tickets
    (contract §17). A failure here is logged; the first connection's error says the rest."""
    global _keytab_login
    from mnaas_missing_files.warehouse.kerberos import is_gssapi, login_with_keytab

    try:
        settings = celeryconfig.job_settings()
        if settings is not None and settings.kerberos_keytab and is_gssapi(settings.warehouse_url):
            _keytab_login = (settings.kerberos_keytab, settings.kerberos_principal)
            login_with_keytab(*_keytab_login)
            log.info(
                "%s of job %s: Kerberos tickets from keytab %s", role, os.environ.get(CONFIG_ENV), _keytab_login[0]
            )
    except Exception as exc:
        log.warning("%s of job %s: Kerberos login not set up: %s", role, os.environ.get(CONFIG_ENV), mask_secrets(exc))


@signals.worker_init.connect
def _check_worker(**_kwargs) -> None:
    _refuse_to_start_without_a_job("worker")
    _kerberos_login("worker")


@signals.worker_process_init.connect
def _pool_process_kerberos_login(**_kwargs) -> None:
    """Each pool process its own credential cache, from the main process's keytab login."""
    if _keytab_login is not None:
        from mnaas_missing_files.warehouse.kerberos import login_with_keytab

        login_with_keytab(*_keytab_login)


@signals.worker_ready.connect
def _describe_worker(**_kwargs) -> None:
    _describe("worker")
    _warn_about_sentinels("worker")


@signals.beat_init.connect
def _check_beat(**_kwargs) -> None:
    _refuse_to_start_without_a_job("beat")
    _kerberos_login("beat")
    _describe("beat")
    _warn_about_sentinels("beat")
    _catch_up_at_start()


def _catch_up_at_start() -> None:
    """When beat starts, the days it missed while it was down run first (contract §10): the
    control queue works them out. A broker not up yet is only a delay: every sweep makes the
    same pass while no run is open."""
    try:
        app.send_task(celeryconfig.CATCH_UP, retry=True, retry_policy={"max_retries": 3})
        log.info("beat: asked the control queue for the catch-up of missed days")
    except Exception as exc:  # kombu's connection errors vary by transport
        log.warning(
            "beat: could not ask for the catch-up of missed days now (%s); the next sweep does it", mask_secrets(exc)
        )


@signals.worker_process_shutdown.connect
def _close_warehouse_connections(**_kwargs) -> None:
    close_shared_warehouses()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _mask_secrets_in_logs(logger=None, **_kwargs) -> None:
    for handler in logger.handlers if logger else []:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(SecretFilter())
