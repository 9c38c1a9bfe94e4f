"""Submitted runs on a real Celery cluster (tests/helpers/celerycluster.py): the same
reports as `run`, one email, the lock against concurrent submits and `run`, a pool process
killed while it holds a group, a warehouse that keeps failing."""

from __future__ import annotations

import json
import os
import signal

from mnaas_missing_files.cluster.runstate import redis_client
from mnaas_missing_files.core.errors import EXIT_HELD
from tasks import CHECK_GROUP, FINALIZE_RUN, START_RUN
from tests.helpers.celerycluster import cluster, cluster_ready, first_line, hold_one_group, submitted_run_id  # noqa: F401
from tests.helpers.celeryjob import DAY, GROUPS, TASKS
from tests.helpers.celeryproc import start_cli, wait_until


def test_a_worker_started_without_queues_consumes_every_queue_of_the_product(cluster_ready):
    app = cluster_ready.control_app()
    node = os.uname().nodename
    queues = app.control.inspect([f"w1@{node}", f"w2@{node}"], timeout=5, limit=2).active_queues()
    assert sorted(queues) == [f"w1@{node}", f"w2@{node}"]
    for consumed in queues.values():
        assert sorted(q["name"] for q in consumed) == ["mnaas-control", "mnaas-groups"]


def test_submitted_run_on_two_workers_matches_run_one_email_and_the_status_file(cluster_ready):
    c = cluster_ready
    local = c.run()
    assert local.returncode == 0, local.stderr
    local_reports = c.job.reports()
    local_outstanding = c.job.job.outstanding(DAY).read_bytes()
    c.job.configure()  # a fresh status file, no reports, no emails
    before = c.job.status_file.read_text().splitlines()

    result = c.submit("--wait")

    assert result.returncode == 0, result.stderr
    run_id = submitted_run_id(result.stdout)
    assert f"run {run_id} for {DAY}: SUCCESS" in result.stdout
    assert f"groups done {GROUPS}/{GROUPS}" in result.stderr  # plain progress lines off a TTY
    assert c.job.reports() == local_reports
    want_csv, want_txt = c.job.expected()
    assert c.job.reports() == (want_csv.encode(), want_txt.encode())
    # the day before's missing files are outstanding: the same third report as `run`'s
    outstanding = c.job.job.outstanding(DAY).read_bytes()
    assert outstanding == local_outstanding == c.job.expected_outstanding().encode()
    rows = outstanding.count(b"\n") - 1  # less the header
    assert rows > 3 and f"outstanding: {rows}" in result.stdout  # the verdict summary
    assert "  verdicts: unknown 0, no_input 0, " in result.stdout
    [report] = c.job.emails()
    assert report.name == f"{DAY}_{run_id}_report.eml"
    msg = c.job.message(report)
    assert str(DAY) in msg["Subject"] and f"{want_txt.count(chr(10))} missing" in msg["Subject"]
    attached = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    assert attached[c.job.job.csv(DAY).name] == want_csv.encode()
    assert attached[c.job.job.outstanding(DAY).name] == outstanding
    status = c.job.status()
    assert status["MNAAS_Daily_ProcessStatusFlag"] == "0"
    assert status["MNAAS_job_status"] == "Success"
    assert status["MNAAS_Script_Process_Id"] == "0"
    assert status["MNAAS_email_sdp_created"] == "No"
    assert status["MNAAS_Daily_ProcessName"] == "MNAAS_Missing_Customer_Files.sh"
    assert status["MNAAS_job_ran_time"] != "2026-11-24 06:30:04"
    after = c.job.status_file.read_text().splitlines()
    assert after[0] == before[0] and after[-1] == "MOVE_Delay_Email_sent=No"
    [entry] = c.job.history()
    assert (entry["run_id"], entry["trigger"], entry["outcome"]) == (run_id, "submit", "success")
    job_log = c.settings().log_path.read_text()
    assert f"run {run_id}: started checking {DAY}" in job_log and f"run {run_id}: finished success" in job_log
    # both worker processes checked groups of this run
    for worker in c.workers:
        assert f"run {run_id} group " in worker.log(), f"{worker.name} checked no group"
    assert c.lock().holder() is None
    assert c.state(run_id).read()["done"] == GROUPS
    # Each group's result is kept once, in the run state, one key per group (no key holds the
    # day's results); the result backend does not also store it as the group task's result,
    # nor (as the callback's arguments) every result again as the callback's.
    assert len(c.state(run_id).results()) == GROUPS
    state_keys = redis_client(c.redis.url(2)).keys(f"mnaas-missing-files:run:{run_id}:result*")
    assert len(state_keys) == GROUPS and all(":result:" in k for k in state_keys)
    backend = c.redis.client(1)
    stored = [json.loads(backend.get(key))["name"] for key in backend.keys("celery-task-meta-*")]
    assert START_RUN in stored and CHECK_GROUP not in stored and FINALIZE_RUN not in stored


def test_five_concurrent_submits_run_once_and_the_others_exit_3_changing_nothing(cluster_ready):
    c = cluster_ready
    c.gate.touch()  # the winner's groups wait, so it holds the job while the others try
    submits = [c.start_submit("--wait") for _ in range(5)]
    wait_until(lambda: sum(p.poll() is not None for p in submits) >= 4, timeout=60, what="four submits to be refused")
    # The refusals are immediate (the client takes the lock); the winner's start_run marks the
    # status file on a worker a moment later: read it once that run is under way.
    wait_until(
        lambda: any(c.state(k.rsplit(":", 1)[1]).read().get("state") == "running" for k in c.run_keys()),
        what="the winning run to start",
    )
    status_while_running = c.job.status_file.read_bytes()
    c.gate.unlink()
    outputs = [(p.wait(60), *p.communicate()) for p in submits]

    assert sorted(code for code, _, _ in outputs) == [0, 3, 3, 3, 3]
    [(_, winner_out, _)] = [o for o in outputs if o[0] == 0]
    run_id = submitted_run_id(winner_out)
    for code, out, err in outputs:
        if code == 3:
            assert out == ""  # no run id: nothing was submitted
            assert "holds the lock" in err and f"run {run_id} for day {DAY}" in err
    assert len(c.job.emails()) == 1
    assert [e["run_id"] for e in c.job.history()] == [run_id]
    assert c.run_keys() == [f"mnaas-missing-files:run:{run_id}"]
    assert status_while_running.count(b"MNAAS_Daily_ProcessStatusFlag=1") == 1
    assert c.job.status()["MNAAS_job_status"] == "Success"


def submit_and_kill_a_group_holder(c):
    """Submit with --wait, SIGKILL the pool process holding one group, let the run finish."""
    c.gate.touch()
    submit = c.start_submit("--wait")
    run_id = submitted_run_id(first_line(submit))
    batch, pid = hold_one_group(c, run_id)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: any("signal 9 (SIGKILL)" in w.log() for w in c.workers), what="the loss")
    c.gate.unlink()
    code = submit.wait(60)
    out, err = submit.communicate()
    return run_id, batch, code, out, err


def test_sigkill_of_the_process_holding_a_group_loses_nothing_and_sends_one_email(cluster_ready):
    c = cluster_ready
    run_id, batch, code, out, err = submit_and_kill_a_group_holder(c)

    assert code == 0, out + err
    deliveries = redis_client(c.redis.url(2))
    counts = sorted(int(deliveries.get(k)) for k in deliveries.keys("mnaas-missing-files:deliveries:*"))
    assert counts == [1] * (TASKS + 2 - 1) + [2]  # 4 group tasks + start + finalize; one delivered twice
    results = c.state(run_id).results()
    assert all(results[g.group_id].ok for g in batch.groups())
    assert len(c.job.emails()) == 1
    want_csv, want_txt = c.job.expected()
    assert c.job.reports() == (want_csv.encode(), want_txt.encode())
    assert c.job.status()["MNAAS_job_status"] == "Success"


def test_a_group_whose_worker_dies_more_than_max_deliveries_counts_as_failed(cluster_ready):
    c = cluster_ready
    c.job.configure(MNAAS_MAX_DELIVERIES="1")
    run_id, batch, code, out, err = submit_and_kill_a_group_holder(c)

    assert code == 1, out + err
    for group in batch.groups():  # every group of the lost task
        assert f"failed group {group.group_id}: the worker checking this group was lost 1 times" in out
    unknown = {(g.process, customer) for g in batch.groups() for customer in g.customers}
    want_csv, want_txt = c.job.expected(unknown=unknown)
    assert c.job.reports() == (want_csv.encode(), want_txt.encode())
    [report] = c.job.emails("report")
    assert c.job.message(report)["Subject"].startswith("INCOMPLETE")
    assert len(c.job.emails("sdp-ticket")) == 1
    status = c.job.status()
    assert (status["MNAAS_Daily_ProcessStatusFlag"], status["MNAAS_job_status"], status["MNAAS_email_sdp_created"]) == (
        "1",
        "Failure",
        "Yes",
    )
    assert c.lock().holder() is None


def test_a_warehouse_that_keeps_failing_fails_the_run_with_one_ticket_and_frees_the_lock(cluster_ready):
    c = cluster_ready
    with c.job.locked_warehouse("locked"):
        first = c.submit("--wait")
        second = c.submit("--wait")  # the same failure episode: no second ticket

    assert first.returncode == 1, first.stdout + first.stderr
    assert second.returncode == 1
    assert first.stdout.count("failed group ") == GROUPS
    assert "Could not set lock on file" in first.stdout
    # Nothing was checked (contract §15): no report of blank counts; each run sends one
    # failure notice, the second too although the episode's ticket is already open.
    assert not c.job.job.csv(DAY).exists() and not c.job.job.txt(DAY).exists()
    assert c.job.emails("report") == []
    notices = c.job.emails("failure-notice")
    assert len(notices) == 2
    subjects = [c.job.message(path)["Subject"] for path in notices]
    assert all(s.startswith(f"FAILED - Missing customer files {DAY}: all {GROUPS} groups failed: ") for s in subjects)
    assert not any("0 missing" in s for s in subjects)
    body = c.job.message(notices[0]).get_body(("plain",)).get_content()
    # One line for the one error all groups share, not one per group.
    assert body.count("Could not set lock on file") == 1 and f"{GROUPS} of {GROUPS} groups" in body
    assert len(c.job.emails("sdp-ticket")) == 1
    status = c.job.status()
    assert (status["MNAAS_Daily_ProcessStatusFlag"], status["MNAAS_job_status"], status["MNAAS_email_sdp_created"]) == (
        "1",
        "Failure",
        "Yes",
    )
    assert c.lock().holder() is None
    logs = "".join(w.log() for w in c.workers)
    assert "attempt 1 of 3 failed" in logs and "attempt 2 of 3 failed" in logs
    assert "giving up after 3 attempts" in logs


def test_run_exits_3_while_a_submitted_run_holds_the_job_and_changes_nothing(cluster_ready):
    c = cluster_ready
    submit, run_id = c.submit_held_run()
    status_before = c.job.status_file.read_bytes()

    local = c.run()

    assert local.returncode == 3, local.stderr
    assert f"run {run_id} for day {DAY}" in local.stderr
    assert c.job.status_file.read_bytes() == status_before
    assert [e["trigger"] for e in c.job.history()] == ["submit"]
    c.gate.unlink()
    assert submit.wait(60) == 0


def test_submit_exits_3_while_run_holds_the_job(cluster_ready):
    c = cluster_ready
    with c.job.locked_warehouse("busy", MNAAS_QUERY_ATTEMPTS="8", MNAAS_RETRY_BACKOFF="0.5") as writer:
        local = start_cli(c.job.config, c.env, "run", "--date", DAY.isoformat())
        holder = wait_until(c.lock().holder, timeout=30, what="run to take the lock")
        assert holder["trigger"] == "run"

        refused = c.submit("--wait")

        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert f"run {holder['run_id']} for day {DAY}" in refused.stderr
        assert refused.stdout == ""
        assert c.run_keys() == []
        writer.close()  # the warehouse is free again: the run's next attempts succeed
        assert local.wait(60) == 0, local.communicate()
    assert len(c.job.emails()) == 1
    assert [e["trigger"] for e in c.job.history()] == ["run"]


def test_submit_exits_4_when_the_status_file_holds_the_job(cluster_ready):
    c = cluster_ready
    c.job.status_file.write_text(
        c.job.status_file.read_text().replace("MNAAS_Daily_ProcessStatusFlag=0", "MNAAS_Daily_ProcessStatusFlag=2")
    )
    held = c.job.status_file.read_bytes()

    result = c.submit("--wait")

    assert result.returncode == EXIT_HELD, result.stderr
    assert "MNAAS_Daily_ProcessStatusFlag" in result.stderr
    assert c.job.status_file.read_bytes() == held
    assert c.lock().holder() is None and c.run_keys() == []

    # The same refusal on the worker, for a client that cannot see the status file.
    settings = c.settings()
    token = c.lock().acquire({"run_id": "20261124-refused", "day": str(DAY), "trigger": "submit"})
    c.state("20261124-refused").create(day=DAY, trigger="submit", dry_run=False, total=GROUPS, job=c.lock().key)
    c.control_app().send_task(
        START_RUN,
        kwargs={"day": str(DAY), "dry_run": False, "trigger": "submit", "run_id": "20261124-refused", "token": token},
        queue="mnaas-control",
        routing_key="mnaas-control",
        exchange="mnaas-control",
    )
    record = wait_until(
        lambda: (r := c.state("20261124-refused").read()).get("state") == "refused" and r, what="start_run to refuse"
    )
    assert record["exit_code"] == EXIT_HELD
    assert c.lock().holder() is None
    assert c.job.status_file.read_bytes() == held
    assert c.job.history() == [] and not settings.csv_path.exists()
