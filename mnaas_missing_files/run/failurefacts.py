"""What a failure notice says about a run that ended without a report (contract §15), worked
out from what the end-of-run boundary knows: the run's outcome record when it got that far,
else only the reason it was abandoned, lost or superseded."""

from __future__ import annotations

import datetime as dt
import re

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.reporting.failures import distinct_errors
from mnaas_missing_files.reporting.notice import FailureFacts
from mnaas_missing_files.run.outcome import RunOutcome

CAUSE_MAX = 90  # a subject an inbox shows whole


def short(text: str, limit: int = CAUSE_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def gist(error: str) -> str:
    """`TransientWarehouseError: Impala h:21050 unreachable or connection lost: TTransport…`
    -> `Impala h:21050 unreachable or connection lost`: the error's first clause, no class."""
    text = re.sub(r"^[A-Za-z_.]*(Error|Exception): ", "", mask_secrets(error))
    return short(text.split(": ", 1)[0], 70)


def cause_of(outcome: Outcome, report: RunOutcome | None, message: str) -> str:
    """The subject's few words: what stopped the run, the most telling fact first."""
    if outcome == Outcome.LOST:
        return "the run was lost (its process or worker died)"
    if outcome == Outcome.INTERRUPTED:
        return "the run was interrupted (SIGTERM or SIGINT)"
    if report is not None and report.total_groups and len(report.failed_groups) == report.total_groups:
        errors = distinct_errors(report.failed_groups)
        what = gist(errors[0].error) if len(errors) == 1 else f"{len(errors)} different errors"
        return f"all {report.total_groups} groups failed: {what}"
    first = (report.errors[0] if report and report.errors else "") or message or "the run could not finish"
    return gist(first)


def failure_facts(
    settings: Settings, run_id: str, day: str, outcome: Outcome, report: RunOutcome | None, message: str
) -> FailureFacts:
    what = list(report.errors) if report else []
    if message and message not in what:
        what.append(message)
    known = []
    if report is not None and report.total_groups:
        returned = report.total_groups - len(report.failed_groups)
        known.append(f"{returned} of {report.total_groups} groups returned results")
    if report is None or report.summary is None:
        known.append(
            f"No report was written for {day}; whatever is at {settings.csv_path} and {settings.txt_path} "
            "is from an earlier run (or absent)"
        )
    if report is not None and outcome != Outcome.LOST and not message:  # its status file was recorded
        known.append(
            "an SDP ticket was raised for this failure"
            if report.ticket_raised
            else "no new SDP ticket: one is already open for this failure episode (MNAAS_email_sdp_created=Yes)"
        )
    known.append(f"the status file's flag ({settings.status_file}) stays 1 until a run of the job succeeds")
    return FailureFacts(
        day=dt.date.fromisoformat(day),
        run_id=run_id,
        outcome=str(outcome),
        cause=cause_of(outcome, report, message),
        what_failed=what,
        failed_groups=report.failed_groups if report else {},
        total_groups=report.total_groups if report else None,
        known=known,
    )
