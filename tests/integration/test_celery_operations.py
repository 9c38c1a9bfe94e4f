"""Operating submitted runs (tests/helpers/celerycluster.py): dry run, `status` while a run
is in progress, the chord's error handler, the callback's plan kept in the run state,
backfill --submit, Flower, two beats, a crashed run's lock."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest

from mnaas_missing_files.cluster.runstate import redis_client
from tasks import FINALIZE_RUN, START_RUN
from tests.helpers.celerycluster import cluster, cluster_ready, first_line, http_get, submitted_run_id  # noqa: F401
from tests.helpers.celeryjob import DAY, GROUPS, TASKS
from tests.helpers.celeryproc import Proc, wait_until
from tests.helpers.redisproc import free_port


def test_dry_run_writes_reports_sends_nothing_and_leaves_the_status_file(cluster_ready):
    c = cluster_ready
    before = c.job.status_file.read_bytes()

    result = c.submit("--dry-run", "--wait")

    assert result.returncode == 0, result.stderr
    want_csv, want_txt = c.job.expected()
    real_csv, real_txt = c.job.job.csv(DAY), c.job.job.txt(DAY)
    dry = real_csv.parent / "dry-run"  # contract §15: never the day's real reports
    assert ((dry / real_csv.name).read_bytes(), (dry / real_txt.name).read_bytes()) == (
        want_csv.encode(),
        want_txt.encode(),
    )
    assert not real_csv.exists() and not real_txt.exists()
    assert c.job.emails() == []
    assert c.job.status_file.read_bytes() == before
    assert [e["outcome"] for e in c.job.history()] == ["dry-run"]


def test_submit_without_wait_prints_the_run_id_and_status_shows_its_progress(cluster_ready):
    c = cluster_ready
    c.gate.touch()
    result = c.submit()
    assert result.returncode == 0, result.stderr
    run_id = submitted_run_id(result.stdout)
    wait_until(lambda: len(c.state(run_id).active()) == 4, what="four groups in the pool processes")

    status = c.cli("status")

    assert status.returncode == 0, status.stderr
    assert re.search(
        rf"lock: HELD by run {run_id} for {DAY} \(trigger submit, .*age [\d.]+ s, "
        r"expires in [\d.]+ s\)",
        status.stdout,
    ), status.stdout
    assert f"progress: 0/{GROUPS} groups done (state running" in status.stdout
    c.gate.unlink()
    wait_until(lambda: c.state(run_id).read().get("state") == "done", what="the run to end")
    assert f"progress: {GROUPS}/{GROUPS}" not in c.cli("status").stdout  # lock free: no progress line
    assert "lock: free" in c.cli("status").stdout


def test_when_finalize_fails_the_error_handler_frees_the_job_without_a_second_email(cluster_ready):
    c = cluster_ready
    submit, run_id = c.submit_held_run()
    c.job.status_file.unlink()  # the status file cannot be written any more (here: a directory)
    c.job.status_file.mkdir()
    c.gate.unlink()

    try:
        code = submit.wait(60)
        out, err = submit.communicate()
    finally:
        c.job.status_file.rmdir()

    assert code == 1, out + err
    assert f"run {run_id} for {DAY}: FAILED: task " in err and "cannot read the status file" in err
    logs = "".join(w.log() for w in c.workers)
    assert "Task mnaas.run_failed[" in logs and f"run {run_id}: task " in logs
    assert len(c.job.emails("report")) == 1  # finalize ran twice; the journal kept it to one email
    assert c.lock().holder() is None
    assert c.state(run_id).read()["state"] == "failed"


def _send_callback(c, **kwargs) -> None:
    c.control_app().send_task(
        FINALIZE_RUN,
        kwargs=kwargs,
        queue="mnaas-control",
        exchange="mnaas-control",
        routing_key="mnaas-control",
    )


def test_a_callback_whose_run_state_lost_the_plan_fails_the_run_and_frees_the_job(cluster_ready):
    c = cluster_ready
    run_id = "20261124-noplan00"
    token = c.lock().acquire({"run_id": run_id, "day": str(DAY), "trigger": "submit"})
    c.state(run_id).create(day=DAY, trigger="submit", dry_run=False, total=GROUPS, job=c.lock().key, state="running")
    status_before = c.job.status_file.read_bytes()

    _send_callback(c, run_id=run_id, day=DAY.isoformat(), token=token)

    record = wait_until(
        lambda: (r := c.state(run_id).read()).get("state") == "failed" and r, what="the callback to give up"
    )
    assert record["exit_code"] == 1 and "plan is no longer in its run state" in record["message"]
    assert c.lock().holder() is None
    # Its one message is the failure notice saying why (contract §15), sent once the run's end
    # is claimed (the state above), so waited for; nothing else changes.
    [notice] = wait_until(c.job.emails, what="the failure notice")
    assert notice.name == f"{DAY}_{run_id}_failure-notice.eml"
    assert "plan is no longer in its run state" in c.job.message(notice).get_body(("plain",)).get_content()
    assert c.job.status_file.read_bytes() == status_before


def test_backfill_submits_the_days_in_order_and_prints_a_table(cluster_ready):
    c = cluster_ready
    first = DAY - dt.timedelta(days=1)

    result = c.cli("backfill", "--from", first.isoformat(), "--to", DAY.isoformat(), "--submit")

    assert result.returncode == 0, result.stdout + result.stderr
    # contract §15: a day's line has its findings, and the test warehouse has pairs nobody configured
    assert re.search(rf"^{first}\s+success\s+0\s+submitted; \d+ missing; \d+ not monitored$", result.stdout, re.M), (
        result.stdout
    )
    assert re.search(rf"^{DAY}\s+success\s+0\s+submitted; \d+ missing; \d+ not monitored$", result.stdout, re.M)
    runs = c.job.history()
    assert [(e["day"], e["trigger"], e["outcome"]) for e in runs] == [
        (first.isoformat(), "backfill", "success"),
        (DAY.isoformat(), "backfill", "success"),
    ]
    assert sorted(p.name[:10] for p in c.job.emails()) == [first.isoformat(), DAY.isoformat()]
    assert c.job.reports(DAY) == tuple(t.encode() for t in c.job.expected(DAY))
    assert c.job.reports(first) == tuple(t.encode() for t in c.job.expected(first))


def test_flower_lists_the_run_tasks_with_readable_arguments_behind_basic_auth(cluster_ready):
    c = cluster_ready
    port = free_port()
    password = "flower-test-secret"
    env = {
        **c.env,
        "FLOWER_BASIC_AUTH": f"ops:{password}",
        "FLOWER_PORT": str(port),
        "FLOWER_ADDRESS": "127.0.0.1",
        "FLOWER_DB": str(c.root / "flower-api.db"),
    }
    flower = Proc("flower", ["bash", "workers/flower.sh"], env, c.root / "logs").start()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_get(f"{base}/healthcheck")[0] == 200, what="Flower to listen")
        flower.wait_for_log("Connected to redis")  # its event receiver is on the broker
        assert http_get(f"{base}/api/tasks")[0] == 401
        assert password.encode() not in Path(f"/proc/{flower.pid}/cmdline").read_bytes()

        result = c.submit("--wait")
        assert result.returncode == 0, result.stderr
        run_id = submitted_run_id(result.stdout)

        def run_tasks():
            code, body = http_get(f"{base}/api/tasks?limit=1000", auth=("ops", password))
            assert code == 200
            tasks = [t for t in json.loads(body).values() if run_id in (t.get("kwargs") or "")]
            done = [t for t in tasks if t["state"] == "SUCCESS"]
            return tasks if len(done) == TASKS + 2 else None

        tasks = wait_until(run_tasks, timeout=20, what="Flower to see every task of the run")
    finally:
        flower.stop()
    names = sorted(t["name"] for t in tasks)
    assert names == ["mnaas.check_group"] * TASKS + ["mnaas.finalize_run", "mnaas.start_run"]
    # The first of 4 group tasks: every process, one customer (eLUX); its groups by id.
    first = next(t for t in tasks if "'group': '1/4'" in t["kwargs"])
    assert first["name"] == "mnaas.check_group"
    assert "'checks': '4 process(es) (traffic … tolling) x 1 customer(s) (eLUX)'" in first["kwargs"]
    assert (
        "'groups': ['traffic/regular/1', 'actives/regular/1', 'activations/regular/1', 'tolling/regular/1']"
    ) in first["kwargs"]
    assert first["routing_key"] == "mnaas-groups"
    assert all("token" not in t["kwargs"] for t in tasks)


@pytest.mark.slow
def test_two_beats_ticking_trigger_exactly_one_scheduled_run_of_the_day(cluster_ready):
    c = cluster_ready
    now = dt.datetime.now(dt.UTC)
    fire = (now + dt.timedelta(seconds=66)).replace(second=0, microsecond=0)
    if (fire - now).total_seconds() > 60 + 6:  # at least ~6 s to start both beats
        fire -= dt.timedelta(minutes=1)
    # MNAAS_TIMEZONE=UTC; the tick's day (yesterday) has no data: not a failure here
    c.job.configure(MNAAS_SCHEDULE=f'"{fire.minute} {fire.hour} * * *"', MNAAS_EMPTY_INPUT="warn")
    day = fire.date() - dt.timedelta(days=1)
    beats = [
        Proc(
            f"beat{n}",
            ["bash", "workers/beat.sh", "--max-interval=1"],
            {**c.env, "MNAAS_BEAT_STATE_FILE": str(c.root / f"beat{n}-state")},
            c.root / "logs",
        ).start()
        for n in (1, 2)
    ]
    try:
        for beat in beats:
            beat.wait_for_log("beat: Starting")
        wait = (fire - dt.datetime.now(dt.UTC)).total_seconds() + 30
        for beat in beats:  # each beat ticks once at the scheduled minute
            beat.wait_for_log("Sending due task mnaas-daily-run (mnaas.catch_up)", timeout=wait)
        ended = wait_until(
            lambda: [e for e in c.job.history() if e.get("outcome") != "running"],
            timeout=30,
            what="the scheduled run to end",
        )
        skipped = "already started as run"
        wait_until(lambda: sum(w.log().count(skipped) for w in c.workers) >= 1, what="the second tick")
        # A later tick of the same day (a beat restarted with a stale schedule) is refused too.
        c.control_app().send_task(
            START_RUN,
            kwargs={"trigger": "schedule"},
            queue="mnaas-control",
            exchange="mnaas-control",
            routing_key="mnaas-control",
        )
        wait_until(lambda: sum(w.log().count(skipped) for w in c.workers) >= 2, what="the third tick")
    finally:
        for beat in beats:
            beat.stop()

    [run] = ended
    assert (run["trigger"], run["day"], run["outcome"]) == ("schedule", day.isoformat(), "success")
    assert [e["run_id"] for e in c.job.history()] == [run["run_id"]]
    assert [p.name for p in c.job.emails()] == [f"{day}_{run['run_id']}_report.eml"]
    marker = redis_client(c.redis.url(2)).keys("mnaas-missing-files:scheduled:*")
    assert [k.rsplit(":", 1)[1] for k in marker] == [day.isoformat()]
    assert sum(b.log().count("Sending due task mnaas-daily-run") for b in beats) == 2


def test_a_crashed_run_keeps_the_lock_until_its_ttl_then_the_next_run_proceeds(cluster_ready):
    c = cluster_ready
    c.job.configure(MNAAS_LOCK_TTL="5")
    c.gate.touch()
    waiting = c.start_submit("--wait")
    run_id = submitted_run_id(first_line(waiting))
    wait_until(lambda: len(c.state(run_id).active()) == 4, what="the groups to be in progress")

    for worker in c.workers:  # every worker of the cluster dies at once
        worker.kill()
    holder = c.lock().holder()
    assert holder["run_id"] == run_id and 0 < holder["ttl"] <= 5
    refused = c.run()
    assert refused.returncode == 3 and run_id in refused.stderr
    assert c.job.status()["MNAAS_Daily_ProcessStatusFlag"] == "1"  # the crashed run's mark

    started = time.monotonic()
    wait_until(lambda: c.lock().holder() is None, timeout=10, what="the lock to expire")
    assert time.monotonic() - started <= 5.5
    after = c.run()

    assert after.returncode == 0, after.stderr
    status = c.job.status()
    assert (status["MNAAS_Daily_ProcessStatusFlag"], status["MNAAS_job_status"]) == ("0", "Success")
    assert [(e["run_id"] == run_id, e["outcome"]) for e in c.job.history()] == [(True, "running"), (False, "success")]
    # the operator who waited on the crashed run is told it was lost, not left hanging
    assert waiting.wait(30) == 1
    assert f"run {run_id}: lost: its lock expired" in waiting.communicate()[1]
