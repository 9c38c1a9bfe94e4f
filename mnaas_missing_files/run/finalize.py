"""Turn a run's group results into its outcome: reports, one email, the status file, history.

Shared by the local executor and the Celery callback, so both report a complete, incomplete
or failed run exactly alike.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Protocol

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_FAILED, EXIT_OK, MailError, ReportError
from mnaas_missing_files.core.model import GroupResult, Plan, iter_rows
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.reporting.mail import build_report_message, build_sdp_ticket, deliver
from mnaas_missing_files.reporting.reports import write_reports
from mnaas_missing_files.run.ending import RunEnd, end_run
from mnaas_missing_files.run.outcome import RunOutcome
from mnaas_missing_files.state import history, statusfile

log = logging.getLogger(__name__)


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


def begin(settings: Settings, plan: Plan, *, pid: int | None = None) -> None:
    """Mark the run in progress (flag 1) unless dry; raises JobHeld when an operator holds it."""
    if plan.dry_run:
        statusfile.check_not_held(settings.status_file)
    else:
        statusfile.begin_run(settings.status_file, settings.script_name, pid or os.getpid())
    history.record_run(settings.status_file, {
        "run_id": plan.run_id, "day": plan.day.isoformat(), "trigger": plan.trigger,
        "started": settings.now().strftime("%Y-%m-%d %H:%M:%S"), "ended": None,
        "outcome": Outcome.RUNNING, "groups": len(plan.groups), "host": socket.gethostname(),
        "pid": pid or os.getpid()})
    log.info("run %s: started checking %s (%d groups, trigger %s%s)", plan.run_id, plan.day,
             len(plan.groups), plan.trigger, ", dry run" if plan.dry_run else "")


def finalize(settings: Settings, plan: Plan, results: dict[str, GroupResult], *,
             journal: DeliveryJournal | None = None,
             before_write: Callable[[], object] | None = None) -> RunOutcome:
    """Write the reports, send the email, record the outcome. Never raises for a failed run:
    the outcome says what happened. `before_write` may raise (e.g. LockLost) to stop a stale
    run from overwriting a newer run's outcome."""
    journal = journal or MemoryJournal()
    guard = before_write or (lambda: None)
    failed = {g.group_id: (results[g.group_id].error if g.group_id in results else
                           "no result was received for this group") or "unknown error"
              for g in plan.groups if g.group_id not in results or not results[g.group_id].ok}
    outcome = RunOutcome(plan.run_id, plan.day.isoformat(), Outcome.FAILED, EXIT_FAILED, failed)
    guard()
    try:
        # Rows are generated lazily, twice (reports, then the email's summary), so a day with
        # a million missing names never has them all unpacked at once.
        outcome.summary = write_reports(iter_rows(plan, results), settings.csv_path, settings.txt_path, settings.report_mode)
    except ReportError as exc:
        outcome.errors.append(f"reports not written: {exc}")
        log.error("run %s: %s", plan.run_id, outcome.errors[-1])
    if plan.dry_run:
        outcome.outcome = Outcome.DRY_RUN
        outcome.exit_code = EXIT_FAILED if (failed or outcome.errors) else EXIT_OK
    else:
        if outcome.summary is not None:
            _send_report(settings, plan, iter_rows(plan, results), outcome, journal)
        guard()
        _record_status(settings, plan, outcome, journal)
    end_run(RunEnd.of(settings, outcome, trigger=plan.trigger))
    return outcome


def _send_report(settings, plan, rows, outcome: RunOutcome, journal: DeliveryJournal) -> None:
    if outcome.summary is None:  # no reports, nothing to attach: the ticket says why
        return
    if journal.was_sent(plan.run_id, "report"):
        log.info("run %s: report email already sent; not sending it again", plan.run_id)
        outcome.email = "already sent"
        return
    message = build_report_message(settings, day=plan.day, run_id=plan.run_id, rows=rows,
                                   summary=outcome.summary, failed_groups=outcome.failed_groups)
    try:
        delivery = deliver(settings, message, kind="report", run_id=plan.run_id)
    except MailError as exc:  # its text names the outbox copy, when one was kept
        outcome.errors.append(f"report email not delivered: {mask_secrets(exc)}")
        log.error("run %s: %s", plan.run_id, outcome.errors[-1])
        return
    journal.mark_sent(plan.run_id, "report")
    outcome.email = str(delivery.path) if delivery.path else f"smtp to {len(delivery.recipients)} recipients"


def _record_status(settings, plan, outcome: RunOutcome, journal: DeliveryJournal) -> None:
    if not outcome.failed_groups and not outcome.errors:
        statusfile.record_success(settings.status_file, settings.now().strftime("%Y-%m-%d %H:%M:%S"))
        outcome.outcome, outcome.exit_code = Outcome.SUCCESS, EXIT_OK
        return
    reason = "; ".join([f"group {g} failed: {e}" for g, e in outcome.failed_groups.items()] + outcome.errors)

    def raise_ticket() -> None:
        ticket = build_sdp_ticket(settings, day=plan.day, run_id=plan.run_id, reason=reason)
        deliver(settings, ticket, kind="sdp-ticket", run_id=plan.run_id)
        journal.mark_sent(plan.run_id, "sdp-ticket")

    try:
        outcome.ticket_raised = statusfile.record_failure(settings.status_file, raise_ticket)
    except MailError as exc:
        outcome.errors.append(f"SDP ticket not delivered: {mask_secrets(exc)}")
        log.error("run %s: %s", plan.run_id, outcome.errors[-1])
    if outcome.ticket_raised:
        log.warning("run %s: service-desk ticket raised to %s", plan.run_id, ", ".join(settings.sdp_to))
    else:
        log.warning("run %s: a service-desk ticket is already open for this failure episode; "
                    "no second ticket", plan.run_id)
