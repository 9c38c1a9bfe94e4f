"""The systemd units of deploy/systemd/ (docs/operations.md, "Without Docker"): `systemd-analyze verify`
accepts each, with not even a warning, once pointed at this checkout; and what they promise
operators is in them: the job's environment file, a restart policy, beat as a single unit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
INSTALLED_AT = "/opt/mnaas-missing-files"
ENV_FILE = "/etc/mnaas-missing-files/job.env"
NAMES = ("mnaas-worker@.service", "mnaas-control-worker.service", "mnaas-beat.service", "mnaas-flower.service")


def parse(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd's unit syntax: sections, repeatable keys, comments; no continuation lines here."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}:{number}: not KEY=value: {line!r}"
        key, value = line.split("=", 1)
        current.setdefault(key, []).append(value)
    return sections


@pytest.mark.parametrize("name", NAMES)
def test_every_unit_reads_the_job_environment_file_restarts_and_runs_a_start_script(name):
    unit = parse(UNITS / name)
    service = unit["Service"]
    assert service["EnvironmentFile"] == [ENV_FILE]
    assert service["Restart"][0] in ("on-failure", "always")
    assert service["User"] == ["mnaas"]
    [start] = service["ExecStart"]
    script = Path(start.replace(INSTALLED_AT, str(REPO)))
    assert script.parent == REPO / "workers" and script.is_file()
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    if name != "mnaas-flower.service":  # exit 2 is a configuration error: restarting cannot help
        assert service["RestartPreventExitStatus"] == ["2"]


def test_beat_is_one_unit_and_flower_listens_on_loopback_unless_told_otherwise():
    assert not (UNITS / "mnaas-beat@.service").exists()
    assert "EXACTLY ONE" in (UNITS / "mnaas-beat.service").read_text()
    flower = parse(UNITS / "mnaas-flower.service")["Service"]
    assert "FLOWER_ADDRESS=127.0.0.1" in flower["Environment"]
    # set before the environment file, so the file can open it up on purpose
    text = (UNITS / "mnaas-flower.service").read_text()
    assert text.index("FLOWER_ADDRESS=127.0.0.1") < text.index("EnvironmentFile=")


def test_the_environment_file_example_says_mode_0600_and_names_the_job():
    text = (UNITS / "job.env.example").read_text()
    assert "install -m 0600" in text
    assert "MNAAS_CONFIG=" in text and "FLOWER_BASIC_AUTH=" in text


@pytest.mark.systemd
def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    analyze = require_tool("systemd-analyze", "systemd")
    for name in NAMES:  # installed paths pointed at this checkout, whose scripts exist
        (tmp_path / name).write_text((UNITS / name).read_text().replace(INSTALLED_AT, str(REPO)))
    (tmp_path / "mnaas-worker@1.service").symlink_to(tmp_path / "mnaas-worker@.service")
    units = [str(tmp_path / n) for n in NAMES if "@." not in n] + [str(tmp_path / "mnaas-worker@1.service")]
    result = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    mine = [line for line in (result.stdout + result.stderr).splitlines() if "mnaas" in line]
    assert mine == []  # not even an unknown key
