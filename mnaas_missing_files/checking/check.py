"""Check one group: one KPI query and one missing-files query for the whole group."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import TransientWarehouseError, WarehouseError
from mnaas_missing_files.core.model import Group, GroupResult
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


def check_group_with_retries(get_warehouse: Callable[[], Warehouse], settings: Settings,
                             group: Group, *, run_id: str = "-",
                             sleep: Callable[[float], None] = time.sleep) -> GroupResult:
    """Retry transient errors with capped exponential backoff; never raises a warehouse error.

    A group that still fails comes back as a failed GroupResult, so the run can report what
    it knows (its pairs are unknown, not zero).
    """
    attempts = settings.query_attempts
    for attempt in range(1, attempts + 1):
        try:
            result = check_group(get_warehouse(), settings, group)
            result.attempts = attempt
            return result
        except TransientWarehouseError as exc:
            if attempt == attempts:
                log.error("run %s group %s: giving up after %d attempts: %s",
                          run_id, group.group_id, attempt, describe_error(exc))
                return GroupResult.failed(group.group_id, describe_error(exc), attempts=attempt)
            delay = settings.retry_delay(attempt)
            log.warning("run %s group %s: attempt %d of %d failed (%s); retrying in %.1f s",
                        run_id, group.group_id, attempt, attempts, describe_error(exc), delay)
            sleep(delay)
        except WarehouseError as exc:
            log.error("run %s group %s: failed, not retrying (retrying cannot fix it): %s",
                      run_id, group.group_id, describe_error(exc))
            return GroupResult.failed(group.group_id, describe_error(exc), attempts=attempt)
    raise AssertionError("unreachable")
