"""What a run that got as far as its reports came to: the record `run`, the Celery callback,
the run state and the end-of-run boundary share (as JSON across processes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.reporting.reports import ReportSummary


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

    def to_json(self) -> dict:
        s = self.summary
        return {"run_id": self.run_id, "day": self.day, "outcome": self.outcome,
                "exit_code": self.exit_code, "failed_groups": self.failed_groups,
                "errors": self.errors, "email": self.email, "ticket_raised": self.ticket_raised,
                "missing_files": s.missing_files if s else None, "pairs": s.pairs if s else None,
                "unknown_pairs": s.unknown_pairs if s else None,
                "csv": str(s.csv_path) if s else None, "txt": str(s.txt_path) if s else None}
