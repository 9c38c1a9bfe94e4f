"""What a run found (contract §7, §8, §14): per process its totals, and of its pairs the exact
totals and the bounded lists the email, the outcome and the metrics show; and the outcome's
`analysis`, its JSON, kept in the run record and every history line. analysis.py fills it,
one pair at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import InitVar, dataclass, field

from mnaas_missing_files.checking.dayinput import UNMONITORED_SHOWN, Unmonitored
from mnaas_missing_files.checking.verdicts import PairStatus
from mnaas_missing_files.reporting.pairtally import PairTally


@dataclass
class ProcessTotals:
    pairs: int = 0
    received: int = 0
    generated: int = 0
    missing: int = 0
    outstanding: int = 0
    oldest_age: int | None = None  # days
    verdicts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "pairs": self.pairs,
            "received": self.received,
            "generated": self.generated,
            "missing_files": self.missing,
            "outstanding_files": self.outstanding,
            "oldest_outstanding_age_days": self.oldest_age,
            "verdicts": self.verdicts,
        }

    def add(self, pair: PairStatus) -> None:
        self.pairs += 1
        self.received += pair.received or 0
        self.generated += pair.generated or 0
        self.missing += pair.missing
        self.outstanding += pair.outstanding
        if pair.oldest_age is not None:
            self.oldest_age = max(self.oldest_age or 0, pair.oldest_age)
        self.verdicts[pair.verdict.value] = self.verdicts.get(pair.verdict.value, 0) + 1


@dataclass
class DayAnalysis:
    """`pairs`: pairs to tally at once (a hand-made analysis); `analyse` adds them one by one.
    Of the pairs it keeps only `tally` (reporting/pairtally.py): exact totals and the bounded
    lists the email, the outcome and the metrics show (contract §19)."""

    day: dt.date
    lookback_days: int
    pairs: InitVar[Iterable[PairStatus]]
    without_input: list[str]
    processes: dict[str, ProcessTotals]
    left_window: int = 0  # remembered names whose day left the window still missing
    memory_problem: str | None = None
    # Expected input (contract §14): whether volume was judged, why not, and what was found.
    volume_judged: bool = False
    volume_problem: str | None = None  # the day's input could not be read: volume not judged
    history_too_short: int = 0  # pairs with fewer counted days than MNAAS_SILENT_MIN_DAYS
    not_judged: dict[str, str] = field(default_factory=dict)  # process -> why it was not judged
    kpi_not_loaded: list[str] = field(default_factory=list)  # files on D, no KPI row of D
    unmonitored: list[Unmonitored] | None = None  # None: the list is unknown (see volume_problem)
    tally: PairTally = field(default_factory=PairTally)

    def __post_init__(self, pairs: Iterable[PairStatus]) -> None:
        self.tally.add_all(pairs)

    def add(self, pair: PairStatus) -> None:
        self.tally.add(pair)

    @property
    def pair_count(self) -> int:
        return self.tally.pairs

    @property
    def volume_findings(self) -> list[PairStatus]:
        """The silent and low-input pairs, in the CSV's order (the first OUTCOME_PAIRS)."""
        return self.tally.volume.items

    @property
    def missing(self) -> int:
        return self.tally.missing

    @property
    def new(self) -> int:
        """Missing names of D in NEW pairs: files nobody was told about before."""
        return self.tally.new

    @property
    def outstanding(self) -> int:
        return self.tally.outstanding

    @property
    def recovered(self) -> int:
        return self.tally.recovered

    @property
    def verdicts(self) -> dict[str, int]:
        return dict(self.tally.verdicts)

    PAIR_FIELDS = (
        "process",
        "customer_type",
        "customer",
        "verdict",
        "change",
        "missing_files",
        "outstanding_files",
        "oldest_outstanding_age_days",
        "recovered_files",
    )

    def to_json(self) -> dict:
        """The outcome's `analysis` (documented in docs/design.md): verdict -> pair count, totals,
        per process its totals and verdict counts, and the pairs that are not `ok`, or have
        outstanding or recovered files, as rows of `pair_fields`: at most OUTCOME_PAIRS of
        them, most severe first (the email's order), and `pairs_not_listed` the rest. The
        outcome is kept in the Redis run record and in every history line, and must not grow
        with the day: a 100,000-customer day has over 100,000 such pairs, all in the CSV."""
        listed = self.tally.listed
        shown = listed.sorted()[:OUTCOME_PAIRS]
        return {
            "verdicts": self.verdicts,
            "missing_files": self.missing,
            "new_files": self.new,
            "outstanding_files": self.outstanding,
            "recovered_files": self.recovered,
            "left_window_files": self.left_window,
            "lookback_days": self.lookback_days,
            "processes_without_input": self.without_input,
            **self._volume_json(),
            "processes": {name: t.to_json() for name, t in self.processes.items()},
            "pair_fields": list(self.PAIR_FIELDS),
            "pairs": [
                [
                    p.process,
                    p.customer_type,
                    p.customer,
                    p.verdict.value,
                    p.change.value if p.change else None,
                    p.missing,
                    p.outstanding,
                    p.oldest_age,
                    p.recovered,
                ]
                for p in shown
            ],
            "pairs_not_listed": listed.total - len(shown),
        }

    def _volume_json(self) -> dict:
        unmonitored = self.unmonitored
        return {
            "volume_judged": self.volume_judged,
            "volume_problem": self.volume_problem,
            "history_too_short": self.history_too_short,
            "processes_not_judged": self.not_judged,
            "kpi_not_loaded": self.kpi_not_loaded,
            "volume_findings": [
                [p.process, p.customer, p.verdict.value, p.received, _number(p.expected), p.counted_days]
                for p in self.volume_findings[:OUTCOME_PAIRS]
            ],
            "unmonitored_pairs": None if unmonitored is None else len(unmonitored),
            "unmonitored": None if unmonitored is None else [u.to_json() for u in unmonitored[:UNMONITORED_SHOWN]],
        }


def _number(value) -> int | float | None:
    """An exact median as JSON: whole, or a half."""
    if value is None:
        return None
    return int(value) if value.denominator == 1 else float(value)


# The most pairs an outcome lists: about 100 KB of JSON, the bound on the run record's size.
OUTCOME_PAIRS = 1000
