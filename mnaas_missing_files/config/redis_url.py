"""Redis URLs of the broker, the result backend and the lock (contract §12), parsed and checked.

A plain `redis[s]://[[user]:password@]host[:port][/db]` names one server. Kombu's and Celery's
Sentinel form names the sentinels that know where the master is:
`sentinel://[:password@]host:port[/db][;sentinel://[:password@]host:port[/db]…]`. The db and
the password of the first URL count (the password is the Redis password, not the sentinels';
theirs is MNAAS_SENTINEL_PASSWORD), and MNAAS_SENTINEL_MASTER names the master.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.secrets import mask_secrets, register_secret

SENTINEL_SCHEME = "sentinel"
DEFAULT_SENTINEL_PORT = 26379
MASTER_KEY = "MNAAS_SENTINEL_MASTER"


@dataclass(frozen=True)
class SentinelAddress:
    """Where the sentinels of one master are, and how to talk to the master they name."""

    sentinels: tuple[tuple[str, int], ...]
    db: int = 0
    password: str | None = field(default=None, repr=False, compare=False)
    username: str | None = None

    def describe(self) -> str:
        """The sentinels as an operator names them, without a password."""
        return ", ".join(f"{host}:{port}" for host, port in self.sentinels)


def is_sentinel_url(url: str | None) -> bool:
    return bool(url) and str(url).split("://", 1)[0].lower() == SENTINEL_SCHEME


def parse_sentinel_url(url: str, key: str = "MNAAS_LOCK_URL") -> SentinelAddress:
    """`sentinel://…[;sentinel://…]` as a SentinelAddress; ConfigError naming `key` otherwise."""

    def fail(problem: str) -> ConfigError:
        return ConfigError(f"{key}: {problem} in {mask_secrets(url)!r}", key=key)

    sentinels: list[tuple[str, int]] = []
    db, password, username = 0, None, None
    for number, part in enumerate(url.split(";")):
        part = part.strip()
        if not part:
            raise fail("an empty sentinel URL between ';'")
        parsed = urlsplit(part)
        if parsed.scheme.lower() != SENTINEL_SCHEME:
            raise fail(f"every URL of a sentinel list must be sentinel://, found {parsed.scheme or 'none'}://")
        try:
            port = parsed.port or DEFAULT_SENTINEL_PORT
        except ValueError:
            raise fail("a sentinel port is not a number from 1 to 65535") from None
        if not parsed.hostname:
            raise fail("a sentinel URL without a host")
        path = parsed.path.strip("/")
        if path and not path.isdigit():
            raise fail(f"the database must be a number, got {path!r}")
        if parsed.query:
            raise fail(
                "sentinel URLs take no ?options (the master is MNAAS_SENTINEL_MASTER, the "
                "sentinels' password MNAAS_SENTINEL_PASSWORD)"
            )
        if number == 0:
            db = int(path or 0)
            password = unquote(parsed.password) if parsed.password is not None else None
            username = unquote(parsed.username) if parsed.username else None
        sentinels.append((parsed.hostname, port))
    register_secret(password)
    return SentinelAddress(tuple(sentinels), db=db, password=password, username=username)


def check_sentinel_settings(urls: dict[str, str | None], master: str | None) -> None:
    """Every sentinel URL among `urls` (key -> value) parses, and then a master is named."""
    named = [key for key, url in urls.items() if is_sentinel_url(url)]
    for key in named:
        parse_sentinel_url(str(urls[key]), key)
    if named and not master:
        raise ConfigError(
            f"{MASTER_KEY} is required when {' and '.join(named)} "
            f"{'names' if len(named) == 1 else 'name'} Redis sentinels "
            "(sentinel://…): it is the name the sentinels know the master by",
            key=MASTER_KEY,
        )
