"""The README documents every setting and every exit code the program uses."""

from pathlib import Path

from mnaas_missing_files.config.options import OPTIONS
from mnaas_missing_files.core import errors

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_readme_table():
    missing = [o.key for o in OPTIONS if f"| `{o.key}` |" not in README]
    assert missing == []


def test_every_exit_code_is_documented():
    for code in (errors.EXIT_OK, errors.EXIT_FAILED, errors.EXIT_CONFIG, errors.EXIT_LOCKED, errors.EXIT_HELD):
        assert f"\n| {code} | " in README
