"""Real Celery processes for integration tests: workers, beat, Flower and the CLI as
subprocesses, each in its own session (so a test can kill a whole worker), logging to a file.

    env = celery_env(redis, job.config)
    worker = start_worker("w1", env, tmp_path)          # waits until "ready."
    worker.pool_pids()                                  # its prefork pool processes
    worker.kill()                                       # SIGKILL, the whole process group
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CELERY = str(BIN / "celery")
CLI = [sys.executable, "-m", "mnaas_missing_files.cli.main"]
READY_TIMEOUT = 30.0


def celery_env(redis, config: Path, **extra: str) -> dict[str, str]:
    """The environment of every process of one test cluster: its job configuration and the
    test Redis (broker db 0, results db 1, lock and run state db 2), nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MNAAS_", "FLOWER_", "CELERY_"))}
    env.update(
        {
            "MNAAS_CONFIG": str(config),
            "MNAAS_BROKER_URL": redis.url(0),
            "MNAAS_RESULT_BACKEND": redis.url(1),
            "MNAAS_LOCK_URL": redis.url(2),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Proc:
    """A subprocess in its own session whose output goes to `log_path`."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.args = args
        self.env = env
        self.log_path = Path(log_dir) / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=REPO,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text: str, timeout: float = READY_TIMEOUT, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if not self.alive:
                raise AssertionError(
                    f"{self.name} exited ({self.process.returncode}) before logging {text!r}:\n{self.log()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not log {text!r} within {timeout} s:\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def pool_pids(self) -> list[int]:
        """The direct children of the main process (a prefork worker's pool processes)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except FileNotFoundError:
            return []
        return [int(c) for c in children]

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and every pool process."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL whatever is left of the group."""
        if self.process is None:
            return
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)
        if self.alive:
            self.process.wait(10)


def stop_all(processes) -> None:
    """Warm shutdown of several processes at once (each takes a few seconds to drain)."""
    running = [p for p in processes if p is not None and p.alive]
    for process in running:
        process.process.send_signal(signal.SIGTERM)
    for process in processes:
        if process is not None:
            process.stop()


def start_worker(
    name: str,
    env: dict[str, str],
    log_dir: Path,
    *,
    queues: list[str] | None = None,
    concurrency: int = 2,
    pool: str = "prefork",
    wait: bool = True,
) -> Proc:
    """`celery -A workers.app worker` as operators start it, with short start-up options; with
    MNAAS_TEST_GROUP_GATE in `env`, the same app with the test-only group gate."""
    args = [
        CELERY,
        "-A",
        "tests.helpers.gatedworkerapp" if "MNAAS_TEST_GROUP_GATE" in env else "workers.app",
        "worker",
        f"--hostname={name}@%h",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
    ]
    if queues:
        args.append(f"--queues={','.join(queues)}")
    worker = Proc(name, args, env, log_dir).start()
    if wait:
        worker.wait_for_log(" ready.")
    return worker


def start_workers(names: list[str], env: dict[str, str], log_dir: Path, **options) -> list[Proc]:
    """Start several workers at once (they boot in parallel), then wait for each."""
    workers = [start_worker(n, env, log_dir, wait=False, **options) for n in names]
    for worker in workers:
        worker.wait_for_log(" ready.")
    return workers


def run_cli(config: Path, env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`mnaas-missing-files ARGS --config CONFIG`, to the end."""
    return subprocess.run(
        [*CLI, *args, "--config", str(config)], capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout
    )


def start_cli(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    """`mnaas-missing-files ARGS --config CONFIG` in the background; .communicate() later."""
    return subprocess.Popen(
        [*CLI, *args, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
