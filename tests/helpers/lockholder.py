"""Hold a job's file run lock from another process, exactly as a running `run` does."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path


@contextlib.contextmanager
def file_lock_held(status_file: Path, run_id: str, day: str, pid: int = 0):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import time;from mnaas_missing_files.state.locks import FileRunLock;"
                f"l=FileRunLock({str(status_file) + '.run.lock'!r});"
                f"l.acquire({{'run_id':{run_id!r},'day':{day!r},'pid':{pid}}});"
                "print('held',flush=True);time.sleep(60)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()
