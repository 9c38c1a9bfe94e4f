"""The failure notice (contract §15): the one message of a run that could not make a report
(every group failed, the reports could not be written, the lock was lost, the run was
interrupted or found lost). To and Cc as the report, whether or not an SDP ticket is open:
the ticket is deduplicated per failure episode, the email is not.

Subject `FAILED - Missing customer files D: <cause in a few words>`; the body says what
failed, each distinct error once (how many groups, which processes), what is known and what
to do, in plain text and in a small HTML part with the same lines.
"""

from __future__ import annotations

import datetime as dt
import html
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.reporting.failures import distinct_errors
from mnaas_missing_files.reporting.mail import new_message
from mnaas_missing_files.reporting.mailbody import env_prefix

NOTICE_KIND = "failure-notice"
RED = "#b91c1c"


@dataclass(frozen=True)
class FailureFacts:
    """What a notice tells, worked out by the end-of-run boundary (run/ending.py)."""

    day: dt.date
    run_id: str
    outcome: str
    cause: str  # a few words, for the subject
    what_failed: list[str] = field(default_factory=list)  # whole sentences, each once
    failed_groups: dict[str, str] = field(default_factory=dict)
    total_groups: int | None = None
    known: list[str] = field(default_factory=list)


def notice_subject(settings: Any, facts: FailureFacts) -> str:
    return f"{env_prefix(settings)}FAILED - Missing customer files {facts.day}: {facts.cause}"


def advice(settings: Any, facts: FailureFacts) -> list[tuple[str, str]]:
    """(what to do, the command for it, or "")."""
    config = getattr(settings, "config_path", None)
    suffix = f" --config {config}" if config else ""
    return [
        (f"See why (and the log {settings.log_path}):", f"mnaas-missing-files status --run {facts.run_id}{suffix}"),
        (
            "Fix the cause (the errors above), then run the day again:",
            f"mnaas-missing-files run --date {facts.day}{suffix}",
        ),
        ("Until a run of the day succeeds, do not read the day's reports as its check: they are an earlier run's.", ""),
    ]


def notice_lines(settings: Any, facts: FailureFacts) -> dict[str, list[tuple[str, str]]]:
    """The body's sections, each a list of (line, command or ""); both parts render these."""
    errors = [e.describe(facts.total_groups) for e in distinct_errors(facts.failed_groups)]
    return {
        "What failed": [(mask_secrets(line), "") for line in [*facts.what_failed, *errors]],
        "What is known": [(line, "") for line in facts.known],
        "What to do": advice(settings, facts),
    }


def build_failure_notice(settings: Any, facts: FailureFacts) -> EmailMessage:
    msg = new_message(
        settings, NOTICE_KIND, facts.day, facts.run_id, settings.mail_from, settings.mail_to, settings.mail_cc
    )
    msg["Subject"] = notice_subject(settings, facts)
    sections = notice_lines(settings, facts)
    headline = f"The run {facts.run_id} for {facts.day} failed: {facts.cause}. No report was made for this day."
    signature = f"{settings.script_name} ({settings.env_mode}) on {socket.gethostname()}"
    text = [headline, ""]
    for title, lines in sections.items():
        text.append(title.upper())
        for line, command in lines:
            text += [f"  - {line}", *([f"      {command}"] if command else [])]
        text.append("")
    msg.set_content("\n".join([*text, "-- ", signature, ""]))
    page = [
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>FAILED</title></head>',
        '<body style="margin:0;padding:16px;font:14px Arial,Helvetica,sans-serif;color:#111827">',
        f'<p style="margin:0 0 12px;padding:10px;background:{RED};color:#fff;font-size:15px">'
        f'<b style="font-size:17px">FAILED</b> &nbsp;{html.escape(headline)}</p>',
    ]
    for title, lines in sections.items():
        page.append(f'<h3 style="margin:12px 0 4px;font-size:15px">{html.escape(title)}</h3><ul style="margin:0">')
        for line, command in lines:
            code = f'<br><code style="background:#f3f4f6">{html.escape(command)}</code>' if command else ""
            page.append(f"<li>{html.escape(line)}{code}</li>")
        page.append("</ul>")
    page.append(f'<p style="color:#6b7280;font-size:12px">-- <br>{html.escape(signature)}</p></body></html>')
    msg.add_alternative("\n".join(page), subtype="html")
    return msg
