"""Catch-up's rules (cluster/catching_up.py) over snapshots: due days, claims, "busy"."""

from __future__ import annotations

import datetime as dt

from mnaas_missing_files.cluster.catching_up import (
    STARTING_GRACE_SECONDS,
    Claim,
    PassView,
    busy_with,
    due_days,
    next_step,
    pass_run_id,
)
from mnaas_missing_files.cluster.records import LockHolder, RunRecord
from mnaas_missing_files.core.states import Stage, Trigger

D1, D2, D3 = dt.date(2026, 11, 22), dt.date(2026, 11, 23), dt.date(2026, 11, 24)
TASK = "5f1c2a9e-0000-4000-8000-000000000000"


def run(run_id: str, state: Stage | None) -> RunRecord:
    return RunRecord(run_id, "2026-11-22", state)


def test_a_pass_run_id_is_the_day_and_the_task_id_s_first_eight_hex_digits():
    assert pass_run_id(D1, TASK) == "20261122-5f1c2a9e"


def test_due_days_are_the_days_not_run_and_a_pending_tick_s_day_oldest_first():
    assert due_days([D3, D1], D2, tick_pending=True) == [D1, D2, D3]
    assert due_days([D3, D1], D2, tick_pending=False) == [D1, D3]
    assert due_days([D3], D3, tick_pending=True) == [D3]  # the tick's day counted once
    assert due_days([], None, tick_pending=True) == []


def test_the_oldest_unclaimed_day_starts_as_catchup_and_a_ticked_day_as_schedule():
    step = next_step(PassView(TASK, [D1, D3], ticks=frozenset({D3})))
    assert (step.day, step.run_id, step.trigger, step.replacing) == (D1, "20261122-5f1c2a9e", Trigger.CATCHUP, None)
    step = next_step(PassView(TASK, [D3], ticks=frozenset({D3})))
    assert (step.day, step.trigger) == (D3, Trigger.SCHEDULE)


def test_a_day_claimed_by_a_live_run_is_skipped_for_the_next_one():
    other = Claim("20261122-otherrun", run("20261122-otherrun", Stage.DONE), age=3600)
    step = next_step(PassView(TASK, [D1, D2], claims={D1: other}))
    assert step.day == D2 and step.start
    assert step.skipped == ((D1, "20261122-otherrun"),)


def test_a_claim_whose_run_was_refused_is_taken_over():
    refused = Claim("20261122-refused0", run("20261122-refused0", Stage.REFUSED), age=5)
    step = next_step(PassView(TASK, [D1], claims={D1: refused}))
    assert (step.day, step.replacing) == (D1, "20261122-refused0")


def test_a_claim_without_a_run_state_is_taken_over_only_after_the_starting_grace():
    young = Claim("20261122-dead0000", None, age=STARTING_GRACE_SECONDS)
    old = Claim("20261122-dead0000", None, age=STARTING_GRACE_SECONDS + 1)
    assert not young.is_stale() and old.is_stale()
    assert not next_step(PassView(TASK, [D1], claims={D1: young})).start
    assert next_step(PassView(TASK, [D1], claims={D1: old})).replacing == "20261122-dead0000"


def test_a_redelivered_pass_goes_on_with_the_day_it_claimed_until_its_run_started():
    mine = pass_run_id(D1, TASK)
    for state in (None, Stage.QUEUED, Stage.STARTING):
        claim = Claim(mine, run(mine, state) if state else None, age=1)
        step = next_step(PassView(TASK, [D1], claims={D1: claim}, busy="run x (it holds the job's lock)"))
        assert (step.day, step.run_id, step.replacing) == (D1, mine, None), state  # even while "busy": itself
    started = Claim(mine, run(mine, Stage.RUNNING), age=1)
    assert next_step(PassView(TASK, [D1, D2], claims={D1: started})).day == D2


def test_a_busy_job_makes_the_next_due_day_wait():
    step = next_step(PassView(TASK, [D1, D2], busy="run 20261121-x (running, not ended)"))
    assert step.wait and not step.start and step.day == D1 and step.busy == "run 20261121-x (running, not ended)"


def test_nothing_due_or_everything_claimed_starts_nothing():
    assert not next_step(PassView(TASK, [])).start and not next_step(PassView(TASK, [])).wait
    live = Claim("20261122-other000", run("20261122-other000", Stage.RUNNING), age=10)
    step = next_step(PassView(TASK, [D1], claims={D1: live}, busy="run 20261122-other000 (running, not ended)"))
    assert not step.start and not step.wait and step.skipped == ((D1, "20261122-other000"),)


def test_busy_names_the_lock_holder_first_then_an_open_run_that_has_not_ended():
    holder = LockHolder("20261124-holder00", "2026-11-24", "submit")
    open_runs = [run("a", Stage.DONE), run("b", Stage.FINALIZING)]
    assert busy_with(holder, open_runs) == "run 20261124-holder00 (it holds the job's lock)"
    assert busy_with(None, open_runs) == "run b (finalizing, not ended)"
    assert busy_with(None, [run("a", Stage.DONE), run("c", Stage.REFUSED)]) is None
