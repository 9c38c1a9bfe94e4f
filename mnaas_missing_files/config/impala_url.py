"""The Impala URL of MNAAS_WAREHOUSE_URL, parsed and validated (see impala.py for the form).

impala://[user[:password]@]host[:port][/database]?auth_mechanism=NOSASL|PLAIN|LDAP|GSSAPI
    &use_ssl=1&ca_cert=/path/ca.pem&ssl_verify=1&kerberos_service_name=impala&krb_host=fqdn
    &timeout=SECONDS&query_timeout=SECONDS&database=db&password_env=VARNAME
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit

from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.secrets import register_secret

KEY = "MNAAS_WAREHOUSE_URL"
DEFAULT_PORT = 21050
DEFAULT_TIMEOUT = 30.0
DEFAULT_QUERY_TIMEOUT = 600.0
AUTH_MECHANISMS = ("NOSASL", "PLAIN", "LDAP", "GSSAPI")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAMS = {
    "auth_mechanism",
    "use_ssl",
    "ca_cert",
    "ssl_verify",
    "kerberos_service_name",
    "krb_host",
    "timeout",
    "query_timeout",
    "database",
    "password_env",
}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True, repr=False)
class ImpalaTarget:
    host: str
    port: int = DEFAULT_PORT
    database: str | None = None
    auth_mechanism: str = "NOSASL"
    user: str | None = None
    password: str | None = None
    password_env: str | None = None
    use_ssl: bool = False
    ca_cert: str | None = None
    ssl_verify: bool = True
    kerberos_service_name: str = "impala"
    krb_host: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    query_timeout: float = DEFAULT_QUERY_TIMEOUT

    def safe_url(self) -> str:
        """The target as a URL with the password replaced by ***: fit for logs and check-config."""
        cred = ""
        if self.user is not None:
            cred = quote(self.user, safe="") + (":***" if self.password and not self.password_env else "") + "@"
        params = {
            "auth_mechanism": self.auth_mechanism,
            "timeout": f"{self.timeout:g}",
            "query_timeout": f"{self.query_timeout:g}",
            "use_ssl": "1" if self.use_ssl else None,
            "ca_cert": self.ca_cert,
            "ssl_verify": None if self.ssl_verify or not self.use_ssl else "0",
            "kerberos_service_name": self.kerberos_service_name if self.auth_mechanism == "GSSAPI" else None,
            "krb_host": self.krb_host,
            "password_env": self.password_env,
        }
        path = f"/{self.database}" if self.database else ""
        return f"impala://{cred}{self.host}:{self.port}{path}?" + "&".join(
            f"{k}={v}" for k, v in params.items() if v is not None
        )

    def __repr__(self) -> str:
        return f"ImpalaTarget({self.safe_url()!r})"

    __str__ = safe_url

    def scrub(self, text: object) -> str:
        """`text` with every form of the password replaced by ***."""
        out = str(text)
        if self.password:
            for form in {self.password, quote(self.password, safe=""), quote(self.password)}:
                out = out.replace(form, "***")
        return out


def parse_impala_url(url: str) -> ImpalaTarget:
    """Parse and validate an impala:// URL; ConfigError(key=MNAAS_WAREHOUSE_URL) when unusable."""

    def bad(message: str) -> ConfigError:
        return ConfigError(f"{KEY}: {message}", key=KEY)

    parts, host, port = _split(url, bad)
    params = _parameters(parts.query, bad)
    auth = params.get("auth_mechanism", "NOSASL").upper()
    if auth not in AUTH_MECHANISMS:
        raise bad(f"auth_mechanism must be one of {', '.join(AUTH_MECHANISMS)}, not {params['auth_mechanism']!r}")
    user, password, password_env = _credentials(parts, params, auth, bad)
    database = _one_database(parts.path, params.get("database"), bad)
    use_ssl = _flag(params, "use_ssl", False, bad)
    ssl_verify = _flag(params, "ssl_verify", True, bad)
    ca_cert = _ca_cert(params, use_ssl, bad)
    krb_host = params.get("krb_host") or None
    return ImpalaTarget(
        host=host,
        port=port or DEFAULT_PORT,
        database=database,
        auth_mechanism=auth,
        user=user,
        password=password,
        password_env=password_env,
        use_ssl=use_ssl,
        ca_cert=ca_cert,
        ssl_verify=ssl_verify,
        kerberos_service_name=params.get("kerberos_service_name") or "impala",
        krb_host=krb_host,
        timeout=_seconds(params, "timeout", DEFAULT_TIMEOUT, bad),
        query_timeout=_seconds(params, "query_timeout", DEFAULT_QUERY_TIMEOUT, bad),
    )


def _split(url: str, bad) -> tuple[SplitResult, str, int | None]:
    """The URL's parts, host and port, or what is wrong with its scheme, host or port."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise bad("malformed impala:// URL (check the host and port)") from None
    if parts.scheme != "impala":
        raise bad(f"expected an impala:// URL, not {parts.scheme or 'no'} scheme")
    if not host:
        raise bad("the impala:// URL names no host")
    if port == 0:
        raise bad("port 0 is not a usable port")
    return parts, host, port


def _parameters(query: str, bad) -> dict[str, str]:
    """The query's options, each known and given once."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if name not in _PARAMS:
            raise bad(f"unknown parameter {name!r}; known: {', '.join(sorted(_PARAMS))}")
        if name in params:
            raise bad(f"parameter {name!r} given twice")
        params[name] = value
    return params


def _credentials(
    parts: SplitResult, params: dict[str, str], auth: str, bad
) -> tuple[str | None, str | None, str | None]:
    """User, password (from the URL or the variable password_env names) and that variable's name."""
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    password_env = params.get("password_env") or None
    if password_env is not None:
        if password is not None:
            raise bad("give the password either in the URL or through password_env, not both")
        password = os.environ.get(password_env)
        if not password:
            raise bad(f"password_env names {password_env!r}, which is not set in the environment")
    register_secret(password)  # a server that echoes it back must not leak it into a log
    if password is not None and auth not in ("PLAIN", "LDAP"):
        raise bad(f"a password is only used with auth_mechanism PLAIN or LDAP, not {auth}")
    if auth == "LDAP" and (not user or not password):
        raise bad("auth_mechanism LDAP needs a user and a password")
    return user, password, password_env


def _ca_cert(params: dict[str, str], use_ssl: bool, bad) -> str | None:
    ca_cert = params.get("ca_cert") or None
    if ca_cert is not None:
        if not use_ssl:
            raise bad("ca_cert is set but use_ssl is not: add use_ssl=1")
        if not os.path.isfile(ca_cert):
            raise bad(f"ca_cert {ca_cert!r} is not a readable file")
    return ca_cert


def _one_database(path: str, param: str | None, bad) -> str | None:
    from_path = unquote(path.strip("/")) or None
    if from_path and param and from_path != param:
        raise bad(f"database given twice: /{from_path} and database={param}")
    database = from_path or param or None
    # Identifiers cannot be bound parameters, so only plain names reach `USE`.
    if database is not None and not _IDENTIFIER.fullmatch(database):
        raise bad(f"database {database!r} is not a plain identifier")
    return database


def _flag(params: dict, name: str, default: bool, bad) -> bool:
    value = (params.get(name) or "").lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    if not value:
        return default
    raise bad(f"{name} must be 1 or 0, not {params[name]!r}")


def _seconds(params: dict, name: str, default: float, bad) -> float:
    value = params.get(name) or ""
    try:
        seconds = float(value) if value else default
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 86400 * 7:
        raise bad(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds
