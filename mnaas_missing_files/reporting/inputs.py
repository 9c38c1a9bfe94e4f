"""What the email says about the day's input beyond the verdicts of §7 (contract §14, §15):
pairs that went silent or sent little (volume findings), pairs that received files but are
not configured (not monitored), and whether either could be judged at all.

The email renders whatever lists it is given; a run that does not judge volume gives empty
ones. Plain records, so the run layer fills them without the email knowing how they were found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SILENT = "silent"
LOW_INPUT = "low_input"
UNMONITORED_LINES = 50  # contract §14: at most 50 lines, then `… and N more`


@dataclass(frozen=True)
class VolumeFinding:
    process: str
    customer: str
    verdict: str  # SILENT or LOW_INPUT
    received: int
    expected: float  # the median of the counted days (a float: 21.5 stays 21.5)
    counted_days: int

    @property
    def label(self) -> str:
        return "SILENT" if self.verdict == SILENT else "LOW INPUT"

    def describe(self, weekday: str) -> str:
        """`0 received, usually 44: median of 4 Mondays` (expected with at most one decimal)."""
        usual = f"{self.expected:.1f}".removesuffix(".0")
        return f"{self.received:,} received, usually {usual}: median of {self.counted_days} {weekday}s"


@dataclass(frozen=True)
class Unmonitored:
    process: str
    customer: str
    received: int


@dataclass(frozen=True)
class InputFindings:
    volume: list[VolumeFinding] = field(default_factory=list)
    unmonitored: list[Unmonitored] = field(default_factory=list)
    volume_not_judged: str | None = None  # why volume was not judged this run, when it was not
    unmonitored_unknown: str | None = None  # why the not-monitored list is unknown, when it is

    @property
    def silent(self) -> list[VolumeFinding]:
        return [f for f in self.volume if f.verdict == SILENT]

    @property
    def low(self) -> list[VolumeFinding]:
        return [f for f in self.volume if f.verdict == LOW_INPUT]

    def unmonitored_shown(self) -> tuple[list[Unmonitored], int]:
        """Largest received first, then process and customer by name; at most 50, and the rest."""
        ordered = sorted(self.unmonitored, key=lambda u: (-u.received, u.process, u.customer))
        return ordered[:UNMONITORED_LINES], max(0, len(ordered) - UNMONITORED_LINES)


NO_FINDINGS = InputFindings()
