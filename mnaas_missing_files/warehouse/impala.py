"""Impala over HiveServer2 (impyla): one reusable connection and error classification.
(The URL is parsed in impala_url.py.)

URL (MNAAS_WAREHOUSE_URL):
    impala://[user[:password]@]host[:port][/database]?auth_mechanism=NOSASL|PLAIN|LDAP|GSSAPI
        &use_ssl=1&ca_cert=/path/ca.pem&ssl_verify=1&kerberos_service_name=impala&krb_host=fqdn
        &timeout=SECONDS&query_timeout=SECONDS&database=db&password_env=VARNAME
Defaults: port 21050, NOSASL, no TLS, timeout 30 s (connect and each RPC), query_timeout
600 s (one query, end to end). With use_ssl the server certificate is verified, against
`ca_cert` when given, else against the system's CA store; `ssl_verify=0` turns that off.
User and password are URL-decoded; `password_env` names an environment variable holding the
password so that it need not sit in a file.

Retrying is the caller's business (MNAAS_QUERY_ATTEMPTS): impyla's own retries are off, an
error that retrying may fix raises TransientWarehouseError, anything else WarehouseError
with the server's message. Neither ever carries the password.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mnaas_missing_files.config.impala_url import ImpalaTarget
from mnaas_missing_files.core.errors import TransientWarehouseError, WarehouseError
from mnaas_missing_files.warehouse import kerberos

log = logging.getLogger(__name__)

_FETCH_BATCH = 10_000
# Longest pause between two polls of a running query: a sub-second query (the usual one)
# finishes at most this long before it is noticed.
POLL_MAX_S = 0.05

# Server replies that mean "this session is gone" (idle timeout, coordinator restart) or that
# the cluster is briefly saturated: a fresh connection and a later attempt can succeed.
_TRANSIENT_SERVER_MESSAGES = re.compile(
    r"invalid session ?(id|handle)|session (has )?expired|session (is )?closed|client session expired"
    r"|admission for query exceeded timeout|rejected query from pool|queue full",
    re.I,
)


class ImpalaWarehouse:
    """One HiveServer2 connection, opened on the first query and reused, with one session
    (cursor) per statement that `query_many` sends at once, each opened once and reused.

    Round trips per query: ExecuteStatement, GetOperationStatus until it finished (polled
    from 10 ms, at most every POLL_MAX_S), GetResultSetMetadata, one FetchResults per
    _FETCH_BATCH rows, CloseOperation. Nothing is set per query (the session is the
    connection's), and impyla's GetLog before each close is skipped (close_finished_queries
    off; the operation is closed here once its rows are read).

    Not thread-safe: keep one object per thread (warehouse.shared_warehouse does). A
    connection that broke is dropped; the next query opens a new one. When a *reused*
    connection turns out dead (server restarted, session expired), the statements are sent
    once more on a fresh connection at once: queries only read, and a stale connection says
    nothing about the server's health. Every other failure is raised after one attempt.
    """

    def __init__(self, target: ImpalaTarget):
        self.target = target
        self._conn: Any = None  # impala.hiveserver2.HiveServer2Connection once opened
        self._cursors: list[Any] = []
        # Set from another thread by interrupt(); the polling loop below cancels the queries
        # itself, since a thrift connection must not be used from two threads at once.
        self._cancel = threading.Event()

    def __repr__(self) -> str:
        return f"ImpalaWarehouse({self.target.safe_url()!r})"

    def query(self, sql: str, params: Sequence) -> list[tuple]:
        return list(self.query_many([(sql, params)])[0])

    def query_many(self, statements: Sequence[tuple[str, Sequence]]) -> list[Iterator[tuple]]:
        """Send every statement at once, each in its own session, so that the server runs
        them side by side; then the rows of each, read in the order given (one fetch batch
        in memory at a time). The iterators are valid until the next call."""
        reused = bool(self._cursors)
        try:
            return self._send(statements)
        except _StaleConnection as stale:
            if not reused:
                raise stale.error from stale.error.__cause__
            log.info("reused Impala connection was dead (%s); reconnecting", stale.error)
        try:
            return self._send(statements)
        except _StaleConnection as stale:
            raise stale.error from stale.error.__cause__

    def interrupt(self) -> None:
        self._cancel.set()

    def close(self) -> None:
        cursors, conn, self._cursors, self._conn = self._cursors, self._conn, [], None
        for closing in (*cursors, conn):
            if closing is not None:
                try:
                    closing.close()
                except Exception:  # the peer may be gone already; the socket is closed regardless
                    log.debug("closing the Impala connection failed", exc_info=True)

    # -- internals --------------------------------------------------------------------------

    def _send(self, statements: Sequence[tuple[str, Sequence]]) -> list[Iterator[tuple]]:
        opening = not self._cursors
        with self._classified(opening):
            cursors = self._open(len(statements))
            deadline = time.monotonic() + self.target.query_timeout
            for cursor, (sql, params) in zip(cursors, statements):
                cursor.execute_async(sql, list(params), configuration={"paramstyle": "qmark"})
        return [self._rows(cursor, deadline) for cursor in cursors]

    def _rows(self, cursor, deadline: float) -> Iterator[tuple]:
        with self._classified(False, stale_is_error=True):
            pause = 0.01
            while cursor.is_executing():  # HiveServer2 may long-poll here (Hive: up to 5 s)
                if self._cancel.is_set():
                    self._cancelled(cursor)
                if time.monotonic() > deadline:
                    self._give_up(cursor)
                time.sleep(pause)
                pause = min(pause * 2, POLL_MAX_S)
            while batch := cursor.fetchmany(_FETCH_BATCH):
                for row in batch:
                    yield tuple(row)
                if self._cancel.is_set():
                    self._cancelled(cursor)
                if time.monotonic() > deadline:
                    self._give_up(cursor)
            cursor.close_operation()

    @contextmanager
    def _classified(self, opening: bool, *, stale_is_error: bool = False):
        """Raise what went wrong as WarehouseError or TransientWarehouseError (_StaleConnection
        while statements are being sent, so that a dead reused connection is retried once)."""
        try:
            yield
        except WarehouseError:
            raise
        except Exception as exc:
            error = self._classify(exc, opening)
            if error is None:
                self.close()  # unknown state (or e.g. a time-limit signal): never reuse it
                raise
            error.__cause__ = None if self._leaks(exc) else exc
            if isinstance(error, TransientWarehouseError):
                self.close()
                if not stale_is_error:
                    raise _StaleConnection(error) from None
            raise error from error.__cause__

    def _open(self, sessions: int) -> list[Any]:
        if len(self._cursors) >= sessions:
            return self._cursors[:sessions]
        from impala.dbapi import connect

        t = self.target
        if t.auth_mechanism == "GSSAPI":
            _require_kerberos_module()
        try:
            if self._conn is None:
                if t.auth_mechanism == "GSSAPI":  # a new connection needs a valid ticket (§17)
                    kerberos.ensure_ticket(self._where)
                log.debug("opening Impala connection %s", t.safe_url())
                self._conn = connect(
                    host=t.host,
                    port=t.port,
                    database=t.database,
                    timeout=t.timeout,
                    use_ssl=t.use_ssl,
                    ca_cert=t.ca_cert,
                    verify_cert=t.use_ssl and t.ssl_verify,
                    auth_mechanism=t.auth_mechanism,
                    user=t.user,
                    password=t.password,
                    kerberos_service_name=t.kerberos_service_name,
                    krb_host=t.krb_host,
                    retries=1,
                )  # one attempt per call: MNAAS_QUERY_ATTEMPTS is the retry policy
            while len(self._cursors) < sessions:
                cursor = self._conn.cursor(user=t.user, close_finished_queries=False)
                cursor.set_arraysize(_FETCH_BATCH)  # rows per FetchResults (impyla's default: 1,024)
                self._cursors.append(cursor)
        except BaseException:
            self.close()
            raise
        return self._cursors[:sessions]

    @property
    def _where(self) -> str:
        return f"Impala {self.target.host}:{self.target.port}"

    def _cancelled(self, cursor) -> None:
        # Every statement sent with this one is cancelled too: the run is ending.
        try:
            for sent in [cursor, *(c for c in self._cursors if c is not cursor)]:
                sent.cancel_operation()
        except Exception:
            self.close()
        raise WarehouseError(f"Impala {self.target.host}:{self.target.port}: query cancelled (the run was interrupted)")

    def _give_up(self, cursor) -> None:
        try:
            cursor.cancel_operation()
        except Exception:
            self.close()  # cannot even cancel: the connection is suspect
        # Not a stale connection: raised straight to the caller, whose retry policy decides.
        raise TransientWarehouseError(
            f"Impala {self.target.host}:{self.target.port}: query did not finish within "
            f"query_timeout={self.target.query_timeout:g} s; cancelled"
        )

    def _leaks(self, exc: BaseException | None) -> bool:
        """Whether the password shows anywhere in the chain of `exc` (then the chain is cut)."""
        while self.target.password and exc is not None:
            if self.target.scrub(exc) != str(exc):
                return True
            exc = exc.__cause__ or exc.__context__
        return False

    def _tls_problem(self) -> str | None:
        """thrift hides why a TLS connect failed; a bare handshake here tells a certificate or
        protocol mismatch (configuration) from an unreachable server (transient)."""
        t = self.target
        context = ssl.create_default_context(cafile=t.ca_cert)
        if not t.ssl_verify and not t.ca_cert:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection((t.host, t.port), timeout=t.timeout) as raw:
                with context.wrap_socket(raw, server_hostname=t.host):
                    return None
        except (ssl.SSLCertVerificationError, ssl.SSLError) as exc:
            if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
                return None
            return f"{type(exc).__name__}: {exc}"
        except OSError:
            return None

    def _classify(self, exc: Exception, opening: bool) -> WarehouseError | None:
        from impala.error import Error as ImpylaError
        from thrift.transport.TTransport import TTransportException

        where = self._where
        service = f"{self.target.kerberos_service_name}/{self.target.krb_host or self.target.host}"
        gss = kerberos.classify_gss_error(exc, where, service=service)
        if gss is not None:
            return gss
        text = self.target.scrub(f"{type(exc).__name__}: {exc}".strip())
        lowered = str(exc).lower()
        if isinstance(exc, TTransportException):
            if "bad status" in lowered:  # the server refused the SASL exchange
                return WarehouseError(f"{where}: authentication failed: {text}")
            if "could not start sasl" in lowered:  # the client cannot do this mechanism
                return WarehouseError(f"{where}: SASL {self.target.auth_mechanism} unavailable: {text}")
            if "length exceeded max allowed" in lowered:
                return WarehouseError(
                    f"{where}: protocol mismatch (check auth_mechanism and use_ssl "
                    f"against the server's settings): {text}"
                )
            if opening and self.target.use_ssl and exc.type == TTransportException.NOT_OPEN:
                problem = self._tls_problem()
                if problem:
                    return WarehouseError(f"{where}: TLS handshake failed: {self.target.scrub(problem)}")
        if isinstance(exc, ssl.SSLError) and not isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            return WarehouseError(f"{where}: TLS handshake failed: {text}")
        if isinstance(exc, (TTransportException, OSError, EOFError)):
            # Connected, then dropped during the handshake: a restart, or a client/server mismatch.
            handshake = opening and not any(w in lowered for w in ("could not connect", "timeout", "timed out"))
            hint = " (if this persists, check auth_mechanism and use_ssl)" if handshake else ""
            return TransientWarehouseError(f"{where} unreachable or connection lost: {text}{hint}")
        if isinstance(exc, ImpylaError):
            message = _server_message(self.target.scrub(str(exc)))
            if _TRANSIENT_SERVER_MESSAGES.search(message):
                return TransientWarehouseError(f"{where}: session lost: {message}")
            return WarehouseError(f"{where}: query failed: {message}")
        return None


def _require_kerberos_module() -> None:
    try:
        import kerberos  # noqa: F401  (pure-sasl's GSSAPI needs it; impyla does not install it)
    except ImportError:
        raise WarehouseError(
            "auth_mechanism GSSAPI needs the Python package 'kerberos' (and a Kerberos ticket) on every worker host"
        ) from None


class _StaleConnection(Exception):
    """Internal: the connection died under a query; carries the error to raise."""

    def __init__(self, error: TransientWarehouseError):
        super().__init__(str(error))
        self.error = error


def _server_message(message: str, limit: int = 2000) -> str:
    """The server's message without Java stack frames, which say nothing to an operator."""
    lines = [line for line in message.strip().splitlines() if not line.lstrip().startswith("at ")]
    text = "\n".join(lines).strip()
    return text if len(text) <= limit else text[:limit] + " …"
