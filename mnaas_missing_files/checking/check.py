"""Check one group: one KPI query and one missing-files query for the whole group."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import WarehouseError
from mnaas_missing_files.core.model import Group, GroupResult
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
                                        settings.day, group.process, customers)
    names: dict[str, set[str]] = {c: set() for c in customers}
    for customer, filename in warehouse.query(sql, params):
        if customer in names:
            names[customer].add(f"{customer}{settings.delimiter}{filename}")
    missing = {c: sorted(n) for c, n in names.items() if n}
    return GroupResult(group_id=group.group_id, ok=True, counts=counts, missing=missing,
                       queries=2, elapsed_s=time.monotonic() - started)


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
