"""MNAAS_SMTP_URL and one SMTP delivery attempt.

`send_once` turns every failure into either TransientMailError (worth another attempt:
connection refused or reset, timeouts, 4xx replies) or MailError (retrying cannot help: 5xx,
refused credentials, TLS misconfiguration). Messages name host:port, never the password.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage

from mnaas_missing_files.config.smtp_url import SmtpTarget
from mnaas_missing_files.core.errors import MailError, TransientMailError


def send_once(target: SmtpTarget, msg: EmailMessage, sender: str, recipients: list[str]) -> dict[str, tuple[int, str]]:
    """One connection, one message. Returns the recipients the server refused while it
    accepted others (the message went out; those addresses need a human)."""
    try:
        client = _session(target)
        try:
            refused = client.send_message(msg, from_addr=sender, to_addrs=recipients)
        finally:
            _close_quietly(client)
    except Exception as exc:
        raise _classify(target, exc) from None
    return {addr: (code, _text(reply)) for addr, (code, reply) in refused.items()}


def probe(target: SmtpTarget) -> str:
    """Connect, EHLO, STARTTLS and log in as a delivery would, then quit without sending
    anything (`doctor`). Returns what the server calls itself; raises as send_once does."""
    try:
        client = _session(target)
        try:
            client.ehlo_or_helo_if_needed()
            return _text(client.ehlo_resp or b"").split("\n", 1)[0].strip()
        finally:
            _close_quietly(client)
    except Exception as exc:
        raise _classify(target, exc) from None


def _session(target: SmtpTarget) -> smtplib.SMTP:
    """A connection ready to take a message: TLS and login as the URL asks."""
    client = _connect(target)
    try:
        if target.starttls:
            client.starttls(context=target.tls_context())
            client.ehlo()
        if target.user:
            client.login(target.user, target.password or "")
    except BaseException:
        client.close()
        raise
    return client


def _connect(target: SmtpTarget) -> smtplib.SMTP:
    # gethostname, not smtplib's getfqdn default: a reverse DNS lookup can hang for minutes.
    local_name = socket.gethostname() or "localhost"
    if target.scheme == "smtps":
        return smtplib.SMTP_SSL(
            target.host, target.port, local_hostname=local_name, timeout=target.timeout, context=target.tls_context()
        )
    return smtplib.SMTP(target.host, target.port, local_hostname=local_name, timeout=target.timeout)


def _close_quietly(client: smtplib.SMTP) -> None:
    # The message is accepted once DATA got its 250; a grumpy QUIT must not cause a resend.
    try:
        client.quit()
    except Exception:
        client.close()


def _classify(target: SmtpTarget, exc: Exception) -> MailError:
    where = target.address
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{addr}: {code} {_text(reply)}" for addr, (code, reply) in exc.recipients.items())
        error = TransientMailError if codes and all(400 <= c < 500 for c in codes) else MailError
        return error(target.scrub(f"{where} refused every recipient: {detail}"))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        error = TransientMailError if 400 <= exc.smtp_code < 500 else MailError
        return error(
            target.scrub(f"{where} refused the login of user {target.user!r}: {exc.smtp_code} {_text(exc.smtp_error)}")
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        error = TransientMailError if 400 <= exc.smtp_code < 500 else MailError
        return error(target.scrub(f"{where} replied {exc.smtp_code} {_text(exc.smtp_error)}"))
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientMailError(target.scrub(f"{where} closed the connection: {exc}"))
    if isinstance(exc, smtplib.SMTPException):
        return MailError(target.scrub(f"{where}: {exc}"))
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return TransientMailError(target.scrub(f"{where}: TLS connection cut: {exc}"))
    if isinstance(exc, ssl.SSLError):
        return MailError(
            target.scrub(f"{where}: TLS failed ({exc}); check cafile=/verify= and smtp:// versus smtps://")
        )
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return TransientMailError(f"{where}: timed out after {target.timeout:g}s")
    if isinstance(exc, OSError):
        return TransientMailError(target.scrub(f"{where}: {exc.strerror or exc}"))
    return MailError(target.scrub(f"{where}: {type(exc).__name__}: {exc}"))


def _text(reply) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return str(reply)
