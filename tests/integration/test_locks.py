"""Run locks against real processes and a real redis-server."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mnaas_missing_files.core.errors import LockHeld, LockLost, LockUnavailable
from mnaas_missing_files.state.locks import FileRunLock
from mnaas_missing_files.state.redislock import RedisRunLock, lock_key
from tests.helpers.redisproc import RedisServer

RACERS = 8
CTX = multiprocessing.get_context("spawn")


def holder_for(run_id: str, day: str = "2026-11-24") -> dict:
    return {"run_id": run_id, "day": day, "trigger": "test"}


# --- lock_key and masking ------------------------------------------------------------------


def test_lock_key_names_the_job_by_script_and_status_file():
    key = lock_key("MNAAS_Missing_Customer_Files.sh", "/srv/mnaas/MNAAS_Missing_Customer_Files_ProcessStatusFile")
    # sha1 of the path, from `printf %s PATH | sha1sum`
    assert key == "mnaas-missing-files:lock:MNAAS_Missing_Customer_Files.sh:14d3fef0c0a8"


def test_lock_key_uses_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert lock_key("job", "status") == lock_key("job", tmp_path / "status")
    assert lock_key("job", "status") != lock_key("job", tmp_path / "other")


# --- the file lock -------------------------------------------------------------------------

PROBE = textwrap.dedent(
    """
    import json, sys
    from mnaas_missing_files.state.locks import FileRunLock
    print(json.dumps(FileRunLock.for_status_file(sys.argv[1]).read_holder()))
    """
)

HOLD = textwrap.dedent(
    """
    import sys, time
    from mnaas_missing_files.state.locks import FileRunLock
    FileRunLock.for_status_file(sys.argv[1]).acquire({"run_id": "child-run", "day": "2026-11-20"})
    print("held", flush=True)
    time.sleep(60)
    """
)


def probe_from_another_process(status: Path):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(status)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return json.loads(out.stdout)


def test_file_lock_holder_is_visible_from_another_process_only_while_held(tmp_path):
    status = tmp_path / "status"
    lock = FileRunLock.for_status_file(status)
    assert lock.lock_path == tmp_path / "status.run.lock"
    assert probe_from_another_process(status) is None
    token = lock.acquire(holder_for("run-1"))
    seen = probe_from_another_process(status)
    assert seen["run_id"] == "run-1" and seen["day"] == "2026-11-24"
    assert seen["pid"] > 0 and seen["host"] and seen["started"]
    assert "token" not in seen
    assert lock.is_owner(token) and not lock.is_owner("someone-else")
    assert lock.release(token) is True
    assert probe_from_another_process(status) is None
    assert lock.release(token) is False


def test_a_second_file_lock_is_refused_naming_the_holder(tmp_path):
    status = tmp_path / "status"
    first = FileRunLock.for_status_file(status)
    first.acquire({**holder_for("run-A", "2026-11-01"), "pid": 31337})
    with pytest.raises(LockHeld) as info:
        FileRunLock.for_status_file(status).acquire(holder_for("run-B"))
    message = str(info.value)
    assert "run-A" in message and "2026-11-01" in message and "31337" in message
    assert info.value.holder["run_id"] == "run-A"
    assert info.value.exit_code == 3
    first.release()
    FileRunLock.for_status_file(status).acquire(holder_for("run-B"))


def test_file_lock_dies_with_its_process(tmp_path):
    status = tmp_path / "status"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(status)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert child.stdout.readline().strip() == "held"
        holder = FileRunLock.for_status_file(status).read_holder()
        assert holder["run_id"] == "child-run" and holder["pid"] == child.pid
        with pytest.raises(LockHeld, match="child-run"):
            FileRunLock.for_status_file(status).acquire(holder_for("parent"))
    finally:
        child.kill()
        child.wait()
    assert "child-run" in (tmp_path / "status.run.lock").read_text()  # stale, but not held
    assert FileRunLock.for_status_file(status).read_holder() is None
    FileRunLock.for_status_file(status).acquire(holder_for("parent"))


def _race_file(status: str, index: int, barrier, results) -> None:
    barrier.wait()
    try:
        FileRunLock.for_status_file(status).acquire(holder_for(f"racer-{index}"))
        results.put(("won", index))
        time.sleep(1.0)  # hold it until every racer has tried
    except LockHeld as exc:
        results.put(("lost", exc.holder.get("run_id")))


def _race_redis(url: str, key: str, index: int, barrier, results) -> None:
    lock = RedisRunLock(url, key, ttl_seconds=30)
    barrier.wait()
    try:
        lock.acquire(holder_for(f"racer-{index}"))
        results.put(("won", index))
    except LockHeld as exc:
        results.put(("lost", exc.holder.get("run_id")))


def run_race(target, *args) -> list[tuple]:
    barrier, results = CTX.Barrier(RACERS), CTX.Queue()
    procs = [CTX.Process(target=target, args=(*args, i, barrier, results)) for i in range(RACERS)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    return outcomes


def assert_exactly_one_winner(outcomes: list[tuple]) -> None:
    winners = [index for verdict, index in outcomes if verdict == "won"]
    assert len(winners) == 1, outcomes
    losers_saw = {seen for verdict, seen in outcomes if verdict == "lost"}
    assert losers_saw == {f"racer-{winners[0]}"}
    assert len(outcomes) == RACERS


def test_many_processes_race_for_the_file_lock_and_one_wins(tmp_path):
    assert_exactly_one_winner(run_race(_race_file, str(tmp_path / "status")))


# --- the Redis lock ------------------------------------------------------------------------


def test_many_processes_race_for_the_redis_lock_and_one_wins(redis_server):
    assert_exactly_one_winner(run_race(_race_redis, redis_server.url(), "race-key"))


def test_holder_shows_who_and_how_long_without_the_token(redis_server):
    lock = RedisRunLock(redis_server.url(), "k", ttl_seconds=60)
    assert lock.holder() is None
    token = lock.acquire({**holder_for("run-7", "2026-11-07"), "started": "2026-11-08 06:30:00"})
    time.sleep(0.3)
    holder = lock.holder()
    assert holder["run_id"] == "run-7" and holder["day"] == "2026-11-07"
    assert holder["started"] == "2026-11-08 06:30:00"
    assert 58 <= holder["ttl"] <= 60
    assert 0.2 <= holder["age"] < 5
    assert "token" not in holder and token not in json.dumps(holder)
    stored = json.loads(redis_server.client().get("k"))
    assert stored["token"] == token


def test_a_second_acquire_is_refused_naming_the_holder(redis_server):
    RedisRunLock(redis_server.url(), "k", 60).acquire(holder_for("run-A", "2026-11-02"))
    with pytest.raises(LockHeld) as info:
        RedisRunLock(redis_server.url(), "k", 60).acquire(holder_for("run-B"))
    assert "run-A" in str(info.value) and "2026-11-02" in str(info.value)
    assert info.value.holder["run_id"] == "run-A"


def test_only_the_owner_can_extend_or_release(redis_server):
    lock = RedisRunLock(redis_server.url(), "k", ttl_seconds=60)
    token = lock.acquire(holder_for("owner"))
    intruder = RedisRunLock(redis_server.url(), "k", ttl_seconds=600)
    assert intruder.release("not-the-token") is False
    with pytest.raises(LockLost, match="owner"):
        intruder.extend("not-the-token")
    assert redis_server.client().ttl("k") <= 60  # the intruder's 600 s never landed
    assert lock.is_owner(token) and not lock.is_owner("not-the-token")
    assert lock.holder()["run_id"] == "owner"
    assert lock.release(token) is True
    assert lock.holder() is None
    assert lock.release(token) is False
    with pytest.raises(LockLost, match="expired"):
        lock.extend(token)


def test_ttl_expiry_frees_a_crashed_runs_lock(redis_server):
    crashed = RedisRunLock(redis_server.url(), "k", ttl_seconds=1)
    token = crashed.acquire(holder_for("crashed"))
    with pytest.raises(LockHeld):
        RedisRunLock(redis_server.url(), "k", 1).acquire(holder_for("next"))
    time.sleep(1.3)
    assert crashed.holder() is None
    RedisRunLock(redis_server.url(), "k", 1).acquire(holder_for("next"))
    assert not crashed.is_owner(token)
    with pytest.raises(LockLost):
        crashed.extend(token)


def test_extend_keeps_the_lock_alive_past_its_ttl(redis_server):
    lock = RedisRunLock(redis_server.url(), "k", ttl_seconds=1)
    token = lock.acquire(holder_for("long-run"))
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        time.sleep(0.4)
        lock.extend(token)
    assert lock.is_owner(token)  # 2 s after taking a 1 s lock
    time.sleep(1.3)
    assert lock.holder() is None


def lapse(lock: RedisRunLock, redis_server) -> None:
    """Make the lock lapse now, as its TTL running out would."""
    redis_server.client().delete(lock.key)


def test_a_lapsed_lock_is_taken_back_when_nobody_held_the_job_since(redis_server):
    lock = RedisRunLock(redis_server.url(), "k", ttl_seconds=60)
    token = lock.acquire(holder_for("stalled"))
    lapse(lock, redis_server)
    assert lock.holder() is None and lock.resumable(token)

    assert lock.extend(token) is True  # taken back
    assert lock.is_owner(token) and lock.holder()["run_id"] == "stalled"
    assert 55 <= redis_server.client().ttl("k") <= 60
    assert lock.extend(token) is False  # an ordinary extend
    with pytest.raises(LockHeld):
        RedisRunLock(redis_server.url(), "k", 60).acquire(holder_for("next"))


def test_once_another_run_held_the_job_a_lapsed_run_never_gets_it_back(redis_server):
    lapsed = RedisRunLock(redis_server.url(), "k", ttl_seconds=60)
    token = lapsed.acquire(holder_for("lapsed"))
    lapse(lapsed, redis_server)
    other = RedisRunLock(redis_server.url(), "k", ttl_seconds=60)
    other_token = other.acquire(holder_for("other"))
    assert not lapsed.resumable(token) and other.resumable(other_token)
    with pytest.raises(LockLost, match="other"):
        lapsed.extend(token)
    other.release(other_token)
    with pytest.raises(LockLost, match="expired"):  # free again, but not this run's any more
        lapsed.extend(token)
    assert lapsed.holder() is None


def test_a_released_lock_is_never_taken_back_by_a_late_extend(redis_server):
    lock = RedisRunLock(redis_server.url(), "k", ttl_seconds=60)
    token = lock.acquire(holder_for("finished"))
    assert lock.release(token) is True
    assert not lock.resumable(token)
    with pytest.raises(LockLost):
        lock.extend(token)  # e.g. a redelivered task of the finished run
    assert redis_server.client().keys("k*") == []


def test_taking_over_after_a_lapsed_run_only_while_it_was_the_last_holder(redis_server):
    lock = RedisRunLock(redis_server.url(), "k", ttl_seconds=60)
    lost = lock.acquire(holder_for("lost"))
    with pytest.raises(LockHeld):  # not lapsed: the run still holds it
        lock.acquire(holder_for("sweeper"), after=lost)
    lapse(lock, redis_server)
    sweeper = lock.acquire(holder_for("sweeper"), after=lost)
    assert lock.holder()["run_id"] == "sweeper" and not lock.resumable(lost)
    with pytest.raises(LockLost):
        lock.extend(lost)
    lapse(lock, redis_server)
    with pytest.raises(LockLost, match="since"):  # the sweeper held it after `lost`
        lock.acquire(holder_for("second sweeper"), after=lost)
    assert lock.resumable(sweeper)


def _race_take_over(url: str, key: str, after: str, index: int, barrier, results) -> None:
    lock = RedisRunLock(url, key, ttl_seconds=30)
    barrier.wait()
    try:
        lock.acquire(holder_for(f"racer-{index}"), after=after)
        results.put(("won", index))
    except LockLost:  # the winner became the last holder first
        results.put(("superseded", None))


def test_many_processes_take_over_a_lapsed_run_and_one_wins(redis_server):
    lock = RedisRunLock(redis_server.url(), "race-key", ttl_seconds=30)
    lost = lock.acquire(holder_for("lost"))
    lapse(lock, redis_server)
    outcomes = run_race(_race_take_over, redis_server.url(), "race-key", lost)
    winners = [index for verdict, index in outcomes if verdict == "won"]
    assert len(winners) == 1, outcomes
    assert [verdict for verdict, _ in outcomes].count("superseded") == RACERS - 1
    assert lock.holder()["run_id"] == f"racer-{winners[0]}"


def test_a_redis_restart_loses_the_lock(redis_server):
    lock = RedisRunLock(redis_server.url(), "k", ttl_seconds=60)
    token = lock.acquire(holder_for("before-restart"))
    redis_server.stop()
    redis_server.start()
    with pytest.raises(LockLost):
        lock.extend(token)


@pytest.mark.redis
def test_unreachable_redis_is_lock_unavailable_without_the_password():
    with RedisServer(password="hunter2-secret") as server:
        url = server.url()
        lock = RedisRunLock(url, "k", ttl_seconds=60)
        token = lock.acquire(holder_for("r"))
        server.stop()
        for attempt in (
            lambda: lock.acquire(holder_for("r2")),
            lambda: lock.extend(token),
            lambda: lock.release(token),
            lambda: lock.holder(),
        ):
            with pytest.raises(LockUnavailable) as info:
                attempt()
            message = str(info.value)
            assert "hunter2-secret" not in message
            assert f"redis://:***@127.0.0.1:{server.port}/0" in message


@pytest.mark.redis
def test_a_wrong_password_is_lock_unavailable_without_the_password():
    with RedisServer(password="right-pass") as server:
        bad_url = f"redis://:wrong-pass@127.0.0.1:{server.port}/0"
        with pytest.raises(LockUnavailable) as info:
            RedisRunLock(bad_url, "k", 60).acquire(holder_for("r"))
        assert "wrong-pass" not in str(info.value)
