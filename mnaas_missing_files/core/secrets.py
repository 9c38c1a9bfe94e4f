"""The one secret masker: every log line, error, email and printed setting passes through it.

It masks what a secret looks like wherever it stands in free text (a URL's user info, a query
option, `NAME=value` where NAME says it holds a password) and, literally, every secret value
the configuration named by reference (`password_env=VAR`) once it has been registered, so a
server that echoes a password back cannot leak it either.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import quote

MASK = "***"

# scheme://user:password@host — the password runs to the last '@' before the host, so a raw
# '@' in it (not percent-encoded) is masked whole too.
_URL_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#]*:)(?P<pw>[^\s]*?)(?P<at>@)(?=[^\s@]*(?:[/?#\s;,'\")]|$))"
)
# redis://password@host (a password in the user slot, which Redis and kombu accept), in any
# case of the scheme (URL schemes are case-insensitive), and up to the last '@' before the
# host, so a raw '@' in it is masked whole too.
_REDIS_LONE_USERINFO = re.compile(
    r"(?P<head>\b(?:redis|rediss|sentinel)://)(?P<pw>[^\s:/?#]+?)(?P<at>@)(?=[^\s@]*(?:[/?#\s;,'\")]|$))", re.I
)
_SECRET_WORDS = r"(?:password|passwd|pwd|passphrase)"
# ?password=…, &ldap_password=…, ;sentinel_password=…
_QUERY_OPTION = re.compile(rf"(?P<head>[?&;][A-Za-z0-9_]*{_SECRET_WORDS}=)(?P<pw>[^&\s;'\"]+)", re.I)
# MNAAS_SENTINEL_PASSWORD=…, "ldap_password": "…", password: …
_NAMED = re.compile(rf"(?P<head>\b[A-Za-z0-9_]*{_SECRET_WORDS}['\"]?\s*[=:]\s*['\"]?)(?P<pw>[^\s'\",;&]+)", re.I)

_known: set[str] = set()
_known_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask `value` (and its percent-encoded form) wherever it appears from now on."""
    if not value or len(value) < 3:  # a one- or two-letter "secret" would mask half the log
        return
    with _known_lock:
        _known.update({value, quote(value, safe="")})


def mask_secrets(text: Any) -> str:
    """`text` as a string with every password it holds replaced by ***."""
    masked = str(text)
    if _known:
        for secret in sorted(_known, key=len, reverse=True):
            masked = masked.replace(secret, MASK)
    masked = _URL_USERINFO.sub(lambda m: f"{m['head']}{MASK}{m['at']}", masked)
    masked = _REDIS_LONE_USERINFO.sub(lambda m: f"{m['head']}{MASK}{m['at']}", masked)
    masked = _QUERY_OPTION.sub(lambda m: f"{m['head']}{MASK}", masked)
    return _NAMED.sub(lambda m: f"{m['head']}{MASK}" if m["pw"] != MASK else m[0], masked)
