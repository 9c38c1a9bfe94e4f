"""The one boundary every end of a run passes, whichever way it ends: `run` (through finalize),
the Celery callback and the chord's error handler (finalize, or an abandoned run), the sweeper
(a lost or superseded run) and a start that failed after the run was announced.

Each observer gets the same RunEnd, in order: the failure notice of a run that made no report
(contract §15: every ended run sends exactly one message), the run history (the record
`status`, catch-up and the metrics read), the log's end line, the metrics file. An observer
that fails is logged and does not keep the others from running: the outcome stands either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_OK
from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.reporting.failures import failure_records
from mnaas_missing_files.reporting.maildelivery import deliver
from mnaas_missing_files.reporting.notice import NOTICE_KIND, build_failure_notice
from mnaas_missing_files.run.failurefacts import failure_facts
from mnaas_missing_files.run.metrics import RunMetrics, metrics_of, write_metrics_quietly
from mnaas_missing_files.run.outcome import RunOutcome
from mnaas_missing_files.state import history

log = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class DeliveryJournal(Protocol):
    """Remembers which emails of a run were sent, so a re-run callback does not send twice."""

    def was_sent(self, run_id: str, kind: str) -> bool: ...

    def mark_sent(self, run_id: str, kind: str) -> None: ...


class MemoryJournal:
    def __init__(self) -> None:
        self._sent: set[tuple[str, str]] = set()

    def was_sent(self, run_id: str, kind: str) -> bool:
        return (run_id, kind) in self._sent

    def mark_sent(self, run_id: str, kind: str) -> None:
        self._sent.add((run_id, kind))


@dataclass(frozen=True)
class RunEnd:
    """A run's end as the observers see it. `report` is the full outcome of a run that got as
    far as its reports; a run that ended without (abandoned, superseded, refused mid-start)
    has only `message`, saying why."""

    settings: Settings
    run_id: str
    day: str
    outcome: Outcome
    exit_code: int
    report: RunOutcome | None = None
    message: str = ""
    trigger: str | None = None
    dry_run: bool = False
    journal: DeliveryJournal | None = None  # the cluster's (Redis) keeps one notice per run

    @classmethod
    def of(
        cls,
        settings: Settings,
        report: RunOutcome,
        *,
        trigger: str | None = None,
        journal: DeliveryJournal | None = None,
    ) -> RunEnd:
        return cls(
            settings,
            report.run_id,
            report.day,
            report.outcome,
            report.exit_code,
            report,
            trigger=trigger,
            dry_run=report.outcome == Outcome.DRY_RUN,
            journal=journal,
        )

    def problems(self) -> list[str]:
        if self.report is None:
            return [self.message] if self.message else []
        return [f"group {g}: {e}" for g, e in self.report.failed_groups.items()] + self.report.errors


def _unmonitored(analysis) -> int | None:
    return None if analysis is None or analysis.unmonitored is None else len(analysis.unmonitored)


def record_in_history(end: RunEnd) -> None:
    summary = end.report.summary if end.report else None
    analysis = end.report.analysis if end.report else None
    fields = {
        "ended": end.settings.now().strftime(TIME_FORMAT),
        "outcome": end.outcome,
        "failed_groups": len(end.report.failed_groups) if end.report else None,
        "missing_files": summary.missing_files if summary else None,
        "pairs": summary.pairs if summary else None,
        # contract §7: verdict -> pair count, outstanding and recovered files
        "verdicts": analysis.verdicts if analysis else None,
        "outstanding_files": analysis.outstanding if analysis else None,
        "recovered_files": analysis.recovered if analysis else None,
        "no_input": analysis.without_input if analysis else [],
        # contract §14: pairs with files on D that nobody configured (None: not known)
        "unmonitored": _unmonitored(analysis),
        # `status` tells why a run failed: each distinct error once, with (some of) its groups
        "failures": failure_records(end.report.failed_groups) if end.report else [],
    }
    if end.message:
        fields["message"] = end.message
    if not history.update_run(
        end.settings.status_file, end.run_id, day=end.day, **({"trigger": end.trigger} if end.trigger else {}), **fields
    ):
        log.info("run %s: had no history entry yet (it ended before it started); recorded now", end.run_id)


def log_end_line(end: RunEnd) -> None:
    summary = end.report.summary if end.report else None
    counts = f"{summary.missing_files} missing files in {summary.pairs} pairs" if summary else "no reports"
    analysis = end.report.analysis if end.report else None
    if analysis is not None:
        counts += f", {analysis.outstanding} outstanding, {analysis.recovered} recovered; verdicts " + ", ".join(
            f"{k} {v}" for k, v in analysis.verdicts.items() if v
        )
        if analysis.without_input:
            counts += f"; no input: {', '.join(analysis.without_input)}"
    if end.exit_code == EXIT_OK:
        log.info("run %s: finished %s: %s; %s", end.run_id, end.outcome, end.day, counts)
        return
    log.error(
        "run %s: %s for %s: %s; %s",
        end.run_id,
        end.outcome.upper(),
        end.day,
        counts,
        " | ".join(end.problems()) or "no detail",
    )


def write_metrics_file(end: RunEnd) -> None:
    """MNAAS_METRICS_FILE (contract §11), after the history it reads; a file that cannot be
    written is logged and fails nothing else. Dry and refused runs leave it alone."""
    report = end.report
    write_metrics_quietly(
        end.settings,
        RunMetrics(
            str(end.outcome),
            metrics_of(report.analysis if report else None),
            len(report.failed_groups) if report else 0,
            end.run_id,
            _unmonitored(report.analysis if report else None),
        ),
    )


ENDS_WITHOUT_REPORT = frozenset({Outcome.FAILED, Outcome.LOST, Outcome.INTERRUPTED})


def needs_failure_notice(end: RunEnd) -> bool:
    """A non-dry run that ended badly and sent no report (contract §15). A report whose email
    could not be delivered is not followed by a notice: it would go the same way."""
    if end.dry_run or end.outcome not in ENDS_WITHOUT_REPORT:
        return False
    return end.report is None or not (end.report.email or end.report.report_undelivered)


def send_failure_notice(end: RunEnd) -> None:
    """First of the observers: the message is sent, then the end recorded, so a worker that
    dies between the two resends the same message (same Message-ID), never none."""
    if not needs_failure_notice(end):
        return
    journal = end.journal or MemoryJournal()
    if journal.was_sent(end.run_id, NOTICE_KIND):
        log.info("run %s: failure notice already sent; not sending it again", end.run_id)
        return
    delivery = deliver(
        end.settings,
        build_failure_notice(
            end.settings, failure_facts(end.settings, end.run_id, end.day, end.outcome, end.report, end.message)
        ),
        kind=NOTICE_KIND,
        run_id=end.run_id,
    )
    journal.mark_sent(end.run_id, NOTICE_KIND)
    if end.report is not None:
        end.report.email = str(delivery.path) if delivery.path else f"smtp to {len(delivery.recipients)} recipients"
    log.warning("run %s: failure notice sent (%s)", end.run_id, delivery.path or "smtp")


Observer = Callable[[RunEnd], None]

# In order. New observers (metrics, notices) are added here, and nowhere else.
OBSERVERS: tuple[Observer, ...] = (send_failure_notice, record_in_history, log_end_line, write_metrics_file)


def end_run(end: RunEnd, observers: tuple[Observer, ...] = OBSERVERS) -> list[str]:
    """Tell every observer; returns what failed (one line each, also logged)."""
    failures = []
    for observer in observers:
        try:
            observer(end)
        except Exception as exc:
            line = f"run {end.run_id}: {observer.__name__} failed at the end of the run: {exc}"
            log.error("%s", line)
            failures.append(line)
    return failures
