"""A submitted run whose job configuration does not load for a moment when a worker takes its
start_run (here the DuckDB file is moved away and back, as the chaos soak's warehouse outage
does) starts once it loads again, instead of sitting queued until the sweeper reports it
lost (found by the chaos soak, seed 20261205: docs/reliability.md)."""

from __future__ import annotations

import time

import pytest

from tests.helpers.celerycluster import running_cluster, submitted_run_id
from tests.helpers.celeryproc import wait_until

CONTROL_QUEUE = "mnaas-control"


@pytest.mark.redis
def test_a_run_started_while_its_warehouse_file_is_missing_starts_once_it_is_back(tmp_path):
    with running_cluster(tmp_path, ["w1"]) as c:
        control = c.control_app()
        # The worker stops taking control tasks, so that start_run waits in the queue.
        control.control.cancel_consumer(CONTROL_QUEUE, reply=True, timeout=10)
        submit = c.submit()
        assert submit.returncode == 0, submit.stderr
        run_id = submitted_run_id(submit.stdout)
        away = c.job.warehouse.with_name("away.duckdb")
        c.job.warehouse.rename(away)
        control.control.add_consumer(CONTROL_QUEUE, reply=True, timeout=10)
        log = c.workers[0]
        log.wait_for_log(f"run {run_id}: cannot start yet, the job's configuration does not load", timeout=60)
        time.sleep(2)
        away.rename(c.job.warehouse)

        record = wait_until(
            lambda: c.state(run_id).read() if c.state(run_id).read().get("state") == "done" else None,
            timeout=90,
            what="the run to end",
        )
        assert record["exit_code"] in (0, "0"), record
        assert [(e["run_id"], e["outcome"]) for e in c.job.history()] == [(run_id, "success")]
        assert c.job.reports() == tuple(text.encode() for text in c.job.expected())
        assert "Traceback" not in log.log().split(f"run {run_id}: cannot start yet")[1].split("\n", 1)[0]
