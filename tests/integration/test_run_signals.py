"""Every `run` ends, and says so (contract §13): SIGTERM or SIGINT of a real `run` mid-retry,
with the file lock and with a Redis lock, and SIGKILL of one holding a Redis lock.

The warehouse is made to fail transiently by holding the DuckDB file open for writing in
another process (a loader would), so the run sits in its retry backoff when the signal comes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.jobconfig import small_duckdb_job

DAY = dt.date(2026, 11, 24)
CLI = [sys.executable, "-m", "mnaas_missing_files.cli.main"]
# Long enough that a run left alone would retry for minutes: only the signal can end it soon.
RETRYING = {"MNAAS_RETRY_BACKOFF": "4", "MNAAS_QUERY_ATTEMPTS": "8"}


@pytest.fixture
def job(tmp_path):
    job = small_duckdb_job(tmp_path, DAY)
    job.warehouse = tmp_path / "wh.duckdb"
    return job


def env_with(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    return {**env, **extra}


def start_run(job, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "run", "--date", DAY.isoformat(), "--config", str(job.config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


class WarehouseWriter:
    """Another process holding the DuckDB file for writing: every read-only open fails."""

    def __init__(self, path: Path):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                (f"import duckdb,time; c=duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(300)"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        self.proc.kill()
        self.proc.wait()


def kill_mid_retry(job, env: dict[str, str]) -> None:
    """SIGKILL a `run` while it waits to retry: it gets no chance to clean up anything."""
    writer = WarehouseWriter(job.warehouse)
    try:
        run = start_run(job, env)
        wait_for_log(job, "retrying in 4.0 s")
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=30)
    finally:
        writer.release()


def log_text(job) -> str:
    return "".join(p.read_text() for p in sorted((job.root / "Logs").iterdir()))


def wait_for_log(job, needle: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log_text(job):
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} never appeared in the log")


def history(job) -> list[dict]:
    path = Path(f"{job.status_file}.runs.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def status(job) -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in job.status_file.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )


def tickets(job) -> list[Path]:
    return [p for p in job.emails() if p.name.endswith("_sdp-ticket.eml")]


# The Redis lock is taken from a fixture looked up by value: its param carries the marker.
@pytest.fixture(params=["file lock", pytest.param("redis lock", marks=pytest.mark.redis)])
def lock_env(request):
    if request.param == "file lock":
        yield {}
        return
    server = request.getfixturevalue("redis_server_session")
    db = 9
    server.client(db=db).flushdb()
    yield {"MNAAS_LOCK_URL": server.url(db)}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_retry_ends_the_run_interrupted_and_frees_the_job(job, lock_env, sig):
    env = env_with({**RETRYING, **lock_env})
    writer = WarehouseWriter(job.warehouse)
    try:
        run = start_run(job, env)
        wait_for_log(job, "retrying in 4.0 s")
        sent = time.monotonic()
        run.send_signal(sig)
        _, stderr = run.communicate(timeout=30)
        stopped_after = time.monotonic() - sent
    finally:
        writer.release()

    assert run.returncode == 1, stderr
    assert stopped_after < 10, f"took {stopped_after:.1f} s to stop"
    assert "Traceback" not in stderr
    assert f"interrupted by {sig.name}" in stderr
    [entry] = history(job)
    assert entry["outcome"] == "interrupted" and entry["ended"]
    st = status(job)
    assert (
        st["MNAAS_Daily_ProcessStatusFlag"],
        st["MNAAS_job_status"],
        st["MNAAS_Script_Process_Id"],
        st["MNAAS_email_sdp_created"],
    ) == ("1", "Failure", "0", "Yes")
    assert len(tickets(job)) == 1
    assert f"INTERRUPTED for {DAY}" in log_text(job)
    assert not job.csv(DAY).exists()  # nothing half-done: no reports from an interrupted run

    # The job is free at once: the next run neither waits nor is refused.
    started = time.monotonic()
    rerun = subprocess.run(
        [*CLI, "run", "--date", DAY.isoformat(), "--config", str(job.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    print(
        f"\n{sig.name} ({'redis' if lock_env else 'file'} lock): stopped {stopped_after:.2f} s after "
        f"the signal; next run ran {time.monotonic() - started:.2f} s, {time.monotonic() - sent:.2f} s after the signal"
    )
    assert rerun.returncode == 0, rerun.stderr
    assert status(job)["MNAAS_email_sdp_created"] == "No"
    assert [e["outcome"] for e in history(job)] == ["interrupted", "success"]


@pytest.mark.timeout(180)
def test_sigkill_leaves_a_stale_redis_lock_the_next_run_takes_over_at_once(job, redis_server_session):
    db = 10
    redis_server_session.client(db=db).flushdb()
    env = env_with({**RETRYING, "MNAAS_LOCK_URL": redis_server_session.url(db), "MNAAS_LOCK_TTL": "1800"})
    kill_mid_retry(job, env)
    [lock_key] = [
        k for k in redis_server_session.client(db=db).keys("mnaas-missing-files:lock:*") if not k.endswith(b":last")
    ]
    assert redis_server_session.client(db=db).pttl(lock_key) > 1_000_000  # would refuse for ~30 min

    shown = subprocess.run(
        [*CLI, "status", "--config", str(job.config)], capture_output=True, text=True, env=env, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert f"lock: STALE: held by run {history(job)[0]['run_id']}" in shown.stdout
    # status is read-only (contract §15): it shows the dead run; the next run ends it as lost
    assert f"run {history(job)[0]['run_id']}: DEAD: its process" in shown.stdout
    assert history(job)[0]["outcome"] == "running"

    started = time.monotonic()
    rerun = subprocess.run(
        [*CLI, "run", "--date", DAY.isoformat(), "--config", str(job.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    print(f"\nSIGKILL (redis lock): next run took {time.monotonic() - started:.2f} s")
    assert rerun.returncode == 0, rerun.stderr
    assert "whose process is gone (this host); taking it over" in rerun.stderr
    assert [e["outcome"] for e in history(job)] == ["lost", "success"]
    lost_id = history(job)[0]["run_id"]
    assert [p.name for p in job.emails() if p.name.endswith("_failure-notice.eml")] == [
        f"{DAY}_{lost_id}_failure-notice.eml"
    ]


@pytest.mark.timeout(120)
def test_sigkill_with_the_file_lock_the_next_run_marks_the_dead_run_lost(job):
    env = env_with(RETRYING)
    kill_mid_retry(job, env)
    assert history(job)[0]["outcome"] == "running"
    rerun = subprocess.run(
        [*CLI, "run", "--date", DAY.isoformat(), "--config", str(job.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert rerun.returncode == 0, rerun.stderr
    first, second = history(job)
    assert (first["outcome"], second["outcome"]) == ("lost", "success")
    assert f"found by run {second['run_id']}" in first["message"]


@pytest.mark.timeout(120)
def test_a_status_file_that_cannot_be_written_at_the_end_fails_the_run_with_one_message(job):
    # Held in its retry wait, the run started fine; then the status file becomes a directory.
    env = env_with({"MNAAS_RETRY_BACKOFF": "1", "MNAAS_QUERY_ATTEMPTS": "8"})
    writer = WarehouseWriter(job.warehouse)
    try:
        run = start_run(job, env)
        wait_for_log(job, "retrying in 1.0 s")
        job.status_file.unlink()
        job.status_file.mkdir()
    finally:
        writer.release()
    try:
        out, err = run.communicate(timeout=60)
    finally:
        job.status_file.rmdir()
    assert run.returncode == 1, err
    assert "Traceback" not in err
    assert f"cannot read the status file {job.status_file}: Is a directory (EISDIR)" in err
    [entry] = history(job)
    assert entry["outcome"] == "failed" and entry["ended"]
    assert f"FAILED for {DAY}" in log_text(job)


@pytest.mark.timeout(180)
def test_a_signal_stops_a_backfill_after_the_day_in_hand(job):
    """SIGTERM while the first of three days waits to retry: that day ends interrupted, the
    other two never start, and the table says so."""
    first = DAY - dt.timedelta(days=2)
    writer = WarehouseWriter(job.warehouse)
    try:
        backfill = subprocess.Popen(
            [*CLI, "backfill", "--from", first.isoformat(), "--to", DAY.isoformat(), "--config", str(job.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env_with(RETRYING),
        )
        wait_for_log(job, "retrying in 4.0 s")
        backfill.send_signal(signal.SIGTERM)
        stdout, stderr = backfill.communicate(timeout=30)
    finally:
        writer.release()

    assert backfill.returncode == 1, stderr
    assert "Traceback" not in stderr
    rows = {line.split()[0]: line.split(None, 3)[1:] for line in stdout.splitlines()[1:]}
    assert rows[first.isoformat()][:2] == ["interrupted", "1"]
    for later in (first + dt.timedelta(days=1), DAY):
        assert rows[later.isoformat()] == ["not", "run", "1  backfill stopped (interrupted by SIGTERM)"]
    [entry] = history(job)  # only the first day ever started
    assert entry["outcome"] == "interrupted" and entry["day"] == first.isoformat()
    assert not any(job.csv(d).exists() for d in (first, first + dt.timedelta(days=1), DAY))
