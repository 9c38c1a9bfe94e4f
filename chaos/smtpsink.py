"""The soak's SMTP server, a process of its own so that the nemesis can take it down (SIGKILL)
and bring it back on the same port: every message it accepts becomes one `.eml` file, written
whole (temporary name, then rename) before the 250 reply, so a message the job was told is
delivered is on disk.

    python -m chaos.smtpsink PORT DIRECTORY
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


class _Writer:
    def __init__(self, directory: Path):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        name = f"{time.time_ns()}-{os.getpid()}.eml"
        temporary = self.directory / f".{name}.tmp"
        with open(temporary, "wb") as out:
            out.write(data if isinstance(data, bytes) else data.encode())
            out.flush()
            os.fsync(out.fileno())
        temporary.rename(self.directory / name)
        return "250 2.0.0 OK queued"


def serve(port: int, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(_Writer(directory), hostname=HOST, port=port)
    controller.start()
    print(f"smtp sink listening on {HOST}:{port}, writing to {directory}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
