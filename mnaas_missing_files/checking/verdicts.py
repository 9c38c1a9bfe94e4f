"""What each pair of the day says (contract §7 verdicts, §8 changes, §14 volume), and which
processes had no input at all.

Pure functions of the plan, the group results and the settings: no warehouse, no memory. The
recovered files (which need the memory of earlier listings) are filled in by the run layer
(run/analysis.py) into the same `PairStatus`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

from mnaas_missing_files.core.model import GroupResult, Plan, kpi_difference


class Verdict(StrEnum):
    """Per pair, the first that applies (contract §7, §14)."""

    UNKNOWN = "unknown"  # its group failed after its retries
    NO_INPUT = "no_input"  # its process received nothing on D
    SILENT = "silent"  # nothing on D, though it usually sends on this weekday
    LOW_INPUT = "low_input"  # less than MNAAS_LOW_INPUT_RATIO of its usual count
    MISMATCH = "mismatch"  # KPI difference != names listed
    MISSING = "missing"  # at least one missing name
    OK = "ok"

    @property
    def word(self) -> str:  # how the email and the summary show it
        return self.value.replace("_", " ").upper()


VERDICTS = tuple(Verdict)


class Change(StrEnum):
    """What changed for a pair (contract §8), independent of its verdict."""

    NEW = "NEW"  # missing names on D, nothing outstanding
    PERSISTING = "PERSISTING"  # missing names on D and outstanding ones from earlier days
    OUTSTANDING = "OUTSTANDING"  # nothing missing on D, but outstanding files remain
    RESOLVED = "RESOLVED"  # remembered names in the window, none missing or outstanding now


@dataclass(slots=True)  # one per pair: a callback of 1,000,000 pairs holds them all
class PairStatus:
    """One configured pair of the day, everything the email and the outcome say about it.

    Names are kept only up to `MNAAS_MAIL_NAMES_PER_PAIR` (the email's cap): the counts say
    how many there are; the reports hold them all.
    """

    process: str
    customer_type: str
    customer: str
    verdict: Verdict
    received: int | None = None
    generated: int | None = None
    missing: int = 0  # missing on D
    outstanding: int = 0  # still missing of the window's earlier days
    oldest_age: int | None = None  # days, of the oldest outstanding file
    # (name, age in days or None for D's own), D's first, then outstanding oldest first
    names: list[tuple[str, int | None]] = field(default_factory=list)
    recovered: int = 0
    recovered_names: list[str] = field(default_factory=list)
    remembered: bool = False  # the memory listed something for it in the window
    expected: Fraction | None = None  # its usual count on this weekday, when judged for volume
    counted_days: int = 0  # the baseline days behind `expected`

    @property
    def difference(self) -> int | None:
        return kpi_difference(self.received, self.generated)

    @property
    def change(self) -> Change | None:
        if self.verdict is Verdict.UNKNOWN:
            return None
        if self.missing:
            return Change.PERSISTING if self.outstanding else Change.NEW
        if self.outstanding:
            return Change.OUTSTANDING
        if self.remembered:
            return Change.RESOLVED
        return None

    @property
    def needs_action(self) -> bool:
        """In the email's "what needs action" section (contract §9, 2)."""
        return self.verdict is not Verdict.OK or self.outstanding > 0


# Most severe first (contract §9, 2; §14 puts SILENT and LOW INPUT after NO INPUT): the
# verdict words, then the change words.
_LABELLED = (Verdict.UNKNOWN, Verdict.NO_INPUT, Verdict.SILENT, Verdict.LOW_INPUT, Verdict.MISMATCH)
_RANKED: tuple[Verdict | Change, ...] = (*_LABELLED, Change.PERSISTING, Change.NEW, Change.OUTSTANDING)
_SEVERITY: dict[Verdict | Change, int] = {label: rank for rank, label in enumerate(_RANKED)}


def action_label(pair: PairStatus) -> str:
    """The word a pair needing action is shown with."""
    if pair.verdict in _LABELLED:
        return pair.verdict.word
    change = pair.change
    return change.value if change is not None else pair.verdict.word


def severity(pair: PairStatus) -> int:
    if pair.verdict in _LABELLED:
        return _SEVERITY[pair.verdict]
    return change_severity(pair.change)


def change_severity(change: Change | None) -> int:
    """The rank of what changed, for a pair ranked by its change rather than its verdict."""
    return _SEVERITY.get(change, len(_SEVERITY)) if change is not None else len(_SEVERITY)


def processes_without_input(plan: Plan, results: dict[str, GroupResult], allowed: Iterable[str] = ()) -> list[str]:
    """Processes, in plan order, that had no input on D (contract §7): every group checked,
    every customer's File Received KPI 0 or absent, no missing name of D, and the probing
    group found no received row for any configured customer."""
    allowed = set(allowed)
    by_process: dict[str, list[GroupResult | None]] = {}
    for group in plan.groups:
        by_process.setdefault(group.process, []).append(results.get(group.group_id))
    empty = []
    for process, group_results in by_process.items():
        if process in allowed or any(r is None or not r.ok for r in group_results):
            continue
        done = [r for r in group_results if r is not None]
        if any(rec for r in done for rec, _ in r.counts.values()):
            continue
        if any(r.packed or r.missing for r in done):
            continue
        if any(r.process_has_input is False for r in done) and not any(r.process_has_input for r in done):
            empty.append(process)
    return empty


def pair_verdict(
    received: int | None, generated: int | None, missing: int | None, no_input: bool, volume: Verdict | None = None
) -> Verdict:
    """The first that applies; `volume` is what the rules of §14 said (silent, low_input or None)."""
    if received is None or generated is None or missing is None:
        return Verdict.UNKNOWN
    if no_input:
        return Verdict.NO_INPUT
    if volume is not None:
        return volume
    if received - generated != missing:
        return Verdict.MISMATCH
    if missing:
        return Verdict.MISSING
    return Verdict.OK


def age_days(day: dt.date, file_date: str) -> int:
    return (day - dt.date.fromisoformat(file_date)).days


def verdict_counts(pairs: Iterable[PairStatus]) -> dict[str, int]:
    """verdict -> pair count, all seven present (the history and the metrics read every one)."""
    counts = {v.value: 0 for v in VERDICTS}
    for pair in pairs:
        counts[pair.verdict.value] += 1
    return counts
