"""An email's delivery (contract §3, §9): through SMTP when MNAAS_SMTP_URL is set, with the
one retry policy, else into MNAAS_OUTBOX_DIR as one `.eml` file. A message SMTP could not
take is still written to the outbox, and one the outbox cannot take goes whole into the log,
so nothing is lost. The messages themselves are built by mail.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, NoReturn

from mnaas_missing_files.config.smtp_url import parse_smtp_url
from mnaas_missing_files.core.errors import ConfigError, MailError, TransientMailError
from mnaas_missing_files.core.fsio import atomic_write, os_error
from mnaas_missing_files.core.retry import RetryPolicy
from mnaas_missing_files.reporting.mail import safe_name_part
from mnaas_missing_files.reporting.reports import check_file_mode
from mnaas_missing_files.reporting.smtp import send_once

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    via: str  # "smtp" | "outbox"
    path: Path | None
    recipients: list[str]
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)


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
    name = "_".join(safe_name_part(part) for part in (day, run_id, kind)) + ".eml"
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
