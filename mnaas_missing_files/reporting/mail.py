"""The report email and the SDP ticket email, built (contract §3, §4, §9); and the headers
every email of the job carries (the failure notice's and the deadline alert's too).

The report's subject and bodies are mailbody.py's; sending is maildelivery.py's.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
from collections.abc import Iterable
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.reporting import mailbody
from mnaas_missing_files.reporting.attachments import Attachment, body_size, make_attachment, megabytes
from mnaas_missing_files.reporting.inputs import NO_FINDINGS, InputFindings
from mnaas_missing_files.reporting.reports import ReportSummary

__all__ = ["address_list", "build_report_message", "build_sdp_ticket", "new_message", "safe_name_part"]

log = logging.getLogger(__name__)

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")

# Contract §15: the HTML part under 100 KB (102,400 bytes) after transfer decoding, where
# common mail clients cut a message; the measure aims a little lower.
HTML_MAX_BYTES = 100_000


def build_report_message(
    settings: Any,
    *,
    day: dt.date,
    run_id: str,
    summary: ReportSummary,
    analysis: Any,
    failed_groups: dict[str, str],
    outcome: str = "success",
    total_groups: int | None = None,
    inputs: InputFindings = NO_FINDINGS,
) -> EmailMessage:
    """The report email (contract §9, §15). A report above MNAAS_MAIL_GZIP_ABOVE is attached
    gzip-compressed; if the message would still exceed MNAAS_MAIL_MAX_BYTES it names the
    report paths instead of carrying the files, so the relay never refuses the day's only
    email. The outstanding report is attached when it has rows. An HTML part over
    HTML_MAX_BYTES shows half the pairs and names, again until it fits."""
    msg = new_message(settings, "report", day, run_id, settings.mail_from, settings.mail_to, settings.mail_cc)
    msg["Subject"] = mailbody.subject(settings, day, analysis, failed_groups, total_groups, inputs)
    files = [Path(summary.csv_path), Path(summary.txt_path)]
    if summary.outstanding_path is not None and summary.outstanding_files:
        files.append(Path(summary.outstanding_path))
    gzip_above = getattr(settings, "mail_gzip_above", 5 * 1024 * 1024)
    candidates = [make_attachment(path, gzip_above) for path in files]
    attached: list[Attachment] | None = candidates

    chosen = mailbody.action_pairs(analysis)  # sorted once: a large day has a million pairs

    def bodies(attached, too_large=None) -> tuple[str, str]:
        pairs, names = None, None  # the settings' caps first
        while True:
            text, page = mailbody.render(
                mailbody.view(
                    settings,
                    day=day,
                    run_id=run_id,
                    summary=summary,
                    analysis=analysis,
                    outcome=outcome,
                    failed_groups=failed_groups,
                    files=files,
                    attached=attached,
                    too_large=too_large,
                    total_groups=total_groups,
                    inputs=inputs,
                    pairs_limit=pairs,
                    names_total=names,
                    chosen=chosen,
                )
            )
            # As sent: the SMTP policy ends every line with CRLF.
            if len(page.encode("utf-8")) + page.count("\n") <= HTML_MAX_BYTES or pairs == 0:
                return text, page
            pairs = (settings.mail_pairs if pairs is None else pairs) // 2
            names = (settings.mail_names_total if names is None else names) // 2

    text, page = bodies(attached)
    limit = getattr(settings, "mail_max_bytes", 20 * 1024 * 1024)
    size = body_size(text, page) + sum(a.encoded_size() for a in candidates)
    if size > limit:
        log.warning(
            "run %s: the report email would be about %s with the reports attached, above "
            "MNAAS_MAIL_MAX_BYTES (%s); sending the report paths instead",
            run_id,
            megabytes(size),
            megabytes(limit),
        )
        attached = None
        text, page = bodies(attached, (size, limit))
    msg.set_content(text)
    msg.add_alternative(page, subtype="html")
    for item in attached or ():
        if item.gzipped:
            msg.add_attachment(item.data, maintype="application", subtype="gzip", filename=item.filename)
        else:
            # bytes + base64 so the attachment is byte-identical to the file on disk
            subtype = "csv" if item.path.suffix == ".csv" else "plain"
            msg.add_attachment(
                item.data, maintype="text", subtype=subtype, filename=item.filename, params={"charset": "utf-8"}
            )
    return msg


def build_sdp_ticket(
    settings: Any, *, day: dt.date, run_id: str, reason: str, no_input: Iterable[str] = ()
) -> EmailMessage:
    sender = getattr(settings, "sdp_from", None) or settings.mail_from
    msg = new_message(settings, "sdp", day, run_id, sender, settings.sdp_to, settings.sdp_cc)
    no_input = list(no_input)
    prefix = "NO INPUT - " if no_input else ""
    msg["Subject"] = f"{prefix}{settings.script_name} failed in {settings.env_mode} for {day}"
    config = getattr(settings, "config_path", None)
    rerun = f"mnaas-missing-files run --date {day}" + (f" --config {config}" if config else "")
    msg.set_content(
        "\n".join(
            [
                f"The daily job {settings.script_name} failed in {settings.env_mode} for {day}.",
                "",
                f"What failed: {mask_secrets(reason)}",
                *([f"No input:    {', '.join(no_input)}"] if no_input else []),
                f"Run id:      {run_id}",
                f"Host:        {socket.gethostname()}",
                f"Log file:    {settings.log_path}",
                f"Status file: {settings.status_file}",
                "",
                "The status file now holds MNAAS_Daily_ProcessStatusFlag=1,",
                "MNAAS_job_status=Failure and MNAAS_email_sdp_created=Yes: no further ticket",
                "is raised for this job until a run succeeds. Once the cause is fixed, run",
                "the day again with:",
                f"  {rerun}",
                "",
            ]
        )
    )
    return msg


def new_message(
    settings: Any, kind: str, day: dt.date, run_id: str, sender: str, to: Iterable[str] | str, cc: Iterable[str] | str
) -> EmailMessage:
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = sender
    to_list, cc_list = address_list(to), address_list(cc)
    if to_list:
        msg["To"] = ", ".join(to_list)
    if cc_list:
        msg["Cc"] = ", ".join(cc_list)
    domain = sender.rpartition("@")[2].strip(" >") or "localhost"
    # One id per run and kind: a resend after a crash is recognisable as the same email.
    parts = "-".join(safe_name_part(p) for p in (kind, str(day), run_id))
    msg["Message-ID"] = f"<mnaas-missing-files.{parts}@{domain}>"
    msg["Date"] = format_datetime(dt.datetime.now().astimezone())
    msg["X-MNAAS-Run-Id"] = run_id
    msg["X-MNAAS-Day"] = str(day)
    msg["X-MNAAS-Kind"] = kind
    msg["Auto-Submitted"] = "auto-generated"  # keeps out-of-office replies off the job
    return msg


def address_list(value: Iterable[str] | str | None) -> list[str]:
    """Addresses from a tuple and/or comma-, semicolon- or space-separated text, each once."""
    if not value:
        return []
    entries = [value] if isinstance(value, str) else list(value)
    found: list[str] = []
    for entry in entries:
        entry = entry.strip()
        if "<" in entry:  # "Display Name <addr>" keeps its spaces
            found.append(entry)
        else:
            found.extend(part for part in re.split(r"[,;\s]+", entry) if part)
    return list(dict.fromkeys(found))


def safe_name_part(text: str) -> str:
    return _UNSAFE_IN_NAME.sub("_", str(text)).strip("._") or "x"
