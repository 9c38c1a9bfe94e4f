"""Submitted runs on a real Celery cluster: two prefork worker processes (`celery -A
workers.app worker`, no -Q), a real redis-server, the real CLI as operators run it.

The workers run for the whole module with the test-only MNAAS_TEST_GROUP_GATE: while the gate
file exists, a group task's first delivery waits in its pool process, which lets a test hold
a run busy or kill the process that holds a group.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery import Celery

from mnaas_missing_files.errors import EXIT_HELD
from mnaas_missing_files.locks import RedisRunLock, lock_key
from mnaas_missing_files.planning import plan_groups
from mnaas_missing_files.settings import load_settings
from tasks import START_RUN
from tasks.runstate import RunState, redis_client
from tests.helpers.celeryjob import DAY, GROUPS, CeleryJob
from tests.helpers.celeryproc import (Proc, celery_env, run_cli, start_cli, start_workers,
                                      wait_until)
from tests.helpers.redisproc import RedisServer

RUN_KEY = re.compile(r"^mnaas-missing-files:run:[^:]+$")


@dataclass
class Cluster:
    redis: RedisServer
    job: CeleryJob
    env: dict[str, str]
    workers: list[Proc]
    gate: Path
    root: Path

    def cli(self, *args: str, timeout: float = 120):
        return run_cli(self.job.config, self.env, *args, timeout=timeout)

    def submit(self, *args: str, day: dt.date = DAY, timeout: float = 120):
        return self.cli("submit", "--date", day.isoformat(), *args, timeout=timeout)

    def start_submit(self, *args: str, day: dt.date = DAY):
        return start_cli(self.job.config, self.env, "submit", "--date", day.isoformat(), *args)

    def run(self, day: dt.date = DAY):
        return self.cli("run", "--date", day.isoformat())

    def settings(self, day: dt.date = DAY):
        return load_settings(self.job.config, environ=self.env, day=day)

    def lock(self) -> RedisRunLock:
        return RedisRunLock(self.redis.url(2), lock_key(self.settings().script_name, self.job.status_file), 60)

    def state(self, run_id: str) -> RunState:
        return RunState(redis_client(self.redis.url(2)), run_id)

    def run_keys(self) -> list[str]:
        return [k for k in redis_client(self.redis.url(2)).keys("mnaas-missing-files:run:*") if RUN_KEY.match(k)]

    def pool_pids(self) -> list[int]:
        return [pid for w in self.workers for pid in w.pool_pids()]

    def control_app(self) -> Celery:
        return Celery("test-control", broker=self.redis.url(0), backend=self.redis.url(1),
                      set_as_current=False)


def submitted_run_id(stdout: str) -> str:
    match = re.search(r"^submitted run (\S+) for (\S+)", stdout, re.M)
    assert match, f"no run id printed: {stdout!r}"
    return match.group(1)


def first_line(process) -> str:
    return process.stdout.readline()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("celery-runs")
    with RedisServer() as redis:
        job = CeleryJob.build(root)
        gate = root / "gate"
        env = celery_env(redis, job.config, MNAAS_TEST_GROUP_GATE=str(gate))
        workers = start_workers(["w1", "w2"], env, root / "logs")
        state = Cluster(redis, job, env, workers, gate, root)
        try:
            yield state
        finally:
            gate.unlink(missing_ok=True)
            for worker in state.workers:
                worker.stop()


@pytest.fixture
def cluster_ready(cluster):
    """The job reset to the production example, no lock, no run state, workers up."""
    cluster.gate.unlink(missing_ok=True)
    cluster.job.configure()
    redis_client(cluster.redis.url(2)).flushdb()
    if not all(w.alive for w in cluster.workers):  # a test killed them: start afresh
        for worker in cluster.workers:
            worker.stop()
        broker = cluster.redis.client(0)
        broker.delete("mnaas-groups", "mnaas-control", "unacked", "unacked_index")
        cluster.workers = start_workers(["w1", "w2"], cluster.env, cluster.root / "logs")
    yield cluster
    cluster.gate.unlink(missing_ok=True)


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
    [report] = c.job.emails()
    assert report.name == f"{DAY}_{run_id}_report.eml"
    msg = c.job.message(report)
    assert str(DAY) in msg["Subject"] and f"{want_txt.count(chr(10))} missing" in msg["Subject"]
    attached = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert attached[c.job.job.csv(DAY).name] == want_csv
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
    # both worker processes checked groups of this run
    for worker in c.workers:
        assert f"run {run_id} group " in worker.log(), f"{worker.name} checked no group"
    assert c.lock().holder() is None
    assert c.state(run_id).read()["done"] == GROUPS


def test_five_concurrent_submits_run_once_and_the_others_exit_3_changing_nothing(cluster_ready):
    c = cluster_ready
    c.gate.touch()  # the winner's groups wait, so it holds the job while the others try
    submits = [c.start_submit("--wait") for _ in range(5)]
    wait_until(lambda: sum(p.poll() is not None for p in submits) >= 4, timeout=60,
               what="four submits to be refused")
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


def _hold_one_group(c: Cluster, run_id: str) -> tuple[str, int]:
    """Wait until a pool process holds a group of the run (at the gate); (group id, pid)."""
    state = c.state(run_id)
    active = wait_until(state.active, timeout=30, what="a pool process to take a group")
    group_id, holder = sorted(active.items())[0]
    pid = int(holder.rsplit(" ", 1)[1])
    assert pid in c.pool_pids()
    return group_id, pid


def test_sigkill_of_the_process_holding_a_group_loses_nothing_and_sends_one_email(cluster_ready):
    c = cluster_ready
    c.gate.touch()
    submit = c.start_submit("--wait")
    run_id = submitted_run_id(first_line(submit))
    group_id, pid = _hold_one_group(c, run_id)

    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: any("signal 9 (SIGKILL)" in w.log() for w in c.workers), what="the loss")
    c.gate.unlink()
    code = submit.wait(60)
    out, err = submit.communicate()

    assert code == 0, out + err
    deliveries = redis_client(c.redis.url(2))
    counts = sorted(int(deliveries.get(k)) for k in deliveries.keys("mnaas-missing-files:deliveries:*"))
    assert counts == [1] * (GROUPS + 2 - 1) + [2]  # 16 groups + start + finalize; one delivered twice
    assert c.state(run_id).results()[group_id].ok
    assert len(c.job.emails()) == 1
    want_csv, want_txt = c.job.expected()
    assert c.job.reports() == (want_csv.encode(), want_txt.encode())
    assert c.job.status()["MNAAS_job_status"] == "Success"


def test_a_group_whose_worker_dies_more_than_max_deliveries_counts_as_failed(cluster_ready):
    c = cluster_ready
    c.job.configure(MNAAS_MAX_DELIVERIES="1")
    c.gate.touch()
    submit = c.start_submit("--wait")
    run_id = submitted_run_id(first_line(submit))
    group_id, pid = _hold_one_group(c, run_id)

    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: any("signal 9 (SIGKILL)" in w.log() for w in c.workers), what="the loss")
    c.gate.unlink()
    code = submit.wait(60)
    out, err = submit.communicate()

    assert code == 1, out + err
    assert f"failed group {group_id}: the worker checking this group was lost 1 times" in out
    group = next(g for g in plan_groups(c.settings()) if g.group_id == group_id)
    unknown = {(group.process, customer) for customer in group.customers}
    want_csv, want_txt = c.job.expected(unknown=unknown)
    assert c.job.reports() == (want_csv.encode(), want_txt.encode())
    [report] = c.job.emails("report")
    assert c.job.message(report)["Subject"].startswith("INCOMPLETE")
    assert len(c.job.emails("sdp-ticket")) == 1
    status = c.job.status()
    assert (status["MNAAS_Daily_ProcessStatusFlag"], status["MNAAS_job_status"],
            status["MNAAS_email_sdp_created"]) == ("1", "Failure", "Yes")
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
    every_pair_unknown = {(g.process, cust) for g in plan_groups(c.settings()) for cust in g.customers}
    want_csv, want_txt = c.job.expected(unknown=every_pair_unknown)
    assert c.job.reports() == (want_csv.encode(), want_txt.encode())
    assert want_txt == ""
    assert len(c.job.emails("report")) == 2
    assert len(c.job.emails("sdp-ticket")) == 1
    status = c.job.status()
    assert (status["MNAAS_Daily_ProcessStatusFlag"], status["MNAAS_job_status"],
            status["MNAAS_email_sdp_created"]) == ("1", "Failure", "Yes")
    assert c.lock().holder() is None
    logs = "".join(w.log() for w in c.workers)
    assert "attempt 1 of 3 failed" in logs and "attempt 2 of 3 failed" in logs
    assert "giving up after 3 attempts" in logs


def test_run_exits_3_while_a_submitted_run_holds_the_job_and_changes_nothing(cluster_ready):
    c = cluster_ready
    c.gate.touch()
    submit = c.start_submit("--wait")
    run_id = submitted_run_id(first_line(submit))
    wait_until(lambda: c.state(run_id).read().get("state") == "running", what="the run to start")
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
    c.job.status_file.write_text(c.job.status_file.read_text().replace(
        "MNAAS_Daily_ProcessStatusFlag=0", "MNAAS_Daily_ProcessStatusFlag=2"))
    held = c.job.status_file.read_bytes()

    result = c.submit("--wait")

    assert result.returncode == EXIT_HELD, result.stderr
    assert "MNAAS_Daily_ProcessStatusFlag" in result.stderr
    assert c.job.status_file.read_bytes() == held
    assert c.lock().holder() is None and c.run_keys() == []

    # The same refusal on the worker, for a client that cannot see the status file.
    settings = c.settings()
    token = c.lock().acquire({"run_id": "20261124-refused", "day": str(DAY), "trigger": "submit"})
    c.state("20261124-refused").create(day=DAY, trigger="submit", dry_run=False, total=GROUPS)
    c.control_app().send_task(START_RUN, kwargs={"day": str(DAY), "dry_run": False, "trigger": "submit",
                                                 "run_id": "20261124-refused", "token": token},
                              queue="mnaas-control", routing_key="mnaas-control",
                              exchange="mnaas-control")
    record = wait_until(lambda: (r := c.state("20261124-refused").read()).get("state") == "refused" and r,
                        what="start_run to refuse")
    assert record["exit_code"] == EXIT_HELD
    assert c.lock().holder() is None
    assert c.job.status_file.read_bytes() == held
    assert c.job.history() == [] and not settings.csv_path.exists()


def test_dry_run_writes_reports_sends_nothing_and_leaves_the_status_file(cluster_ready):
    c = cluster_ready
    before = c.job.status_file.read_bytes()

    result = c.submit("--dry-run", "--wait")

    assert result.returncode == 0, result.stderr
    want_csv, want_txt = c.job.expected()
    assert c.job.reports() == (want_csv.encode(), want_txt.encode())
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
    assert re.search(rf"lock: HELD by run {run_id} for {DAY} \(trigger submit, .*age [\d.]+ s, "
                     r"expires in [\d.]+ s\)", status.stdout), status.stdout
    assert f"progress: 0/{GROUPS} groups done (state running" in status.stdout
    c.gate.unlink()
    wait_until(lambda: c.state(run_id).read().get("state") == "done", what="the run to end")
    assert f"progress: {GROUPS}/{GROUPS}" not in c.cli("status").stdout  # lock free: no progress line
    assert "lock: free" in c.cli("status").stdout



def test_when_finalize_fails_the_error_handler_frees_the_job_without_a_second_email(cluster_ready):
    c = cluster_ready
    c.gate.touch()
    submit = c.start_submit("--wait")
    run_id = submitted_run_id(first_line(submit))
    wait_until(lambda: c.state(run_id).read().get("state") == "running", what="the run to start")
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


def test_backfill_submits_the_days_in_order_and_prints_a_table(cluster_ready):
    c = cluster_ready
    first = DAY - dt.timedelta(days=1)

    result = c.cli("backfill", "--from", first.isoformat(), "--to", DAY.isoformat(), "--submit")

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(rf"^{first}\s+completed\s+0\s+submitted$", result.stdout, re.M), result.stdout
    assert re.search(rf"^{DAY}\s+completed\s+0\s+submitted$", result.stdout, re.M)
    runs = c.job.history()
    assert [(e["day"], e["trigger"], e["outcome"]) for e in runs] == [
        (first.isoformat(), "backfill", "success"), (DAY.isoformat(), "backfill", "success")]
    assert sorted(p.name[:10] for p in c.job.emails()) == [first.isoformat(), DAY.isoformat()]
    assert c.job.reports(DAY) == tuple(t.encode() for t in c.job.expected(DAY))
    assert c.job.reports(first) == tuple(t.encode() for t in c.job.expected(first))


def _http_get(url: str, auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
    import base64
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except OSError:
        return 0, b""


def test_flower_lists_the_run_tasks_with_readable_arguments_behind_basic_auth(cluster_ready):
    import json

    from tests.helpers.redisproc import free_port

    c = cluster_ready
    port = free_port()
    password = "flower-test-secret"
    env = {**c.env, "FLOWER_BASIC_AUTH": f"ops:{password}", "FLOWER_PORT": str(port),
           "FLOWER_ADDRESS": "127.0.0.1"}
    flower = Proc("flower", ["bash", "workers/flower.sh"], env, c.root / "logs").start()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _http_get(f"{base}/healthcheck")[0] == 200, what="Flower to listen")
        flower.wait_for_log("Connected to redis")  # its event receiver is on the broker
        assert _http_get(f"{base}/api/tasks")[0] == 401
        assert password.encode() not in Path(f"/proc/{flower.pid}/cmdline").read_bytes()

        result = c.submit("--wait")
        assert result.returncode == 0, result.stderr
        run_id = submitted_run_id(result.stdout)

        def run_tasks():
            code, body = _http_get(f"{base}/api/tasks?limit=1000", auth=("ops", password))
            assert code == 200
            tasks = [t for t in json.loads(body).values() if run_id in (t.get("kwargs") or "")]
            done = [t for t in tasks if t["state"] == "SUCCESS"]
            return tasks if len(done) == GROUPS + 2 else None

        tasks = wait_until(run_tasks, timeout=20, what="Flower to see every task of the run")
    finally:
        flower.stop()
    names = sorted(t["name"] for t in tasks)
    assert names == ["mnaas.check_group"] * GROUPS + ["mnaas.finalize_run", "mnaas.start_run"]
    first = next(t for t in tasks if "'group': 'traffic/regular/1'" in t["kwargs"])
    assert first["name"] == "mnaas.check_group"
    assert "'process': 'traffic'" in first["kwargs"]
    assert "'customer_type': 'regular'" in first["kwargs"]
    assert "'customers': 'eLUX, MyRep'" in first["kwargs"]
    assert first["routing_key"] == "mnaas-groups"
    assert all("token" not in t["kwargs"] for t in tasks)


def test_two_beats_ticking_trigger_exactly_one_scheduled_run_of_the_day(cluster_ready):
    c = cluster_ready
    now = dt.datetime.now(dt.timezone.utc)
    fire = (now + dt.timedelta(seconds=66)).replace(second=0, microsecond=0)
    if (fire - now).total_seconds() > 60 + 6:  # at least ~6 s to start both beats
        fire -= dt.timedelta(minutes=1)
    c.job.configure(MNAAS_SCHEDULE=f"\"{fire.minute} {fire.hour} * * *\"")  # MNAAS_TIMEZONE=UTC
    day = fire.date() - dt.timedelta(days=1)
    beats = [Proc(f"beat{n}", ["bash", "workers/beat.sh", "--max-interval=1"],
                  {**c.env, "MNAAS_BEAT_STATE_FILE": str(c.root / f"beat{n}-state")},
                  c.root / "logs").start() for n in (1, 2)]
    try:
        for beat in beats:
            beat.wait_for_log("beat: Starting")
        wait = (fire - dt.datetime.now(dt.timezone.utc)).total_seconds() + 30
        for beat in beats:  # each beat ticks once at the scheduled minute
            beat.wait_for_log("Sending due task mnaas-daily-run (mnaas.start_run)", timeout=wait)
        ended = wait_until(lambda: [e for e in c.job.history() if e.get("outcome") != "running"],
                           timeout=30, what="the scheduled run to end")
        skipped = "already started as run"
        wait_until(lambda: sum(w.log().count(skipped) for w in c.workers) >= 1, what="the second tick")
        # A later tick of the same day (a beat restarted with a stale schedule) is refused too.
        c.control_app().send_task(START_RUN, kwargs={"trigger": "schedule"}, queue="mnaas-control",
                                  exchange="mnaas-control", routing_key="mnaas-control")
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
    assert [(e["run_id"] == run_id, e["outcome"]) for e in c.job.history()] == [(True, "running"),
                                                                                 (False, "success")]
    # the operator who waited on the crashed run is told it was lost, not left hanging
    assert waiting.wait(30) == 1
    assert f"run {run_id}: lost: its lock expired" in waiting.communicate()[1]
