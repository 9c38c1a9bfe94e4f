"""Which days catch-up runs (contract §10): the schedule's latest tick, the window, the
history's verdict of "ran", and the deadline's overdue day. Worked out by hand."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from mnaas_missing_files.config.cron import Cron, latest_scheduled_day
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.run.deadline_alert import overdue_day, what_is_known
from mnaas_missing_files.state.missed_days import days_not_run, only_missing, window
from tests.helpers.settings import settings_for_tests

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN)


@pytest.mark.parametrize(
    "cron, now, tick",
    [
        ("30 6 * * *", "2026-12-01 07:00", "2026-12-01 06:30"),
        ("30 6 * * *", "2026-12-01 06:29", "2026-11-30 06:30"),
        ("30 6 * * *", "2026-12-01 06:30", "2026-12-01 06:30"),  # at the tick itself
        ("*/15 6-9 * * mon-fri", "2026-11-29 12:00", "2026-11-27 09:45"),  # Sunday: Friday's last
        ("0 0 29 2 *", "2026-12-01 07:00", "2024-02-29 00:00"),
        ("0 8 1,15 * 0", "2026-12-01 07:00", "2026-11-15 08:00"),  # day of month AND Sunday, as Celery
    ],
)
def test_the_latest_tick_at_or_before_now(cron, now, tick):
    assert Cron(cron).latest_tick(at(now)) == at(tick)


def test_the_scheduled_day_is_the_day_before_the_latest_tick():
    assert latest_scheduled_day("30 6 * * *", at("2026-12-01 06:29")) == dt.date(2026, 11, 29)
    assert latest_scheduled_day("30 6 * * *", at("2026-12-01 06:31")) == dt.date(2026, 11, 30)


def settings_for(tmp_path, **overrides) -> Settings:
    return settings_for_tests(conf_path=tmp_path, timezone="Europe/Berlin", **overrides)


def test_the_window_skips_days_with_an_ended_run_that_counts(tmp_path):
    s = settings_for(tmp_path, catchup_days=4)
    now = at("2026-12-01 07:00")  # Y = 30 November
    assert window(s, now) == [dt.date(2026, 11, d) for d in (27, 28, 29, 30)]
    entries = [
        {"day": "2026-11-27", "ended": "x", "outcome": "lost"},
        {"day": "2026-11-28", "ended": "x", "outcome": "dry-run"},
        {"day": "2026-11-29", "ended": None, "outcome": "running"},
        {"day": "2026-11-30", "ended": "x", "outcome": "interrupted"},
    ]
    assert days_not_run(s, now, entries) == [dt.date(2026, 11, 28), dt.date(2026, 11, 29)]
    assert window(settings_for(tmp_path, catchup_days=0), now) == []


def test_backfill_only_missing_keeps_the_days_without_an_ended_non_dry_run(tmp_path):
    from mnaas_missing_files.state import history

    s = settings_for(tmp_path)
    history.record_run(s.status_file, {"run_id": "a", "day": "2026-11-02", "ended": "x", "outcome": "failed"})
    history.record_run(s.status_file, {"run_id": "b", "day": "2026-11-03", "ended": "x", "outcome": "dry-run"})
    days = [dt.date(2026, 11, d) for d in (1, 2, 3)]
    assert only_missing(days, s.status_file) == [dt.date(2026, 11, 1), dt.date(2026, 11, 3)]


def test_the_overdue_day_is_the_latest_whose_deadline_passed(tmp_path):
    s = settings_for(tmp_path, deadline="09:00")
    assert overdue_day(s, at("2026-12-01 09:00")) == dt.date(2026, 11, 30)
    assert overdue_day(s, at("2026-12-01 08:59")) == dt.date(2026, 11, 29)
    assert overdue_day(settings_for(tmp_path), at("2026-12-01 09:00")) is None  # off


def test_the_alert_says_what_is_known():
    day = dt.date(2026, 11, 30)
    known, advice = what_is_known([], day)
    assert known == ["no run for this day was ever started (was beat or the control worker down?)"]
    assert "submit --date 2026-11-30 --wait" in advice[0]
    running = [
        {
            "run_id": "r9",
            "day": "2026-11-30",
            "trigger": "schedule",
            "started": "2026-12-01 06:30:00",
            "ended": None,
            "outcome": "running",
        }
    ]
    known, advice = what_is_known(running, day)
    assert known == ["run r9 (schedule) started 2026-12-01 06:30:00 and is still RUNNING"]
