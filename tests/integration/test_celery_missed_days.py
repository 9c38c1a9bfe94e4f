"""No day goes unnoticed (contract §10): a real beat catches up the days of the window that
never ran, oldest first, one at a time, each once however many beats; the sweepers send one
NOT DELIVERED alert per day when the deadline passed without a success.

The window follows the real clock (beat's): the schedule is midnight UTC, always past, so
the window is the K days before today; the warehouse has no data for them, and each such run
succeeds with nothing missing (MNAAS_EMPTY_INPUT=warn: no input is not a failure here)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mnaas_missing_files.cluster.keys import SCHEDULED_TTL, scheduled_key
from mnaas_missing_files.cluster.runstate import redis_client
from tasks import CATCH_UP, SWEEP_LOST_RUNS
from tests.helpers.celerycluster import cluster, cluster_ready  # noqa: F401
from tests.helpers.celeryproc import Proc, start_worker, wait_until

pytestmark = [pytest.mark.slow]

CONTROL = "mnaas-control"
MIDNIGHT = '"0 0 * * *"'


@pytest.fixture(scope="module")
def control(cluster):
    """A control worker of its own, as in production: the cluster's two workers may all be
    holding groups at the gate while beat's catch-up passes and sweeps come in."""
    worker = start_worker("control", cluster.env, cluster.root / "logs", queues=[CONTROL])
    cluster.workers.append(worker)
    yield worker
    worker.stop()
    cluster.workers.remove(worker)


@pytest.fixture
def job(control, cluster_ready):
    return cluster_ready


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def start_beat(c, name: str) -> Proc:
    beat = Proc(
        name,
        ["bash", "workers/beat.sh", "--max-interval=1"],
        {**c.env, "MNAAS_BEAT_STATE_FILE": str(c.root / f"{name}-state")},
        c.root / "logs",
    ).start()
    beat.wait_for_log("beat: Starting")
    return beat


def worker_logs(c) -> str:
    return "".join(w.log() for w in c.workers)


def passes_done(c) -> int:
    return len(re.findall(r"Task mnaas\.catch_up\[[^\]]+\] succeeded", worker_logs(c)))


def sweeps_done(c) -> int:
    return len(re.findall(rf"Task {re.escape(SWEEP_LOST_RUNS)}\[[^\]]+\] succeeded", worker_logs(c)))


def record(c, entry: dict) -> None:
    with open(f"{c.job.status_file}.runs.jsonl", "a") as handle:
        handle.write(json.dumps(entry) + "\n")


def test_beat_catches_up_the_days_that_never_ran_oldest_first_one_at_a_time_each_once(job):
    c = job
    c.job.configure(MNAAS_CATCHUP_DAYS="3", MNAAS_SCHEDULE=MIDNIGHT, MNAAS_SWEEP_INTERVAL="5", MNAAS_EMPTY_INPUT="warn")
    first, ran, last = (today() - dt.timedelta(days=n) for n in (3, 2, 1))
    # today-2 ran already (it failed: that counts, rerunning it is the operators' call)
    record(
        c,
        {
            "run_id": "by-hand",
            "day": ran.isoformat(),
            "trigger": "run",
            "outcome": "failed",
            "started": f"{ran} 07:00:00",
            "ended": f"{ran} 07:01:00",
        },
    )
    c.gate.touch()  # the first catch-up run waits at the gate while a second beat starts
    passes = passes_done(c)
    beats = [start_beat(c, "beat-a")]
    try:
        wait_until(
            lambda: [e for e in c.job.history() if e["day"] == first.isoformat()], what="the oldest missed day to start"
        )
        beats.append(start_beat(c, "beat-b"))
        wait_until(lambda: passes_done(c) >= passes + 2, what="the second beat's catch-up pass")
        assert re.search(rf"catch-up: {last} waits for run {first:%Y%m%d}-", worker_logs(c))
        assert [e["day"] for e in c.job.history()] == [ran.isoformat(), first.isoformat()]
        c.gate.unlink()
        wait_until(
            lambda: len([e for e in c.job.history() if e.get("ended")]) == 3, timeout=60, what="both missed days to run"
        )
        sweeps = sweeps_done(c)
        wait_until(lambda: sweeps_done(c) >= sweeps + 2, what="two more sweeps")  # they add nothing
    finally:
        for beat in beats:
            beat.stop()

    history = c.job.history()
    assert [(e["day"], e["trigger"], e["outcome"]) for e in history] == [
        (ran.isoformat(), "run", "failed"),
        (first.isoformat(), "catchup", "success"),
        (last.isoformat(), "catchup", "success"),
    ]
    assert history[1]["ended"] <= history[2]["started"]  # one at a time
    assert len(c.job.emails("report")) == 2
    status = c.cli("status")
    assert "days not run: none" in status.stdout, status.stdout


def test_no_catch_up_with_catchup_days_0(job):
    c = job
    c.job.configure(MNAAS_CATCHUP_DAYS="0", MNAAS_SCHEDULE=MIDNIGHT, MNAAS_SWEEP_INTERVAL="5")
    passes, sweeps = passes_done(c), sweeps_done(c)
    beat = start_beat(c, "beat-off")
    try:
        wait_until(lambda: passes_done(c) > passes and sweeps_done(c) >= sweeps + 2, what="a pass and two sweeps")
    finally:
        beat.stop()
    assert c.job.history() == [] and c.job.emails() == []


def send_pass(c, task_id: str) -> None:
    c.control_app().send_task(CATCH_UP, task_id=task_id, queue=CONTROL, exchange=CONTROL, routing_key=CONTROL)


def test_a_redelivered_pass_goes_on_with_the_day_it_claimed_and_a_dead_claim_is_taken_over(job):
    c = job
    c.job.configure(MNAAS_CATCHUP_DAYS="2", MNAAS_SCHEDULE=MIDNIGHT, MNAAS_EMPTY_INPUT="warn")
    older, newer = today() - dt.timedelta(days=2), today() - dt.timedelta(days=1)
    client, key = redis_client(c.redis.url(2)), c.lock().key
    # A pass (task id 7e57...) claimed `older` and took the lock, then its worker died before
    # the run started: its redelivery (same task id) must go on with it, not wait for itself.
    task_id = "7e570000-0000-4000-8000-000000000001"
    run_id = f"{older:%Y%m%d}-7e570000"
    client.set(scheduled_key(key, older), run_id, ex=SCHEDULED_TTL)
    token = c.lock().acquire({"run_id": run_id, "day": older.isoformat(), "trigger": "catchup"})
    c.state(run_id).create(day=older, trigger="catchup", dry_run=False, total=1, job=key, state="starting", token=token)
    # `newer` was claimed an hour ago (claims live SCHEDULED_TTL here) by a pass that never got
    # as far as a run state.
    client.set(scheduled_key(key, newer), f"{newer:%Y%m%d}-deadbeef", ex=SCHEDULED_TTL - 3600)
    send_pass(c, task_id)
    wait_until(lambda: len([e for e in c.job.history() if e.get("ended")]) == 2, timeout=60, what="both days to run")
    assert [(e["run_id"], e["trigger"], e["outcome"]) for e in c.job.history()] == [
        (run_id, "catchup", "success"),
        (c.job.history()[1]["run_id"], "catchup", "success"),
    ]
    assert c.job.history()[1]["day"] == newer.isoformat()
    assert not c.job.history()[1]["run_id"].endswith("deadbeef")


def test_one_not_delivered_alert_and_one_ticket_per_day_across_sweeps_and_sweepers(job, tmp_path):
    c = job
    metrics = tmp_path / "mnaas.prom"
    c.job.configure(MNAAS_DEADLINE="00:00", MNAAS_METRICS_FILE=str(metrics), MNAAS_EMPTY_INPUT="warn")
    day = today() - dt.timedelta(days=1)
    app, before = c.control_app(), sweeps_done(c)
    for _ in range(4):  # two workers of two processes each: concurrent sweepers
        app.send_task(SWEEP_LOST_RUNS, queue=CONTROL, exchange=CONTROL, routing_key=CONTROL)
    wait_until(lambda: sweeps_done(c) >= before + 4, what="four sweeps")
    for _ in range(2):  # and later sweeps
        app.send_task(SWEEP_LOST_RUNS, queue=CONTROL, exchange=CONTROL, routing_key=CONTROL)
    wait_until(lambda: sweeps_done(c) >= before + 6, what="two more sweeps")

    [alert] = c.job.emails("deadline")
    message = c.job.message(alert)
    assert message["Subject"].strip() == (f"NOT DELIVERED - Missing customer files {day}: no successful run by 00:00")
    body = message.get_body(("plain",)).get_content()
    assert "no run for this day was ever started" in body and f"submit --date {day}" in body
    assert message["To"] == "move-dev@example.com, move-ops@example.com"
    assert len(c.job.emails("sdp-ticket")) == 1
    assert c.job.status()["MNAAS_email_sdp_created"] == "Yes"
    assert _gauge(metrics, "mnaas_missing_files_deadline_missed") == 1.0
    assert f"deadline MISSED: {day} has no successful run by 00:00" in c.cli("status").stdout

    # the day runs and succeeds: the metric clears, and no sweep alerts for it again
    assert c.run(day).returncode == 0
    assert _gauge(metrics, "mnaas_missing_files_deadline_missed") == 0.0
    app.send_task(SWEEP_LOST_RUNS, queue=CONTROL, exchange=CONTROL, routing_key=CONTROL)
    wait_until(lambda: sweeps_done(c) >= before + 7, what="a sweep after the success")
    assert len(c.job.emails("deadline")) == 1


def test_no_alert_when_the_day_succeeded_before_its_deadline(job):
    c = job
    c.job.configure(MNAAS_DEADLINE="00:00", MNAAS_EMPTY_INPUT="warn")
    day = today() - dt.timedelta(days=1)
    assert c.run(day).returncode == 0
    before = sweeps_done(c)
    c.control_app().send_task(SWEEP_LOST_RUNS, queue=CONTROL, exchange=CONTROL, routing_key=CONTROL)
    wait_until(lambda: sweeps_done(c) > before, what="a sweep")
    assert c.job.emails("deadline") == [] and c.job.emails("sdp-ticket") == []


def _gauge(path, name: str) -> float:
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    raise AssertionError(f"{name} not in {path}")
