"""What a run keeps of its pairs once each is judged: bounded summaries, fed one pair at a
time in the CSV's order (contract §19: the callback's memory does not grow with the day).

A 1,000,000-pair day held one PairStatus per pair for the analysis and one more record per
pair for the metrics (~420 MB). What is read of them afterwards is bounded by the caps the
contract already has: the email shows at most MNAAS_MAIL_PAIRS pairs per section (§15), the
outcome at most OUTCOME_PAIRS, the metrics the MNAAS_METRICS_MAX_CUSTOMERS largest (§11). So
a tally keeps, per list, only what those caps can show (the first N in the CSV's order, or
the N smallest by rank, ties in the CSV's order) and exact totals for the rest. A cap of None
keeps everything (a hand-made analysis in a test).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from mnaas_missing_files.checking.verdicts import (
    VERDICTS,
    Change,
    PairStatus,
    Verdict,
    change_severity,
    severity,
)
from mnaas_missing_files.checking.verdicts import action_label as verdict_label

T = TypeVar("T")


class FirstN(Generic[T]):
    """The first `cap` items added, and how many were added."""

    def __init__(self, cap: int | None) -> None:
        self.cap = cap
        self.items: list[T] = []
        self.total = 0

    def add(self, item: T) -> None:
        self.total += 1
        if self.cap is None or len(self.items) < self.cap:
            self.items.append(item)

    @property
    def more(self) -> int:
        """Items added beyond those kept."""
        return self.total - len(self.items)


class Smallest(Generic[T]):
    """The `cap` items of smallest rank, ties broken by arrival (what a stable sort of every
    item by rank, cut to `cap`, gives), and of the others, per label, how many there were and
    where the first of them would have come. Ranks are tuples of ints."""

    def __init__(self, cap: int | None) -> None:
        self.cap = cap
        self.total = 0
        # A max-heap of the kept ones as negated (rank, arrival): the root is the one to drop.
        self._heap: list[tuple[tuple[int, ...], str, T]] = []
        self._dropped: dict[str, tuple[int, tuple[int, ...]]] = {}  # label -> (count, first key)

    def add(self, rank: tuple[int, ...], item: T, label: str = "") -> None:
        key = (*(-r for r in rank), -self.total)
        self.total += 1
        if self.cap is not None and len(self._heap) >= self.cap:
            if not self._heap or key <= self._heap[0][0]:  # ranks after every kept one
                self._drop(key, label)
                return
            key, label, item = heapq.heapreplace(self._heap, (key, label, item))
            self._drop(key, label)
            return
        heapq.heappush(self._heap, (key, label, item))

    def _drop(self, key: tuple[int, ...], label: str) -> None:
        count, first = self._dropped.get(label, (0, key))
        self._dropped[label] = (count + 1, max(first, key))  # negated: the larger comes first

    def _sorted(self) -> list[tuple[tuple[int, ...], str, T]]:
        return sorted(self._heap, reverse=True)

    def sorted(self) -> list[T]:
        """The kept items, smallest rank first."""
        return [item for _key, _label, item in self._sorted()]

    def beyond(self, start: int) -> dict[str, int]:
        """label -> how many items rank after the first `start` (the kept ones from `start`
        on, then the dropped ones), labels in the order their first item ranks."""
        counts: dict[str, int] = {}
        for _key, label, _item in self._sorted()[start:]:
            counts[label] = counts.get(label, 0) + 1
        for label, (count, _first) in sorted(self._dropped.items(), key=lambda kv: kv[1][1], reverse=True):
            counts[label] = counts.get(label, 0) + count
        return counts


# Told by the input section (contract §15, 4), never as pairs needing action by themselves.
INPUT_VERDICTS = (Verdict.NO_INPUT, Verdict.SILENT, Verdict.LOW_INPUT)


def needs_action_in_email(pair: PairStatus) -> bool:
    """Section 5 (contract §15): unknown pairs are told by the failures section, processes
    without input and silent or low-input pairs by the input section, never per pair; but
    such a pair that still has missing or outstanding files is here, by what changed (NEW,
    PERSISTING, OUTSTANDING)."""
    return (
        pair.needs_action
        and pair.verdict is not Verdict.UNKNOWN
        and (pair.verdict not in INPUT_VERDICTS or bool(pair.missing) or bool(pair.outstanding))
    )


def action_rank(pair: PairStatus) -> int:
    """Section 5's order, most severe first: an input verdict's pair by what changed."""
    return change_severity(pair.change) if pair.verdict in INPUT_VERDICTS else severity(pair)


def action_label(pair: PairStatus) -> str:
    change = pair.change
    return change.value if pair.verdict in INPUT_VERDICTS and change is not None else verdict_label(pair)


@dataclass
class ProcessFacts:
    """One process's figures for the metrics (contract §11): its pairs per verdict, and of its
    known pairs (the unknown ones' group failed) the files missing and outstanding."""

    verdicts: dict[str, int] = field(default_factory=dict)
    known: int = 0
    missing: int = 0
    outstanding: int = 0
    oldest_age_days: int = 0  # of the pairs with outstanding files


class MetricsTally:
    """What the metrics file needs of a run's pairs: per process, its figures; and the pairs
    with the most missing plus outstanding files, at most `cap`, ties in process_list order
    then the CSV's (processes not in `processes` are not ranked)."""

    def __init__(self, cap: int | None = None, processes: Sequence[str] = ()) -> None:
        self.processes: dict[str, ProcessFacts] = {}
        self._rank = {name: n for n, name in enumerate(processes)}
        self.customers: Smallest[tuple[str, str, int]] = Smallest(cap)

    def add(
        self, process: str, customer: str, verdict: str, missing: int | None, outstanding: int, oldest_age_days: int
    ) -> None:
        facts = self.processes.setdefault(process, ProcessFacts())
        facts.verdicts[verdict] = facts.verdicts.get(verdict, 0) + 1
        if missing is None:  # unknown: its group failed
            return
        facts.known += 1
        facts.missing += missing
        facts.outstanding += outstanding
        if outstanding:
            facts.oldest_age_days = max(facts.oldest_age_days, oldest_age_days)
        files = missing + outstanding
        if files and process in self._rank:
            self.customers.add((-files, self._rank[process]), (process, customer, files))

    def largest(self) -> list[tuple[str, str, int]]:
        """(process, customer, files), most files first."""
        return self.customers.sorted()


@dataclass(frozen=True)
class TallyCaps:
    """How much of each list a tally keeps; None keeps all."""

    email_pairs: int | None = None  # MNAAS_MAIL_PAIRS: the email's lines per section
    outcome_pairs: int | None = None  # the outcome's pairs (run/dayanalysis.py OUTCOME_PAIRS)
    metrics_customers: int | None = None  # MNAAS_METRICS_MAX_CUSTOMERS
    processes: tuple[str, ...] = ()  # process_list: the metrics' order


class PairTally:
    """Every pair of a run, added once in the CSV's order: the totals exact, the lists bounded."""

    def __init__(self, caps: TallyCaps = TallyCaps()) -> None:
        self.pairs = 0
        self.missing = self.new = self.outstanding = self.recovered = 0
        self.verdicts = {v.value: 0 for v in VERDICTS}
        self.action: Smallest[PairStatus] = Smallest(caps.email_pairs)  # the email's section 5
        self.recovered_pairs: FirstN[PairStatus] = FirstN(caps.email_pairs)  # section 7
        self.listed: Smallest[PairStatus] = Smallest(caps.outcome_pairs)  # the outcome's pairs
        # Volume findings: silent and low-input pairs. The email's, each with its expected
        # count, per verdict (it shows silent ones first), as (place in the CSV, pair); the
        # outcome's, in the CSV's order.
        self.silent: FirstN[tuple[int, PairStatus]] = FirstN(caps.email_pairs)
        self.low: FirstN[tuple[int, PairStatus]] = FirstN(caps.email_pairs)
        self.volume: FirstN[PairStatus] = FirstN(caps.outcome_pairs)
        self.metrics = MetricsTally(caps.metrics_customers, caps.processes)

    def add(self, pair: PairStatus) -> None:
        self.pairs += 1
        self.missing += pair.missing
        self.outstanding += pair.outstanding
        self.recovered += pair.recovered
        if pair.change is Change.NEW:
            self.new += pair.missing
        self.verdicts[pair.verdict.value] += 1
        if needs_action_in_email(pair):
            self.action.add((action_rank(pair),), pair, action_label(pair))
        if pair.needs_action or pair.recovered:
            self.listed.add((severity(pair),), pair)
        if pair.recovered:
            self.recovered_pairs.add(pair)
        if pair.verdict in (Verdict.SILENT, Verdict.LOW_INPUT):
            self.volume.add(pair)
            if pair.expected is not None:
                (self.silent if pair.verdict is Verdict.SILENT else self.low).add((self.pairs, pair))
        unknown = pair.verdict is Verdict.UNKNOWN
        self.metrics.add(
            pair.process,
            pair.customer,
            pair.verdict.value,
            None if unknown else pair.missing,
            pair.outstanding,
            pair.oldest_age or 0,
        )

    def add_all(self, pairs: Iterable[PairStatus]) -> None:
        for pair in pairs:
            self.add(pair)
