"""The one function that turns a configured Redis URL into a client (contract §12), used by the
run lock and by the run state alike, so both follow the same master.

A `redis://` URL is one server. A `sentinel://…;sentinel://…` list is a master found through
its sentinels: redis-py's Sentinel client asks them where the master is on every (re)connect
and drops a connection whose server was demoted to a replica, so after a failover the next
command reaches the new master. Until the sentinels have promoted one, commands fail with a
ConnectionError, which every caller already treats as "Redis is away for a moment".
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel

from mnaas_missing_files.config.redis_url import MASTER_KEY, is_sentinel_url, parse_sentinel_url
from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.secrets import mask_secrets

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 5.0
# WAIT's timeout: long enough for a replica on the same network to acknowledge, short enough
# that a run never waits noticeably for a replica that is away.
REPLICA_ACK_MS = 1000
_AUTH_WORDS = ("AuthenticationError", "WRONGPASS", "NOAUTH", "invalid password", "invalid username-password")
# How long a sentinel client keeps trying while no master answers: a failover (the sentinels'
# down-after-milliseconds, their vote, the promotion) takes seconds; one that takes longer is
# an outage, which the callers report as Redis unreachable.
FAILOVER_WAIT_SECONDS = 30.0


class SentinelAuthError(MasterNotFoundError):
    """The sentinels refused MNAAS_SENTINEL_PASSWORD: retrying cannot help."""


class UnknownMaster(MasterNotFoundError):
    """The sentinels that answered know no master of that name: retrying cannot help."""


class _Sentinel(Sentinel):
    """redis-py's Sentinel, telling a wrong password or master name from a failover under way
    (the master down, not promoted yet), which is worth waiting for."""

    def discover_master(self, service_name):
        try:
            return super().discover_master(service_name)
        except MasterNotFoundError as exc:
            if any(word in str(exc) for word in _AUTH_WORDS):
                raise SentinelAuthError(str(exc)) from None
            answered = []
            for sentinel in self.sentinels:
                try:
                    answered.append(service_name in sentinel.sentinel_masters())
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                    continue
            if answered and not any(answered):
                raise UnknownMaster(str(exc)) from None
            raise


class _FailoverRetry(Retry):
    """Retry connection errors for up to `seconds` (a failover), backing off to 1 s; never a
    refused password or an unknown master name."""

    def __init__(self, seconds: float):
        super().__init__(
            ExponentialBackoff(cap=1.0, base=0.1),
            retries=-1,
            supported_errors=(redis.exceptions.ConnectionError, redis.exceptions.TimeoutError),
        )
        self.seconds = seconds

    def call_with_retry(self, do, fail, is_retryable=None, with_failure_count=False):
        deadline = time.monotonic() + self.seconds

        def retryable(error: Exception) -> bool:
            if isinstance(error, (SentinelAuthError, UnknownMaster)) or time.monotonic() > deadline:
                return False
            return is_retryable(error) if is_retryable else True

        return super().call_with_retry(do, fail, retryable, with_failure_count)


def sentinel_options(settings: Any) -> dict[str, str | None]:
    """The keyword arguments of `connect_redis` that come from the job's settings."""
    return {"sentinel_master": settings.sentinel_master, "sentinel_password": settings.sentinel_password}


def connect_redis(
    url: str,
    *,
    sentinel_master: str | None = None,
    sentinel_password: str | None = None,
    decode_responses: bool = False,
    timeout: float = REDIS_TIMEOUT,
) -> redis.Redis:
    """A client of the Redis `url` names: the server itself, or the master its sentinels name."""
    if not is_sentinel_url(url):
        return redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=decode_responses
        )
    if not sentinel_master:
        raise ConfigError(f"{MASTER_KEY} is required with the sentinel URL {mask_secrets(url)}", key=MASTER_KEY)
    address = parse_sentinel_url(url)
    # One try per sentinel and question: the next sentinel is the retry (redis-py's default
    # would back off for seconds on each, e.g. on a refused password).
    sentinel_kwargs: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }
    if sentinel_password:
        sentinel_kwargs["password"] = sentinel_password
    sentinel = _Sentinel(
        list(address.sentinels),
        sentinel_kwargs=sentinel_kwargs,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        password=address.password,
        username=address.username,
        db=address.db,
        decode_responses=decode_responses,
    )
    # The connections' retry also wraps every command: a task that records its group while
    # the sentinels promote a replica waits for the new master instead of failing the group.
    client = sentinel.master_for(sentinel_master, retry=_FailoverRetry(FAILOVER_WAIT_SECONDS))
    # Where the sentinels are and which master they serve, for describe_redis_error.
    client.mnaas_sentinels = (address.describe(), sentinel_master)
    return client


def describe_redis_error(exc: BaseException, client: redis.Redis | None = None) -> str:
    """A Redis error in an operator's words, without any password: for a sentinel client, what
    the sentinels' answer means (wrong password, unknown master, master down mid-failover)."""
    where = getattr(client, "mnaas_sentinels", None)
    text = mask_secrets(exc)
    if where is None or not isinstance(exc, MasterNotFoundError):
        return text
    sentinels, master = where
    # redis-py's text lists each sentinel's client object and error: too long to be of use.
    if isinstance(exc, SentinelAuthError):
        return f"the sentinels at {sentinels} refused the password (MNAAS_SENTINEL_PASSWORD)"
    if isinstance(exc, UnknownMaster):
        return f"the sentinels at {sentinels} know no master named {master!r} ({MASTER_KEY})"
    if "Error" in text.split(":", 1)[-1]:
        errors = sorted(set(re.findall(r"\b[A-Za-z]*Error\b", text.split(":", 1)[-1])))
        return f"no sentinel at {sentinels} could be reached ({', '.join(errors)})"
    return (
        f"the sentinels at {sentinels} name no usable master {master!r}: it is down and no "
        f"replica has been promoted (yet)"
    )


def acknowledge_by_replica(client: redis.Redis, what: str) -> int | None:
    """`WAIT 1` for what was just written, while the master reports a connected replica, so a
    failover right after it does not lose it. The number of replicas that acknowledged, or None
    when none is connected; both a missing replica and a missing acknowledgement are warned
    about when the client follows sentinels (a failover is expected there), as is a failed
    check, which never fails the caller: the write itself succeeded."""
    sentinel = getattr(client, "mnaas_sentinels", None) is not None
    try:
        connected = int(client.info("replication").get("connected_slaves", 0))
        if not connected:
            if sentinel:
                log.warning("%s: the Redis master has no connected replica; a failover now would lose it", what)
            return None
        acknowledged = int(client.wait(1, REPLICA_ACK_MS))
    except redis.exceptions.RedisError as exc:
        log.warning("%s: could not check its replication: %s", what, describe_redis_error(exc, client))
        return None
    if acknowledged < 1:
        log.warning("%s: no replica acknowledged it within %d ms; a failover now could lose it", what, REPLICA_ACK_MS)
    return acknowledged


def reply_str(value: bytes | str) -> str:
    """A reply of a decode_responses client as str (redis-py types replies as bytes | str)."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def reply_text(value: bytes | str | None) -> str | None:
    """reply_str, for a reply that may be None (a missing key or field)."""
    return None if value is None else reply_str(value)


__all__ = [
    "connect_redis",
    "sentinel_options",
    "describe_redis_error",
    "acknowledge_by_replica",
    "reply_str",
    "reply_text",
    "REDIS_TIMEOUT",
]
