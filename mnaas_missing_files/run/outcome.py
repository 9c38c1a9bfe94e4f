"""What a run that got as far as its reports came to: the record `run`, the Celery callback,
the run state and the end-of-run boundary share (as JSON across processes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mnaas_missing_files.core.errors import EXIT_FAILED, EXIT_OK
from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.reporting.reports import ReportSummary
from mnaas_missing_files.run.dayanalysis import DayAnalysis


def outcome_rule(
    *, dry_run: bool, errors: bool, failed_groups: bool, no_input: bool, empty_input: str
) -> tuple[Outcome, int]:
    """A run's outcome and exit code once its groups are checked (contract §7), the first that
    applies: failed (an error, or no report: reports not written, every group failed, …), incomplete (a group failed after its
    retries), no_input (a process received nothing, under MNAAS_EMPTY_INPUT=fail), success. A
    dry run is `dry-run`, exiting 1 where a real run would not succeed for those reasons.
    (Delivering the email and writing the status file may still turn a real run `failed`.)"""
    blocking_no_input = no_input and empty_input == "fail"
    if dry_run:
        return Outcome.DRY_RUN, EXIT_FAILED if errors or failed_groups or blocking_no_input else EXIT_OK
    if errors:
        return Outcome.FAILED, EXIT_FAILED
    if failed_groups:
        return Outcome.INCOMPLETE, EXIT_FAILED
    if blocking_no_input:
        return Outcome.NO_INPUT, EXIT_FAILED
    return Outcome.SUCCESS, EXIT_OK


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
        """What `run`, `submit --wait`, the run state and the metrics read: OutcomeRecord's form.
        At the top: `verdicts` (verdict -> pair count, all five), `new_files`,
        `outstanding_files`, `recovered_files`, `left_window_files`, `processes_without_input`;
        `analysis` holds, per process, its totals, oldest outstanding age (days) and verdict
        counts, and every pair that is not `ok`, has outstanding or recovered files
        (DayAnalysis.to_json)."""
        return OutcomeRecord.of(self).to_json()


@dataclass(frozen=True)
class OutcomeRecord:
    """A run's outcome as it is kept and told (the run state, `submit --wait`, `run`'s
    summary): RunOutcome's figures, flattened, with its analysis as JSON. One JSON form, read
    back by `from_json` (a RunOutcome itself cannot be: its analysis lists at most
    OUTCOME_PAIRS pairs once it is JSON)."""

    run_id: str | None
    day: str | None
    outcome: str | None
    exit_code: int | None = None
    failed_groups: dict[str, str] = field(default_factory=dict)
    total_groups: int | None = None
    errors: list[str] = field(default_factory=list)
    email: str | None = None
    ticket_raised: bool = False
    missing_files: int | None = None
    pairs: int | None = None
    unknown_pairs: int | None = None
    csv: str | None = None
    txt: str | None = None
    outstanding_report: str | None = None
    verdicts: dict[str, int] | None = None
    new_files: int | None = None
    outstanding_files: int | None = None
    recovered_files: int | None = None
    left_window_files: int | None = None
    processes_without_input: list[str] = field(default_factory=list)
    analysis: dict | None = None

    @classmethod
    def of(cls, run: RunOutcome) -> OutcomeRecord:
        s, a = run.summary, run.analysis
        return cls(
            run_id=run.run_id,
            day=run.day,
            outcome=run.outcome,
            exit_code=run.exit_code,
            failed_groups=run.failed_groups,
            total_groups=run.total_groups,
            errors=run.errors,
            email=run.email,
            ticket_raised=run.ticket_raised,
            missing_files=s.missing_files if s else None,
            pairs=s.pairs if s else None,
            unknown_pairs=s.unknown_pairs if s else None,
            csv=str(s.csv_path) if s else None,
            txt=str(s.txt_path) if s else None,
            outstanding_report=str(s.outstanding_path) if s and s.outstanding_path else None,
            verdicts=a.verdicts if a else None,
            new_files=a.new if a else None,
            outstanding_files=a.outstanding if a else None,
            recovered_files=a.recovered if a else None,
            left_window_files=a.left_window if a else None,
            processes_without_input=a.without_input if a else [],
            analysis=a.to_json() if a else None,
        )

    @property
    def oldest_outstanding_age(self) -> int:
        """Days: the oldest outstanding file's age over every process (0 when none)."""
        processes = (self.analysis or {}).get("processes") or {}
        return max((p.get("oldest_outstanding_age_days") or 0 for p in processes.values()), default=0)

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OutcomeRecord:
        known = {name: data[name] for name in cls.__dataclass_fields__ if data.get(name) is not None}
        return cls(**{"run_id": None, "day": None, "outcome": None, **known})
