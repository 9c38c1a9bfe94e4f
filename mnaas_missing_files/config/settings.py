"""Resolve the typed settings of one run from the properties file and the environment."""

from __future__ import annotations

import datetime as dt
import logging
import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mnaas_missing_files.config.options import OPTIONS, OPTIONS_BY_KEY, Option, convert
from mnaas_missing_files.config.properties import parse_properties
from mnaas_missing_files.config.typos import check_typos, stray_environment
from mnaas_missing_files.config.validation import advice, duckdb_path, validate
from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.retry import RetryPolicy
from mnaas_missing_files.core.secrets import MASK, mask_secrets

log = logging.getLogger(__name__)

CONFIG_ENV = "MNAAS_CONFIG"


@dataclass(frozen=True)
class Settings:
    config_path: Path
    day: dt.date
    conf_path: Path
    log_path: Path
    status_file: Path
    script_name: str
    processes: tuple[str, ...]
    customers: tuple[str, ...]
    infonova_customers: tuple[str, ...]
    impala_host: str | None
    impala_port: int
    mail_to: tuple[str, ...]
    mail_cc: tuple[str, ...]
    mail_from: str
    sdp_to: tuple[str, ...]
    sdp_from: str
    sdp_cc: tuple[str, ...]
    env_mode: str
    csv_path: Path
    txt_path: Path
    warehouse_url: str
    kerberos_keytab: Path | None
    kerberos_principal: str | None
    broker_url: str | None
    result_backend: str | None
    smtp_url: str | None
    outbox_dir: Path
    query_attempts: int
    retry_backoff: float
    mail_attempts: int
    mail_gzip_above: int
    mail_max_bytes: int
    group_size: int
    min_group_customers: int
    local_workers: int
    group_workers: int
    schedule: str
    timezone: str | None
    kpi_table: str
    received_table: str
    generated_table: str
    delimiter: str
    report_mode: int
    lock_url: str | None
    sentinel_master: str | None
    sentinel_password: str | None
    lock_ttl: int
    max_deliveries: int
    sweep_interval: int
    group_time_limit: int
    visibility_timeout: int
    empty_input: str
    empty_input_allowed: tuple[str, ...]
    lookback_days: int
    outstanding_path: Path
    mail_names_per_pair: int
    mail_names_total: int
    catchup_days: int
    deadline: str | None  # HH:MM in the job's zone, or None (off)
    metrics_file: Path | None
    metrics_max_customers: int
    mail_pairs: int
    baseline_weeks: int
    silent_min_days: int
    low_input_ratio: Fraction
    low_input_min_files: int
    quiet_days: tuple[dt.date, ...]
    volume_ignore: tuple[str, ...]
    unmonitored_ignore: tuple[str, ...]
    local_keys: tuple[str, ...]
    shadow_dir: Path | None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)  # key -> file:line | environment | default
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # Every file the parser read (the config, then what it sourced): a cache of these
    # settings is stale when one of them changes.
    files: tuple[str, ...] = field(default=(), compare=False)

    @property
    def window_start(self) -> dt.date:
        """The first day of the lookback window D-L .. D (contract §8)."""
        return self.day - dt.timedelta(days=self.lookback_days)

    @property
    def tzinfo(self) -> dt.tzinfo:
        if self.timezone:
            return zoneinfo.ZoneInfo(self.timezone)
        return dt.datetime.now().astimezone().tzinfo or dt.UTC  # the system's zone

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tzinfo)

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based), by the one policy."""
        return RetryPolicy(self.query_attempts, self.retry_backoff).delay(attempt)

    def describe(self) -> list[tuple[str, str, str, str]]:
        """(key, value with secrets masked, source, help) for every setting, for check-config."""
        rows = []
        for option in OPTIONS:
            value = getattr(self, option.attr)
            if isinstance(value, tuple):
                shown = " ".join(f'"{v}"' if " " in str(v) else str(v) for v in value)
            elif option.kind == "ratio":
                shown = f"{float(value):g}"
            elif option.kind == "mode":
                shown = f"0{value:o}"
            elif option.kind == "secret":
                shown = MASK if value else ""
            else:
                shown = "" if value is None else str(value)
            rows.append((option.key, mask_secrets(shown), self.sources.get(option.key, "default"), option.help))
        return rows

    @classmethod
    def from_values(cls, values: dict[str, Any], *, day: dt.date, config_path: Path) -> Settings:
        """Settings from already-typed values (attribute names, not keys) without a properties
        file: every option not given takes its default, as in load_settings."""
        resolved = _resolve({}, {}, dict(values, day=day), day)
        return cls(config_path=config_path, day=day, **resolved)


def config_path_from(cli_value: str | None, environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    value = cli_value or environ.get(CONFIG_ENV)
    if not value:
        raise ConfigError(f"no configuration file: pass --config PATH or set {CONFIG_ENV}")
    path = Path(value).expanduser().absolute()
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist or is not a file")
    return path


def default_day(timezone: str | None, now: dt.datetime | None = None) -> dt.date:
    """Yesterday in the job's zone (the system's zone when unset)."""
    tz = zoneinfo.ZoneInfo(timezone) if timezone else None
    current = (now or dt.datetime.now(dt.UTC)).astimezone(tz)
    return current.date() - dt.timedelta(days=1)


def load_settings(
    config_path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    day: dt.date | None = None,
    now: dt.datetime | None = None,
    ignore_env: bool = False,
) -> Settings:
    """Parse the properties file for run day `day` (default yesterday) and validate everything.

    `ignore_env` drops the MNAAS_* variables of the environment (the demo uses only its own
    configuration). Raises ConfigError naming the key and file:line.
    """
    environ = dict(os.environ if environ is None else environ)
    if ignore_env:
        environ = {k: v for k, v in environ.items() if not k.startswith("MNAAS_")}
    path = Path(config_path).absolute()
    now = now or dt.datetime.now().astimezone()
    provisional = day or now.date() - dt.timedelta(days=1)
    props = parse_properties(path, environ=environ, run_day=provisional, now=now)
    # Before any value is judged: a missing customer_names next to a `custmer_names` gets
    # the typo's message, not "required setting missing".
    check_typos(props.own_assignments, props.values, environ)
    # The zone may be set in the file itself: read it, then resolve the day and re-read the
    # file with the clock in that zone, since `$(date …)` forms depend on both.
    tz_raw = environ.get("MNAAS_TIMEZONE") or props.values.get("MNAAS_TIMEZONE")
    tz_where = "environment" if environ.get("MNAAS_TIMEZONE") else props.origins.get("MNAAS_TIMEZONE")
    timezone = convert(OPTIONS_BY_KEY["MNAAS_TIMEZONE"], tz_raw or "", tz_where)
    if timezone:
        now = now.astimezone(zoneinfo.ZoneInfo(timezone))
    day = day or default_day(timezone, now)
    if day != provisional or timezone:
        props = parse_properties(path, environ=environ, run_day=day, now=now)
    resolved = _resolve(props.values, props.origins, _environment_overrides(environ), day, config_path=path)
    warnings = tuple(props.warnings) + tuple(stray_environment(environ, _password_env(resolved))) + advice(resolved)
    for warning in warnings:
        log.warning("configuration: %s", warning)
    return Settings(config_path=path, day=day, warnings=warnings, files=tuple(props.files), **resolved)


def _password_env(s: Mapping[str, Any]) -> tuple[str, ...]:
    """The variable an impala:// URL's password_env names: read by the product, not stray."""
    from urllib.parse import parse_qs

    query = parse_qs(urlsplit(s["warehouse_url"] or "").query)
    return tuple(query.get("password_env", ()))


def _environment_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    return {o.key: environ[o.key] for o in OPTIONS if o.env and environ.get(o.key, "") != ""}


def _resolve(
    file_values: Mapping[str, Any],
    origins: Mapping[str, str],
    overrides: Mapping[str, Any],
    day: dt.date,
    config_path: Path | None = None,
) -> dict[str, Any]:
    """Convert and validate every option; `overrides` (environment or test values) win."""
    where_file = str(config_path) if config_path else "test settings"
    resolved: dict[str, Any] = {"day": day}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        if option.key in overrides or option.attr in overrides:
            raw = overrides.get(option.key, overrides.get(option.attr))
            where = "environment" if option.key in overrides else "test settings"
        elif option.key in file_values:
            raw, where = file_values[option.key], origins.get(option.key, where_file)
        else:
            raw, where = None, None
        if raw is None or (raw == "" and option.kind != "list"):
            value = option.default(resolved) if callable(option.default) else option.default
            if value is None and option.required:
                raise ConfigError(
                    f"required setting {option.key} is missing or empty", key=option.key, where=where or where_file
                )
            resolved[option.attr] = value
            sources[option.key] = "default" if where is None else where
            continue
        if not isinstance(raw, (str, list)):
            resolved[option.attr] = raw  # already typed (Settings.for_tests)
        else:
            resolved[option.attr] = convert(option, raw, where)
        sources[option.key] = where or where_file
    validate(resolved, sources, where_file)
    resolved.pop("day")
    resolved["sources"] = sources
    return resolved


__all__ = ["Settings", "load_settings", "config_path_from", "default_day", "duckdb_path", "Option"]
