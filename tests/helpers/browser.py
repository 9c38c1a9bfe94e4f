"""A real browser for tests of web pages: Debian's headless Chromium, which runs the page's
JavaScript (Flower's task list is filled by an XHR) and dumps the resulting DOM."""

from __future__ import annotations

import subprocess
import tempfile

from tests.helpers.tools import require_tool


def dump_dom(url: str, *, wait_ms: int = 8000, timeout: float = 90) -> str:
    """The page's DOM after its scripts ran for `wait_ms` of virtual time. Loopback only: no
    background networking, no component updates, a profile of its own."""
    chromium = require_tool("chromium", "chromium")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        result = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-extensions",
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={wait_ms}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if result.returncode != 0:
        raise AssertionError(f"chromium failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout
