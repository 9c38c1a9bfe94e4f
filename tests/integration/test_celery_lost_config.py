"""A lost run whose day's settings do not load for a moment when the sweeper comes to report
it (here its DuckDB file is moved away, as the chaos soak's warehouse outage does) is
reported once they load again: one message (here the failure notice: no group returned),
`lost` in the history. Taken over at once, it was marked failed with no reports and no email (found by the
chaos soak, seed 20261205: docs/reliability.md)."""

from __future__ import annotations

import re
import time

from tasks import SWEEP_LOST_RUNS
from tests.helpers.celerycluster import cluster, cluster_ready  # noqa: F401
from tests.helpers.celeryproc import start_worker, stop_all, wait_until
from tests.integration.test_celery_lost_runs import CONTROL, GRACE, lost_run, send  # noqa: F401


def sweeps_done(worker) -> int:
    return len(re.findall(rf"Task {re.escape(SWEEP_LOST_RUNS)}\[[^\]]+\] succeeded", worker.log()))


def sweep(c, worker) -> None:
    before = sweeps_done(worker)
    send(c, SWEEP_LOST_RUNS)
    wait_until(lambda: sweeps_done(worker) > before, timeout=30, what="the sweep to finish")


def test_a_lost_run_is_reported_once_its_settings_load_again(lost_run):
    c, submit, run_id = lost_run
    # One pool process, so the sweep's own settings are the ones read while the file was there.
    stop_all(c.workers)
    c.workers = [start_worker("control", c.env, c.root / "logs", queues=[CONTROL], concurrency=1)]
    worker = c.workers[0]
    sweep(c, worker)  # sees the run lapsed: its grace starts
    away = c.job.warehouse.with_name("away.duckdb")
    c.job.warehouse.rename(away)
    try:
        time.sleep(GRACE + 1)
        sweep(c, worker)
        assert f"run {run_id}: lost; it is reported once the job's configuration loads again" in worker.log()
        assert [e["outcome"] for e in c.job.history()] == ["running"]
    finally:
        away.rename(c.job.warehouse)
    sweep(c, worker)

    [entry] = c.job.history()
    assert (entry["run_id"], entry["outcome"]) == (run_id, "lost")
    # No group returned: no report is written, and its one message is the failure notice (§15).
    assert c.job.emails("report") == [] and len(c.job.emails("failure-notice")) == 1
    assert c.job.status()["MNAAS_job_status"] == "Failure"
    submit.kill()
