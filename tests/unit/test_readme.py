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


def test_the_layout_section_names_every_subpackage_and_top_level_directory():
    root = Path(__file__).resolve().parents[2]
    layout = README[README.index("## Layout") :]
    packages = sorted(p.parent.name for p in (root / "mnaas_missing_files").glob("*/__init__.py"))
    assert packages == ["checking", "cli", "cluster", "config", "core", "reporting", "run", "state", "warehouse"]
    for name in packages:
        assert f"  {name}/ " in layout, name
    for directory in ("workers/", "tasks/", "docs/contract.md", "examples/", "tests/unit/", "bench/"):
        assert f"\n{directory}" in layout, directory
        assert (root / directory).exists(), directory


def test_nothing_in_the_repository_names_a_path_outside_it():
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in root.rglob("*"):
        if (
            any(part in {".git", ".venv", "var", ".pytest-tmp", "__pycache__"} for part in path.parts)
            or not path.is_file()
        ):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if "../" + "shared" in text or "shared/" + "examples" in text:
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
