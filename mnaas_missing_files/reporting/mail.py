"""The report email, the SDP ticket email, and their delivery (contract §3, §4, §9).

The report's subject and bodies are mailbody.py's.

Delivery goes through SMTP when MNAAS_SMTP_URL is set, else into MNAAS_OUTBOX_DIR as one
`.eml` file. A message SMTP could not take is still written to the outbox, so nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path
from typing import Any, NoReturn

from mnaas_missing_files.config.smtp_url import SmtpTarget, parse_smtp_url
from mnaas_missing_files.core.errors import ConfigError, MailError, TransientMailError
from mnaas_missing_files.core.fsio import atomic_write, os_error
from mnaas_missing_files.core.retry import RetryPolicy
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.reporting import mailbody
from mnaas_missing_files.reporting.attachments import Attachment, body_size, make_attachment, megabytes
from mnaas_missing_files.reporting.inputs import NO_FINDINGS, InputFindings
from mnaas_missing_files.reporting.reports import ReportSummary, check_file_mode
from mnaas_missing_files.reporting.smtp import send_once

__all__ = [
    "Delivery",
    "SmtpTarget",
    "build_report_message",
    "build_sdp_ticket",
    "deliver",
    "envelope_recipients",
    "parse_smtp_url",
    "save_to_outbox",
]

log = logging.getLogger(__name__)

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")

# Contract §15: the HTML part under 100 KB (102,400 bytes) after transfer decoding, where
# common mail clients cut a message; the measure aims a little lower.
HTML_MAX_BYTES = 100_000


@dataclass(frozen=True)
class Delivery:
    via: str  # "smtp" | "outbox"
    path: Path | None
    recipients: list[str]
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)


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
    msg = _new_message(settings, "report", day, run_id, settings.mail_from, settings.mail_to, settings.mail_cc)
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
    msg = _new_message(settings, "sdp", day, run_id, sender, settings.sdp_to, settings.sdp_cc)
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


def deliver(
    settings: Any, msg: EmailMessage, *, kind: str, run_id: str, sleep: Callable[[float], None] = time.sleep
) -> Delivery:
    recipients = envelope_recipients(msg)
    if not settings.smtp_url:
        path = save_to_outbox(settings, msg, kind=kind, run_id=run_id)
        log.info("%s email of run %s written to %s", kind, run_id, path)
        return Delivery("outbox", path, recipients)
    try:
        target = parse_smtp_url(settings.smtp_url)
    except ConfigError as exc:
        _fail_to_outbox(settings, msg, kind, run_id, f"cannot send the {kind} email: {exc}")
    if not recipients:
        _fail_to_outbox(settings, msg, kind, run_id, f"the {kind} email has no recipients")
    sender = msg["From"].addresses[0].addr_spec
    policy = RetryPolicy(max(1, int(settings.mail_attempts)), settings.retry_backoff)
    attempts = policy.attempts
    for attempt in range(1, attempts + 1):
        try:
            refused = send_once(target, msg, sender, recipients)
        except TransientMailError as exc:
            last = exc
            if policy.retries(exc, attempt):
                delay = policy.delay(attempt)
                log.warning(
                    "%s email of run %s not sent (attempt %d of %d): %s; retrying in %.1fs",
                    kind,
                    run_id,
                    attempt,
                    attempts,
                    exc,
                    delay,
                )
                sleep(delay)
            continue
        except MailError as exc:
            _fail_to_outbox(
                settings, msg, kind, run_id, f"the {kind} email was refused by {target.address} and not retried: {exc}"
            )
        if refused:
            log.warning(
                "%s email of run %s sent via %s, but these recipients were refused: %s",
                kind,
                run_id,
                target.address,
                "; ".join(f"{a} ({c} {t})" for a, (c, t) in refused.items()),
            )
        log.info(
            "%s email of run %s sent via %s to %d recipient(s)",
            kind,
            run_id,
            target.address,
            len(recipients) - len(refused),
        )
        return Delivery("smtp", None, recipients, refused)
    _fail_to_outbox(
        settings,
        msg,
        kind,
        run_id,
        f"the {kind} email could not be sent via {target.address} after {attempts} attempt(s): {last}",
    )


def save_to_outbox(settings: Any, msg: EmailMessage, *, kind: str, run_id: str) -> Path:
    """One `<day>_<run_id>_<kind>.eml` file, written atomically, never world-writable. When
    it cannot be written the message goes whole into the log (it must not be lost) and
    MailError names the path and the error."""
    day = msg.get("X-MNAAS-Day") or str(settings.day)
    name = "_".join(_safe_name_part(part) for part in (day, run_id, kind)) + ".eml"
    mode = getattr(settings, "report_mode", 0o640)
    path = Path(settings.outbox_dir) / name
    try:
        return atomic_write(path, msg.as_bytes(), check_file_mode(mode))
    except OSError as exc:
        problem = f"cannot save the {kind} email to the outbox {path}: {os_error(exc)}"
        log_whole_message(msg, f"run {run_id}: {problem}")
        raise MailError(problem) from None


# An attachment larger than this is left out of the log: it is one of the run's reports,
# which are on disk (or were not written, and then the message says why).
WHOLE_IN_LOG_MAX = 256 * 1024


def log_whole_message(msg: EmailMessage, why: str) -> None:
    """The email as it would have been sent, readable, in the log: the last place it can be
    kept. Headers, then every part decoded (no quoted-printable or base64 to undo)."""
    lines = [f"{name}: {value}" for name, value in msg.items()]
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        lines.append(f"--- {part.get_content_type()}" + (f" attachment {name}" if name else "") + " ---")
        content = part.get_content()
        if isinstance(content, bytes):
            content = content.decode("utf-8", errors="replace")
        if len(content) > WHOLE_IN_LOG_MAX:
            content = f"[{len(content)} characters left out of the log]"
        lines.append(content.rstrip("\n"))
    log.error("%s; the message follows whole, so it is not lost:\n%s", why, "\n".join(lines))


def envelope_recipients(msg: EmailMessage) -> list[str]:
    addresses: list[str] = []
    for header_name in ("To", "Cc", "Bcc"):
        for header in msg.get_all(header_name, []):
            for address in header.addresses:
                if "@" in address.addr_spec:
                    addresses.append(address.addr_spec)
                else:  # one malformed address must not cost everyone else the email
                    log.warning("skipping malformed %s address %r", header_name, str(address))
    return list(dict.fromkeys(addresses))


def _fail_to_outbox(settings: Any, msg: EmailMessage, kind: str, run_id: str, problem: str) -> NoReturn:
    try:
        path = save_to_outbox(settings, msg, kind=kind, run_id=run_id)
    except MailError as exc:  # logged whole by save_to_outbox
        raise MailError(f"{problem}; the outbox copy failed too: {exc}") from None
    log.error("%s; a copy was saved to %s", problem, path)
    raise MailError(f"{problem}; a copy was saved to {path}", saved_to=str(path))


def _new_message(
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
    parts = "-".join(_safe_name_part(p) for p in (kind, str(day), run_id))
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


def _safe_name_part(text: str) -> str:
    return _UNSAFE_IN_NAME.sub("_", str(text)).strip("._") or "x"
