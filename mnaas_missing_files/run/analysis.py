"""What a run found, pair by pair: verdicts, outstanding files, what was recovered since the
memory of listed names was written, and the totals the email, the outcome and the metrics
show (contract §7, §8).

One pass over the groups in plan order, unpacking one group's names at a time; each pair,
once judged, goes into a bounded tally (reporting/pairtally.py), not a list. It also puts
this run's own listing into the memory object (in memory only; `finalize` saves it once the
reports are written, and never on a dry run).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field, replace

from mnaas_missing_files.checking.dayinput import UNMONITORED_SHOWN, DayInput, Unmonitored, VolumeCheck
from mnaas_missing_files.checking.planning import configured_customers, configured_processes
from mnaas_missing_files.checking.verdicts import (
    PairStatus,
    Verdict,
    age_days,
    pair_verdict,
    processes_without_input,
)
from mnaas_missing_files.checking.volume import VolumeRules
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.model import GroupResult, Plan
from mnaas_missing_files.reporting.pairtally import PairTally, TallyCaps
from mnaas_missing_files.state.listed import DayNames, ListedMemory


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


def analyse(
    settings: Settings,
    plan: Plan,
    results: Mapping[str, GroupResult],
    memory: ListedMemory,
    found: DayInput | None = None,
    signs: dict[str, GroupResult] | None = None,
) -> DayAnalysis:
    """`found`: the day's input (checking/dayinput.py), read once for the run; None when it
    was not asked for (volume is then not judged and nothing is listed as not monitored).
    `signs`: input_signs(plan, results) when the caller has them (one pass fewer)."""
    signs = input_signs(plan, results) if signs is None else signs
    empty = processes_without_input(plan, signs, settings.empty_input_allowed)
    caps = TallyCaps(settings.mail_pairs, OUTCOME_PAIRS, settings.metrics_max_customers, tuple(settings.processes))
    analysis = DayAnalysis(
        plan.day, settings.lookback_days, (), empty, {}, memory_problem=memory.problem, tally=PairTally(caps)
    )
    volume = _volume_check(settings, found, empty, analysis)
    first = settings.window_start.isoformat()
    day = plan.day.isoformat()
    cap = settings.mail_names_per_pair
    for group in plan.groups:
        result = results.get(group.group_id)
        ok = result is not None and result.ok
        on_day = result.missing_names() if ok and result is not None else {}
        earlier = (
            {d: result.outstanding_names(d) for d in result.outstanding_days()} if ok and result is not None else {}
        )
        totals = analysis.processes.setdefault(group.process, ProcessTotals())
        for customer in group.customers:
            old = memory.days_of(group.process, customer) if settings.lookback_days else {}
            analysis.left_window += sum(len(n) for d, n in old.items() if d < first)
            if not ok or result is None:
                pair = PairStatus(group.process, group.customer_type, customer, Verdict.UNKNOWN)
                _add(totals, pair)
                analysis.add(pair)
                continue
            received, generated = (int(v) for v in result.counts.get(customer, [0, 0]))
            current: DayNames = {d: names[customer] for d, names in earlier.items() if names.get(customer)}
            outstanding = sum(len(n) for n in current.values())
            names_d = on_day.get(customer, [])
            judgement = volume.judge(group.process, customer, received)
            pair = PairStatus(
                group.process,
                group.customer_type,
                customer,
                pair_verdict(received, generated, len(names_d), group.process in empty, judgement.verdict),
                received=received,
                generated=generated,
                missing=len(names_d),
                outstanding=outstanding,
                oldest_age=age_days(plan.day, min(current)) if current else None,
                names=_first_names(plan.day, names_d, current, cap),
                **judgement.facts(),
            )
            if names_d:
                current[day] = names_d
            _recover(pair, old, current, first, day, cap)
            if settings.lookback_days:
                # newer days stay (a backfill of an older day); the window is this run's now
                kept = {d: n for d, n in old.items() if d > day}
                memory.put(group.process, customer, {**kept, **current})
            _add(totals, pair)
            analysis.add(pair)
    analysis.history_too_short = volume.too_short
    return analysis


def input_signs(plan: Plan, results: Mapping[str, GroupResult]) -> dict[str, GroupResult]:
    """Each group's result as far as processes_without_input and the failed groups read it
    (ok, its error, whether anything was received or missing, whether the process had input),
    without its counts and names: the callback reads the results one group at a time and must
    not hold them all (contract §19)."""
    signs = {}
    for group in plan.groups:
        result = results.get(group.group_id)
        if result is not None:
            received = any(r for r, _ in result.counts.values())
            signs[group.group_id] = replace(
                result,
                counts={"": [1, 0]} if received else {},
                missing={},
                packed="1" if result.packed or result.missing else None,
                outstanding={},
                outstanding_packed={},
            )
    return signs


def _volume_check(settings: Settings, found: DayInput | None, empty: list[str], analysis: DayAnalysis) -> VolumeCheck:
    """The §14 rules for this run, and what the analysis says of them before any pair."""
    regular, infonova, _ = configured_customers(settings)
    processes, _ = configured_processes(settings)
    volume = VolumeCheck(VolumeRules.of(settings), found, processes, regular + infonova, empty)
    analysis.volume_judged = volume.active
    analysis.not_judged = dict(volume.not_judged) if volume.active else {}
    analysis.kpi_not_loaded = volume.kpi_not_loaded
    if found is not None:
        analysis.volume_problem = found.problem
        if found.problem is None:
            analysis.unmonitored = found.unmonitored(processes, regular + infonova, settings.unmonitored_ignore)
    return volume


def _first_names(day: dt.date, names_d: Sequence[str], earlier: DayNames, cap: int) -> list[tuple[str, int | None]]:
    """The names the email may show for a pair: D's first, then outstanding oldest first,
    each with its age (None for D's own)."""
    shown: list[tuple[str, int | None]] = [(n, None) for n in names_d[:cap]]
    for d in sorted(earlier):
        if len(shown) >= cap:
            break
        age = age_days(day, d)
        shown.extend((n, age) for n in earlier[d][: cap - len(shown)])
    return shown


def _recover(pair: PairStatus, old: DayNames, current: DayNames, first: str, day: str, cap: int) -> None:
    """Names the memory listed for a day of the window that are no longer missing."""
    for d in sorted(old):
        if not first <= d <= day or not old[d]:
            continue
        pair.remembered = True
        still = set(current.get(d, ()))
        gone = [n for n in old[d] if n not in still]
        pair.recovered += len(gone)
        pair.recovered_names.extend(gone[: max(0, cap - len(pair.recovered_names))])


def _add(totals: ProcessTotals, pair: PairStatus) -> None:
    totals.pairs += 1
    totals.received += pair.received or 0
    totals.generated += pair.generated or 0
    totals.missing += pair.missing
    totals.outstanding += pair.outstanding
    if pair.oldest_age is not None:
        totals.oldest_age = max(totals.oldest_age or 0, pair.oldest_age)
    totals.verdicts[pair.verdict.value] = totals.verdicts.get(pair.verdict.value, 0) + 1
