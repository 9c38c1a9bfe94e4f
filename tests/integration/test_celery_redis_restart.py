"""Fault test: the one Redis of the cluster (broker, result backend, lock and run state, as in
docker-compose.yml, with its append-only file) restarts while a submitted run is mid-way."""

from __future__ import annotations

import time

import pytest

from mnaas_missing_files.cluster.runstate import redis_client
from tests.helpers.celerycluster import running_cluster, submitted_run_id
from tests.helpers.celeryjob import DAY, GROUPS, TASKS
from tests.helpers.celeryproc import start_cli, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.slow]

REDIS_DOWN_SECONDS = 3


@pytest.fixture
def one_worker(tmp_path):
    with running_cluster(tmp_path, ["w1"], appendonly=True) as c:
        yield c


def test_a_redis_restart_mid_run_loses_nothing_and_the_run_completes(one_worker):
    c = one_worker
    c.gate.touch()
    submit = start_cli(c.job.config, c.env, "submit", "--date", DAY.isoformat(), "--wait")
    run_id = submitted_run_id(submit.stdout.readline())
    state = c.state(run_id)
    # Both pool processes hold a group at the gate: the run is in flight, lock held.
    wait_until(lambda: len(state.active()) == 2, timeout=30, what="two groups at the gate")
    assert c.lock().holder() is not None

    c.redis.stop()  # SIGTERM: the append-only file keeps every key and queued message
    time.sleep(REDIS_DOWN_SECONDS)
    c.redis.start()
    c.gate.unlink()

    code = submit.wait(60)
    out, err = submit.communicate()
    assert code == 0, out + err
    assert f"run {run_id} for {DAY}: SUCCESS" in out
    assert f"run {run_id}: Redis unreachable" in err  # the client waited it out
    record = state.read()
    assert (record["state"], record["done"], record["failed"]) == ("done", GROUPS, 0)
    [report] = c.job.emails()
    assert report.name == f"{DAY}_{run_id}_report.eml"
    want_csv, want_txt = c.job.expected()
    assert c.job.reports() == (want_csv.encode(), want_txt.encode())
    status = c.job.status()
    assert status["MNAAS_job_status"] == "Success"
    assert status["MNAAS_Daily_ProcessStatusFlag"] == "0"
    assert status["MNAAS_Script_Process_Id"] == "0"
    assert status["MNAAS_email_sdp_created"] == "No"
    assert c.job.status_file.read_text().splitlines()[-1] == "MOVE_Delay_Email_sent=No"
    assert c.lock().holder() is None
    [entry] = c.job.history()
    assert (entry["run_id"], entry["outcome"]) == (run_id, "success")
    # The two groups running while Redis was down finished and were acknowledged on the new
    # connection: every task ran once and nothing is left to come back after the visibility
    # timeout.
    assert c.redis.client(0).hlen("unacked") == 0
    deliveries = redis_client(c.redis.url(2))
    counts = [int(deliveries.get(k)) for k in deliveries.keys("mnaas-missing-files:deliveries:*")]
    assert sorted(counts) == [1] * (TASKS + 2)  # 4 group tasks + start_run + finalize_run
