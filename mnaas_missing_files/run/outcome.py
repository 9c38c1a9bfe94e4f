"""What a run that got as far as its reports came to: the record `run`, the Celery callback,
the run state and the end-of-run boundary share (as JSON across processes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.reporting.reports import ReportSummary
from mnaas_missing_files.run.analysis import DayAnalysis


@dataclass
class RunOutcome:
    run_id: str
    day: str
    outcome: Outcome
    exit_code: int
    failed_groups: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    summary: ReportSummary | None = None
    email: str | None = None  # where the report email went (smtp, or the .eml path)
    ticket_raised: bool = False
    analysis: DayAnalysis | None = None  # verdicts, outstanding, recovered (contract §7, §8)
    total_groups: int | None = None  # the plan's groups (`process/type/n`)
    report_undelivered: bool = False  # the report was made but its email could not be delivered

    @property
    def no_input(self) -> list[str]:
        """The processes that had no input on the day (under either MNAAS_EMPTY_INPUT)."""
        return self.analysis.without_input if self.analysis else []

    def to_json(self) -> dict:
        """What `run`, `submit --wait`, the run state and the metrics read. At the top:
        `verdicts` (verdict -> pair count, all five), `new_files`, `outstanding_files`,
        `recovered_files`, `left_window_files`, `processes_without_input`; `analysis` holds,
        per process, its totals, oldest outstanding age (days) and verdict counts, and every
        pair that is not `ok`, has outstanding or recovered files (DayAnalysis.to_json)."""
        s, a = self.summary, self.analysis
        return {
            "run_id": self.run_id,
            "day": self.day,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "failed_groups": self.failed_groups,
            "total_groups": self.total_groups,
            "errors": self.errors,
            "email": self.email,
            "ticket_raised": self.ticket_raised,
            "missing_files": s.missing_files if s else None,
            "pairs": s.pairs if s else None,
            "unknown_pairs": s.unknown_pairs if s else None,
            "csv": str(s.csv_path) if s else None,
            "txt": str(s.txt_path) if s else None,
            "outstanding_report": str(s.outstanding_path) if s and s.outstanding_path else None,
            "verdicts": a.verdicts if a else None,
            "new_files": a.new if a else None,
            "outstanding_files": a.outstanding if a else None,
            "recovered_files": a.recovered if a else None,
            "left_window_files": a.left_window if a else None,
            "processes_without_input": a.without_input if a else [],
            "analysis": a.to_json() if a else None,
        }
