"""A production install is the runtime only (contract §16): the built wheel, installed with
the pinned constraints into a fresh virtualenv, brings no test or lint tool, reports its own
version, stays under 200 MB and runs `check-config` on the example job."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.jobconfig import make_job

REPO = Path(__file__).resolve().parents[2]
LIMIT_BYTES = 200 * 1024 * 1024
# Never in a production install, whatever requirements-test.txt holds tomorrow.
NEVER = {"pytest", "pyspark", "ruff", "mypy", "hypothesis"}


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line.split("#", 1)[0])
        if found and not line.lstrip().startswith("-"):
            names.add(canonical(found.group(1)))
    return names


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(list(map(str, args)), capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(virtualenv, its site-packages) with the product's wheel installed as production does."""
    root = tmp_path_factory.mktemp("install")
    wheels = root / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, REPO)
    [wheel] = wheels.glob("mnaas_missing_files-*.whl")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin/python", "-m", "pip", "install", "--quiet", "-c", REPO / "requirements.txt", wheel)
    site = Path(
        run(venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    )
    return venv, site


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MNAAS_", "PYTHON", "VIRTUAL_ENV"))}


def test_no_test_or_lint_package_is_installed(installed):
    venv, _ = installed
    listed = run(venv / "bin/python", "-m", "pip", "list", "--format=freeze", env=clean_env()).stdout
    present = {canonical(line.split("==")[0]) for line in listed.splitlines() if "==" in line}
    test_only = requirement_names(REPO / "requirements-test.txt") - requirement_names(REPO / "requirements.txt")
    assert NEVER <= test_only  # the list it is checked against does hold the tools
    assert present & (test_only | NEVER) == set()
    assert {"celery", "redis", "duckdb", "impyla", "jinja2", "prometheus-client", "flower"} <= present


def test_the_version_is_the_packages_own(installed):
    venv, _ = installed
    source = re.search(r'__version__ = "([^"]+)"', (REPO / "mnaas_missing_files/__init__.py").read_text()).group(1)
    env = clean_env()
    metadata = run(
        venv / "bin/python", "-c", "import importlib.metadata as m; print(m.version('mnaas-missing-files'))", env=env
    ).stdout.strip()
    shown = run(venv / "bin/mnaas-missing-files", "--version", env=env, cwd=venv).stdout.strip()
    assert metadata == source != "0.0.0"
    assert shown == f"mnaas-missing-files {source}"


def test_the_installed_cli_checks_the_example_configuration(installed, tmp_path):
    import duckdb

    venv, site = installed
    warehouse = tmp_path / "wh.duckdb"
    duckdb.connect(str(warehouse)).close()
    job = make_job(tmp_path / "job", {"MNAAS_WAREHOUSE_URL": f"duckdb:///{warehouse}"})
    done = run(venv / "bin/mnaas-missing-files", "check-config", "--config", job.config, env=clean_env(), cwd=tmp_path)
    assert done.stdout.startswith(f"configuration {job.config} is valid for day ")
    # The installed package answered, not this checkout.
    where = run(
        venv / "bin/python", "-c", "import mnaas_missing_files; print(mnaas_missing_files.__file__)", cwd=tmp_path
    )
    assert where.stdout.strip().startswith(str(site))


def test_the_runtime_stays_under_200_mb(installed):
    _, site = installed
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"runtime site-packages: {size / 1024 / 1024:.1f} MB")
    assert size < LIMIT_BYTES
