"""The checks across settings, made once every option is converted: what no single setting
shows (the lists a run needs, limits set against each other, every URL checked before anything
connects), and the advice about valid settings an operator most likely did not mean."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mnaas_missing_files.config.duckdb_url import MEMORY as DUCKDB_MEMORY
from mnaas_missing_files.config.duckdb_url import parse_duckdb_url
from mnaas_missing_files.config.keytab import check_keytab, keytab_advice
from mnaas_missing_files.config.redis_url import SENTINEL_SCHEME, check_sentinel_settings
from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.secrets import mask_secrets


def advice(s: Mapping[str, Any]) -> tuple[str, ...]:
    """Settings that are valid but that an operator most likely did not mean."""
    advice = tuple(
        f"MNAAS_EMPTY_INPUT_ALLOWED: {name!r} is not a configured process (process_list); it has no effect"
        for name in s["empty_input_allowed"]
        if name not in s["processes"]
    )
    advice += tuple(
        f"MNAAS_VOLUME_IGNORE: {entry!r} names no configured process or process/customer pair; it has no effect"
        for entry in s["volume_ignore"]
        if not _names_configured(entry, s)
    )
    advice += keytab_advice(s)
    if s["lock_url"] and s["lock_ttl"] <= s["group_time_limit"]:
        return advice + (
            f"MNAAS_LOCK_TTL ({s['lock_ttl']} s) does not exceed MNAAS_GROUP_TIME_LIMIT "
            f"({s['group_time_limit']} s): on the cluster, a run whose slowest group takes "
            "longer than the TTL lets its lock lapse, and the sweeper may report it lost",
        )
    return advice


def _names_configured(entry: str, s: Mapping[str, Any]) -> bool:
    process, _, customer = entry.partition("/")
    customers = (*s["customers"], *s["infonova_customers"])
    return process in s["processes"] and (not customer or customer in customers)


def validate(s: dict[str, Any], sources: Mapping[str, str], where_file: str) -> None:
    """What no single setting shows: the lists a run needs, limits set against each other,
    and every URL checked before anything connects."""

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{key}: {problem}", key=key, where=sources.get(key, where_file))

    _check_job(s, fail)
    _check_url(s["warehouse_url"], ("duckdb", "impala"), "MNAAS_WAREHOUSE_URL", fail)
    redis = ("redis", "rediss", SENTINEL_SCHEME)
    for key, attr, schemes in (
        ("MNAAS_BROKER_URL", "broker_url", (*redis, "amqp", "amqps", "pyamqp")),
        ("MNAAS_RESULT_BACKEND", "result_backend", redis),
        ("MNAAS_SMTP_URL", "smtp_url", ("smtp", "smtps")),
        ("MNAAS_LOCK_URL", "lock_url", redis),
    ):
        if s[attr]:
            _check_url(s[attr], schemes, key, fail)
    _check_sentinels(s, sources, where_file)
    if s["smtp_url"]:
        from mnaas_missing_files.config.smtp_url import parse_smtp_url

        # A malformed relay URL stops the run before it starts.
        with _named("MNAAS_SMTP_URL", sources, where_file):
            parse_smtp_url(s["smtp_url"])
    check_keytab(s, fail)
    _check_warehouse(s["warehouse_url"], sources, where_file, fail)


def _check_job(s: Mapping[str, Any], fail: Callable[[str, str], ConfigError]) -> None:
    """Something to check, someone to tell, and limits that fit together."""
    if not s["processes"]:
        raise fail("process_list", "the process list is empty")
    if not s["customers"] and not s["infonova_customers"]:
        raise fail("customer_names", "no customers configured (customer_names and infonova_customer_names are empty)")
    if not s["mail_to"]:
        raise fail("MOVE_DEV_TEAM", "no report recipients")
    if "\n" in s["delimiter"]:
        raise fail("MNAAS_CUSTOMER_FILE_DELIMITER", "must not contain a newline")
    if s["visibility_timeout"] <= s["group_time_limit"]:
        raise fail(
            "MNAAS_VISIBILITY_TIMEOUT",
            f"must exceed MNAAS_GROUP_TIME_LIMIT ({s['group_time_limit']} s), or a slow task would be delivered twice",
        )


def _check_sentinels(s: Mapping[str, Any], sources: Mapping[str, str], where_file: str) -> None:
    """A sentinel list that does not parse, or no master named for it, stops the run here."""
    redis_urls = {
        "MNAAS_BROKER_URL": s["broker_url"],
        "MNAAS_RESULT_BACKEND": s["result_backend"],
        "MNAAS_LOCK_URL": s["lock_url"],
    }
    try:
        check_sentinel_settings(redis_urls, s["sentinel_master"])
    except ConfigError as exc:
        where = sources.get(exc.key or "")
        raise ConfigError(
            str(exc), key=exc.key, where=where if where not in (None, "default") else where_file
        ) from None


def _check_warehouse(url: str, sources: Mapping[str, str], where_file: str, fail) -> None:
    """An Impala URL's auth, TLS and timeout options, a DuckDB URL's options and its file."""
    if url.startswith("impala:"):
        from mnaas_missing_files.config.impala_url import parse_impala_url

        with _named("MNAAS_WAREHOUSE_URL", sources, where_file):
            parse_impala_url(url)
    if url.startswith("duckdb:") and url != DUCKDB_MEMORY:
        try:  # its options (memory_limit, threads) too
            db = duckdb_path(url)
        except ConfigError as exc:
            raise fail("MNAAS_WAREHOUSE_URL", str(exc)) from None
        if not db.is_file():
            raise fail("MNAAS_WAREHOUSE_URL", f"DuckDB file {db} does not exist")


@contextmanager
def _named(key: str, sources: Mapping[str, str], where_file: str) -> Iterator[None]:
    """A URL parser's ConfigError, re-raised naming the key and where the key was set."""
    try:
        yield
    except ConfigError as exc:
        raise ConfigError(str(exc), key=key, where=sources.get(key, where_file)) from None


def _check_url(url: str, schemes: tuple[str, ...], key: str, fail) -> None:
    """Scheme, host and port of a URL, so that a typo is exit 2 here, not a traceback when
    the run first connects. Only the masked URL is ever shown."""
    try:
        parts = urlsplit(url)
        scheme, port = parts.scheme, parts.port  # .port raises on a port that is no number
    except ValueError as exc:
        raise fail(key, f"malformed URL {mask_secrets(url)!r}: {mask_secrets(exc)}") from None
    if scheme not in schemes:
        raise fail(key, f"unsupported URL {mask_secrets(url)!r}: expected {' or '.join(s + '://' for s in schemes)}")
    if scheme != "duckdb" and not parts.hostname:
        raise fail(key, f"malformed URL {mask_secrets(url)!r}: no host")
    if port == 0:
        raise fail(key, f"malformed URL {mask_secrets(url)!r}: port 0")


def duckdb_path(url: str) -> Path:
    """duckdb:///relative/file.duckdb or duckdb:////absolute/file.duckdb, as in SQLAlchemy
    (options after `?`: config/duckdb_url.py)."""
    path = parse_duckdb_url(url).path
    if path is None:
        raise ConfigError(f"the DuckDB URL {url!r} names no file", key="MNAAS_WAREHOUSE_URL")
    return path
