"""`backtest --from D1 --to D2` (contract §14): what the volume rules would have said on past
days, so operators can tune the ratio and the quiet days before trusting them.

Read-only: no lock, report, email, status file, history, memory or metrics; one KPI query per
day (the day-input query without its received-table part), through the same rules a run uses
(checking/dayinput.py VolumeCheck), so its flags are exactly the silent and low_input verdicts a
run of that day would give. In the backtest a process is without input when none of its
configured customers has a File Received KPI above 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from mnaas_missing_files.checking.dayinput import VolumeCheck, read_day_input
from mnaas_missing_files.checking.planning import configured_customers, configured_processes
from mnaas_missing_files.checking.verdicts import Verdict
from mnaas_missing_files.checking.volume import VolumeRules, show_expected
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.warehouse.duckdb_engine import Warehouse, open_warehouse


@dataclass(frozen=True)
class Flag:
    day: dt.date
    verdict: Verdict
    process: str
    customer: str
    received: int
    expected: Fraction
    counted_days: int

    def line(self) -> str:
        weekday = self.day.strftime("%A") + ("s" if self.counted_days != 1 else "")
        return (
            f"{self.day}  {self.verdict.value:<9}  {self.process} / {self.customer}: {self.received:,} received, "
            f"expected {show_expected(self.expected)} (median of {self.counted_days} {weekday})"
        )


@dataclass
class DayReplay:
    day: dt.date
    judged: int = 0  # pairs judged for volume (history long enough)
    flags: list[Flag] = field(default_factory=list)
    too_short: int = 0
    not_judged: dict[str, str] = field(default_factory=dict)  # process -> why
    problem: str | None = None  # the day's KPIs could not be read, or the day is not judged

    def line(self) -> str:
        if self.problem:
            return f"  {self.day} ({self.day:%a}): not judged: {self.problem}"
        text = f"  {self.day} ({self.day:%a}): {len(self.flags)} flagged of {self.judged} judged"
        if self.too_short:
            text += f", history too short for {self.too_short}"
        if self.not_judged:
            text += "; not judged: " + ", ".join(f"{p} ({why})" for p, why in self.not_judged.items())
        return text


def replay_day(warehouse: Callable[[], Warehouse], settings: Settings, day: dt.date) -> DayReplay:
    rules = VolumeRules.of(settings)
    replay = DayReplay(day)
    if not rules.judges(day):
        replay.problem = "volume checks are off" if rules.weeks == 0 else "a quiet day (MNAAS_QUIET_DAYS)"
        return replay
    found = read_day_input(warehouse, settings, run_id=f"backtest {day}", day=day, with_files=False)
    if found.problem is not None:
        replay.problem = f"its KPIs could not be read ({found.problem})"
        return replay
    regular, infonova, _ = configured_customers(settings)
    processes, _ = configured_processes(settings)
    volume = VolumeCheck(rules, found, processes, regular + infonova)
    for process in processes:
        for customer in regular + infonova:
            received = found.kpi.get((process, customer), 0)
            judgement = volume.judge(process, customer, received)
            exp = judgement.expectation
            if exp is None or exp.counted_days < rules.min_days or exp.expected is None:
                continue
            replay.judged += 1
            if judgement.verdict is not None:
                replay.flags.append(
                    Flag(day, judgement.verdict, process, customer, received, exp.expected, exp.counted_days)
                )
    replay.too_short, replay.not_judged = volume.too_short, volume.not_judged
    return replay


def backtest(settings: Settings, first: dt.date, last: dt.date) -> Iterator[DayReplay]:
    """Each day of first .. last in order, replayed on one warehouse connection."""
    warehouse = open_warehouse(settings.warehouse_url)
    try:
        day = first
        while day <= last:
            yield replay_day(lambda: warehouse, settings, day)
            day += dt.timedelta(days=1)
    finally:
        warehouse.close()
