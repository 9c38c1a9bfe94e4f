"""The version is written once (the package's __init__) and the installed metadata agrees."""

import importlib.metadata
import subprocess
import sys

from mnaas_missing_files import __version__


def test_the_installed_distribution_carries_the_package_version():
    # pyproject.toml reads it from __init__; an empty [tool.setuptools.dynamic] gave 0.0.0.
    assert importlib.metadata.version("mnaas-missing-files") == __version__


def test_the_command_line_prints_the_same_version():
    shown = subprocess.run(
        [sys.executable, "-m", "mnaas_missing_files.cli", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert shown.split() == ["mnaas-missing-files", __version__]
