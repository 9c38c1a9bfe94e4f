"""Redis Sentinel (contract §12): the broker, the results, the lock and the run state all behind
three real sentinels, a master and a replica (tests/helpers/sentinelproc.py), with real
prefork workers and the CLI. The master is SIGKILLed while a submitted run's groups are held
at the test gate; the sentinels promote the replica and the run goes on to the same reports
as `run`, one email and the right status file. Each failover test gets its own deployment,
since a failover leaves the new master without a replica."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mnaas_missing_files.cluster.runstate import RunState, redis_client
from mnaas_missing_files.state.redislock import RedisRunLock, lock_key
from mnaas_missing_files.state.sentinelcheck import check_sentinels
from tests.helpers.celerycluster import submitted_run_id
from tests.helpers.celeryjob import DAY, CeleryJob
from tests.helpers.celeryproc import (
    Proc,
    celery_env,
    run_cli,
    start_cli,
    start_worker,
    start_workers,
    stop_all,
    wait_until,
)
from tests.helpers.sentinelproc import MASTER_NAME, SentinelCluster

pytestmark = [pytest.mark.redis]

POOL_PROCESSES = 4  # two workers of concurrency 2: every one of them holds a group at the gate


@dataclass
class Deployment:
    sentinels: SentinelCluster
    job: CeleryJob
    env: dict[str, str]
    workers: list[Proc]
    gate: Path

    def options(self) -> dict[str, str]:
        return {"sentinel_master": MASTER_NAME, "sentinel_password": self.sentinels.sentinel_password}

    def state(self, run_id: str) -> RunState:
        return RunState(redis_client(self.sentinels.url(2), **self.options()), run_id)

    def lock(self) -> RedisRunLock:
        key = lock_key("MNAAS_Missing_Customer_Files.sh", self.job.status_file)
        return RedisRunLock(self.sentinels.url(2), key, 60, **self.options())

    def cli(self, command: str, env: dict[str, str] | None = None):
        dated = () if command == "status" else ("--date", DAY.isoformat())
        return run_cli(self.job.config, env or self.env, command, *dated)

    def start_submit(self):
        return start_cli(self.job.config, self.env, "submit", "--date", DAY.isoformat(), "--wait")

    def secrets(self) -> tuple[str, str]:
        return self.sentinels.password, self.sentinels.sentinel_password


@contextlib.contextmanager
def deployment(root: Path, workers: bool = True):
    with SentinelCluster() as sentinels:
        job = CeleryJob.build(root)
        gate = root / "gate"
        urls = type("Urls", (), {"url": staticmethod(sentinels.url)})
        env = celery_env(
            urls,
            job.config,
            MNAAS_TEST_GROUP_GATE=str(gate),
            MNAAS_SENTINEL_MASTER=MASTER_NAME,
            MNAAS_SENTINEL_PASSWORD=sentinels.sentinel_password,
        )
        procs = start_workers(["w1", "w2"], env, root / "logs") if workers else []
        try:
            yield Deployment(sentinels, job, env, procs, gate)
        finally:
            gate.unlink(missing_ok=True)
            stop_all(procs)


def hold_run(d: Deployment):
    """Close the gate, submit --wait; (process, run id) once every pool process holds a group."""
    d.gate.touch()
    submit = d.start_submit()
    run_id = submitted_run_id(submit.stdout.readline())
    wait_until(
        lambda: len(d.state(run_id).active()) == POOL_PROCESSES,
        timeout=60,
        what="every pool process to hold a group of the run",
    )
    return submit, run_id


def assert_no_secret(d: Deployment, *texts: str) -> None:
    logs = [w.log() for w in d.workers]
    logs += [p.read_text(errors="replace") for p in (d.job.job.root / "Logs").glob("*") if p.is_file()]
    for secret in d.secrets():
        for text in (*texts, *logs):
            assert secret not in text


@pytest.mark.slow
def test_master_killed_mid_run_the_replica_takes_over_and_the_run_completes_exactly(tmp_path):
    with deployment(tmp_path) as d:
        local = d.cli("run")  # `run` takes the same lock through the sentinels
        assert local.returncode == 0, local.stderr
        local_reports = d.job.reports()
        d.job.configure()

        submit, run_id = hold_run(d)
        # The lock reached the replica before the run started (WAIT 1)
        key = lock_key("MNAAS_Missing_Customer_Files.sh", d.job.status_file)
        assert run_id.encode() in d.sentinels.replica.client(2).get(key)
        assert not any("Redis Sentinel:" in w.log() for w in d.workers)  # a sound deployment
        old_master = d.sentinels.master_port()
        killed = d.sentinels.kill_master()
        d.gate.unlink()  # the held groups finish, and record their results, while no master answers
        promotion = d.sentinels.wait_promoted()
        assert d.sentinels.master_port() == d.sentinels.replica.port != old_master
        code = submit.wait(120)
        finished = time.monotonic() - killed
        out, err = submit.communicate()

        assert code == 0, out + err
        assert f"run {run_id} for {DAY}: SUCCESS" in out
        assert d.job.reports() == local_reports
        want_csv, want_txt = d.job.expected()
        assert local_reports == (want_csv.encode(), want_txt.encode())
        assert len(d.job.emails("report")) == 1 and d.job.emails("sdp-ticket") == []
        status_fields = d.job.status()
        assert status_fields["MNAAS_Daily_ProcessStatusFlag"] == "0"
        assert status_fields["MNAAS_job_status"] == "Success"
        assert status_fields["MNAAS_Script_Process_Id"] == "0"
        assert [(e["run_id"], e["outcome"]) for e in d.job.history()][-1] == (run_id, "success")
        record = d.state(run_id).read()
        assert (record["done"], record["failed"], record["state"]) == (16, 0, "done")
        assert d.lock().holder() is None
        assert_no_secret(d, out, err)
        print(
            f"\nfailover: promotion {promotion:.1f} s after SIGKILL; run {run_id} completed "
            f"{finished:.1f} s after it (its groups finished during the outage)"
        )


@pytest.mark.slow
def test_submits_and_status_across_a_failover_never_two_runs_holding_the_job(tmp_path):
    with deployment(tmp_path) as d:
        first, run_id = hold_run(d)
        d.sentinels.kill_master()
        during = d.cli("submit")  # before the sentinels promote anyone: waits for the new master
        d.sentinels.wait_promoted()
        after = d.cli("submit")
        status = d.cli("status")  # `status` follows the new master
        d.gate.unlink()
        code = first.wait(120)
        out, err = first.communicate()

        assert code == 0, out + err
        for refused in (during, after):
            assert refused.returncode == 3, refused.stdout + refused.stderr
            assert "submitted run" not in refused.stdout
            assert "holds the lock" in refused.stderr and f"run {run_id} for day {DAY}" in refused.stderr
        assert status.returncode == 0, status.stderr
        assert f"lock: HELD by run {run_id} for {DAY}" in status.stdout
        assert "progress: 0/16 groups done" in status.stdout
        assert [e["run_id"] for e in d.job.history()] == [run_id]
        assert len(d.job.emails("report")) == 1
        assert d.job.status()["MNAAS_job_status"] == "Success"
        assert_no_secret(d, during.stderr, after.stderr, status.stdout, err)
        # A worker started now says that the new master has no replica to fail over to
        late = start_worker("w3", d.env, d.job.root / "logs")
        d.workers.append(late)
        late.wait_for_log("Redis Sentinel: master 'mnaas' has no replica")


@pytest.fixture(scope="module")
def quiet(tmp_path_factory):
    """A deployment without workers, for what the CLI does on its own."""
    with deployment(tmp_path_factory.mktemp("sentinel-cli"), workers=False) as d:
        yield d


def test_an_unknown_master_name_is_a_clear_error_without_a_password(quiet):
    started = time.monotonic()
    result = quiet.cli("run", env={**quiet.env, "MNAAS_SENTINEL_MASTER": "nosuchmaster"})
    assert time.monotonic() - started < 10  # not waited for like a failover (30 s)
    assert result.returncode == 1
    assert "know no master named 'nosuchmaster' (MNAAS_SENTINEL_MASTER)" in result.stderr
    assert_no_secret(quiet, result.stdout, result.stderr)
    assert quiet.job.history() == [] and not quiet.job.job.csv(DAY).exists()


def test_a_wrong_sentinel_password_is_a_clear_error_without_either_password(quiet):
    wrong = "wrong-sentinel-pw-77"
    started = time.monotonic()
    result = quiet.cli("run", env={**quiet.env, "MNAAS_SENTINEL_PASSWORD": wrong})
    assert time.monotonic() - started < 10  # not waited for like a failover (30 s)
    assert result.returncode == 1
    assert "refused the password (MNAAS_SENTINEL_PASSWORD)" in result.stderr
    assert_no_secret(quiet, result.stdout, result.stderr)
    assert wrong not in result.stdout + result.stderr


def test_check_config_requires_a_master_name_for_sentinel_urls_and_masks_passwords(quiet):
    env = {k: v for k, v in quiet.env.items() if k != "MNAAS_SENTINEL_MASTER"}
    missing = quiet.cli("check-config", env=env)
    assert missing.returncode == 2
    assert (
        "MNAAS_SENTINEL_MASTER is required when MNAAS_BROKER_URL and MNAAS_RESULT_BACKEND and "
        "MNAAS_LOCK_URL name Redis sentinels" in missing.stderr
    )
    valid = quiet.cli("check-config")
    assert valid.returncode == 0, valid.stderr
    assert "MNAAS_SENTINEL_PASSWORD" in valid.stdout and "sentinel://:***@127.0.0.1:" in valid.stdout
    assert_no_secret(quiet, missing.stdout, missing.stderr, valid.stdout, valid.stderr)


def test_a_lock_no_replica_acknowledges_is_taken_with_a_warning(quiet, caplog):
    replica = quiet.sentinels.replica.process
    lock = quiet.lock()
    replica.send_signal(19)  # SIGSTOP: connected, but it acknowledges nothing
    try:
        started = time.monotonic()
        token = lock.acquire({"run_id": "r-wait"})
        waited = time.monotonic() - started
    finally:
        replica.send_signal(18)  # SIGCONT
    assert lock.release(token)
    assert 0.9 < waited < 3
    assert "run r-wait: the run lock" in caplog.text and "no replica acknowledged it" in caplog.text
    caplog.clear()
    token = lock.acquire({"run_id": "r-acked"})
    assert lock.release(token)
    assert "acknowledged" not in caplog.text


def test_the_start_up_look_at_the_sentinels_names_what_would_stop_a_failover(quiet):
    sentinels = quiet.sentinels
    urls = [sentinels.url(0), sentinels.url(1), sentinels.url(2)]
    assert check_sentinels(urls, MASTER_NAME, sentinels.sentinel_password) == []
    [unknown] = check_sentinels(urls, "other", sentinels.sentinel_password)
    assert "does not monitor 'other'" in unknown
    sentinels.sentinels[2].kill()  # last in this module: the deployment keeps two sentinels
    sentinels.sentinels[2].wait(10)
    [problem] = check_sentinels(urls, MASTER_NAME, sentinels.sentinel_password)
    assert f"sentinel 127.0.0.1:{sentinels.sentinel_ports[2]} (" in problem
    assert "a failover needs a majority of the sentinels" in problem
