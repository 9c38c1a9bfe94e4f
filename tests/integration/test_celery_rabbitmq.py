"""The same chord with RabbitMQ as the broker (Redis stays the result backend, the lock and
the run state), in a virtual host of its own that the test creates and deletes."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid

import pytest

from tests.helpers.celeryjob import DAY, TASKS, CeleryJob
from tests.helpers.celeryproc import celery_env, run_cli, start_worker
from tests.helpers.redisproc import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.rabbitmq]

AMQP = ("127.0.0.1", 5672)


def _rabbitmq_listens() -> bool:
    try:
        with socket.create_connection(AMQP, timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def vhost():
    if not (_rabbitmq_listens() and shutil.which("rabbitmqctl")):
        pytest.skip("no RabbitMQ on 127.0.0.1:5672 with rabbitmqctl on this machine")
    name = f"mnaas-test-{uuid.uuid4().hex[:8]}"

    def ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)

    ctl("add_vhost", name)
    try:
        ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield name
    finally:
        ctl("delete_vhost", name)


def test_a_submitted_run_completes_with_rabbitmq_as_the_broker(tmp_path, vhost):
    with RedisServer() as redis:
        job = CeleryJob.build(tmp_path)
        env = celery_env(redis, job.config, MNAAS_BROKER_URL=f"amqp://guest:guest@{AMQP[0]}:{AMQP[1]}/{vhost}")
        worker = start_worker("rabbit", env, tmp_path / "logs")
        try:
            result = run_cli(job.config, env, "submit", "--date", DAY.isoformat(), "--wait")
        finally:
            worker.stop()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "amqp://guest:**@127.0.0.1:5672" in worker.log()  # the banner names the broker...
    assert "guest:guest" not in worker.log() + result.stdout + result.stderr  # ...without its password
    assert worker.log().count("Task mnaas.check_group[") >= TASKS
    want_csv, want_txt = job.expected()
    assert job.reports() == (want_csv.encode(), want_txt.encode())
    assert len(job.emails()) == 1
    assert job.status()["MNAAS_job_status"] == "Success"
