"""Every kind of setting converts its raw text as the settings table says, and names the key
and file:line when it cannot (the converters behind options.convert)."""

from pathlib import Path

import pytest

from mnaas_missing_files.config.options import OPTIONS_BY_KEY, Option, convert
from mnaas_missing_files.core.errors import ConfigError

WHERE = "job.properties:7"


@pytest.mark.parametrize(
    "key, raw, expected",
    [
        ("process_list", ["traffic", "sms"], ("traffic", "sms")),
        ("process_list", "traffic", ("traffic",)),
        ("process_list", "  ", ()),
        # with a comma the string splits on commas only (a name may hold a space), else on blanks
        ("MNAAS_EMPTY_INPUT_ALLOWED", "sms, tolling  sms, sms", ("sms", "tolling  sms")),
        ("MNAAS_EMPTY_INPUT_ALLOWED", "sms tolling  sms", ("sms", "tolling")),
        ("MNAAS_EMPTY_INPUT_ALLOWED", ["sms", " ", "sms"], ("sms",)),
        ("ENV_MODE", "  UAT ", "UAT"),
        ("MNAAS_EMPTY_INPUT", "WARN", "warn"),
        ("MNAAS_SMTP_URL", "", None),
        ("MNAAS_SMTP_URL", " smtp://relay:25 ", "smtp://relay:25"),
        ("MNAAS_SENTINEL_PASSWORD", "", None),
        ("MOVE_DEV_TEAM", "a@x.org; b@x.org c@x.org,", ("a@x.org", "b@x.org", "c@x.org")),
        ("MNAAS_GROUP_SIZE", "250", 250),
        ("MNAAS_RETRY_BACKOFF", "0.5", 0.5),
        ("MNAAS_LOOKBACK_DAYS", "0", 0),
        ("MNAAS_REPORT_MODE", "0600", 0o600),
        ("MNAAS_REPORT_MODE", "640", 0o640),
        ("MNAAS_SCHEDULE", " 0  7 * * mon-fri ", "0 7 * * mon-fri"),
        ("MNAAS_TIMEZONE", "Europe/Vienna", "Europe/Vienna"),
        ("MNAAS_TIMEZONE", "", None),
        ("MNAAS_DEADLINE", "7:05", "07:05"),
        ("MNAAS_DEADLINE", "", None),
        ("MNAAS_KPI_TABLE", "db.kpi", "db.kpi"),
    ],
)
def test_a_value_converts_to_its_kind(key, raw, expected):
    value = convert(OPTIONS_BY_KEY[key], raw, WHERE)
    assert value == expected and type(value) is type(expected)


def test_a_path_is_made_absolute_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert convert(OPTIONS_BY_KEY["MNAAS_OUTBOX_DIR"], "out/box", WHERE) == tmp_path / "out" / "box"
    assert convert(OPTIONS_BY_KEY["MNAAS_OUTBOX_DIR"], "~/box", WHERE) == Path.home() / "box"


@pytest.mark.parametrize(
    "key, raw, problem",
    [
        ("ENV_MODE", ["PROD", "UAT"], "expected a single value, found an array"),
        ("MNAAS_EMPTY_INPUT", "maybe", "expected fail or warn, got 'maybe'"),
        ("MNAAS_OUTBOX_DIR", "  ", "empty path"),
        ("MNAAS_GROUP_SIZE", "1e3", "expected an integer, got '1e3'"),
        ("MNAAS_RETRY_BACKOFF", "soon", "expected a number, got 'soon'"),
        ("MNAAS_GROUP_SIZE", "0", "must be at least 1, got 0"),
        ("MNAAS_RETRY_BACKOFF", "-0.5", "must be at least 0, got -0.5"),
        ("MNAAS_REPORT_MODE", "rw-r-----", "expected an octal file mode such as 0640, got 'rw-r-----'"),
        ("MNAAS_REPORT_MODE", "0646", "0646 would make the reports world-writable"),
        ("MNAAS_SCHEDULE", "30 6 * *", "expected five cron fields (minute hour day month weekday), got '30 6 * *'"),
        ("MNAAS_TIMEZONE", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("MNAAS_DEADLINE", "24:00", "expected a time of day as HH:MM (00:00 to 23:59), got '24:00'"),
        ("MNAAS_KPI_TABLE", "kpi;", "expected a table name like db.table, got 'kpi;'"),
    ],
)
def test_a_bad_value_names_the_key_the_place_and_the_problem(key, raw, problem):
    with pytest.raises(ConfigError) as caught:
        convert(OPTIONS_BY_KEY[key], raw, WHERE)
    assert str(caught.value).startswith(f"{key}: {problem}")
    assert caught.value.key == key and WHERE in str(caught.value)


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(AssertionError, match="unknown option kind colour"):
        convert(Option("X", "x", "colour", "A colour."), "red", WHERE)
