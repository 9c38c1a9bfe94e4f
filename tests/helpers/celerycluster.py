"""A module-wide Celery cluster for the integration tests of submitted runs: a real
redis-server, two prefork workers started as operators start them (`celery -A workers.app
worker`, no -Q), one job, and the CLI as a subprocess.

The workers run with the test-only MNAAS_TEST_GROUP_GATE: while the gate file exists, a group
task's first delivery waits in its pool process, which lets a test hold a run busy or kill
the process that holds a group. Test modules import the fixtures:

    from tests.helpers.celerycluster import cluster, cluster_ready  # noqa: F401
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery import Celery

from mnaas_missing_files.cluster.runstate import RunState, redis_client
from mnaas_missing_files.config.settings import load_settings
from mnaas_missing_files.core.model import Batch, Plan
from mnaas_missing_files.state.redislock import RedisRunLock, lock_key
from tests.helpers.celeryjob import DAY, CeleryJob
from tests.helpers.celeryproc import Proc, celery_env, run_cli, start_cli, start_workers, stop_all, wait_until
from tests.helpers.redisproc import RedisServer

RUN_KEY = re.compile(r"^mnaas-missing-files:run:[^:]+$")


@dataclass
class Cluster:
    redis: RedisServer
    job: CeleryJob
    env: dict[str, str]
    workers: list[Proc]
    gate: Path
    root: Path

    def cli(self, *args: str, timeout: float = 120):
        return run_cli(self.job.config, self.env, *args, timeout=timeout)

    def submit(self, *args: str, day: dt.date = DAY, timeout: float = 120):
        return self.cli("submit", "--date", day.isoformat(), *args, timeout=timeout)

    def start_submit(self, *args: str, day: dt.date = DAY):
        return start_cli(self.job.config, self.env, "submit", "--date", day.isoformat(), *args)

    def submit_held_run(self) -> tuple:
        """Close the gate, submit with --wait and return (process, run id) once it is running."""
        self.gate.touch()
        submit = self.start_submit("--wait")
        run_id = submitted_run_id(first_line(submit))
        wait_until(lambda: self.state(run_id).read().get("state") == "running", what="the run to start")
        return submit, run_id

    def run(self, day: dt.date = DAY):
        return self.cli("run", "--date", day.isoformat())

    def settings(self, day: dt.date = DAY):
        return load_settings(self.job.config, environ=self.env, day=day)

    def lock(self) -> RedisRunLock:
        return RedisRunLock(self.redis.url(2), lock_key(self.settings().script_name, self.job.status_file), 60)

    def state(self, run_id: str) -> RunState:
        return RunState(redis_client(self.redis.url(2)), run_id)

    def run_keys(self) -> list[str]:
        return [k for k in redis_client(self.redis.url(2)).keys("mnaas-missing-files:run:*") if RUN_KEY.match(k)]

    def pool_pids(self) -> list[int]:
        return [pid for w in self.workers for pid in w.pool_pids()]

    def control_app(self) -> Celery:
        return Celery("test-control", broker=self.redis.url(0), backend=self.redis.url(1), set_as_current=False)


def submitted_run_id(stdout: str) -> str:
    match = re.search(r"^submitted run (\S+) for (\S+)", stdout, re.M)
    assert match, f"no run id printed: {stdout!r}"
    return match.group(1)


def first_line(process) -> str:
    return process.stdout.readline()


@contextlib.contextmanager
def running_cluster(root: Path, worker_names: list[str], **redis_options):
    """A Redis (options as RedisServer's), one job built under `root`, gated workers."""
    with RedisServer(**redis_options) as redis:
        job = CeleryJob.build(root)
        gate = root / "gate"
        env = celery_env(redis, job.config, MNAAS_TEST_GROUP_GATE=str(gate))
        workers = start_workers(worker_names, env, root / "logs")
        state = Cluster(redis, job, env, workers, gate, root)
        try:
            yield state
        finally:
            gate.unlink(missing_ok=True)
            stop_all(state.workers)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("celery-runs"), ["w1", "w2"]) as state:
        yield state


@pytest.fixture
def cluster_ready(cluster):
    """The job reset to the production example, no lock, no run state, workers up."""
    cluster.gate.unlink(missing_ok=True)
    cluster.job.configure()
    redis_client(cluster.redis.url(2)).flushdb()
    if not all(w.alive for w in cluster.workers):  # a test killed them: start afresh
        stop_all(cluster.workers)
        broker = cluster.redis.client(0)
        broker.delete("mnaas-groups", "mnaas-control", "unacked", "unacked_index")
        cluster.workers = start_workers(["w1", "w2"], cluster.env, cluster.root / "logs")
    yield cluster
    cluster.gate.unlink(missing_ok=True)


def hold_one_group(c: Cluster, run_id: str) -> tuple[Batch, int]:
    """Wait until a pool process holds a group task of the run (at the gate); (its batch, pid)."""
    state = c.state(run_id)
    active = wait_until(state.active, timeout=30, what="a pool process to take a group task")
    batch_id, holder = sorted(active.items())[0]
    pid = int(holder.rsplit(" ", 1)[1])
    assert pid in c.pool_pids()
    [batch] = [b for b in Plan.from_json(state.plan() or {}).batches if b.batch_id == batch_id]
    return batch, pid


def http_get(url: str, auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except OSError:
        return 0, b""
