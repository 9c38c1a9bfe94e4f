"""System tools some tests need (promtool, chromium, systemd-analyze): found on the PATH, or
the test skips saying how to get it, except in CI (CI=true), where a missing tool fails, so
that the tests CI promises always run there (.ci/run installs them)."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str, debian_package: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    how = f"{name} is not installed: apt-get install -y {debian_package} (Debian/Ubuntu)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{how}; CI must have it (.ci/run installs it)")
    pytest.skip(how)
