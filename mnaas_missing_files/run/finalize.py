"""Turn a run's group results into its outcome: reports, one email, the status file, history.

Shared by the local executor and the Celery callback, so both report a complete, incomplete
or failed run exactly alike.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

from mnaas_missing_files.checking.dayinput import DayInput, not_read, read_day_input
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_FAILED, EXIT_OK, LockLost, MailError, ReportError, StatusFileError
from mnaas_missing_files.core.model import GroupResult, Plan, iter_outstanding, iter_rows
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.reporting.failures import distinct_errors
from mnaas_missing_files.reporting.mail import build_report_message, build_sdp_ticket
from mnaas_missing_files.reporting.maildelivery import deliver
from mnaas_missing_files.reporting.reports import dry_run_path, write_reports
from mnaas_missing_files.run.analysis import analyse, input_signs
from mnaas_missing_files.run.end_of_run import DeliveryJournal, MemoryJournal, RunEnd, end_run
from mnaas_missing_files.run.inputfindings import input_findings
from mnaas_missing_files.run.outcome import RunOutcome, outcome_rule
from mnaas_missing_files.state import history, statusfile
from mnaas_missing_files.state.listed import ListedMemory
from mnaas_missing_files.state.liveness import LOCAL
from mnaas_missing_files.warehouse.duckdb_engine import shared_warehouse

log = logging.getLogger(__name__)


def begin(settings: Settings, plan: Plan, *, pid: int | None = None, local: bool = False) -> None:
    """Mark the run in progress (flag 1) unless dry; raises JobHeld when an operator holds it.
    `local`: checked by this process (`run`), so a later run may tell it died (contract §13)."""
    if plan.dry_run:
        statusfile.check_not_held(settings.status_file)
    else:
        statusfile.begin_run(settings.status_file, settings.script_name, pid or os.getpid())
    history.record_run(
        settings.status_file,
        {
            "run_id": plan.run_id,
            "day": plan.day.isoformat(),
            "trigger": plan.trigger,
            "started": settings.now().strftime("%Y-%m-%d %H:%M:%S"),
            "ended": None,
            "started_ts": round(time.time(), 3),
            "outcome": Outcome.RUNNING,
            "groups": len(plan.groups),
            "host": socket.gethostname(),
            "pid": pid or os.getpid(),
            **({"executor": LOCAL} if local else {}),
        },
    )
    log.info(
        "run %s: started checking %s (%d groups, trigger %s%s)",
        plan.run_id,
        plan.day,
        len(plan.groups),
        plan.trigger,
        ", dry run" if plan.dry_run else "",
    )


def finalize(
    settings: Settings,
    plan: Plan,
    results: Mapping[str, GroupResult],
    *,
    journal: DeliveryJournal | None = None,
    before_write: Callable[[], object] | None = None,
    lost: bool = False,
    day_input: DayInput | None = None,
) -> RunOutcome:
    """Write the reports, send the email, record the outcome. Never raises for a failed run:
    the outcome says what happened. `before_write` may raise (e.g. LockLost) to stop a stale
    run from overwriting a newer run's outcome. `lost`: the sweeper is reporting the run,
    whose outcome is then `lost` (contract §7), its email and ticket those of the failure.
    `day_input`: the day's input (contract §14) when the executor read it already (`run`, in
    its pool); else it is read here (the Celery callback), except for a lost run."""
    journal = journal or MemoryJournal()
    before = before_write or (lambda: None)

    def guard() -> None:
        try:
            before()
        except LockLost as exc:
            exc.outcome = outcome  # what this run did before it lost the job (end_superseded)
            raise

    # Each pass over `results` reads them again (the callback's from Redis): the failed groups
    # and the processes without input come from one pass that keeps no counts or names.
    signs = input_signs(plan, results)
    failed = {
        g.group_id: (signs[g.group_id].error if g.group_id in signs else "no result was received for this group")
        or "unknown error"
        for g in plan.groups
        if g.group_id not in signs or not signs[g.group_id].ok
    }
    outcome = RunOutcome(
        plan.run_id, plan.day.isoformat(), Outcome.FAILED, EXIT_FAILED, failed, total_groups=len(plan.groups)
    )
    lookback = settings.lookback_days > 0
    # What each pair says, and what was recovered since the memory of listed names was
    # written (contract §7, §8); one pass, one group's names unpacked at a time.
    memory = ListedMemory.load(settings.status_file) if lookback else ListedMemory(settings.status_file)
    found = day_input or (None if lost else _read_day_input(settings, plan))
    outcome.analysis = analyse(settings, plan, results, memory, found, signs)
    for process in outcome.no_input:
        log.warning(
            "run %s: process %s received nothing on %s (no input: the upstream load did not run, or has not run yet)",
            plan.run_id,
            process,
            plan.day,
        )
    guard()
    if plan.groups and len(failed) == len(plan.groups):
        # Nothing was checked: a report of blank counts would read as a day, and would replace
        # the day's previous reports (contract §15). The failure notice tells it instead.
        log.error("run %s: every group failed; no report is written (the day's previous reports stay)", plan.run_id)
    else:
        # Rows are generated lazily, so a day with a million missing names never has them all
        # unpacked at once. The outstanding report is renamed into place with the CSV and TXT.
        # A dry run writes under `dry-run/` beside each real report, which it never touches.
        where = dry_run_path if plan.dry_run else (lambda path: path)
        try:
            outcome.summary = write_reports(
                iter_rows(plan, results),
                where(settings.csv_path),
                where(settings.txt_path),
                settings.report_mode,
                outstanding=(where(settings.outstanding_path), iter_outstanding(plan, results)) if lookback else None,
                stale_outstanding=None if lookback else where(settings.outstanding_path),
            )
        except ReportError as exc:
            outcome.errors.append(f"reports not written: {exc}")
            log.error("run %s: %s", plan.run_id, outcome.errors[-1])
        if plan.dry_run and outcome.summary is not None:
            log.info("run %s: dry run: reports written to %s", plan.run_id, outcome.summary.csv_path.parent)
    if outcome.summary is not None and lookback and not plan.dry_run:
        try:  # remembered once the reports that list the names are in place (contract §8)
            memory.save(plan.day, settings.lookback_days, settings.report_mode)
        except StatusFileError as exc:
            outcome.errors.append(str(exc))
            log.error("run %s: %s", plan.run_id, outcome.errors[-1])
    outcome.outcome, outcome.exit_code = outcome_rule(
        dry_run=plan.dry_run,
        # No report (every group failed): nothing was checked, so the run failed (contract §15).
        errors=bool(outcome.errors) or outcome.summary is None,
        failed_groups=bool(failed),
        no_input=bool(outcome.no_input),
        empty_input=settings.empty_input,
    )
    if not plan.dry_run:
        _send_report(settings, plan, outcome, journal)
        guard()
        _record_status(settings, plan, outcome, journal)
        if lost:
            outcome.outcome = Outcome.LOST
    end_run(RunEnd.of(settings, outcome, trigger=plan.trigger, journal=journal))
    return outcome


def _read_day_input(settings: Settings, plan: Plan) -> DayInput:
    """The run's one query for the whole day (contract §14), on this thread's shared warehouse:
    in a Celery worker the connection its groups keep open (DuckDB's pages stay warm)."""
    try:
        return read_day_input(lambda: shared_warehouse(settings.warehouse_url), settings, run_id=plan.run_id)
    except Exception as exc:  # a bug here must not cost the run its reports
        return not_read(settings.day, exc, plan.run_id)


def end_superseded(settings: Settings, plan: Plan, exc: LockLost, journal: DeliveryJournal | None = None) -> None:
    """Another run took the job (the lock expired or was taken over; contract §15): this run
    writes nothing more. Its end is recorded, and unless its report already went out, its
    failure notice names the run that holds the job now (LockLost's text)."""
    report = exc.outcome if isinstance(exc.outcome, RunOutcome) else None
    end_run(
        RunEnd(
            settings,
            plan.run_id,
            plan.day.isoformat(),
            Outcome.FAILED,
            EXIT_FAILED,
            report,
            message=f"{mask_secrets(exc)}; another run holds the job, so this run wrote nothing more",
            trigger=plan.trigger,
            dry_run=plan.dry_run,
            journal=journal,
        )
    )


def end_interrupted(settings: Settings, plan: Plan, reason: str) -> RunOutcome:
    """A run stopped by SIGTERM or SIGINT (contract §13): no reports (the previous ones stay),
    no report email; the status file as for a failure, with the ticket by the episode rule;
    its end recorded as `interrupted`."""
    return _end_early(settings, plan, Outcome.INTERRUPTED, f"{reason}; no reports were written")


def end_failed(settings: Settings, plan: Plan, reason: str) -> RunOutcome:
    """A local run whose finalize could not write the status file (contract §13): it still
    ends through the boundary, `failed`, naming the path and the error. (On the cluster the
    same error reaches the chord's error handler, which frees the job.)"""
    return _end_early(settings, plan, Outcome.FAILED, reason, record_status=False)


def _end_early(settings: Settings, plan: Plan, kind: Outcome, reason: str, *, record_status: bool = True) -> RunOutcome:
    outcome = RunOutcome(plan.run_id, plan.day.isoformat(), kind, EXIT_FAILED, errors=[reason])
    log.error("run %s: %s", plan.run_id, reason)
    if record_status and not plan.dry_run:
        try:
            _record_status(settings, plan, outcome, MemoryJournal())
        except StatusFileError as exc:
            outcome.errors.append(str(exc))
            log.error("run %s: %s", plan.run_id, exc)
    end_run(RunEnd.of(settings, outcome, trigger=plan.trigger))
    return outcome


def _send_report(settings, plan, outcome: RunOutcome, journal: DeliveryJournal) -> None:
    if outcome.summary is None or outcome.analysis is None:  # no reports: the ticket says why
        return
    if journal.was_sent(plan.run_id, "report"):
        log.info("run %s: report email already sent; not sending it again", plan.run_id)
        outcome.email = "already sent"
        return
    message = build_report_message(
        settings,
        day=plan.day,
        run_id=plan.run_id,
        summary=outcome.summary,
        analysis=outcome.analysis,
        failed_groups=outcome.failed_groups,
        outcome=outcome.outcome,
        total_groups=outcome.total_groups,
        inputs=input_findings(outcome.analysis, settings),
    )
    try:
        delivery = deliver(settings, message, kind="report", run_id=plan.run_id)
    except MailError as exc:  # its text names the outbox copy, when one was kept
        outcome.report_undelivered = True
        outcome.errors.append(f"report email not delivered: {mask_secrets(exc)}")
        log.error("run %s: %s", plan.run_id, outcome.errors[-1])
        return
    journal.mark_sent(plan.run_id, "report")
    outcome.email = str(delivery.path) if delivery.path else f"smtp to {len(delivery.recipients)} recipients"


def _record_status(settings, plan, outcome: RunOutcome, journal: DeliveryJournal) -> None:
    if outcome.errors and outcome.outcome != Outcome.INTERRUPTED:
        outcome.outcome = Outcome.FAILED  # e.g. the email could not be delivered
    if outcome.outcome == Outcome.SUCCESS:
        statusfile.record_success(settings.status_file, settings.now().strftime("%Y-%m-%d %H:%M:%S"))
        outcome.exit_code = EXIT_OK
        return
    outcome.exit_code = EXIT_FAILED
    no_input = outcome.no_input if settings.empty_input == "fail" else []
    total = outcome.total_groups
    reason = "; ".join(
        [f"groups failed: {e.describe(total)}" for e in distinct_errors(outcome.failed_groups)]
        + (
            [
                f"no input on {plan.day} for process(es) {', '.join(no_input)}: nothing was "
                "received for any configured customer (the upstream load did not run, or has not "
                "run yet)"
            ]
            if no_input
            else []
        )
        + outcome.errors
    )

    def raise_ticket() -> None:
        ticket = build_sdp_ticket(settings, day=plan.day, run_id=plan.run_id, reason=reason, no_input=no_input)
        deliver(settings, ticket, kind="sdp-ticket", run_id=plan.run_id)
        journal.mark_sent(plan.run_id, "sdp-ticket")

    try:
        outcome.ticket_raised = statusfile.record_failure(settings.status_file, raise_ticket)
    except MailError as exc:  # not raised: the next failure tries again (flag stays No)
        outcome.errors.append(f"SDP ticket not delivered: {mask_secrets(exc)}")
        log.error("run %s: %s", plan.run_id, outcome.errors[-1])
        return
    if outcome.ticket_raised:
        log.warning("run %s: service-desk ticket raised to %s", plan.run_id, ", ".join(settings.sdp_to))
    else:
        log.warning(
            "run %s: a service-desk ticket is already open for this failure episode; no second ticket", plan.run_id
        )
