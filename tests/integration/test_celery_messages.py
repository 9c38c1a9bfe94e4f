"""What a run puts on the broker: a group task's message carries its group and a reference to
the run, never the whole plan, so its size does not grow with the number of groups. The
group tasks are held in their queue (only the control worker runs) and read raw from the
Redis broker's list."""

from __future__ import annotations

import base64
import json
import re

import pytest

from mnaas_missing_files.cluster.runstate import RunState, redis_client
from tasks import CHECK_GROUP, FINALIZE_RUN, RUN_FAILED
from tests.helpers.celeryjob import DAY, CeleryJob
from tests.helpers.celeryproc import Proc, celery_env, run_cli, wait_until
from tests.helpers.redisproc import RedisServer

pytestmark = [pytest.mark.redis]


def customers(count: int) -> str:
    return "(" + " ".join(f"C{n:03d}" for n in range(1, count + 1)) + ")"  # all 4 characters


def submit_and_hold(
    job: CeleryJob, env: dict, redis: RedisServer, customer_count: int
) -> tuple[str, list[bytes], dict | None]:
    """Submit a one-process run of `customer_count` customers, at most 2 a group task, planned
    for 2 group workers (so 2 tasks, or a multiple of 2: `customer_count` / 2); its run id,
    the raw messages of its group tasks waiting in the groups queue, and its stored plan."""
    job.configure(
        process_list="(traffic)",
        customer_names=customers(customer_count),
        infonova_customer_names="()",
        MNAAS_GROUP_SIZE="2",
        MNAAS_GROUP_WORKERS="2",
    )
    submitted = run_cli(job.config, env, "submit", "--date", DAY.isoformat())
    assert submitted.returncode == 0, submitted.stderr
    run_id = re.search(r"submitted run (\S+)", submitted.stdout).group(1)
    state = RunState(redis_client(redis.url(2)), run_id)
    wait_until(lambda: state.read().get("state") == "running", what="start_run on the control worker")
    broker = redis.client(0)
    raw = broker.lrange("mnaas-groups", 0, -1)
    plan = state.plan()
    broker.delete("mnaas-groups")  # the next run starts from an empty queue...
    state.client.flushdb()  # ...and a free lock
    return run_id, raw, plan


def group_message(raw: list[bytes], first_customer: str) -> tuple[int, dict, dict]:
    """(size on the broker, the message, its decoded body [args, kwargs, embed]) of the group
    task whose customers start with `first_customer`."""
    for item in raw:
        message = json.loads(item)
        body = json.loads(base64.b64decode(message["body"]))
        if message["headers"]["task"] == CHECK_GROUP and body[1]["group"]["regular"][0] == first_customer:
            return len(item), message, body
    raise AssertionError(f"no message for the group task of {first_customer}")


def test_a_group_tasks_message_does_not_grow_with_the_number_of_groups(tmp_path):
    with RedisServer() as redis:
        job = CeleryJob.build(tmp_path)
        env = celery_env(redis, job.config, MNAAS_CONTROL_CONCURRENCY="1")
        control = Proc("control", ["bash", "workers/control-worker.sh"], env, tmp_path / "logs").start()
        try:
            control.wait_for_log(" ready.")
            _, small, _ = submit_and_hold(job, env, redis, 4)
            large_run, large, plan = submit_and_hold(job, env, redis, 80)
        finally:
            control.stop()

    assert (len(small), len(large)) == (2, 40)
    small_size, _, _ = group_message(small, "C001")
    large_size, message, (args, kwargs, embed) = group_message(large, "C001")
    # The same task (C001, C002) in both runs: only digits differ ("1/40" for "1/2", "groups':
    # 40" in the callback's Flower summary), where the whole plan would add ~13 KB.
    assert large_size - small_size <= 8, (small_size, large_size)
    assert (kwargs["group"]["batch_id"], kwargs["group"]["regular"]) == ("1/40", ["C001", "C002"])
    callback = embed["chord"]
    assert callback["task"] == FINALIZE_RUN
    # immutable: the group tasks' returns are not appended to its message (they are in the run state)
    assert callback["immutable"] is True
    assert set(callback["kwargs"]) == {"run_id", "day", "token"}
    assert (callback["kwargs"]["run_id"], callback["kwargs"]["day"]) == (large_run, DAY.isoformat())
    [handler] = callback["options"]["link_error"]
    assert handler["task"] == RUN_FAILED and handler["kwargs"] == callback["kwargs"]
    # Flower still shows the callback readably, without the lock token
    assert callback["options"]["kwargsrepr"] == repr(
        {"run_id": large_run, "day": DAY.isoformat(), "groups": 40, "dry_run": False}
    )
    # the plan is kept once, in the run state, for the callback to read
    assert plan is not None and plan["run_id"] == large_run
    assert [b["regular"] for b in plan["batches"]] == [[f"C{n:03d}", f"C{n + 1:03d}"] for n in range(1, 80, 2)]
