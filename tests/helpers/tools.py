"""System tools some tests need (promtool, chromium, systemd-analyze, MIT Kerberos): found on
the PATH, or the test skips saying how to get it, except in CI (CI=true), where a missing tool
fails, so that the tests CI promises always run there (.ci/run installs them)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import NoReturn

import pytest


def require_tool(name: str, debian_package: str) -> str:
    # Daemons and admin tools (krb5kdc, kadmin.local) live in sbin, off a user's PATH.
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path:
        return path
    _unavailable(f"{name} is not installed: apt-get install -y {debian_package} (Debian/Ubuntu)")


def require_module(name: str, how: str) -> None:
    """A Python package only some tests need (`make test` installs it)."""
    if importlib.util.find_spec(name) is None:
        _unavailable(f"the Python package {name} is not installed: {how}")


def _unavailable(how: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{how}; CI must have it (.ci/run installs it)")
    pytest.skip(how)
