"""A throw-away Celery cluster for one way: a Redis broker, a separate Redis result backend
(so that the bytes written into the backend can be read off its INFO counters) and W real
`celery -A bench.workerapp worker` processes, one pool process each — or, for the scale
model, the worker processes `specs` lists (each its own extra arguments: queues, pool,
concurrency)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.redisproc import RedisServer

REPO = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 60.0


class Cluster:
    def __init__(self, workers: int, workdir: Path, env: dict[str, str], specs: list[list[str]] | None = None):
        self.specs = specs or [["--concurrency=1", "--prefetch-multiplier=1"]] * workers
        self.workers = len(self.specs)
        self.workdir = workdir
        self.base_env = env
        self.broker = RedisServer()
        self.backend = RedisServer()
        self.processes: list[subprocess.Popen] = []

    @property
    def env(self) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(
            {
                "MNAAS_BROKER_URL": self.broker.url(0),
                "MNAAS_RESULT_BACKEND": self.backend.url(0),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            }
        )
        return env

    def start(self) -> Cluster:
        self.broker.start()
        self.backend.start()
        for n, spec in enumerate(self.specs, start=1):
            log = open(self.workdir / f"worker{n}.log", "w")
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "bench.workerapp",
                        "worker",
                        *spec,
                        "-n",
                        f"bench{n}@%h",
                        f"--loglevel={os.environ.get('BENCH_WORKER_LOGLEVEL', 'WARNING')}",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                    cwd=REPO,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        from celery import Celery

        probe = Celery(broker=self.broker.url(0), backend=self.backend.url(0))
        deadline = time.monotonic() + READY_TIMEOUT
        try:
            while time.monotonic() < deadline:
                for proc in self.processes:
                    if proc.poll() is not None:
                        raise RuntimeError(f"a worker exited with {proc.returncode}; see {self.workdir}/worker*.log")
                if len(probe.control.ping(timeout=0.5) or []) >= self.workers:
                    return
            raise RuntimeError(f"{self.workers} workers not ready after {READY_TIMEOUT:.0f} s")
        finally:
            probe.close()

    def backend_bytes_in(self) -> int:
        """Bytes clients have written into the result backend so far (its INFO counter)."""
        return int(self.backend.client().info("stats")["total_net_input_bytes"])

    def broker_bytes_in(self) -> int:
        return int(self.broker.client().info("stats")["total_net_input_bytes"])

    def close(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.broker.close()
        self.backend.close()

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()
