"""Lost runs: every worker of a run dies and its lock lapses. The sweeper reports such a run
once (INCOMPLETE email, Failure, one ticket); a run that merely stalled past its lock's TTL
takes the lock back and finishes; one whose job another run took is only marked failed."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mnaas_missing_files.checking.planning import plan_groups
from mnaas_missing_files.cluster.following import LOST_GRACE_SECONDS
from tasks import FINALIZE_RUN, SWEEP_LOST_RUNS
from tests.helpers.celerycluster import cluster, cluster_ready  # noqa: F401
from tests.helpers.celeryjob import DAY, GROUPS
from tests.helpers.celeryproc import Proc, start_worker, stop_all, wait_until

pytestmark = [pytest.mark.slow]

CONTROL = "mnaas-control"
TTL = 5
GRACE = 10  # MNAAS_GROUP_TIME_LIMIT: how long a lapsed run stays unreported


@pytest.fixture
def lost_run(cluster_ready):
    """A submitted run held at the gate whose every worker was killed and whose lock lapsed;
    then only a control worker is started (the groups' messages stay with the dead workers)."""
    c = cluster_ready
    c.job.configure(
        MNAAS_LOCK_TTL=str(TTL),
        MNAAS_GROUP_TIME_LIMIT=str(GRACE),
        MNAAS_METRICS_FILE=str(c.root / "textfile" / "mnaas_missing_files.prom"),
    )
    submit, run_id = c.submit_held_run()
    wait_until(lambda: len(c.state(run_id).active()) == 4, what="four groups at the gate")
    for worker in c.workers:
        worker.kill()
    wait_until(lambda: c.lock().holder() is None, timeout=TTL + 5, what="the lock to lapse")
    c.workers = [start_worker("control", c.env, c.root / "logs", queues=[CONTROL])]
    yield c, submit, run_id
    stop_all(c.workers)  # the next test's cluster_ready starts the usual workers again


def send(c, task: str, **kwargs) -> None:
    c.control_app().send_task(task, kwargs=kwargs, queue=CONTROL, exchange=CONTROL, routing_key=CONTROL)


def task_lines(worker, task: str, event: str) -> int:
    """How many times the worker logged `Task <task>[<id>] <event>`."""
    return len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] {event}", worker.log()))


def test_the_sweeper_reports_a_run_whose_workers_all_died_once(lost_run):
    c, submit, run_id = lost_run
    before = c.job.status()
    assert before["MNAAS_Daily_ProcessStatusFlag"] == "1"  # the dead run's mark
    status = c.cli("status")
    assert "lock: free" in status.stdout
    assert re.search(
        rf"run {run_id} for {DAY}: NOT ENDED and its lock lapsed \(state running, "
        rf"0/{GROUPS} groups done, .*sweeper reports it once it has stayed so for {GRACE} s",
        status.stdout,
    ), status.stdout

    # Beat, started as operators start it, sends the sweep (every 5 s here; the daily entry is
    # moved to 29 February so that it cannot fire during the test).
    beat = Proc(
        "beat",
        ["bash", "workers/beat.sh", "--max-interval=1"],
        {
            **c.env,
            "MNAAS_BEAT_STATE_FILE": str(c.root / "beat-lost-state"),
            "MNAAS_SWEEP_INTERVAL": "5",
            "MNAAS_SCHEDULE": "0 0 29 2 *",
        },
        c.root / "logs",
    ).start()
    try:
        beat.wait_for_log("Sending due task mnaas-sweep-lost-runs (mnaas.sweep_lost_runs)")
        record = wait_until(
            lambda: (r := c.state(run_id).read())["state"] in ("done", "failed") and r,
            timeout=60,
            what="the sweeper to report the lost run",
        )
    finally:
        beat.stop()
    # The first sweep only noted the lapse; one at least GRACE s later reported the run.
    sweeps = [
        (dt.datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f"), m[2])
        for m in re.finditer(
            rf"^\[([^:]+:[^:]+:[^:]+): INFO/\S+\] Task {re.escape(SWEEP_LOST_RUNS)}\[[^\]]+\] succeeded "
            r"in [\d.e-]+s: (.*)$",
            c.workers[0].log(),
            re.M,
        )
    ]
    assert f"'lapsed': ['{run_id}']" in sweeps[0][1], sweeps
    [reported_at] = [at for at, result in sweeps if f"'reported': ['{run_id}']" in result]
    assert (reported_at - sweeps[0][0]).total_seconds() >= GRACE - 0.5

    assert (record["state"], record["exit_code"]) == ("done", 1)
    outcome = record["outcome"]
    assert outcome["outcome"] == "lost" and len(outcome["failed_groups"]) == GROUPS
    assert all(e.startswith("lost: no result came back") for e in outcome["failed_groups"].values())
    every_pair_unknown = {(g.process, cust) for g in plan_groups(c.settings()) for cust in g.customers}
    # No group returned (contract §15): no report, and the one message is the failure notice.
    assert not c.job.job.csv(DAY).exists() and c.job.emails("report") == []
    [notice] = c.job.emails("failure-notice")
    assert notice.name == f"{DAY}_{run_id}_failure-notice.eml"
    assert c.job.message(notice)["Subject"] == (
        f"FAILED - Missing customer files {DAY}: the run was lost (its process or worker died)"
    )
    assert len(c.job.emails("sdp-ticket")) == 1
    status = c.job.status()
    assert (status["MNAAS_Daily_ProcessStatusFlag"], status["MNAAS_job_status"], status["MNAAS_email_sdp_created"]) == (
        "1",
        "Failure",
        "Yes",
    )
    assert [(e["run_id"], e["outcome"]) for e in c.job.history()] == [(run_id, "lost")]
    # the metrics say lost, every pair unknown, every group failed (contract §11)
    metrics = {
        (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "job_name"))): s.value
        for f in text_string_to_metric_families((c.root / "textfile" / "mnaas_missing_files.prom").read_text())
        for s in f.samples
    }
    assert [
        dict(labels)["outcome"]
        for (name, labels), v in metrics.items()
        if name == "mnaas_missing_files_last_run_outcome" and v == 1
    ] == ["lost"]
    assert metrics[("mnaas_missing_files_failed_groups", ())] == GROUPS
    assert sum(
        v
        for (name, labels), v in metrics.items()
        if name == "mnaas_missing_files_pairs" and dict(labels)["verdict"] == "unknown"
    ) == len(every_pair_unknown)
    assert c.lock().holder() is None
    assert "NOT ENDED" not in c.cli("status").stdout
    # the operator who waited on it gets its outcome, not a bare "lost"
    assert submit.wait(30) == 1
    out, err = submit.communicate()
    assert "LOST" in out and "lost: no result came back" in out

    # The dead run's callback turns up late (its message redelivered), and a second sweep runs:
    # neither sends, writes or tickets anything more.
    report = c.job.job.csv(DAY)
    after = c.job.status_file.read_bytes(), report.exists()
    log = c.workers[0]
    sweeps = task_lines(log, SWEEP_LOST_RUNS, "succeeded in")
    send(c, FINALIZE_RUN, run_id=run_id, day=DAY.isoformat(), token=c.state(run_id).token())
    send(c, SWEEP_LOST_RUNS)
    log.wait_for_log(f"run {run_id}: this run no longer holds the lock")
    wait_until(
        lambda: (
            task_lines(log, SWEEP_LOST_RUNS, "succeeded in") > sweeps
            and task_lines(log, FINALIZE_RUN, "succeeded in") == 1
            and all(
                task_lines(log, name, "received") == task_lines(log, name, "succeeded in")
                for name in (SWEEP_LOST_RUNS, FINALIZE_RUN)
            )
            and c.redis.client(0).llen(CONTROL) == 0
        ),
        what="both tasks to end",
    )
    assert (c.job.status_file.read_bytes(), report.exists()) == after
    assert len(c.job.emails()) == 2  # the failure notice and the ticket, still
    assert c.state(run_id).read()["state"] == "done"


def test_a_lost_run_whose_job_another_run_took_is_marked_failed_and_changes_nothing(lost_run):
    c, submit, run_id = lost_run
    local = c.run()  # the operator reruns the day by hand meanwhile
    assert local.returncode == 0, local.stderr
    after = c.job.status_file.read_bytes()
    assert c.job.status()["MNAAS_job_status"] == "Success"

    wait_until(lambda: submit.poll() is not None, what="the waiting client to give up")
    assert submit.returncode == 1 and "lost: its lock expired" in submit.communicate()[1]
    send(c, SWEEP_LOST_RUNS)
    record = wait_until(
        lambda: (r := c.state(run_id).read())["state"] != "running" and r,
        timeout=30,
        what="the sweeper to mark the run",
    )

    assert (record["state"], record["exit_code"]) == ("failed", 1)
    assert "another run has held the job since" in record["message"]
    assert c.job.status_file.read_bytes() == after
    # Its one message is the failure notice saying another run took the job (contract §15),
    # sent once the sweeper has claimed the run's end (the state above), so waited for.
    [notice] = wait_until(lambda: [p for p in c.job.emails() if run_id in p.name], what="the failure notice")
    assert notice.name.endswith("_failure-notice.eml")
    assert "another run has held the job since" in c.job.message(notice).get_body(("plain",)).get_content()
    assert len(c.job.emails("report")) == 1 and c.job.emails("sdp-ticket") == []


def test_a_run_that_stalled_past_its_lock_ttl_takes_the_lock_back_and_finishes(cluster_ready):
    c = cluster_ready
    c.job.configure(MNAAS_LOCK_TTL=str(TTL))
    submit, run_id = c.submit_held_run()
    wait_until(lambda: c.lock().holder() is None, timeout=TTL + 5, what="the lock to lapse")
    time.sleep(LOST_GRACE_SECONDS + 1)  # long enough for the waiting client to call a bare lapse lost

    c.gate.unlink()  # the groups move again; nobody has taken the job meanwhile

    assert submit.wait(60) == 0, submit.communicate()
    out, err = submit.communicate()
    assert "SUCCESS" in out and "lock lapsed" in err
    assert c.job.reports() == tuple(text.encode() for text in c.job.expected())
    assert [p.name for p in c.job.emails()] == [f"{DAY}_{run_id}_report.eml"]
    assert c.job.status()["MNAAS_job_status"] == "Success"
    assert c.lock().holder() is None
    assert any("had lapsed; nobody took the job meanwhile" in w.log() for w in c.workers)
