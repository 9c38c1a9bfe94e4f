"""A start-up look at the Redis sentinels (contract §12): a deployment that cannot fail over
(no replica, sentinels missing, the master already down) looks healthy until the day the
master dies, so workers and beat say so in their log when they start."""

from __future__ import annotations

import redis

from mnaas_missing_files.config.redis_url import is_sentinel_url, parse_sentinel_url
from mnaas_missing_files.state.redisconn import connect_redis, describe_redis_error

MIN_SENTINELS = 3  # a majority must survive the loss of any one host


def sentinel_problems(client: redis.Redis) -> list[str]:
    """What keeps the master behind a sentinel client from failing over safely; [] if nothing.
    `client` comes from connect_redis with a sentinel URL."""
    pool = client.connection_pool
    manager, master = pool.sentinel_manager, pool.service_name  # type: ignore[attr-defined]
    answers, silent = [], []
    for sentinel in manager.sentinels:
        kwargs = sentinel.connection_pool.connection_kwargs
        where = f"{kwargs.get('host')}:{kwargs.get('port')}"
        try:
            # A dead replica (e.g. the old master after a failover) stays listed, flagged down.
            up = [
                r
                for r in sentinel.sentinel_slaves(master)
                if not (r.get("is_sdown") or r.get("is_odown") or r.get("is_disconnected"))
            ]
            answers.append({**sentinel.sentinel_master(master), "replicas_up": len(up)})
        except redis.exceptions.ResponseError:
            silent.append(f"{where} (does not monitor {master!r})")
        except redis.exceptions.RedisError as exc:
            silent.append(f"{where} ({describe_redis_error(exc)})")
    problems = []
    if silent:
        problems.append(
            f"sentinel {', '.join(silent)} did not answer for master {master!r}: a "
            "failover needs a majority of the sentinels"
        )
    if not answers:
        return problems
    state = answers[0]
    if state.get("is_sdown") or state.get("is_odown"):
        problems.append(f"the sentinels report master {master!r} down")
    if not state["replicas_up"]:
        problems.append(
            f"master {master!r} has no replica: a failover would have nothing to "
            "promote, and run locks are not acknowledged by a replica"
        )
    seen = int(state.get("num-other-sentinels") or 0) + 1
    if seen < MIN_SENTINELS:
        problems.append(
            f"the sentinels of {master!r} know {seen} sentinel(s) in all; run {MIN_SENTINELS} or more on separate hosts"
        )
    return problems


def check_sentinels(urls: list[str | None], master: str | None, password: str | None) -> list[str]:
    """The problems of every distinct set of sentinels among `urls` (broker, backend, lock)."""
    problems: list[str] = []
    seen: set[tuple] = set()
    for url in urls:
        if not url or not is_sentinel_url(url):
            continue
        hosts = parse_sentinel_url(url).sentinels
        if hosts in seen:
            continue
        seen.add(hosts)
        client = connect_redis(url, sentinel_master=master, sentinel_password=password)
        try:
            problems.extend(sentinel_problems(client))
        finally:
            client.close()
    return problems
