"""Expected input (contract §14): what a pair usually receives on this weekday, and whether
today's count says its feed went silent or came in short.

Pure functions over the KPI rows of the baseline days (read once per run, checking/dayinput.py):
no warehouse here, so the rules are unit-tested to their boundaries and the backtest replays
exactly what a run decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from mnaas_missing_files.checking.verdicts import Verdict

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class VolumeRules:
    """The settings of §14 that decide a verdict, in exact arithmetic."""

    weeks: int = 4
    min_days: int = 3
    ratio: Fraction = Fraction(1, 2)
    min_files: int = 10
    quiet: frozenset[dt.date] = frozenset()
    ignore: frozenset[str] = frozenset()

    @classmethod
    def of(cls, settings: Any) -> VolumeRules:
        return cls(
            weeks=settings.baseline_weeks,
            min_days=max(1, settings.silent_min_days),
            ratio=Fraction(settings.low_input_ratio),
            min_files=settings.low_input_min_files,
            quiet=frozenset(settings.quiet_days),
            ignore=frozenset(settings.volume_ignore),
        )

    def judges(self, day: dt.date) -> bool:
        """Volume is judged on `day` at all: checks on, and the day itself not quiet."""
        return self.weeks > 0 and day not in self.quiet

    def baseline_days(self, day: dt.date) -> list[dt.date]:
        """D-7, D-14, ... D-7W, quiet days left out; none when `day` is not judged."""
        if not self.judges(day):
            return []
        days = (day - WEEK * k for k in range(1, self.weeks + 1))
        return [d for d in days if d not in self.quiet]

    def ignores(self, process: str, customer: str) -> bool:
        return process in self.ignore or f"{process}/{customer}" in self.ignore


def median(values: Sequence[int]) -> Fraction:
    """The middle value, or the mean of the two middle ones for an even count (exact)."""
    if not values:
        raise ValueError("the median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[middle])
    return Fraction(ordered[middle - 1] + ordered[middle], 2)


@dataclass(frozen=True)
class Expectation:
    """A pair's history on its process's counted days."""

    counted_days: int
    sending_days: int  # counted days on which it received at least one file
    expected: Fraction | None  # the median; None without counted days

    @classmethod
    def of(cls, history: Sequence[int]) -> Expectation:
        return cls(len(history), sum(1 for v in history if v > 0), median(history) if history else None)


def volume_verdict(received: int, expectation: Expectation, rules: VolumeRules) -> Verdict | None:
    """`silent`, `low_input`, or None (the pair's other verdicts apply). The caller has
    already left out the pairs and processes that are not judged at all."""
    if expectation.counted_days < rules.min_days or expectation.expected is None:
        return None  # a history too short: not judged
    if received == 0:
        return Verdict.SILENT if expectation.sending_days >= rules.min_days else None
    expected = expectation.expected
    if expected >= rules.min_files and received < rules.ratio * expected:
        return Verdict.LOW_INPUT
    return None


def show_expected(expected: Fraction) -> str:
    """21 or 21.5: a median of whole counts is whole or a half, never rounded away."""
    return str(expected.numerator) if expected.denominator == 1 else f"{float(expected):.1f}"


@dataclass
class KpiHistory:
    """The KPI rows of the baseline days: which days each process has any row on (its counted
    days, whatever the customer), and each pair's received count on them."""

    process_days: dict[str, set[dt.date]] = field(default_factory=dict)
    received: dict[tuple[str, str], dict[dt.date, int]] = field(default_factory=dict)

    def add(self, day: dt.date, process: str, customer: str, received: int) -> None:
        self.process_days.setdefault(process, set()).add(day)
        self.received.setdefault((process, customer), {})[day] = received

    def counted_days(self, process: str, baseline: Iterable[dt.date]) -> list[dt.date]:
        days = self.process_days.get(process, set())
        return [d for d in baseline if d in days]

    def expectation(self, process: str, customer: str, counted: Sequence[dt.date]) -> Expectation:
        by_day = self.received.get((process, customer), {})
        return Expectation.of([by_day.get(d, 0) for d in counted])


@dataclass
class Judgement:
    """What the rules say of one pair: its verdict (or None) and the history behind it."""

    verdict: Verdict | None
    expectation: Expectation | None  # None: the pair was not judged at all

    def facts(self) -> dict[str, Any]:
        """The PairStatus fields it fills: expected and counted days, when judged."""
        if self.expectation is None:
            return {}
        return {"expected": self.expectation.expected, "counted_days": self.expectation.counted_days}


def judge_pair(
    rules: VolumeRules,
    history: KpiHistory,
    counted: Sequence[dt.date],
    process: str,
    customer: str,
    received: int,
) -> Judgement:
    """`counted`: the process's counted days (KpiHistory.counted_days)."""
    if rules.ignores(process, customer):
        return Judgement(None, None)
    expectation = history.expectation(process, customer, counted)
    return Judgement(volume_verdict(received, expectation, rules), expectation)


def too_short(judgement: Judgement, rules: VolumeRules) -> bool:
    return judgement.expectation is not None and judgement.expectation.counted_days < rules.min_days
