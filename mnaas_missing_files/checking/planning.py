"""Split a day's work into batches (group tasks) sized for the workers that run them.

A batch is every configured process x a slice of the customers (regular, then InfONova: a
slice may hold both), so a run costs 2 x batches queries however many processes and customer
types there are. There are as many batches as workers (`run`: MNAAS_LOCAL_WORKERS; `submit`
and the schedule: MNAAS_GROUP_WORKERS), or a multiple of that when MNAAS_GROUP_SIZE (the most
customers one query names: the warehouse's IN-list) needs more, so every worker gets the same
number; never more batches than customers, and no more than leave each at least
MNAAS_MIN_GROUP_CUSTOMERS customers (a day below twice that is one batch): each batch pays the
warehouse's fixed per-query costs, which a few customers' rows do not repay (contract §19).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import UsageError
from mnaas_missing_files.core.model import Batch, Group, Plan
from mnaas_missing_files.core.plan import groups_in_report_order
from mnaas_missing_files.core.states import Trigger

log = logging.getLogger(__name__)


def _unique(names: tuple[str, ...], seen: set[str], list_name: str, warnings: list[str]) -> list[str]:
    kept = []
    for name in names:
        if name in seen:
            warnings.append(f"{list_name}: {name!r} is listed more than once; it is checked once")
            continue
        seen.add(name)
        kept.append(name)
    return kept


def configured_customers(settings: Settings) -> tuple[list[str], list[str], list[str]]:
    """(regular, infonova, warnings): each customer once, the first listing wins."""
    warnings: list[str] = []
    seen: set[str] = set()
    regular = _unique(settings.customers, seen, "customer_names", warnings)
    infonova = _unique(settings.infonova_customers, seen, "infonova_customer_names", warnings)
    return regular, infonova, warnings


def configured_processes(settings: Settings) -> tuple[list[str], list[str]]:
    warnings: list[str] = []
    return _unique(settings.processes, set(), "process_list", warnings), warnings


def batch_count(customers: int, workers: int, cap: int, least: int = 1) -> int:
    """Batches for `customers` on `workers` with at most `cap` customers each and, where
    `cap` allows, at least `least` (MNAAS_MIN_GROUP_CUSTOMERS): a small day is not split
    into batches whose fixed query costs outweigh their share of the work."""
    if customers == 0:
        return 0
    needed = -(-customers // cap)
    spread = min(customers, workers * -(-needed // workers))
    return max(needed, min(spread, max(1, customers // least)))


def plan_batches(settings: Settings, workers: int) -> list[Batch]:
    """The run's batches, in report order of their customers."""
    regular, infonova, warnings = configured_customers(settings)
    processes, process_warnings = configured_processes(settings)
    for warning in warnings + process_warnings:
        log.warning("configuration: %s", warning)
    customers = regular + infonova
    count = batch_count(
        len(customers) if processes else 0, max(1, workers), settings.group_size, settings.min_group_customers
    )
    batches: list[Batch] = []
    start, numbers = 0, [1, 1]
    for n in range(count):
        end = start + (len(customers) - start) // (count - n)  # near-equal consecutive slices
        slice_regular = tuple(customers[start : min(end, len(regular))])
        slice_infonova = tuple(customers[max(start, len(regular)) : end])
        batches.append(
            Batch(f"{n + 1}/{count}", tuple(processes), slice_regular, slice_infonova, (numbers[0], numbers[1]))
        )
        numbers[0] += bool(slice_regular)
        numbers[1] += bool(slice_infonova)
        start = end
    return batches


def plan_groups(settings: Settings, workers: int | None = None) -> list[Group]:
    """The groups in report order: process order, regular before infonova, customers in
    order (for `workers`, default MNAAS_LOCAL_WORKERS)."""
    return groups_in_report_order(plan_batches(settings, workers or settings.local_workers))


def new_run_id(day: dt.date) -> str:
    """Readable and unique: the day it checks plus a random suffix."""
    return f"{day:%Y%m%d}-{uuid.uuid4().hex[:8]}"


def refuse_future_day(settings: Settings, day: dt.date | None = None) -> None:
    """A day after today (in MNAAS_TIMEZONE) cannot be checked: it has no data yet, and its
    run would only report a false no-input (contract §7). Today runs, with a warning."""
    day = day or settings.day
    today = settings.now().date()
    if day > today:
        raise UsageError(
            f"day {day} has not happened yet (today is {today} in "
            f"{settings.timezone or 'the system time zone'}); nothing was changed"
        )
    if day == today:
        log.warning("day %s is today and not over yet: files still to arrive today are reported missing", day)


def make_plan(
    settings: Settings, *, workers: int, dry_run: bool = False, trigger: str = "run", run_id: str | None = None
) -> Plan:
    """The run's plan for `workers` workers; refuses a day after today before anything is
    touched."""
    refuse_future_day(settings)
    return Plan(
        run_id=run_id or new_run_id(settings.day),
        day=settings.day,
        batches=plan_batches(settings, workers),
        dry_run=dry_run,
        trigger=Trigger(trigger),
        shadow_dir=str(settings.shadow_dir) if settings.shadow_dir else None,
    )
