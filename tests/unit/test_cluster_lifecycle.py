"""The rules at a submitted run's start and end (cluster/lifecycle.py), and the outcome rule
of contract §7 (run/outcome.py) as a table."""

from __future__ import annotations

import pytest

from mnaas_missing_files.cluster.lifecycle import (
    NO_TOKEN,
    PLAN_GONE,
    LockLostEnd,
    Start,
    finish_problem,
    start_step,
    who_ends_lock_lost,
)
from mnaas_missing_files.cluster.records import LockHolder, LockView, RunRecord
from mnaas_missing_files.core.states import Outcome, Stage
from mnaas_missing_files.run.outcome import outcome_rule

RUN = "20261124-aaaa"


def record(state: Stage) -> RunRecord:
    return RunRecord(RUN, "2026-11-24", state)


@pytest.mark.parametrize(
    ("seen", "token", "delivery", "expected"),
    [
        (None, None, 1, Start.CLAIM),  # beat's path: no run state, no lock yet
        (None, "t", 1, Start.RESUME),  # submit's: its token in the message
        (record(Stage.QUEUED), "t", 1, Start.RESUME),
        (record(Stage.STARTING), "t", 2, Start.RESUME),  # redelivered before the chord went out
        (record(Stage.STARTING), "t", 4, Start.ABANDON),  # its worker kept dying (max 3)
        (None, None, 4, Start.ABANDON),
        (record(Stage.RUNNING), "t", 9, Start.ALREADY),  # the chord is out: never twice
        (record(Stage.DONE), "t", 1, Start.ALREADY),
        (record(Stage.REFUSED), None, 1, Start.ALREADY),
    ],
)
def test_what_start_run_does_with_a_delivery(seen, token, delivery, expected):
    assert start_step(seen, token, delivery, max_deliveries=3) is expected


def test_a_callback_reports_only_with_its_plan_and_token_within_its_deliveries():
    assert finish_problem(delivery=1, max_deliveries=3, plan_known=True, token="t") is None
    assert finish_problem(delivery=1, max_deliveries=3, plan_known=False, token="t") == PLAN_GONE
    assert finish_problem(delivery=1, max_deliveries=3, plan_known=True, token=None) == NO_TOKEN
    too_many = finish_problem(delivery=4, max_deliveries=3, plan_known=False, token=None)
    assert too_many == "finalize_run was delivered 4 times (MNAAS_MAX_DELIVERIES=3); its worker kept dying"


def test_a_lock_lost_run_is_left_to_the_sweeper_only_when_it_holds_the_lock_under_the_run_s_id():
    sweeper = LockView(LockHolder(RUN, trigger="sweeper", token="t-sweeper"))
    other = LockView(LockHolder("20261124-bbbb", token="t-b"))
    assert who_ends_lock_lost(RUN, sweeper) is LockLostEnd.SWEEPER
    assert who_ends_lock_lost(RUN, other) is LockLostEnd.THIS_RUN
    assert who_ends_lock_lost(RUN, LockView()) is LockLostEnd.THIS_RUN  # lapsed, nobody holds it
    # the run history holds its end (a failover lost Redis's record): nobody ends it again
    assert who_ends_lock_lost(RUN, other, ended_in_history=True) is LockLostEnd.ENDED
    assert who_ends_lock_lost(RUN, sweeper, ended_in_history=True) is LockLostEnd.ENDED


# contract §7: the first that applies: failed, incomplete, no_input (under fail), success;
# a dry run exits 1 where the real run would not succeed for those reasons.
@pytest.mark.parametrize(
    ("dry_run", "errors", "failed_groups", "no_input", "empty_input", "expected"),
    [
        (False, False, False, False, "fail", (Outcome.SUCCESS, 0)),
        (False, True, True, True, "fail", (Outcome.FAILED, 1)),
        (False, True, False, False, "warn", (Outcome.FAILED, 1)),
        (False, False, True, True, "fail", (Outcome.INCOMPLETE, 1)),
        (False, False, True, False, "warn", (Outcome.INCOMPLETE, 1)),
        (False, False, False, True, "fail", (Outcome.NO_INPUT, 1)),
        (False, False, False, True, "warn", (Outcome.SUCCESS, 0)),
        (True, False, False, False, "fail", (Outcome.DRY_RUN, 0)),
        (True, False, False, True, "warn", (Outcome.DRY_RUN, 0)),
        (True, False, False, True, "fail", (Outcome.DRY_RUN, 1)),
        (True, False, True, False, "warn", (Outcome.DRY_RUN, 1)),
        (True, True, False, False, "warn", (Outcome.DRY_RUN, 1)),
    ],
)
def test_the_outcome_rule(dry_run, errors, failed_groups, no_input, empty_input, expected):
    rule = outcome_rule(
        dry_run=dry_run, errors=errors, failed_groups=failed_groups, no_input=no_input, empty_input=empty_input
    )
    assert rule == expected
