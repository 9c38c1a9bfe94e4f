"""Split a day's work into groups: process x customer type x chunks of MNAAS_GROUP_SIZE."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import UsageError
from mnaas_missing_files.core.model import INFONOVA, REGULAR, Group, Plan

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


def plan_groups(settings: Settings) -> list[Group]:
    """Groups in report order: process order, regular before infonova, customers in order."""
    regular, infonova, warnings = configured_customers(settings)
    processes, process_warnings = configured_processes(settings)
    for warning in warnings + process_warnings:
        log.warning("configuration: %s", warning)
    size = settings.group_size
    groups: list[Group] = []
    for process in processes:
        for customer_type, customers in ((REGULAR, regular), (INFONOVA, infonova)):
            for start in range(0, len(customers), size):
                chunk = tuple(customers[start:start + size])
                number = start // size + 1
                groups.append(Group(f"{process}/{customer_type}/{number}", process, customer_type, chunk))
    return groups


def new_run_id(day: dt.date) -> str:
    """Readable and unique: the day it checks plus a random suffix."""
    return f"{day:%Y%m%d}-{uuid.uuid4().hex[:8]}"


def refuse_future_day(settings: Settings, day: dt.date | None = None) -> None:
    """A day after today (in MNAAS_TIMEZONE) cannot be checked: it has no data yet, and its
    run would only report a false no-input (contract §7). Today runs, with a warning."""
    day = day or settings.day
    today = settings.now().date()
    if day > today:
        raise UsageError(f"day {day} has not happened yet (today is {today} in "
                         f"{settings.timezone or 'the system time zone'}); nothing was changed")
    if day == today:
        log.warning("day %s is today and not over yet: files still to arrive today are "
                    "reported missing", day)


def make_plan(settings: Settings, *, dry_run: bool = False, trigger: str = "run",
              run_id: str | None = None) -> Plan:
    """The run's plan; refuses a day after today before anything is touched."""
    refuse_future_day(settings)
    return Plan(run_id=run_id or new_run_id(settings.day), day=settings.day,
                groups=plan_groups(settings), dry_run=dry_run, trigger=trigger)
