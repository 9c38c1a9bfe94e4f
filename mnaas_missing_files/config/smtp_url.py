"""`MNAAS_SMTP_URL`: the relay a report or ticket is sent through, parsed and validated.

`smtp[s]://[user[:password]@]host[:port][?starttls=1&cafile=PATH&verify=0&timeout=S]`.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.secrets import mask_secrets, register_secret

KEY = "MNAAS_SMTP_URL"
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
DEFAULT_TIMEOUT = 60.0
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)
    starttls: bool = False
    cafile: str | None = None
    verify: bool = True
    timeout: float = DEFAULT_TIMEOUT

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def uses_tls(self) -> bool:
        return self.scheme == "smtps" or self.starttls

    def masked_url(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + (":***" if self.password is not None else "") + "@"
        options = []
        if self.starttls:
            options.append("starttls=1")
        if self.cafile:
            options.append(f"cafile={self.cafile}")
        if not self.verify:
            options.append("verify=0")
        if self.timeout != DEFAULT_TIMEOUT:
            options.append(f"timeout={self.timeout:g}")
        query = "?" + "&".join(options) if options else ""
        return f"{self.scheme}://{userinfo}{self.address}{query}"

    def __str__(self) -> str:
        return self.masked_url()

    def __repr__(self) -> str:
        return f"SmtpTarget({self.masked_url()!r})"

    def scrub(self, text: str) -> str:
        """`text` with this target's password blanked out, however a server echoed it."""
        register_secret(self.password)
        return mask_secrets(text)

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.cafile)
        if not self.verify:
            # Lab relays with self-signed certificates: encrypted, not authenticated.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp[s]://[user[:password]@]host[:port][?starttls=1&cafile=PATH&verify=0&timeout=S]`."""

    def fail(problem: str) -> ConfigError:
        return ConfigError(f"{KEY} {mask_secrets(url)!r}: {problem}", key=KEY)

    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{KEY} is empty", key=KEY)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise fail("not a valid URL (is the port a number from 1 to 65535?)") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise fail("the scheme must be smtp:// or smtps://")
    if not parts.hostname:
        raise fail("no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise fail("a path or #fragment has no meaning here")
    if port == 0:
        raise fail("port 0 is not a port")
    options = _parse_query(parts.query, fail)
    starttls = _flag(options.pop("starttls", "0"), "starttls", fail)
    verify = _flag(options.pop("verify", "1"), "verify", fail)
    cafile = options.pop("cafile", None) or None
    timeout = _timeout(options.pop("timeout", None), fail)
    if options:
        raise fail(f"unknown option(s) {', '.join(sorted(options))}; known: starttls, cafile, verify, timeout")
    if scheme == "smtps" and starttls:
        raise fail("smtps:// is already TLS; starttls=1 belongs to smtp://")
    if cafile and not verify:
        raise fail("cafile= and verify=0 contradict each other")
    if cafile and not os.path.isfile(cafile):
        raise fail(f"cafile {cafile} does not exist")
    if (cafile or not verify) and not (scheme == "smtps" or starttls):
        raise fail("cafile= / verify= only apply to smtps:// or starttls=1")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if not (user or "").isascii() or not (password or "").isascii():
        raise fail("the user name and password must be ASCII: smtplib sends them as ASCII")
    return SmtpTarget(
        scheme=scheme,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        user=user,
        password=password,
        starttls=starttls,
        cafile=cafile,
        verify=verify,
        timeout=timeout,
    )


def _parse_query(query: str, fail) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in options:
            raise fail(f"option {name} given twice")
        options[name] = value
    return options


def _flag(value: str, name: str, fail) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise fail(f"{name}={value!r} is not 1 or 0")


def _timeout(value: str | None, fail) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        raise fail(f"timeout={value!r} is not a number of seconds") from None
    if not 0 < seconds <= 3600:
        raise fail(f"timeout={value!r} must be more than 0 and at most 3600 seconds")
    return seconds
