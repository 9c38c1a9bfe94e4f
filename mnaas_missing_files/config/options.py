"""Every setting the product reads: one typed table, each with its help string.

Legacy keys come from the operators' properties file only. New `MNAAS_*` settings may come
from the file or the environment, the environment winning. `settings.py` resolves them.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.secrets import register_secret

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$|^[A-Za-z]{3}(-[A-Za-z]{3})?$")
_ADDRESS_SPLIT = re.compile(r"[,;\s]+")


@dataclass(frozen=True)
class Option:
    key: str  # the name in the properties file / environment
    attr: str  # the Settings attribute
    kind: str  # str | secret | int | float | ratio | dates | path | list | names | choice | addresses | mode | cron | tz | table | url | hhmm
    help: str
    default: Any = None  # a value, or a callable of the partly resolved settings dict
    required: bool = False
    env: bool = False  # a new MNAAS_* setting: readable from the environment, which wins
    secret: bool = False  # may carry a password: masked wherever it is shown
    minimum: float | None = None
    choices: tuple[str, ...] = ()  # kind "choice": the values allowed


def _d(fn: Callable[[dict], Any]) -> Callable[[dict], Any]:
    return fn


_REPORT_DIR = "Missing_Customer_Files"


def csv_name(day) -> str:
    """The CSV's default file name for day D (contract §3); the legacy job's name too."""
    return f"Missing_Customer_Files_Report_{day:%Y-%m-%d}.csv"


def txt_name(day) -> str:
    return f"Missing_Customer_Files_{day:%Y-%m-%d}.txt"


def outstanding_name(day) -> str:
    return f"Missing_Customer_Files_Outstanding_{day:%Y-%m-%d}.csv"


OPTIONS: tuple[Option, ...] = (
    Option(
        "MNAASConfPath",
        "conf_path",
        "path",
        "Platform configuration directory; reports and the outbox live below it by default.",
        required=True,
    ),
    Option(
        "MNAAS_Missing_Customer_Files_logpath",
        "log_path",
        "path",
        "Log file that gets the start/end line of every run.",
        required=True,
    ),
    Option(
        "MNAAS_Missing_Customer_Files_ProcessStatusFilename",
        "status_file",
        "path",
        "Status file shared with the platform's other jobs (contract §4).",
        required=True,
    ),
    Option(
        "MNAAS_Missing_Customer_Files_Scriptname",
        "script_name",
        "str",
        "Job name written as MNAAS_Daily_ProcessName and used in tickets and lock keys.",
        required=True,
    ),
    Option("process_list", "processes", "list", "Processes to check, in report order (bash array).", required=True),
    Option(
        "customer_names",
        "customers",
        "list",
        "Regular customers, in report order (bash array); may be () when infonova_customer_names has customers.",
        required=True,
    ),
    Option(
        "infonova_customer_names",
        "infonova_customers",
        "list",
        "InfONova customers, reported after the regular ones (bash array).",
        default=(),
    ),
    Option(
        "IMPALAD_HOST", "impala_host", "str", "Impala daemon or load balancer; builds the default MNAAS_WAREHOUSE_URL."
    ),
    Option("IMPALAD_JDBC_PORT", "impala_port", "int", "Impala HiveServer2 port.", default=21050, minimum=1),
    Option(
        "MOVE_DEV_TEAM", "mail_to", "addresses", "Report recipients (To), comma- or space-separated.", required=True
    ),
    Option("cc_List", "mail_cc", "addresses", "Report recipients (Cc).", default=()),
    Option("mail_from", "mail_from", "str", "Sender of the report email.", required=True),
    Option(
        "SDP_ticket_to_email",
        "sdp_to",
        "addresses",
        "Service-desk address that receives the failure ticket.",
        required=True,
    ),
    Option(
        "SDP_ticket_from_email",
        "sdp_from",
        "str",
        "Sender of the failure ticket (default: mail_from).",
        default=_d(lambda s: s["mail_from"]),
    ),
    Option("SDP_ticket_cc_email", "sdp_cc", "addresses", "Cc of the failure ticket.", default=()),
    Option(
        "ENV_MODE",
        "env_mode",
        "str",
        "Environment name; any value but PROD prefixes mail subjects with it.",
        default="PROD",
    ),
    Option(
        "missing_files_report",
        "csv_path",
        "path",
        "CSV summary of the day.",
        default=_d(lambda s: s["conf_path"] / _REPORT_DIR / csv_name(s["day"])),
    ),
    Option(
        "query_output1",
        "txt_path",
        "path",
        "TXT list of missing customer files of the day.",
        default=_d(lambda s: s["conf_path"] / _REPORT_DIR / txt_name(s["day"])),
    ),
    Option(
        "MNAAS_WAREHOUSE_URL",
        "warehouse_url",
        "url",
        "duckdb:///relative.duckdb or duckdb:////absolute.duckdb [?memory_limit=200MB&threads=N: bound the embedded engine; above the limit it spills to a temporary directory], or impala://[user[:password]@]host:port[/db]?auth_mechanism=NOSASL|PLAIN|LDAP|GSSAPI&use_ssl=1&ca_cert=PATH&kerberos_service_name=impala&timeout=S&query_timeout=S&password_env=VAR.",
        default=_d(lambda s: f"impala://{s['impala_host']}:{s['impala_port']}" if s.get("impala_host") else None),
        env=True,
        secret=True,
        required=True,
    ),
    Option(
        "MNAAS_KERBEROS_KEYTAB",
        "kerberos_keytab",
        "path",
        "Keytab from which `run`, every worker process and beat get and renew their own Kerberos tickets when MNAAS_WAREHOUSE_URL uses auth_mechanism=GSSAPI (owned by the job's user, mode 0600); unset: the environment's ticket cache (kinit) is used as it is.",
        env=True,
    ),
    Option(
        "MNAAS_KERBEROS_PRINCIPAL",
        "kerberos_principal",
        "str",
        "Principal (name@REALM) of MNAAS_KERBEROS_KEYTAB to log in as; default the keytab's first principal.",
        env=True,
    ),
    Option(
        "MNAAS_BROKER_URL",
        "broker_url",
        "url",
        "Celery broker (redis://, amqp://, or Redis sentinels: sentinel://host:port/db;sentinel://…); default redis://127.0.0.1:6379/0.",
        env=True,
        secret=True,
    ),
    Option(
        "MNAAS_RESULT_BACKEND",
        "result_backend",
        "url",
        "Celery result backend (redis:// or sentinel://host:port/db;sentinel://…); default redis://127.0.0.1:6379/1.",
        env=True,
        secret=True,
    ),
    Option(
        "MNAAS_SMTP_URL",
        "smtp_url",
        "url",
        "smtp://[user:pass@]host:port[?starttls=1&cafile=PATH&verify=0&timeout=S] or smtps://…; unset: emails become .eml files in MNAAS_OUTBOX_DIR.",
        env=True,
        secret=True,
    ),
    Option(
        "MNAAS_OUTBOX_DIR",
        "outbox_dir",
        "path",
        "Where emails are written as .eml files when no SMTP URL is set, and where undeliverable ones are kept.",
        default=_d(lambda s: s["conf_path"] / _REPORT_DIR / "outbox"),
        env=True,
    ),
    Option(
        "MNAAS_QUERY_ATTEMPTS",
        "query_attempts",
        "int",
        "Attempts of a group's queries on transient warehouse errors.",
        default=4,
        env=True,
        minimum=1,
    ),
    Option(
        "MNAAS_RETRY_BACKOFF",
        "retry_backoff",
        "float",
        "Seconds before the first retry; doubles each retry, capped at 30.",
        default=2.0,
        env=True,
        minimum=0,
    ),
    Option(
        "MNAAS_MAIL_ATTEMPTS",
        "mail_attempts",
        "int",
        "Attempts to deliver an email through SMTP before keeping it in the outbox.",
        default=3,
        env=True,
        minimum=1,
    ),
    Option(
        "MNAAS_MAIL_GZIP_ABOVE",
        "mail_gzip_above",
        "int",
        "Bytes above which a report is attached gzip-compressed (name.gz) rather than as is; default 5 MB (5242880).",
        default=5 * 1024 * 1024,
        env=True,
        minimum=0,
    ),
    Option(
        "MNAAS_MAIL_MAX_BYTES",
        "mail_max_bytes",
        "int",
        "Message size the mail relay accepts; a report email that would exceed it carries the summary and the report paths instead of the files, and says so. Default 20 MB (20971520).",
        default=20 * 1024 * 1024,
        env=True,
        minimum=1024,
    ),
    Option(
        "MNAAS_GROUP_SIZE",
        "group_size",
        "int",
        "The most customers one group task's queries name (the IN-list: keep it within the warehouse's limit). A run has as many group tasks as workers (fewer on a small day: MNAAS_MIN_GROUP_CUSTOMERS), more only when this needs it; each checks every process for its customers with one KPI and one missing-files query.",
        default=1000,
        env=True,
        minimum=1,
    ),
    Option(
        "MNAAS_MIN_GROUP_CUSTOMERS",
        "min_group_customers",
        "int",
        "The fewest customers a group task is given when a day is split for its workers: a smaller day gets fewer group tasks than workers (one below twice this), since each task pays fixed per-query costs (planning, admission) that a few customers' rows do not repay. MNAAS_GROUP_SIZE wins where the two disagree. 1 splits as finely as the workers allow.",
        default=500,
        env=True,
        minimum=1,
    ),
    Option(
        "MNAAS_LOCAL_WORKERS",
        "local_workers",
        "int",
        "Group tasks checked in parallel by `run` on this machine (and how many its plan has, MNAAS_GROUP_SIZE permitting).",
        default=4,
        env=True,
        minimum=1,
    ),
    Option(
        "MNAAS_GROUP_WORKERS",
        "group_workers",
        "int",
        "Group tasks a submitted or scheduled run is planned for: the total --concurrency of the workers consuming mnaas-groups.",
        default=4,
        env=True,
        minimum=1,
    ),
    Option(
        "MNAAS_SCHEDULE",
        "schedule",
        "cron",
        "Cron expression of the daily scheduled run (minute hour day month weekday).",
        default="30 6 * * *",
        env=True,
    ),
    Option(
        "MNAAS_TIMEZONE",
        "timezone",
        "tz",
        "IANA zone for 'yesterday', the schedule and timestamps; default the system's zone.",
        env=True,
    ),
    Option("MNAAS_KPI_TABLE", "kpi_table", "table", "KPI table.", default="mnaas.kpi_measurement", env=True),
    Option(
        "MNAAS_RECEIVED_TABLE",
        "received_table",
        "table",
        "Received feed files per customer.",
        default="mnaas.telena_file_record_count",
        env=True,
    ),
    Option(
        "MNAAS_GENERATED_TABLE",
        "generated_table",
        "table",
        "Generated customer files.",
        default="mnaas.customers_files_records_count",
        env=True,
    ),
    Option(
        "MNAAS_CUSTOMER_FILE_DELIMITER",
        "delimiter",
        "str",
        "Between customer and file name in a missing file's name.",
        default="_",
        env=True,
    ),
    Option(
        "MNAAS_REPORT_MODE",
        "report_mode",
        "mode",
        "Octal mode of the report files; never world-writable.",
        default=0o640,
        env=True,
    ),
    Option(
        "MNAAS_LOCK_URL",
        "lock_url",
        "url",
        "Redis URL (redis:// or sentinel://…;…) of the run lock and the run state, shared by `run` and `submit`; default MNAAS_RESULT_BACKEND when it is Redis (or sentinels), else a local file lock.",
        default=_d(
            lambda s: (
                s["result_backend"]
                if str(s.get("result_backend") or "").startswith(("redis://", "rediss://", "sentinel://"))
                else None
            )
        ),
        env=True,
        secret=True,
    ),
    Option(
        "MNAAS_SENTINEL_MASTER",
        "sentinel_master",
        "str",
        "Name the Redis sentinels know the master by; required when a Redis URL is sentinel://… (contract §12).",
        env=True,
    ),
    Option(
        "MNAAS_SENTINEL_PASSWORD",
        "sentinel_password",
        "secret",
        "The sentinels' own password (requirepass of the sentinels), if they have one; the Redis password is the first sentinel URL's.",
        env=True,
        secret=True,
    ),
    Option(
        "MNAAS_LOCK_TTL",
        "lock_ttl",
        "int",
        "Seconds the run lock lives without being extended; a crashed run's lock expires after it. Keep it above MNAAS_GROUP_TIME_LIMIT (else check-config warns).",
        default=1800,
        env=True,
        minimum=5,
    ),
    Option(
        "MNAAS_SWEEP_INTERVAL",
        "sweep_interval",
        "int",
        "Seconds between beat's sweeps for lost runs: a run whose lock lapsed (MNAAS_LOCK_TTL without progress) and stayed so for MNAAS_GROUP_TIME_LIMIT is reported as failed, once.",
        default=300,
        env=True,
        minimum=5,
    ),
    Option(
        "MNAAS_MAX_DELIVERIES",
        "max_deliveries",
        "int",
        "Times a task whose worker died is delivered before its group counts as failed.",
        default=3,
        env=True,
        minimum=1,
    ),
    Option(
        "MNAAS_GROUP_TIME_LIMIT",
        "group_time_limit",
        "int",
        "Hard time limit in seconds of one Celery task (soft limit is 90 % of it).",
        default=900,
        env=True,
        minimum=10,
    ),
    Option(
        "MNAAS_EMPTY_INPUT",
        "empty_input",
        "choice",
        "What a process with no input on the day does (contract §7): fail (exit 1, Failure, one SDP ticket per episode) or warn (the run completes and says so); the subject starts NO INPUT - either way.",
        default="fail",
        env=True,
        choices=("fail", "warn"),
    ),
    Option(
        "MNAAS_EMPTY_INPUT_ALLOWED",
        "empty_input_allowed",
        "names",
        "Processes whose empty day is normal (bash array, or a space/comma list): their pairs are never no_input.",
        default=(),
        env=True,
    ),
    Option(
        "MNAAS_BASELINE_WEEKS",
        "baseline_weeks",
        "int",
        "Weeks of the same weekday (D-7, D-14, ...) whose received counts make a pair's expected count (contract §14); 0 turns the silent and low_input verdicts off.",
        default=4,
        env=True,
        minimum=0,
    ),
    Option(
        "MNAAS_SILENT_MIN_DAYS",
        "silent_min_days",
        "int",
        "Counted baseline days on which a pair must have received files for a day with nothing to be silent; a pair with fewer counted days is not judged for volume.",
        default=3,
        env=True,
        minimum=1,
    ),
    Option(
        "MNAAS_LOW_INPUT_RATIO",
        "low_input_ratio",
        "ratio",
        "A pair that received more than 0 and less than this times its expected count is low_input (compared exactly, strictly less).",
        default=Fraction(1, 2),
        env=True,
    ),
    Option(
        "MNAAS_LOW_INPUT_MIN_FILES",
        "low_input_min_files",
        "int",
        "Expected count below which a pair is never low_input: near zero a ratio means nothing.",
        default=10,
        env=True,
        minimum=1,
    ),
    Option(
        "MNAAS_QUIET_DAYS",
        "quiet_days",
        "dates",
        "Days (YYYY-MM-DD; public holidays, maintenance) left out of every baseline; a run of a quiet day is not judged for volume.",
        default=(),
        env=True,
    ),
    Option(
        "MNAAS_VOLUME_IGNORE",
        "volume_ignore",
        "names",
        "Processes or process/customer pairs never judged for volume (silent, low_input).",
        default=(),
        env=True,
    ),
    Option(
        "MNAAS_UNMONITORED_IGNORE",
        "unmonitored_ignore",
        "names",
        "Processes, customers or process/customer pairs with files on D that are deliberately not configured: never listed as not monitored.",
        default=(),
        env=True,
    ),
    Option(
        "MNAAS_LOOKBACK_DAYS",
        "lookback_days",
        "int",
        "Days before D also checked for files still missing (outstanding, contract §8), in the same two queries per group; 0 turns it off.",
        default=7,
        env=True,
        minimum=0,
    ),
    Option(
        "MNAAS_OUTSTANDING_REPORT",
        "outstanding_path",
        "path",
        "CSV of the outstanding files (default beside the CSV: Missing_Customer_Files_Outstanding_D.csv); in the file it takes the $(date ...) forms, from the environment it is taken literally.",
        default=_d(lambda s: s["csv_path"].parent / outstanding_name(s["day"])),
        env=True,
    ),
    Option(
        "MNAAS_MAIL_NAMES_PER_PAIR",
        "mail_names_per_pair",
        "int",
        "File names the report email lists under one pair before '... and N more'.",
        default=10,
        env=True,
        minimum=0,
    ),
    Option(
        "MNAAS_MAIL_PAIRS",
        "mail_pairs",
        "int",
        "Pairs the report email lists in each of its sections (what needs action, recovered), most severe first; the rest are counted by label, and are in the attached reports.",
        default=300,
        env=True,
        minimum=1,
    ),
    Option(
        "MNAAS_MAIL_NAMES_TOTAL",
        "mail_names_total",
        "int",
        "File names the report email lists in all (what needs action and recovered share it).",
        default=200,
        env=True,
        minimum=0,
    ),
    Option(
        "MNAAS_VISIBILITY_TIMEOUT",
        "visibility_timeout",
        "int",
        "Redis broker visibility timeout in seconds; must exceed MNAAS_GROUP_TIME_LIMIT.",
        default=3600,
        env=True,
        minimum=10,
    ),
    Option(
        "MNAAS_CATCHUP_DAYS",
        "catchup_days",
        "int",
        "Days before the latest scheduled run's day that beat runs first when they never ran (oldest first, one at a time, contract §10); 0 turns catch-up off.",
        default=3,
        env=True,
        minimum=0,
    ),
    Option(
        "MNAAS_DEADLINE",
        "deadline",
        "hhmm",
        "HH:MM in MNAAS_TIMEZONE on day D + 1 by which day D must have a successful run, else the sweeper sends one NOT DELIVERED alert and raises the ticket (contract §10); empty: off.",
        env=True,
    ),
    Option(
        "MNAAS_METRICS_FILE",
        "metrics_file",
        "path",
        "Prometheus textfile (node_exporter's textfile collector) replaced whenever a run ends (contract §11); empty: off.",
        env=True,
    ),
    Option(
        "MNAAS_METRICS_MAX_CUSTOMERS",
        "metrics_max_customers",
        "int",
        "Most (process, customer) series of mnaas_missing_files_customer_missing_files: the pairs with the most missing and outstanding files.",
        default=100,
        env=True,
        minimum=0,
    ),
    Option(
        "MNAAS_LOCAL_KEYS",
        "local_keys",
        "names",
        "Keys of the job's file that are bash locals, never typos, although they look like known keys (bash array or list; contract §16).",
        default=(),
        env=True,
    ),
    Option(
        "MNAAS_SHADOW_DIR",
        "shadow_dir",
        "path",
        "Shadow mode for the cutover (contract §16): runs started with it write reports, log, status file, emails (.eml, never sent), history and metrics only in this directory. `run --shadow DIR` sets it for one run; for a shadow cluster set it on the host that submits.",
        env=True,
    ),
)

OPTIONS_BY_KEY = {o.key: o for o in OPTIONS}


def split_addresses(value: str) -> tuple[str, ...]:
    return tuple(a for a in _ADDRESS_SPLIT.split(value.strip()) if a)


def listed_items(raw: str | list) -> list[str]:
    """A list setting's items (contract §14): a bash array as it is, else one string split on
    commas when it holds one (so a name may contain a space), else on whitespace; each item
    stripped, empty ones dropped."""
    if isinstance(raw, list):
        items = [str(i) for i in raw]
    else:
        text = str(raw)
        items = text.split(",") if "," in text else text.split()
    return [i.strip() for i in items if i.strip()]


def _dates(items: tuple[str, ...], fail: Callable[[str], ConfigError]) -> list[dt.date]:
    days = []
    for item in items:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
                raise ValueError(item)
            days.append(dt.date.fromisoformat(item))
        except ValueError:
            raise fail(f"expected dates as YYYY-MM-DD, got {item!r}") from None
    return days


def _ratio(value: str, fail: Callable[[str], ConfigError]) -> Fraction:
    """Exact, from its decimal text (0.1 is one tenth, not the float nearest it)."""
    try:
        ratio = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise fail(f"expected a number between 0 and 1 such as 0.5, got {value!r}") from None
    if not 0 < ratio <= 1:
        raise fail(f"must be above 0 and at most 1, got {value}")
    return ratio


def convert(option: Option, raw: Any, where: str | None) -> Any:
    """Turn a raw string (or list, for arrays) into the option's type, or raise ConfigError."""

    def fail(problem: str) -> ConfigError:
        return ConfigError(f"{option.key}: {problem}", key=option.key, where=where)

    if option.kind in _ARRAY_KINDS:
        return _ARRAY_KINDS[option.kind](raw, fail)
    if isinstance(raw, list):
        raise fail("expected a single value, found an array")
    converter = _SCALAR_KINDS.get(option.kind)
    if converter is None:
        raise AssertionError(f"unknown option kind {option.kind}")
    return converter(option, str(raw).strip(), fail)


# One converter per kind of setting. A scalar converter gets the option, the value stripped
# of surrounding blanks and `fail`, which builds the ConfigError naming the key and file:line.
_Fail = Callable[[str], ConfigError]


def _to_list(raw: Any, fail: _Fail) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else ([raw] if str(raw).strip() else [])
    return tuple(str(i) for i in items)


def _to_names(raw: Any, fail: _Fail) -> tuple[str, ...]:
    return tuple(dict.fromkeys(listed_items(raw)))


def _to_dates(raw: Any, fail: _Fail) -> tuple[dt.date, ...]:
    return tuple(_dates(_to_names(raw, fail), fail))


def _as_str(option: Option, value: str, fail: _Fail) -> str:
    return value


def _as_choice(option: Option, value: str, fail: _Fail) -> str:
    if value.lower() not in option.choices:
        raise fail(f"expected {' or '.join(option.choices)}, got {value!r}")
    return value.lower()


def _as_url(option: Option, value: str, fail: _Fail) -> str | None:
    return value or None


def _as_secret(option: Option, value: str, fail: _Fail) -> str | None:
    register_secret(value)  # masked wherever it shows up, even echoed back by a server
    return value or None


def _as_path(option: Option, value: str, fail: _Fail) -> Path:
    if not value:
        raise fail("empty path")
    return Path(value).expanduser().absolute()


def _as_addresses(option: Option, value: str, fail: _Fail) -> tuple[str, ...]:
    return split_addresses(value)


def _as_number(option: Option, value: str, fail: _Fail) -> int | float:
    try:
        number = int(value) if option.kind == "int" else float(value)
    except ValueError:
        raise fail(f"expected a{'n integer' if option.kind == 'int' else ' number'}, got {value!r}") from None
    if option.minimum is not None and number < option.minimum:
        raise fail(f"must be at least {option.minimum:g}, got {value}")
    return number


def _as_ratio(option: Option, value: str, fail: _Fail) -> Fraction:
    return _ratio(value, fail)


def _as_mode(option: Option, value: str, fail: _Fail) -> int:
    if not re.fullmatch(r"0?o?[0-7]{3,4}", value):
        raise fail(f"expected an octal file mode such as 0640, got {value!r}")
    mode = int(value.replace("o", ""), 8)
    if mode & 0o002:
        raise fail(f"{value} would make the reports world-writable")
    return mode


def _as_cron(option: Option, value: str, fail: _Fail) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise fail(f"expected five cron fields (minute hour day month weekday), got {value!r}")
    return " ".join(fields)


def _as_timezone(option: Option, value: str, fail: _Fail) -> str | None:
    if not value:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise fail(f"unknown time zone {value!r}") from None
    return value


def _as_time_of_day(option: Option, value: str, fail: _Fail) -> str | None:
    if not value:
        return None
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
    if not match:
        raise fail(f"expected a time of day as HH:MM (00:00 to 23:59), got {value!r}")
    return f"{int(match[1]):02d}:{match[2]}"


def _as_table(option: Option, value: str, fail: _Fail) -> str:
    if not _IDENTIFIER.match(value):
        raise fail(f"expected a table name like db.table, got {value!r}")
    return value


# Arrays keep their items (a bash array, or one value); every other kind takes one value.
_ARRAY_KINDS: dict[str, Callable[[Any, _Fail], tuple[Any, ...]]] = {
    "list": _to_list,
    "names": _to_names,
    "dates": _to_dates,
}
_SCALAR_KINDS: dict[str, Callable[[Option, str, _Fail], Any]] = {
    "str": _as_str,
    "choice": _as_choice,
    "url": _as_url,
    "secret": _as_secret,
    "path": _as_path,
    "addresses": _as_addresses,
    "int": _as_number,
    "float": _as_number,
    "ratio": _as_ratio,
    "mode": _as_mode,
    "cron": _as_cron,
    "tz": _as_timezone,
    "hhmm": _as_time_of_day,
    "table": _as_table,
}
