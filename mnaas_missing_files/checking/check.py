"""Check one group: one KPI query and one missing-files query for the whole group.

The missing-files query covers the lookback window D-L .. D (contract §8), so a group still
costs two queries whatever L is. The first group of a process that finds no input at all also
asks whether the whole process received anything on D (contract §7): at most one more query
per process and day, and none on an ordinary day.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from mnaas_missing_files.checking.planning import configured_customers
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import WarehouseError
from mnaas_missing_files.core.model import REGULAR, Group, GroupResult
from mnaas_missing_files.core.retry import RetryPolicy
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.warehouse import queries
from mnaas_missing_files.warehouse.base import Warehouse

log = logging.getLogger(__name__)


def check_group(warehouse: Warehouse, settings: Settings, group: Group) -> GroupResult:
    """One attempt. Raises TransientWarehouseError or WarehouseError; the caller retries."""
    started = time.monotonic()
    customers = list(group.customers)
    sql, params = queries.kpi_counts(settings.kpi_table, settings.day, group.process, customers)
    counts = {c: [0, 0] for c in customers}  # absent KPI rows count 0
    for customer, received, generated in warehouse.query(sql, params):
        if customer in counts:
            counts[customer] = [int(received or 0), int(generated or 0)]
    sql, params = queries.missing_files(settings.received_table, settings.generated_table,
                                        settings.day, group.process, customers,
                                        first_day=settings.window_start)
    day = settings.day.isoformat()
    # file_date -> customer -> names; D's own names are the CSV/TXT's, the others outstanding
    by_day: dict[str, dict[str, set[str]]] = {}
    for file_date, customer, filename in warehouse.query(sql, params):
        if customer in counts:
            names = by_day.setdefault(str(file_date), {}).setdefault(customer, set())
            names.add(f"{customer}{settings.delimiter}{filename}")
    missing = {c: sorted(n) for c, n in by_day.pop(day, {}).items()}
    outstanding = {d: {c: sorted(n) for c, n in per_customer.items()}
                   for d, per_customer in sorted(by_day.items())}
    result = GroupResult(group_id=group.group_id, ok=True, counts=counts, missing=missing,
                         outstanding=outstanding, queries=2)
    if not missing and _probes_input(settings, group) and all(r == 0 for r, _ in counts.values()):
        result.process_has_input = _process_received_anything(warehouse, settings, group.process)
        result.queries += 1
    result.elapsed_s = time.monotonic() - started
    return result


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
    sql, params = queries.any_received(settings.received_table, settings.day, process,
                                       regular + infonova)
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


def check_attempt(warehouse: Callable[[], Warehouse], settings: Settings, group: Group, *,
                  attempt: int, run_id: str = "-") -> GroupResult | RetryLater:
    """Attempt number `attempt` of one group under the retry policy, logged in operators'
    words: the group's result (ok, or failed for good), or RetryLater. Never raises a
    warehouse error. `run` sleeps and loops; the Celery task hands RetryLater to task.retry."""
    policy = query_policy(settings)
    try:
        result = check_group(warehouse(), settings, group)
    except WarehouseError as exc:
        error = describe_error(exc)
        if policy.retries(exc, attempt):
            delay = policy.delay(attempt)
            log.warning("run %s group %s: attempt %d of %d failed (%s); retrying in %.1f s",
                        run_id, group.group_id, attempt, policy.attempts, error, delay)
            return RetryLater(delay, error)
        if policy.is_transient(exc):
            log.error("run %s group %s: giving up after %d attempts: %s", run_id, group.group_id, attempt, error)
        else:
            log.error("run %s group %s: failed, not retrying (retrying cannot fix it): %s",
                      run_id, group.group_id, error)
        return GroupResult.failed(group.group_id, error, attempts=attempt)
    result.attempts = attempt
    return result


def check_group_with_retries(warehouse: Callable[[], Warehouse], settings: Settings, group: Group, *,
                             run_id: str = "-", sleep: Callable[[float], None] = time.sleep) -> GroupResult:
    """Every attempt the policy allows, in this thread. A group that still fails comes back as
    a failed GroupResult, so the run can report what it knows (its pairs are unknown, not zero)."""
    attempt = 1
    while True:
        outcome = check_attempt(warehouse, settings, group, attempt=attempt, run_id=run_id)
        if isinstance(outcome, GroupResult):
            return outcome
        sleep(outcome.delay)
        attempt += 1
