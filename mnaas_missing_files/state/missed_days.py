"""Which days of the catch-up window never ran (contract §10), from the run history alone,
so that the control worker, `status`, `backfill --only-missing` and the metrics agree.

A day has run when the history has an entry for it that counts as a run
(HistoryEntry.counts_as_run: ended, not a dry run): a failed, interrupted or lost run was
reported, and running it again is the operators' call.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable

from mnaas_missing_files.config.cron import latest_scheduled_day
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.state import history


def ran_days(entries: Iterable[dict]) -> set[str]:
    """ISO days that have an ended run that counts (see the module's docstring)."""
    return {entry.day for entry in map(history.HistoryEntry.from_json, entries) if entry.counts_as_run}


def history_entries(status_file: str | os.PathLike) -> list[dict]:
    return history.recent_runs(status_file, limit=history.KEEP_RUNS)


def scheduled_day(settings: Settings, now: dt.datetime | None = None) -> dt.date | None:
    """Y: the day the latest tick of MNAAS_SCHEDULE at or before now was for."""
    return latest_scheduled_day(settings.schedule, (now or settings.now()).astimezone(settings.tzinfo))


def window(settings: Settings, now: dt.datetime | None = None) -> list[dt.date]:
    """The K days Y-K+1 … Y, oldest first (none when K is 0)."""
    last = scheduled_day(settings, now)
    if last is None:
        return []
    k = settings.catchup_days
    return [last - dt.timedelta(days=n) for n in range(k - 1, -1, -1)]


def days_not_run(
    settings: Settings, now: dt.datetime | None = None, entries: Iterable[dict] | None = None
) -> list[dt.date]:
    """The window's days without a run that counts, oldest first."""
    done = ran_days(history_entries(settings.status_file) if entries is None else entries)
    return [day for day in window(settings, now) if day.isoformat() not in done]


def only_missing(days: Iterable[dt.date], status_file: str | os.PathLike) -> list[dt.date]:
    """`backfill --only-missing`: the days of the range with no ended non-dry run."""
    done = ran_days(history_entries(status_file))
    return [day for day in days if day.isoformat() not in done]
