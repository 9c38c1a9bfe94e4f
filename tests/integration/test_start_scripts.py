"""The start scripts (workers/*.sh, contract §16): exit 2 before Celery on a configuration
error, as the systemd units' RestartPreventExitStatus=2 assume; any other failure keeps its
code; the virtualenv beside the checkout when there is one, else the PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.jobconfig import make_job

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = ("worker.sh", "control-worker.sh", "beat.sh")


def start(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=120)


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MNAAS_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # nothing of a virtualenv: the script finds its own
    env.update(extra)
    return env


@pytest.mark.parametrize("name", SCRIPTS)
def test_no_configuration_is_exit_2(name):
    done = start(REPO / "workers" / name, base_env())
    assert done.returncode == 2, done.stderr
    assert "MNAAS_CONFIG must name the job properties file" in done.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_refused_configuration_is_exit_2_before_celery_starts(name, tmp_path):
    job = make_job(tmp_path)
    job.config.write_text(job.config.read_text() + "custmer_names=(eLUX)\n")
    done = start(REPO / "workers" / name, base_env(MNAAS_CONFIG=str(job.config)))
    assert done.returncode == 2, done.stderr
    assert "unknown key custmer_names; did you mean customer_names?" in done.stderr
    assert "celery" not in done.stdout.lower() and "celery@" not in done.stderr  # never started


@pytest.fixture
def bare_checkout(tmp_path):
    """The scripts in a checkout without .venv, and a PATH whose programs are stand-ins that
    say how they were called and exit with a chosen code."""
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "workers", checkout / "workers", ignore=shutil.ignore_patterns("__pycache__"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in ("mnaas-missing-files", "celery"):
        stand_in = bin_dir / program
        upper = program.upper().replace("-", "_")
        stand_in.write_text(f'#!/bin/sh\necho "{program} $*"\nexit "${{{upper}_EXIT:-0}}"\n')
        stand_in.chmod(0o755)
    config = tmp_path / "job.properties"
    config.write_text("")
    return checkout, base_env(PATH=f"{bin_dir}:/usr/bin:/bin", MNAAS_CONFIG=str(config))


@pytest.mark.parametrize("name", SCRIPTS)
def test_without_a_virtualenv_beside_it_the_path_is_used(name, bare_checkout):
    checkout, env = bare_checkout
    done = start(checkout / "workers" / name, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("celery -A workers.app ")  # check-config's report went nowhere


@pytest.mark.parametrize("code", [1, 2, 3])
def test_check_configs_code_is_kept(code, bare_checkout):
    checkout, env = bare_checkout
    done = start(checkout / "workers" / "worker.sh", {**env, "MNAAS_MISSING_FILES_EXIT": str(code)})
    assert done.returncode == code
    assert "not starting Celery" in done.stderr
    assert "celery -A" not in done.stdout


@pytest.mark.parametrize("name, command", [("beat.sh", "beat"), ("flower.sh", "flower")])
def test_the_virtualenv_beside_the_checkout_comes_first(bare_checkout, name, command):
    checkout, env = bare_checkout
    venv_bin = checkout / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    for program in ("mnaas-missing-files", "celery"):
        (venv_bin / program).write_text(f'#!/bin/sh\necho "venv {program} $*"\n')
        (venv_bin / program).chmod(0o755)
    done = start(checkout / "workers" / name, {**env, "FLOWER_BASIC_AUTH": "ops:pw"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"venv celery -A workers.app {command}")
