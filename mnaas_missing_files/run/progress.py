"""Progress of a run's groups: a bar on a terminal, plain status lines otherwise."""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressPrinter:
    def __init__(self, stream: TextIO = sys.stderr, width: int = 30):
        self.stream = stream
        self.width = width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.failed = 0

    def __call__(self, done: int, total: int, result=None) -> None:
        if result is not None and not getattr(result, "ok", True):
            self.failed += 1
        self.update(done, total, self.failed)

    def update(self, done: int, total: int, failed: int = 0) -> None:
        failed_text = f", {failed} failed" if failed else ""
        if self.tty:
            filled = int(self.width * done / total) if total else self.width
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {done}/{total} groups{failed_text}")
            if done >= total:
                self.stream.write("\n")
        else:
            self.stream.write(f"groups done {done}/{total}{failed_text}\n")
        self.stream.flush()
