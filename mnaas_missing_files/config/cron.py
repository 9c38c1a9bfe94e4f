"""MNAAS_SCHEDULE's five cron fields evaluated without Celery: when was the latest tick?

Catch-up (contract §10) needs "the day the latest scheduled run was for", worked out by the
control worker, `status` and the metrics alike. Fields match as Celery's crontab reads them
(beat runs the schedule): minute, hour, day of month, month, day of week with Sunday 0 (or
sun..sat), every field that is restricted must match (Celery ANDs day of month and day of
week, unlike Vixie cron).
"""

from __future__ import annotations

import datetime as dt

_DAYS = {name: n for n, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_MONTHS = {
    name: n
    for n, name in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}
# A 29 February on a given weekday comes round within 28 years; nothing else takes longer.
_SEARCH_DAYS = 366 * 28


def _values(field: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in field.lower().split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            start, end = low, high
        else:
            first, _, last = spec.partition("-")
            start = names[first] if first in names else int(first)
            end = (names[last] if last in names else int(last)) if last else (high if step_text else start)
        values.update(range(start, end + 1, step))
    if names is _DAYS:
        values = {v % 7 for v in values}  # 7 is Sunday too, as in most crons
    return frozenset(values)


class Cron:
    def __init__(self, expression: str) -> None:
        minute, hour, dom, month, dow = expression.split()
        self.minutes = sorted(_values(minute, 0, 59, {}))
        self.hours = sorted(_values(hour, 0, 23, {}))
        self.days = _values(dom, 1, 31, {})
        self.months = _values(month, 1, 12, _MONTHS)
        self.weekdays = _values(dow, 0, 6, _DAYS)

    def _day_matches(self, day: dt.date) -> bool:
        return day.month in self.months and day.day in self.days and (day.isoweekday() % 7) in self.weekdays

    def latest_tick(self, now: dt.datetime) -> dt.datetime | None:
        """The latest tick at or before `now`, as a wall-clock time in now's zone (None if
        the expression never fires in the searched span)."""
        times = [(h, m) for h in self.hours for m in self.minutes]
        for back in range(_SEARCH_DAYS):
            day = now.date() - dt.timedelta(days=back)
            if not self._day_matches(day):
                continue
            fitting = [t for t in times if back or t <= (now.hour, now.minute)]
            if fitting:
                hour, minute = fitting[-1]
                return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=now.tzinfo)
        return None


def latest_scheduled_day(expression: str, now: dt.datetime) -> dt.date | None:
    """Y of contract §10: the day before the latest tick at or before `now`, the day that
    tick's run was for."""
    tick = Cron(expression).latest_tick(now)
    return None if tick is None else tick.date() - dt.timedelta(days=1)
