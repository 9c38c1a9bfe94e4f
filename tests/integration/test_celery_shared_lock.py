"""One job, one lock: a cluster without a shared Redis lock is refused, never silently given
a default Redis that `run` (on its file lock) would not see."""

from __future__ import annotations

import subprocess

from tests.helpers.celeryjob import CeleryJob
from tests.helpers.celeryproc import CELERY, CLI, REPO, celery_env


def env_without_lock(redis_server, config):
    env = celery_env(redis_server, config)
    del env["MNAAS_LOCK_URL"], env["MNAAS_RESULT_BACKEND"]
    return env


def test_submit_without_a_shared_lock_is_a_configuration_error(redis_server, tmp_path):
    job = CeleryJob.build(tmp_path)
    before = job.status_file.read_bytes()
    env = env_without_lock(redis_server, job.config)
    result = subprocess.run(
        [*CLI, "submit", "--config", str(job.config), "--date", "2026-11-24"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "MNAAS_LOCK_URL" in result.stderr and "share one lock" in result.stderr
    assert job.status_file.read_bytes() == before
    assert redis_server.client().dbsize() == 0  # nothing was enqueued


def test_a_worker_without_a_shared_lock_refuses_to_start(redis_server, tmp_path):
    job = CeleryJob.build(tmp_path)
    env = env_without_lock(redis_server, job.config)
    result = subprocess.run(
        [CELERY, "-A", "workers.app", "worker", "--pool=solo", "--without-gossip", "--without-mingle"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert "share one lock" in result.stdout + result.stderr
