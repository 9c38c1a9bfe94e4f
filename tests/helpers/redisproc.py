"""A real, throw-away redis-server on a free loopback port, for integration tests."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """`redis-server` in its own temp dir, without persistence unless `appendonly`.

    `stop()` then `start()` brings it back on the same port: empty, or, with `appendonly`
    (fsync on every write, as a SIGTERM-stopped production Redis keeps its data), with
    everything it held, for restart tests.
    Use as a context manager, or call `close()` to stop it and remove its directory.
    """

    def __init__(
        self,
        password: str | None = None,
        executable: str = "redis-server",
        appendonly: bool = False,
        extra_args: tuple[str, ...] = (),
    ):
        found = shutil.which(executable)
        if not found:
            raise RuntimeError(f"{executable} is not installed; integration tests need it")
        self.executable = found
        self.password = password
        self.appendonly = appendonly
        self.extra_args = tuple(extra_args)  # e.g. ("--replicaof", host, port) for a replica
        self.port: int | None = None
        self.dir = Path(tempfile.mkdtemp(prefix="mnaas-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def log_file(self) -> Path:
        return self.dir / "redis.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), socket_timeout=5)

    def start(self) -> RedisServer:
        if self.running:
            return self
        # A port picked by free_port() may be taken before redis binds it; pick again then.
        # A port kept from an earlier start() is kept, since restart tests depend on it.
        keep_port = self.port is not None
        for _ in range(1 if keep_port else 5):
            if not keep_port:
                self.port = free_port()
            self._launch()
            if self._wait_until_ready():
                return self
        raise RuntimeError(f"redis-server did not start on port {self.port}: {self._log_tail()}")

    def _launch(self) -> None:
        args = [
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            *(["--appendonly", "yes", "--appendfsync", "always"] if self.appendonly else ["--appendonly", "no"]),
            "--dir",
            str(self.dir),
            "--logfile",
            str(self.log_file),
            "--daemonize",
            "no",
        ]
        if self.password:
            args += ["--requirepass", self.password]
        args += list(self.extra_args)
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        probe = redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password,
            socket_timeout=1,
            socket_connect_timeout=1,
        )
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    # Another server may own the port; only our own process counts as ready.
                    if probe.info("server")["process_id"] == self.process.pid:
                        return True
                    time.sleep(0.1)
                except redis.exceptions.ConnectionError:
                    time.sleep(0.02)
            self.kill()
            return False
        finally:
            probe.close()

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-1000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM and wait; the port stays reserved for a later start()."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        self._end(signal.SIGKILL)

    def _end(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()
