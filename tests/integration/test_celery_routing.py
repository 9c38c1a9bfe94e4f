"""The two queues: a control worker (workers/control-worker.sh) never receives a group task,
and group workers (workers/worker.sh) never receive a control task."""

from __future__ import annotations

import json
import re

import pytest

from mnaas_missing_files.cluster.runstate import RunState, redis_client
from tests.helpers.celeryjob import DAY, GROUPS, TASKS, CeleryJob
from tests.helpers.celeryproc import Proc, celery_env, run_cli, wait_until
from tests.helpers.redisproc import RedisServer

pytestmark = [pytest.mark.redis]


def test_group_tasks_wait_in_the_groups_queue_and_never_reach_the_control_worker(tmp_path):
    with RedisServer() as redis:
        job = CeleryJob.build(tmp_path)
        env = celery_env(redis, job.config, MNAAS_CONTROL_CONCURRENCY="1")
        logs = tmp_path / "logs"
        control = Proc("control", ["bash", "workers/control-worker.sh"], env, logs).start()
        groups = None
        try:
            control.wait_for_log(" ready.")
            submitted = run_cli(job.config, env, "submit", "--date", DAY.isoformat())
            assert submitted.returncode == 0, submitted.stderr
            run_id = re.search(r"submitted run (\S+)", submitted.stdout).group(1)
            state = RunState(redis_client(redis.url(2)), run_id)
            broker = redis.client(0)
            wait_until(lambda: state.read().get("state") == "running", what="start_run on the control worker")

            # start_run ran; every group task waits in the groups queue, none in control
            queued = [json.loads(m) for m in broker.lrange("mnaas-groups", 0, -1)]
            assert [m["headers"]["task"] for m in queued] == ["mnaas.check_group"] * TASKS
            assert broker.llen("mnaas-control") == 0
            assert {m["properties"]["delivery_info"]["routing_key"] for m in queued} == {"mnaas-groups"}

            groups = Proc("groups", ["bash", "workers/worker.sh", "--concurrency=2"], env, logs).start()
            record = wait_until(
                lambda: (r := state.read()).get("state") == "done" and r, timeout=60, what="the run to end"
            )
        finally:
            for process in (groups, control):
                if process is not None:
                    process.stop()

        assert record["exit_code"] == 0 and record["done"] == GROUPS
        want_csv, want_txt = job.expected()
        assert job.reports() == (want_csv.encode(), want_txt.encode())
        assert "mnaas.check_group[" not in control.log()
        assert "Task mnaas.start_run[" in control.log() and "Task mnaas.finalize_run[" in control.log()
        assert groups.log().count("Task mnaas.check_group[") >= TASKS
        assert "mnaas.start_run[" not in groups.log() and "mnaas.finalize_run[" not in groups.log()
        assert "groups@" in groups.log() and "control@" in control.log()
