"""The run state, the email journal, the scheduled-day claim and the delivery counter, on a
real redis-server."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mnaas_missing_files.cluster.jobkeys import (
    claim_scheduled_day,
    count_delivery,
    forget_open_run,
    open_runs,
    release_scheduled_day,
)
from mnaas_missing_files.cluster.runstate import RedisJournal, RunState, redis_client
from mnaas_missing_files.core.model import GroupResult

DAY = dt.date(2026, 11, 24)
LOCK_KEY = "mnaas-missing-files:lock:MNAAS_Missing_Customer_Files.sh:14d3fef0c0a8"


@pytest.fixture
def client(redis_server):
    return redis_client(redis_server.url(3))


def test_a_group_delivered_twice_is_counted_once(client):
    state = RunState(client, "20261124-aaaa")
    state.create(day=DAY, trigger="submit", dry_run=False, total=3, job=LOCK_KEY, token="t0k3n")
    ok = GroupResult("traffic/regular/1", True, counts={"eLUX": [3, 2]}, missing={"eLUX": ["eLUX_F1"]})
    failed = GroupResult.failed("traffic/regular/2", "TransientWarehouseError: down", attempts=4)

    assert state.group_done(ok) is True
    assert state.group_done(ok) is False
    assert state.group_done(failed) is True
    record = state.read()

    assert (record["total"], record["done"], record["failed"]) == (3, 2, 1)
    assert record["failed_groups"] == {"traffic/regular/2": "TransientWarehouseError: down"}
    stored = state.results()["traffic/regular/1"]
    assert (stored.ok, stored.counts, stored.missing_names()) == (True, {"eLUX": [3, 2]}, {"eLUX": ["eLUX_F1"]})
    assert "token" not in record and state.token() == "t0k3n"
    assert client.ttl(state.key) > 6 * 24 * 3600


def test_a_late_duplicate_does_not_overwrite_the_recorded_outcome(client):
    state = RunState(client, "20261124-bbbb")
    state.create(day=DAY, trigger="submit", dry_run=False, total=1, job=LOCK_KEY)
    state.finish(state="done", exit_code=0, outcome={"outcome": "success"})

    assert state.finish(state="failed", exit_code=1, message="lock lost", only_if_open=True) is False
    record = state.read()
    assert (record["state"], record["exit_code"], record["outcome"]) == ("done", 0, {"outcome": "success"})


def test_a_run_is_listed_among_its_jobs_open_runs_until_it_ends(client):
    other_job = LOCK_KEY[:-4] + "beef"
    first, second = RunState(client, "20261124-open1"), RunState(client, "20261124-open2")
    first.create(day=DAY, trigger="submit", dry_run=False, total=1, job=LOCK_KEY, token="t1")
    second.create(day=DAY, trigger="schedule", dry_run=False, total=1, job=LOCK_KEY, state="starting")
    RunState(client, "20261124-other").create(day=DAY, trigger="submit", dry_run=False, total=1, job=other_job)
    assert open_runs(client, LOCK_KEY) == ["20261124-open1", "20261124-open2"]

    assert first.finish(state="done", exit_code=0) is True
    assert open_runs(client, LOCK_KEY) == ["20261124-open2"]
    assert open_runs(client, other_job) == ["20261124-other"]
    forget_open_run(client, LOCK_KEY, "20261124-open2")
    assert open_runs(client, LOCK_KEY) == []


def test_a_lapse_is_dated_from_its_first_sighting_until_a_group_finishes(client):
    state = RunState(client, "20261124-lapse")
    state.create(day=DAY, trigger="submit", dry_run=False, total=3, job=LOCK_KEY, token="t")
    assert state.lapse_seen(done=0, now=100.0) == 100.0  # first sighting
    assert state.lapse_seen(done=0, now=160.0) == 100.0  # still no progress: the same lapse
    assert state.lapse_seen(done=1, now=170.0) == 170.0  # a group finished: a new lapse
    assert state.lapse_seen(done=1, now=500.0) == 170.0


def test_the_day_of_a_scheduled_run_is_claimed_once(client):
    assert claim_scheduled_day(client, LOCK_KEY, DAY, "20261124-first") is None
    assert claim_scheduled_day(client, LOCK_KEY, DAY, "20261124-second") == "20261124-first"
    assert claim_scheduled_day(client, LOCK_KEY, DAY, "20261124-first") is None  # its redelivery
    assert claim_scheduled_day(client, LOCK_KEY, DAY + dt.timedelta(days=1), "20261125-x") is None
    release_scheduled_day(client, LOCK_KEY, DAY, "20261124-second")  # not the owner: no effect
    assert claim_scheduled_day(client, LOCK_KEY, DAY, "20261124-third") == "20261124-first"
    release_scheduled_day(client, LOCK_KEY, DAY, "20261124-first")
    assert claim_scheduled_day(client, LOCK_KEY, DAY, "20261124-third") is None
    assert client.get(f"mnaas-missing-files:scheduled:MNAAS_Missing_Customer_Files.sh:14d3fef0c0a8:{DAY}") == (
        "20261124-third"
    )


def test_deliveries_are_counted_per_task_message(client):
    assert [count_delivery(client, "task-1", 0) for _ in range(3)] == [1, 2, 3]
    assert count_delivery(client, "task-1", 1) == 1  # a retry is a new message
    assert count_delivery(client, "task-2", 0) == 1


def test_the_journal_remembers_sent_emails_per_run(client):
    journal = RedisJournal(client)
    assert journal.was_sent("20261124-cccc", "report") is False
    journal.mark_sent("20261124-cccc", "report")
    assert journal.was_sent("20261124-cccc", "report") is True
    assert journal.was_sent("20261124-cccc", "sdp-ticket") is False
    assert journal.was_sent("20261124-dddd", "report") is False


def test_the_plan_is_kept_once_per_run_and_lives_as_long_as_the_run_state(client):
    state = RunState(client, "20261124-eeee")
    plan = {
        "run_id": "20261124-eeee",
        "day": str(DAY),
        "dry_run": False,
        "trigger": "submit",
        "batches": [
            {
                "batch_id": "1/1",
                "processes": ["traffic"],
                "regular": ["eLUX", "MyRep"],
                "infonova": [],
                "numbers": [1, 1],
            }
        ],
    }
    assert state.plan() is None

    state.save_plan(plan)
    client.expire(state.plan_key, 60)  # as if saved long ago
    state.group_done(GroupResult("traffic/regular/1", True, counts={"eLUX": [1, 1]}))

    assert state.plan() == plan
    assert state.plan_key == "mnaas-missing-files:run:20261124-eeee:plan"
    assert client.ttl(state.plan_key) > 6 * 24 * 3600  # refreshed with the run's other keys
    assert RunState(client, "20261124-ffff").plan() is None


def test_the_plan_is_kept_a_batch_per_key_so_no_key_grows_with_the_day(client):
    state = RunState(client, "20261124-gggg")
    batches = [
        {
            "batch_id": f"{n + 1}/3",
            "processes": ["traffic", "actives"],
            "regular": [f"Cust_{n}_{i:05d}" for i in range(1000)],
            "infonova": [],
            "numbers": [n + 1, 1],
        }
        for n in range(3)
    ]
    plan = {"run_id": "20261124-gggg", "day": str(DAY), "dry_run": False, "trigger": "submit", "batches": batches}
    state.save_plan(plan)

    assert state.plan() == plan
    header = json.loads(client.get(state.plan_key))
    assert header == {
        "run_id": "20261124-gggg",
        "day": str(DAY),
        "dry_run": False,
        "trigger": "submit",
        "batch_keys": 3,
    }
    parts = [json.loads(client.get(f"{state.plan_key}:{n}")) for n in range(3)]
    assert parts == batches
    # 3,000 customers: the whole plan is ~50 KB, no key above one batch's ~17 KB
    assert (
        max(client.memory_usage(k) for k in [state.plan_key] + [f"{state.plan_key}:{n}" for n in range(3)])
        < len(json.dumps(batches[0])) + 1024
    )
    assert all(client.ttl(f"{state.plan_key}:{n}") > 6 * 24 * 3600 for n in range(3))
    client.delete(f"{state.plan_key}:1")
    assert state.plan() is None  # partly gone is gone: the callback then says the plan is lost
