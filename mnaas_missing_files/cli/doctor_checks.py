"""The checks `doctor` runs (cli/doctor.py), in the order they print. Each reads only: no
mail is sent, no key is written, no file is created or touched."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.warehouse import queries
from mnaas_missing_files.warehouse.kerberos import kerberos_ticket_status

RECENT_DAYS = 7  # no KPI row in this many days before today: the KPI load looks stopped
PING_SECONDS = 3.0  # how long workers get to answer the ping

OK, WARN, SKIP, FAIL = "ok", "warn", "skip", "FAIL"


@dataclass(frozen=True)
class Finding:
    level: str  # ok | warn | skip | FAIL
    what: str  # the dependency or path, in the operator's words
    detail: str  # what was found and, unless ok, what to do

    def line(self) -> str:
        """One line, whatever the detail quotes (a server's message may span several)."""
        return f"{self.level:<4} {self.what}: {' '.join(mask_secrets(self.detail).split())}"


Check = Callable[[Settings], Iterable[Finding]]


def writable(path: Path, *, directory: bool) -> str | None:
    """None when the product could create or replace `path`, else why not. A path that does
    not exist yet passes when its nearest existing ancestor is a writable directory."""
    if path.exists():
        if directory != path.is_dir():
            return f"{path} is {'not ' if directory else ''}a directory"
        if not os.access(path, os.W_OK | (os.X_OK if directory else 0)):
            return f"{path} is not writable by this user"
        return None
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} (on the way to {path}) is not a directory"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{path} does not exist and {ancestor} is not writable by this user, so it cannot be created"
    return None


def check_warehouse(settings: Settings) -> Iterator[Finding]:
    """Connect; the three tables with the columns the run reads; KPI rows of recent days."""
    from mnaas_missing_files.core.errors import WarehouseError
    from mnaas_missing_files.warehouse.duckdb_engine import open_warehouse

    what = f"warehouse {_shown_url(settings.warehouse_url)}"
    ticket = kerberos_ticket_status(settings)  # GSSAPI only; from the keytab, in memory
    if ticket is not None:
        yield Finding(FAIL if ticket.problem else OK, "Kerberos", ticket.describe())
    warehouse = open_warehouse(settings.warehouse_url)
    try:
        try:
            warehouse.query(*queries.connection_probe())
        except WarehouseError as exc:
            yield Finding(FAIL, what, f"cannot connect: {exc}; check MNAAS_WAREHOUSE_URL and that the server is up")
            return
        yield Finding(OK, what, "connected")
        for key, table, columns in (
            ("MNAAS_KPI_TABLE", settings.kpi_table, queries.KPI_COLUMNS),
            ("MNAAS_RECEIVED_TABLE", settings.received_table, queries.RECEIVED_COLUMNS),
            ("MNAAS_GENERATED_TABLE", settings.generated_table, queries.GENERATED_COLUMNS),
        ):
            problem = _table_problem(warehouse, table, columns)
            if problem:
                yield Finding(FAIL, f"table {table}", f"{problem}; check {key} and the warehouse's schema")
            else:
                yield Finding(OK, f"table {table}", f"has {', '.join(columns)}")
        yield _recent_kpi(warehouse, settings)
    finally:
        warehouse.close()


def _table_problem(warehouse, table: str, columns: tuple[str, ...]) -> str | None:
    from mnaas_missing_files.core.errors import WarehouseError

    def error_of(probe: tuple[str, list]) -> WarehouseError | None:
        try:
            warehouse.query(*probe)
        except WarehouseError as exc:
            return exc
        return None

    whole = error_of(queries.columns_probe(table, columns))
    if whole is None:
        return None
    if error_of(queries.columns_probe(table)) is not None:
        return f"cannot be read ({whole})"
    # The table is there: name the columns that are not.
    missing = [c for c in columns if error_of(queries.columns_probe(table, (c,))) is not None]
    return f"has no column {', '.join(missing)}" if missing else f"cannot be read ({whole})"


def _recent_kpi(warehouse, settings: Settings) -> Finding:
    today = settings.now().date()
    first, last = today - dt.timedelta(days=RECENT_DAYS), today - dt.timedelta(days=1)
    (count,) = warehouse.query(*queries.kpi_rows_between(settings.kpi_table, first, last))[0]
    what = f"KPI rows {first} .. {last}"
    if not count:
        return Finding(WARN, what, f"none in {settings.kpi_table}: is the KPI load running? Runs of these days fail")
    return Finding(OK, what, f"{count} rows")


def check_redis(settings: Settings) -> Iterator[Finding]:
    """Each Redis URL the job configures: reachable, the password accepted, the sentinels'
    master found. A built-in default is not the job's: skipped."""
    from mnaas_missing_files.config.redis_url import is_sentinel_url
    from mnaas_missing_files.state.redisconn import connect_redis, describe_redis_error

    checked: set[str] = set()
    for key, url in (
        ("MNAAS_BROKER_URL", settings.broker_url),
        ("MNAAS_RESULT_BACKEND", settings.result_backend),
        ("MNAAS_LOCK_URL", settings.lock_url),
    ):
        if settings.sources.get(key, "default") == "default":
            yield Finding(SKIP, key, _default_redis(key, settings))
            continue
        if not url or not (url.startswith(("redis://", "rediss://")) or is_sentinel_url(url)):
            yield Finding(SKIP, key, "not a Redis URL: the workers line below checks the broker")
            continue
        if url in checked:
            yield Finding(OK, key, "the same Redis as above")
            continue
        checked.add(url)
        client = connect_redis(
            url, sentinel_master=settings.sentinel_master, sentinel_password=settings.sentinel_password
        )
        try:
            client.ping()
            yield Finding(OK, key, f"answers ({_shown_url(url)})")
            if is_sentinel_url(url):  # found now; could it fail over tomorrow?
                from mnaas_missing_files.state.sentinelcheck import sentinel_problems

                problem = "; ".join(sentinel_problems(client))
                yield (
                    Finding(WARN, f"{key} sentinels", problem)
                    if problem
                    else Finding(OK, f"{key} sentinels", f"master {settings.sentinel_master!r} can fail over")
                )
        except Exception as exc:
            yield Finding(
                FAIL, key, f"{describe_redis_error(exc, client)}; start Redis or fix {key} (host, port, password)"
            )
        finally:
            client.close()


def _default_redis(key: str, settings: Settings) -> str:
    if key == "MNAAS_LOCK_URL":
        if settings.lock_url:
            return "not set: the lock and the run state use MNAAS_RESULT_BACKEND"
        return "not set: `run` takes a file lock beside the status file (a cluster needs one)"
    return "not set (the built-in default is used only by the cluster; set it where workers run)"


def check_smtp(settings: Settings) -> Iterator[Finding]:
    """Connect, EHLO, STARTTLS and login as configured; nothing is sent."""
    if not settings.smtp_url:
        yield Finding(SKIP, "smtp", f"MNAAS_SMTP_URL not set: emails are written to {settings.outbox_dir}")
        return
    from mnaas_missing_files.config.smtp_url import parse_smtp_url
    from mnaas_missing_files.core.errors import MailError
    from mnaas_missing_files.reporting.smtp import probe

    target = parse_smtp_url(settings.smtp_url)
    try:
        name = probe(target)
    except MailError as exc:
        yield Finding(FAIL, f"smtp {target.masked_url()}", f"{exc}; start the relay or fix MNAAS_SMTP_URL")
        return
    steps = "EHLO" + (", STARTTLS" if target.starttls else "") + (", login" if target.user else "")
    yield Finding(OK, f"smtp {target.masked_url()}", f"{steps} accepted by {name or 'the relay'}; no mail sent")


def check_paths(settings: Settings) -> Iterator[Finding]:
    """Every file and directory a run writes: could this user create or replace it?"""
    from mnaas_missing_files.state.history import history_path

    report_dirs = dict.fromkeys(p.parent for p in (settings.csv_path, settings.txt_path, settings.outstanding_path))
    paths: list[tuple[str, Path, bool, str]] = [
        *(("report directory", d, True, "missing_files_report / query_output1") for d in report_dirs),
        ("outbox", settings.outbox_dir, True, "MNAAS_OUTBOX_DIR"),
        ("status file", settings.status_file, False, "MNAAS_Missing_Customer_Files_ProcessStatusFilename"),
        ("status file's directory", settings.status_file.parent, True, "its lock and temporary copy go there"),
        ("log file", settings.log_path, False, "MNAAS_Missing_Customer_Files_logpath"),
        ("run history", history_path(settings.status_file), False, "beside the status file"),
    ]
    if settings.metrics_file:
        paths.append(("metrics file's directory", settings.metrics_file.parent, True, "MNAAS_METRICS_FILE"))
    for label, path, directory, setting in paths:
        problem = writable(path, directory=directory)
        if problem:
            yield Finding(FAIL, label, f"{problem}; fix the permissions or {setting}")
        else:
            yield Finding(OK, label, f"{path} writable")
    if not settings.metrics_file:
        yield Finding(SKIP, "metrics file", "MNAAS_METRICS_FILE not set: no metrics are written")


def check_workers(settings: Settings) -> Iterator[Finding]:
    """With a configured broker: a worker answers on each queue within PING_SECONDS."""
    if settings.sources.get("MNAAS_BROKER_URL", "default") == "default":
        yield Finding(SKIP, "workers", "MNAAS_BROKER_URL not set: no cluster to ask")
        return
    from mnaas_missing_files.cli.doctor_workers import queue_consumers

    consumers = queue_consumers(settings, PING_SECONDS)
    for queue, workers in consumers.items():
        if workers:
            yield Finding(OK, f"queue {queue}", f"{len(workers)} worker(s) answer: {', '.join(sorted(workers))}")
        else:
            yield Finding(
                FAIL,
                f"queue {queue}",
                f"no worker answered within {PING_SECONDS:g} s; start it (workers/*.sh, systemd) "
                "or, before the workers are up, ignore this line",
            )


def _shown_url(url: str | None) -> str:
    return mask_secrets(url or "")


CHECKS: list[Check] = [check_warehouse, check_redis, check_smtp, check_paths, check_workers]
