"""`--date` takes only YYYY-MM-DD and names what is wrong (contract §16)."""

import argparse
import datetime as dt

import pytest

from mnaas_missing_files.cli.main import main, parse_day


def test_a_day_in_the_one_form_is_read():
    assert parse_day("2026-11-20") == dt.date(2026, 11, 20)
    assert parse_day("2024-02-29") == dt.date(2024, 2, 29)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("20261120", "expected a day as YYYY-MM-DD, got '20261120'"),  # Python's fromisoformat takes it
        ("2026-W47-5", "expected a day as YYYY-MM-DD"),
        ("2026-11-20T00:00", "expected a day as YYYY-MM-DD"),
        ("26-11-20", "expected a day as YYYY-MM-DD"),
        ("2026-1-20", "expected a day as YYYY-MM-DD"),
        ("2026-13-01", "'2026-13-01' is not a day: month 13 (months are 01 to 12)"),
        ("2026-00-10", "month 0"),
        ("2026-02-29", "'2026-02-29' is not a day: day 29 (February 2026 has days 01 to 28)"),
        ("2026-11-31", "day 31 (November 2026 has days 01 to 30)"),
        ("2026-11-00", "day 0"),
        ("0000-01-01", "year 0"),
        ("２０２６-11-20", "expected a day as YYYY-MM-DD"),  # other digits than ASCII
    ],
)
def test_anything_else_is_refused_naming_what_is_wrong(text, problem):
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        parse_day(text)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "command", [["run", "--date"], ["check-config", "--date"], ["backfill", "--to", "2026-11-20", "--from"]]
)
def test_the_commands_exit_2_on_a_bad_day(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*command, "2026-13-01"])
    assert exited.value.code == 2
    assert "month 13" in capsys.readouterr().err
