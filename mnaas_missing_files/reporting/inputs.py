"""What the email says about the day's input beyond the verdicts of §7 (contract §14, §15):
pairs that went silent or sent little (volume findings), processes whose KPIs are not loaded,
pairs that received files but are not configured (not monitored), and whether either could be
judged at all.

The email renders whatever it is given; a run that does not judge volume gives empty lists.
Plain records, so the run layer (run/inputfindings.py) fills them without the email knowing
how they were found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from mnaas_missing_files.checking.dayinput import UNMONITORED_SHOWN, Unmonitored
from mnaas_missing_files.checking.volume import show_expected

SILENT = "silent"
LOW_INPUT = "low_input"

__all__ = ["InputFindings", "NO_FINDINGS", "Unmonitored", "VolumeFinding"]


@dataclass(frozen=True)
class VolumeFinding:
    process: str
    customer: str
    verdict: str  # SILENT or LOW_INPUT
    received: int
    expected: Fraction  # the median of the counted days: whole, or a half
    counted_days: int

    @property
    def label(self) -> str:
        return "SILENT" if self.verdict == SILENT else "LOW INPUT"

    def describe(self, weekday: str) -> str:
        """`0 received, usually 44: median of 4 Mondays` (expected 21 or 21.5, never rounded)."""
        days = weekday + ("s" if self.counted_days != 1 else "")
        return (
            f"{self.received:,} received, usually {show_expected(self.expected)}: median of {self.counted_days} {days}"
        )


@dataclass(frozen=True)
class InputFindings:
    volume: list[VolumeFinding] = field(default_factory=list)
    unmonitored: list[Unmonitored] = field(default_factory=list)  # largest received first
    volume_not_judged: str | None = None  # why volume could not be judged this run (a failure)
    volume_off: str | None = None  # why volume is not judged by choice (off, a quiet day)
    history_too_short: int = 0  # judged pairs with fewer counted days than MNAAS_SILENT_MIN_DAYS
    processes_not_judged: dict[str, str] = field(default_factory=dict)  # process -> why
    kpi_not_loaded: list[str] = field(default_factory=list)  # files on D, no KPI row of D
    unmonitored_unknown: str | None = None  # why the not-monitored list is unknown, when it is
    # Findings beyond `volume`'s (it holds at most the email's pair cap of each verdict).
    silent_more: int = 0
    low_more: int = 0

    @property
    def silent(self) -> list[VolumeFinding]:
        return [f for f in self.volume if f.verdict == SILENT]

    @property
    def low(self) -> list[VolumeFinding]:
        return [f for f in self.volume if f.verdict == LOW_INPUT]

    @property
    def silent_count(self) -> int:
        return len(self.silent) + self.silent_more

    @property
    def low_count(self) -> int:
        return len(self.low) + self.low_more

    @property
    def judged(self) -> bool:
        return self.volume_not_judged is None and self.volume_off is None

    def unmonitored_shown(self) -> tuple[list[Unmonitored], int]:
        """At most UNMONITORED_SHOWN lines (contract §14), in the given order, and the rest."""
        return self.unmonitored[:UNMONITORED_SHOWN], max(0, len(self.unmonitored) - UNMONITORED_SHOWN)


NO_FINDINGS = InputFindings()
