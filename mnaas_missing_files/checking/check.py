"""Check one batch (one group task: processes x customers, core/plan.py) with one KPI query
and one missing-files query, sent together; its results come back per group.

The missing-files query covers the lookback window D-L .. D (contract §8), so a batch still
costs two queries whatever L is. Its names reach each group's compressed result one pair and
day at a time, as one text of TXT lines (core/namelines.py): DuckDB joins them itself, and
from Impala's rows they are joined here. A large day's million names are never a list in
Python. The first group of a process that finds no input at all also asks whether the whole
process received anything on D (contract §7): at most one more query per process and day, and
none on an ordinary day.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

from mnaas_missing_files.checking.planning import configured_customers
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EngineOutOfMemory, WarehouseError
from mnaas_missing_files.core.model import REGULAR, Batch, Group, GroupResult, NamesPacker
from mnaas_missing_files.core.namelines import NameLines, escape_txt_name
from mnaas_missing_files.core.retry import RetryPolicy
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.warehouse import queries
from mnaas_missing_files.warehouse.duckdb_engine import Warehouse, query_many

log = logging.getLogger(__name__)


def check_batch(warehouse: Warehouse, settings: Settings, batch: Batch) -> list[GroupResult]:
    """One attempt: every group of the batch, ok. Raises TransientWarehouseError or
    WarehouseError; the caller retries."""
    started = time.monotonic()
    groups = batch.groups()
    customers = list(batch.customers)
    kpi = queries.kpi_counts(settings.kpi_table, settings.day, batch.processes, customers)
    # DuckDB makes each pair-day's names into their TXT lines itself; from Impala they stream
    # row by row and are joined here, one pair-day at a time.
    in_engine = getattr(warehouse, "names_in_engine", False)
    tables = (settings.received_table, settings.generated_table, settings.day, batch.processes, customers)
    rows_query = queries.missing_files(*tables, first_day=settings.window_start)
    missing = queries.missing_name_lines(*tables, first_day=settings.window_start) if in_engine else rows_query
    sent = 2
    streams = query_many(warehouse, [kpi, missing])
    of_pair = {(g.process, c): g for g in groups for c in g.customers}
    counts: dict[str, dict[str, list[int]]] = {g.group_id: {c: [0, 0] for c in g.customers} for g in groups}
    try:
        kpi_rows, missing_rows = streams
        for process, customer, received, generated in kpi_rows:  # absent KPI rows count 0
            if (group := of_pair.get((process, customer))) is not None:
                counts[group.group_id][customer] = [int(received or 0), int(generated or 0)]
        joined = _engine_lines if in_engine else _joined_lines
        pair_days = joined(missing_rows, settings.delimiter)
        try:
            packed = _pack_names(pair_days, of_pair)
        except EngineOutOfMemory as exc:
            if not in_engine:
                raise
            # Joining names needs each pair-day's names in memory at once; the rows query's
            # sort spills to disk. Asked again that way, the batch costs one more query.
            log.warning("group %s: %s; asking for its missing names row by row", batch.batch_id, exc)
            sent += 1
            streams.append(query_many(warehouse, [rows_query])[0])
            packed = _pack_names(_joined_lines(streams[-1], settings.delimiter), of_pair)
    finally:
        for stream in streams:  # one left half-read still holds its connection (and turn)
            close = getattr(stream, "close", None)
            if close is not None:
                close()
    day = settings.day.isoformat()
    results = []
    for group in groups:
        by_day = packed.get(group.group_id, {})
        results.append(
            GroupResult(
                group_id=group.group_id,
                ok=True,
                counts=counts[group.group_id],
                packed=by_day.pop(day, ""),
                outstanding_packed=dict(sorted(by_day.items())),
                queries=0,
            )
        )
    results[0].queries = sent  # the batch's queries, counted once
    for group, result in zip(groups, results):
        if not result.packed and _probes_input(settings, group) and all(r == 0 for r, _ in result.counts.values()):
            result.process_has_input = _process_received_anything(warehouse, settings, group.process)
            result.queries += 1
    elapsed = time.monotonic() - started
    for result in results:
        result.elapsed_s = elapsed
    return results


def _pack_names(
    pair_days: Iterable[tuple[str, str, str, NameLines]], of_pair: dict[tuple[str, str], Group]
) -> dict[str, dict[str, str]]:
    """group id -> file_date -> packed names, from pair-days ordered by process, file_date,
    customer (queries.missing_files): one packer per group and day open until its (process,
    day) is past, one pair-day's names at hand at a time."""
    packed: dict[str, dict[str, str]] = {}
    open_packers: dict[tuple[str, str], NamesPacker] = {}
    seen: set[tuple[str, str, str]] = set()  # the pair-days of the (process, day) being read
    current_day: tuple[str, str] | None = None

    def close_packers() -> None:
        for (group_id, file_date), packer in open_packers.items():
            packed.setdefault(group_id, {})[file_date] = packer.finish()
        open_packers.clear()
        seen.clear()

    for process, file_date, customer, names in pair_days:
        group = of_pair.get((process, customer))
        if group is None:
            continue
        if (process, file_date) != current_day:
            close_packers()  # that process and day are past
            current_day = (process, file_date)
            if file_date in packed.get(group.group_id, {}):
                raise WarehouseError(
                    f"the missing-files rows of {process} and {file_date} came back "
                    "out of order; the query asks for ORDER BY"
                )
        if (process, file_date, customer) in seen:
            raise WarehouseError(
                f"the missing-files rows of {customer} ({process}, {file_date}) "
                "came back out of order; the query asks for ORDER BY"
            )
        seen.add((process, file_date, customer))
        if names:
            open_packers.setdefault((group.group_id, file_date), NamesPacker()).add(customer, names)
    close_packers()
    return packed


def _engine_lines(rows: Iterable[tuple], delimiter: str) -> Iterator[tuple[str, str, str, NameLines]]:
    """queries.missing_name_lines' rows, one per pair-day with its file names' lines: each
    line becomes `<customer><delimiter><file name>` in one replace (C's work, not a loop's)."""
    for process, file_date, customer, count, lines in rows:
        if not lines:
            yield process, str(file_date), customer, NameLines()
            continue
        prefix = escape_txt_name(f"{customer}{delimiter}")
        yield process, str(file_date), customer, NameLines(prefix + lines.replace("\n", "\n" + prefix), int(count))


def _joined_lines(rows: Iterable[tuple], delimiter: str) -> Iterator[tuple[str, str, str, NameLines]]:
    """queries.missing_files' rows, one per name, joined into each pair-day's lines. The rows
    of a pair-day are taken as one run (itertools.groupby), so the per-row work is C's, not
    this loop's."""
    for (process, file_date, customer), run in groupby(rows, key=_PAIR_DAY):
        filenames = set(map(_FILENAME, run))
        filenames.discard(None)
        prefix = f"{customer}{delimiter}"
        yield process, str(file_date), customer, NameLines.of([prefix + name for name in sorted(filenames)])


_PAIR_DAY = itemgetter(0, 1, 2)
_FILENAME = itemgetter(3)


def probing_group_id(settings: Settings, process: str) -> str:
    """The group that asks, for the whole process, whether anything was received on D: its
    first in plan order (regular customers first; planning.plan_groups numbers from 1)."""
    regular, infonova, _ = configured_customers(settings)
    return f"{process}/{REGULAR if regular else 'infonova'}/1"


def _probes_input(settings: Settings, group: Group) -> bool:
    if group.process in settings.empty_input_allowed:
        return False  # an empty day is normal for it: never no_input, no query spent
    return group.group_id == probing_group_id(settings, group.process)


def _process_received_anything(warehouse: Warehouse, settings: Settings, process: str) -> bool:
    regular, infonova, _ = configured_customers(settings)
    sql, params = queries.any_received(settings.received_table, settings.day, process, regular + infonova)
    rows = list(warehouse.query(sql, params))
    return bool(rows and rows[0][0])


def describe_error(exc: BaseException) -> str:
    return mask_secrets(f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class RetryLater:
    """A transient failure with attempts left: wait `delay` seconds, then try again."""

    delay: float
    error: str


def query_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(settings.query_attempts, settings.retry_backoff)


def check_attempt(
    warehouse: Callable[[], Warehouse], settings: Settings, batch: Batch, *, attempt: int, run_id: str = "-"
) -> list[GroupResult] | RetryLater:
    """Attempt number `attempt` of one batch under the retry policy, logged in operators'
    words: its groups' results (ok, or failed for good), or RetryLater. Never raises a
    warehouse error. `run` sleeps and loops; the Celery task hands RetryLater to task.retry."""
    policy = query_policy(settings)
    try:
        results = check_batch(warehouse(), settings, batch)
    except WarehouseError as exc:
        error = describe_error(exc)
        where = f"run {run_id} group {batch.batch_id} ({batch.describe()})"
        if policy.retries(exc, attempt):
            delay = policy.delay(attempt)
            log.warning(
                "%s: attempt %d of %d failed (%s); retrying in %.1f s", where, attempt, policy.attempts, error, delay
            )
            return RetryLater(delay, error)
        if policy.is_transient(exc):
            log.error("%s: giving up after %d attempts: %s", where, attempt, error)
        else:
            log.error("%s: failed, not retrying (retrying cannot fix it): %s", where, error)
        return failed_results(batch, error, attempts=attempt)
    for result in results:
        result.attempts = attempt
    return results


def failed_results(batch: Batch, error: str, attempts: int = 1) -> list[GroupResult]:
    """Every group of a batch that could not be checked: its pairs are unknown, not zero."""
    return [GroupResult.failed(g.group_id, error, attempts=attempts) for g in batch.groups()]


def check_batch_with_retries(
    warehouse: Callable[[], Warehouse],
    settings: Settings,
    batch: Batch,
    *,
    run_id: str = "-",
    sleep: Callable[[float], None] = time.sleep,
) -> list[GroupResult]:
    """Every attempt the policy allows, in this thread. A batch that still fails comes back as
    failed GroupResults, so the run can report what it knows (its pairs are unknown, not zero)."""
    attempt = 1
    while True:
        outcome = check_attempt(warehouse, settings, batch, attempt=attempt, run_id=run_id)
        if not isinstance(outcome, RetryLater):
            return outcome
        sleep(outcome.delay)
        attempt += 1
