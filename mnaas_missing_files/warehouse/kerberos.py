"""Kerberos for the Impala warehouse (auth_mechanism=GSSAPI, contract §17): tickets from a
keytab, what the doctor and the metrics say about them, and GSSAPI failures in operators' words.

With MNAAS_KERBEROS_KEYTAB, a process (`run`, `submit`, each Celery pool process, beat) calls
`login_with_keytab`: MIT's client keytab initiation (KRB5_CLIENT_KTNAME) then gets its tickets
from the keytab into a credential cache in the process's memory, whatever KRB5CCNAME said, and
gets fresh ones once they are half-way through their life. Nothing is written to disk and no
two processes share a cache, so nothing needs cron, a sidecar or a lock. Before each new
warehouse connection `ensure_ticket` acquires the credential: that is where a ticket that
ended is replaced, before the handshake that needs it. An open connection needs no ticket.
Without a keytab the environment's cache (KRB5CCNAME or the system default) is only read.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mnaas_missing_files.core.errors import (
    KerberosServiceUnknown,
    KerberosTicketMissing,
    TransientWarehouseError,
    WarehouseError,
)
from mnaas_missing_files.warehouse.gss import GssFailure, acquire_credential

log = logging.getLogger(__name__)

# GSS major status codes (RFC 2744) and MIT's Kerberos error codes (signed com_err values).
GSS_S_NO_CRED = 7 << 16
GSS_S_CREDENTIALS_EXPIRED = 11 << 16
KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN = -1765328378
KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN = -1765328377
KRB5KRB_AP_ERR_TKT_EXPIRED = -1765328352
KRB5_KDC_UNREACH = -1765328228
KRB5_REALM_CANT_RESOLVE = -1765328164
_KDC_UNREACHABLE = re.compile(r"cannot (contact|find) (any )?KDC|resolve network address for KDC", re.I)
_SERVER_UNKNOWN = re.compile(r"Server (\S+) not found in Kerberos database", re.I)
_NOT_IN_KEYTAB = re.compile(r"key ?table entry not found|no key table entry|keytab .* not found", re.I)


@dataclass(frozen=True)
class KeytabLogin:
    keytab: Path
    principal: str | None  # None: the keytab's first principal


_login: KeytabLogin | None = None
_logins = itertools.count(1)


def login_with_keytab(keytab: Path | None, principal: str | None) -> None:
    """From now on this process gets and renews its own tickets from `keytab` (None: it uses
    the environment's credential cache, read-only, as before)."""
    global _login
    if keytab is None:
        _login = None
        return
    os.environ["KRB5_CLIENT_KTNAME"] = f"FILE:{keytab}"
    # A cache of this process and this login alone (a forked pool process logs in again).
    os.environ["KRB5CCNAME"] = f"MEMORY:mnaas-missing-files-{os.getpid()}-{next(_logins)}"
    _login = KeytabLogin(Path(keytab), principal)


def login_from_settings(settings) -> None:
    """login_with_keytab for a job whose warehouse is Impala with GSSAPI (else nothing)."""
    if is_gssapi(settings.warehouse_url):
        login_with_keytab(settings.kerberos_keytab, settings.kerberos_principal)


def is_gssapi(url: str) -> bool:
    if not url.startswith("impala:"):
        return False
    from mnaas_missing_files.config.impala_url import parse_impala_url

    return parse_impala_url(url).auth_mechanism == "GSSAPI"


@dataclass(frozen=True)
class TicketStatus:
    """The doctor's and the metrics' view: whose ticket, until when, or what is wrong."""

    principal: str | None
    expires: dt.datetime | None  # UTC
    problem: str | None = None

    def describe(self) -> str:
        if self.problem or self.expires is None:
            return self.problem or "no ticket"
        left = max(0, int((self.expires - dt.datetime.now(dt.UTC)).total_seconds())) // 60
        return (
            f"ticket of {self.principal} valid until {self.expires:%Y-%m-%d %H:%M:%S} UTC "
            f"({left // 60} h {left % 60} min left)"
        )


def ensure_ticket(where: str = "Kerberos") -> TicketStatus:
    """Acquire this process's credential (from the keytab when one is in use: a new ticket
    if the cached one ended or nears its end). Raises the classified WarehouseError."""
    principal = _login.principal if _login else None
    try:
        credential = acquire_credential(principal)
    except GssFailure as failure:
        raise classify_gss_failure(
            failure.major, failure.major_text, failure.minor, failure.minor_text, where
        ) from None
    if credential.lifetime <= 0:
        raise classify_gss_failure(0, "", KRB5KRB_AP_ERR_TKT_EXPIRED, "Ticket expired", where)
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=credential.lifetime)
    return TicketStatus(credential.principal, expires)


def kerberos_ticket_status(settings) -> TicketStatus | None:
    """For `doctor` and the metrics: None when the warehouse does not use GSSAPI; else the
    principal in full and the ticket's end, or the problem in operators' words. Obtains a
    ticket from the keytab into this process's memory when one is configured; never writes
    the environment's cache."""
    if not is_gssapi(settings.warehouse_url):
        return None
    wanted = (
        KeytabLogin(Path(settings.kerberos_keytab), settings.kerberos_principal) if settings.kerberos_keytab else None
    )
    if wanted is not None and _login != wanted:
        login_with_keytab(settings.kerberos_keytab, settings.kerberos_principal)
    try:
        return ensure_ticket()
    except WarehouseError as exc:
        return TicketStatus(_login.principal if _login else None, None, str(exc))


def classify_gss_failure(
    major: int, major_text: str, minor: int, minor_text: str, where: str, *, service: str | None = None
) -> WarehouseError:
    """A GSSAPI failure as the product's error (contract §17): the library's reason text,
    never its exception type, and what to do."""
    reason = "; ".join(t for t in (minor_text, major_text) if t and "Minor code may provide" not in t) or "failed"
    if minor in (KRB5_KDC_UNREACH, KRB5_REALM_CANT_RESOLVE) or _KDC_UNREACHABLE.search(minor_text):
        return TransientWarehouseError(
            f"{where}: Kerberos KDC unreachable ({reason}); check the KDC and the realm's kdc entries in krb5.conf"
        )
    unknown_server = _SERVER_UNKNOWN.search(minor_text)
    if minor == KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN or unknown_server:
        asked = unknown_server.group(1) if unknown_server else (service or "the service principal")
        return KerberosServiceUnknown(
            f"{where}: the KDC does not know the service principal {asked} ({reason}); set kerberos_service_name "
            "(the part before '/') and krb_host (the host name after it, as the server's keytab names it) in "
            "MNAAS_WAREHOUSE_URL to the server's principal"
        )
    if minor == KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN or _NOT_IN_KEYTAB.search(minor_text):
        return KerberosTicketMissing(
            f"{where}: the client principal cannot log in ({reason}); MNAAS_KERBEROS_PRINCIPAL must be a principal "
            "of MNAAS_KERBEROS_KEYTAB (klist -kt KEYTAB lists them) that the KDC knows"
        )
    if major in (GSS_S_NO_CRED, GSS_S_CREDENTIALS_EXPIRED) or minor == KRB5KRB_AP_ERR_TKT_EXPIRED:
        return KerberosTicketMissing(
            f"{where}: no valid Kerberos ticket ({reason}); set MNAAS_KERBEROS_KEYTAB (and MNAAS_KERBEROS_PRINCIPAL) "
            "so that every process gets and renews its own, or run `kinit -kt KEYTAB PRINCIPAL` as the user "
            "running the job"
        )
    return WarehouseError(f"{where}: Kerberos authentication failed ({reason})")


def classify_gss_error(exc: BaseException, where: str, *, service: str | None = None) -> WarehouseError | None:
    """The `kerberos` package's GSSError (args: (major text, major), (minor text, minor)) as
    classify_gss_failure's error; None for anything else."""
    try:
        import kerberos
    except ImportError:
        return None
    if not isinstance(exc, kerberos.GSSError):
        return None
    try:
        (major_text, major), (minor_text, minor) = exc.args[:2]
    except (TypeError, ValueError):
        return WarehouseError(f"{where}: Kerberos authentication failed ({exc})")
    return classify_gss_failure(int(major), str(major_text), int(minor), str(minor_text), where, service=service)
