"""A real SMTP server (aiosmtpd) on loopback for tests: plain, STARTTLS or implicit TLS,
optional AUTH LOGIN/PLAIN, optional failing DATA replies (`fail_first` times `fail_reply`)
and refused recipients (`refuse_rcpt`); collects what it receives.

    with SmtpServer(tls="starttls", tls_files=make_tls_files(tmp_path), user="u",
                    password="p") as server:
        ...deliver to server.url(...)...
        server.messages[0].parsed()["Subject"]
"""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path  # give this to the client as cafile=
    cert: Path
    key: Path


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=default_policy)


def make_tls_files(directory: Path, hostnames=("localhost",), ips=(HOST,)) -> TlsFiles:
    """A throwaway CA and a server certificate it signed, valid for loopback."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mnaas test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(h) for h in hostnames] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


def free_port() -> int:
    """A loopback port nothing listens on (for "server down")."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class _Collector:
    def __init__(self, fail_first: int, fail_reply: str, refuse: frozenset[str]):
        self.fail_first = fail_first
        self.fail_reply = fail_reply
        self.refuse = refuse
        self.data_attempts = 0
        self.messages: list[Received] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_attempts += 1
            if self.data_attempts <= self.fail_first:
                return self.fail_reply
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
            )
        return "250 2.0.0 OK queued"


class _EphemeralPortController(Controller):
    # Bind port 0 and learn the real port before aiosmtpd's self-test connects to it.
    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    def __init__(
        self,
        *,
        tls: str = "plain",
        tls_files: TlsFiles | None = None,
        user: str | None = None,
        password: str | None = None,
        fail_first: int = 0,
        fail_reply: str = "451 4.3.0 Try again later",
        refuse_rcpt=(),
        auth_mechanisms=("LOGIN", "PLAIN"),
    ):
        if tls not in ("plain", "starttls", "implicit"):
            raise ValueError(f"tls must be plain, starttls or implicit, not {tls!r}")
        if tls != "plain" and tls_files is None:
            raise ValueError("TLS needs tls_files (make_tls_files(tmp_path))")
        self.tls = tls
        self.user, self.password = user, password
        self.handler = _Collector(fail_first, fail_reply, frozenset(refuse_rcpt))
        self.auth_attempts: list[tuple[str, bool]] = []
        context = None
        if tls_files is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls_files.cert, tls_files.key)
        kwargs = {}
        if tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        if user is not None:
            # aiosmtpd only counts STARTTLS as TLS; implicit TLS is TLS below its view.
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=(tls == "starttls"),
                auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m not in auth_mechanisms],
            )
        self._controller = _EphemeralPortController(
            self.handler, hostname=HOST, port=0, ssl_context=context if tls == "implicit" else None, **kwargs
        )
        self._running = False

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user.encode()
            and auth_data.password == (self.password or "").encode()
        )
        self.auth_attempts.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)  # False: aiosmtpd sends the 535

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def data_attempts(self) -> int:
        return self.handler.data_attempts

    def url(self, *, user: str | None = None, password: str | None = None, **options) -> str:
        """An MNAAS_SMTP_URL for this server; `user`/`password` default to the server's."""
        user = self.user if user is None else user
        password = self.password if password is None else password
        userinfo = ""
        if user is not None:
            userinfo = quote(user, safe="")
            if password is not None:
                userinfo += ":" + quote(password, safe="")
            userinfo += "@"
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        if self.tls == "starttls":
            options.setdefault("starttls", "1")
        query = "&".join(f"{k}={quote(str(v), safe='/')}" for k, v in options.items())
        return f"{scheme}://{userinfo}{HOST}:{self.port}" + (f"?{query}" if query else "")

    def start(self) -> SmtpServer:
        self._controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
