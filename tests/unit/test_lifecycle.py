"""The run's lifecycle decisions, one at a time: what finalize writes for each kind of end, the
end-of-run boundary and its observers, the retry policy, and the local runner's lock handling.
No servers: DuckDB in memory where a warehouse is needed, files in a temporary directory."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mnaas_missing_files.checking.check import RetryLater, check_attempt, check_batch_with_retries
from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import (
    EXIT_FAILED,
    EXIT_OK,
    LockHeld,
    LockLost,
    TransientMailError,
    TransientWarehouseError,
    WarehouseError,
)
from mnaas_missing_files.core.model import GroupResult
from mnaas_missing_files.core.retry import RetryPolicy
from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.run import end_of_run as ending
from mnaas_missing_files.run import local
from mnaas_missing_files.run.end_of_run import RunEnd, end_run
from mnaas_missing_files.run.finalize import MemoryJournal, begin, finalize
from mnaas_missing_files.state import history, statusfile
from mnaas_missing_files.state.locks import FileRunLock
from tests.helpers.settings import settings_for_tests

DAY = dt.date(2026, 11, 24)


@pytest.fixture
def settings(tmp_path) -> Settings:
    # Two customers of one process: one group, two pairs.
    return settings_for_tests(conf_path=tmp_path, day=DAY, customers=("eLUX", "JLR"))


def ok_result(plan, missing=None):
    group = plan.groups[0]
    return {
        group.group_id: GroupResult(
            group.group_id,
            True,
            counts={"eLUX": [3, 2], "JLR": [1, 1]},
            missing=missing if missing is not None else {"eLUX": ["eLUX_f1.csv"]},
        )
    }


def started(settings, **kwargs):
    plan = make_plan(settings, workers=1, trigger="run", run_id="20261124-life0001", **kwargs)
    begin(settings, plan, pid=4242)
    return plan


def history_entry(settings):
    return history.recent_runs(settings.status_file, 1)[0]


# --- finalize: each way a run with results ends ----------------------------------------------


def test_a_complete_run_succeeds_resets_the_status_file_and_records_its_end(settings):
    plan = started(settings)
    outcome = finalize(settings, plan, ok_result(plan))

    assert (outcome.outcome, outcome.exit_code, outcome.failed_groups) == (Outcome.SUCCESS, EXIT_OK, {})
    status = statusfile.read_status(settings.status_file)
    assert (status["MNAAS_Daily_ProcessStatusFlag"], status["MNAAS_job_status"]) == ("0", "Success")
    assert status["MNAAS_email_sdp_created"] == "No"
    entry = history_entry(settings)
    assert (entry["outcome"], entry["missing_files"], entry["pairs"]) == ("success", 1, 2)
    assert entry["ended"] is not None
    assert len(list(settings.outbox_dir.glob("*_report.eml"))) == 1


def test_a_run_whose_every_group_failed_writes_no_report_raises_one_ticket_and_sends_a_notice(settings):
    plan = started(settings)
    outcome = finalize(settings, plan, {plan.groups[0].group_id: GroupResult.failed(plan.groups[0].group_id, "boom")})

    assert outcome.exit_code == EXIT_FAILED and outcome.ticket_raised
    assert (outcome.outcome, outcome.failed_groups) == (Outcome.FAILED, {plan.groups[0].group_id: "boom"})
    # Nothing was checked (contract §15): no report of blank counts, one failure notice instead.
    assert outcome.summary is None and not settings.csv_path.exists()
    assert not list(settings.outbox_dir.glob("*_report.eml"))
    assert len(list(settings.outbox_dir.glob("*_failure-notice.eml"))) == 1
    status = statusfile.read_status(settings.status_file)
    assert (status["MNAAS_Daily_ProcessStatusFlag"], status["MNAAS_job_status"], status["MNAAS_email_sdp_created"]) == (
        "1",
        "Failure",
        "Yes",
    )
    assert len(list(settings.outbox_dir.glob("*_sdp-ticket.eml"))) == 1


def test_a_group_with_no_result_counts_as_failed(settings):
    plan = started(settings)
    outcome = finalize(settings, plan, {})
    assert outcome.failed_groups == {plan.groups[0].group_id: "no result was received for this group"}


def test_a_dry_run_writes_the_reports_but_sends_nothing_and_leaves_the_status_file(settings):
    plan = started(settings, dry_run=True)
    before = settings.status_file.read_bytes() if settings.status_file.exists() else None
    outcome = finalize(settings, plan, ok_result(plan))

    assert (outcome.outcome, outcome.exit_code) == (Outcome.DRY_RUN, EXIT_OK)
    dry = settings.csv_path.parent / "dry-run"
    assert not settings.csv_path.exists() and not settings.txt_path.exists()
    assert (dry / settings.csv_path.name).is_file() and (dry / settings.txt_path.name).read_text() == "eLUX_f1.csv\n"
    assert not settings.outbox_dir.exists()
    assert (settings.status_file.read_bytes() if settings.status_file.exists() else None) == before
    assert history_entry(settings)["outcome"] == "dry-run"


def test_a_report_already_sent_for_the_run_is_not_sent_again(settings):
    plan = started(settings)
    journal = MemoryJournal()
    journal.mark_sent(plan.run_id, "report")
    outcome = finalize(settings, plan, ok_result(plan), journal=journal)
    assert outcome.email == "already sent" and not settings.outbox_dir.exists()


def test_a_run_that_lost_its_lock_writes_nothing(settings):
    plan = started(settings)
    before = settings.status_file.read_bytes()

    def superseded():
        raise LockLost("another run holds the job")

    with pytest.raises(LockLost):
        finalize(settings, plan, ok_result(plan), before_write=superseded)
    assert settings.status_file.read_bytes() == before
    assert not settings.csv_path.exists() and not settings.outbox_dir.exists()


def test_unwritable_reports_fail_the_run_and_send_no_report(settings, tmp_path):
    plan = started(settings)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings = settings_for_tests(
        conf_path=tmp_path, day=DAY, customers=("eLUX", "JLR"), csv_path=blocker / "r.csv", txt_path=blocker / "r.txt"
    )
    outcome = finalize(settings, plan, ok_result(plan))
    assert outcome.exit_code == EXIT_FAILED and outcome.summary is None
    assert outcome.errors and outcome.errors[0].startswith("reports not written")
    assert list(settings.outbox_dir.glob("*_report.eml")) == []
    assert statusfile.read_status(settings.status_file)["MNAAS_job_status"] == "Failure"


# --- the end-of-run boundary -------------------------------------------------------------------


def test_every_observer_sees_the_end_in_order_and_one_failing_does_not_stop_the_next(settings):
    seen = []

    def first(end):
        seen.append(("first", end.outcome))
        raise OSError("disk full")

    def second(end):
        seen.append(("second", end.outcome))

    failures = end_run(
        RunEnd(settings, "r1", "2026-11-24", Outcome.FAILED, EXIT_FAILED, message="why"), observers=(first, second)
    )
    assert seen == [("first", "failed"), ("second", "failed")]
    assert failures == ["run r1: first failed at the end of the run: disk full"]


def test_the_message_goes_first_then_the_history():
    # Like the report (sent before finalize records the end): a worker dying in between
    # resends the same notice on redelivery, rather than leaving an ended run with no message.
    assert ending.OBSERVERS[:2] == (ending.send_failure_notice, ending.record_in_history)


def test_a_run_that_ended_before_it_was_recorded_gets_a_history_entry_with_its_reason(settings):
    end_run(
        RunEnd(
            settings,
            "20261124-never001",
            "2026-11-24",
            Outcome.FAILED,
            EXIT_FAILED,
            message="cannot start: status file unwritable",
            trigger="submit",
        )
    )
    entry = history_entry(settings)
    assert (entry["run_id"], entry["day"], entry["trigger"], entry["outcome"]) == (
        "20261124-never001",
        "2026-11-24",
        "submit",
        "failed",
    )
    assert entry["message"] == "cannot start: status file unwritable"


def test_an_ended_run_overwrites_its_running_entry_not_another(settings):
    plan = started(settings)
    end_run(RunEnd(settings, plan.run_id, "2026-11-24", Outcome.FAILED, EXIT_FAILED, message="abandoned"))
    lines = [json.loads(line) for line in history.history_path(settings.status_file).read_text().splitlines()]
    assert [(e["run_id"], e["outcome"]) for e in lines] == [(plan.run_id, "failed")]


# --- the one retry policy ----------------------------------------------------------------------


def test_the_delay_doubles_and_is_capped():
    assert [RetryPolicy(8, 2.0).delay(n) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


@pytest.mark.parametrize(
    "exc, attempt, retried",
    [
        (TransientWarehouseError("reset"), 1, True),
        (TransientWarehouseError("reset"), 3, False),  # the last attempt
        (WarehouseError("no such table"), 1, False),
        (TransientMailError("421 busy"), 2, True),
        (ValueError("a bug"), 1, False),
    ],
)
def test_only_transient_errors_are_retried_and_only_while_attempts_remain(exc, attempt, retried):
    assert RetryPolicy(3, 1.0).retries(exc, attempt) is retried


class FlakyWarehouse:
    """Fails with the given errors, in turn, then answers every query with no rows."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    def query(self, sql, params):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return []

    def close(self):
        pass


def test_a_transient_failure_with_attempts_left_is_retry_later(settings):
    batch = make_plan(settings, workers=1).batches[0]
    wh = FlakyWarehouse(TransientWarehouseError("connection reset"))
    outcome = check_attempt(lambda: wh, settings, batch, attempt=1)
    assert outcome == RetryLater(settings.retry_backoff, "TransientWarehouseError: connection reset")


def test_a_permanent_failure_is_a_failed_result_at_once(settings):
    batch = make_plan(settings, workers=1).batches[0]
    outcome = check_attempt(lambda: FlakyWarehouse(WarehouseError("no such table")), settings, batch, attempt=1)
    assert isinstance(outcome, list) and [r.group_id for r in outcome] == [g.group_id for g in batch.groups()]
    assert all(isinstance(r, GroupResult) and not r.ok and r.attempts == 1 for r in outcome)
    assert {r.error for r in outcome} == {"WarehouseError: no such table"}


def test_the_local_loop_sleeps_by_the_policy_then_succeeds(settings, monkeypatch):
    settings = settings_for_tests(conf_path=settings.conf_path, day=DAY, query_attempts=3, retry_backoff=0.5)
    batch = make_plan(settings, workers=1).batches[0]
    wh = FlakyWarehouse(TransientWarehouseError("a"), TransientWarehouseError("b"))
    sleeps = []
    results = check_batch_with_retries(lambda: wh, settings, batch, sleep=sleeps.append)
    assert all(r.ok and r.attempts == 3 for r in results) and sleeps == [0.5, 1.0]


def test_the_local_loop_gives_up_after_the_last_attempt(settings):
    settings = settings_for_tests(conf_path=settings.conf_path, day=DAY, query_attempts=2, retry_backoff=0.5)
    batch = make_plan(settings, workers=1).batches[0]
    wh = FlakyWarehouse(*[TransientWarehouseError("down")] * 5)
    sleeps = []
    results = check_batch_with_retries(lambda: wh, settings, batch, sleep=sleeps.append)
    assert all(not r.ok and r.attempts == 2 for r in results) and sleeps == [0.5] and wh.calls == 2


# --- the local runner and its lock ------------------------------------------------------------


def test_run_local_refuses_a_held_lock_and_changes_nothing(settings):
    holder = FileRunLock.for_status_file(settings.status_file)
    holder.acquire({"run_id": "other", "pid": 1})
    try:
        with pytest.raises(LockHeld):
            local.run_local(settings)
    finally:
        holder.release()
    assert not settings.status_file.exists() and not history.history_path(settings.status_file).exists()


def test_run_local_releases_its_lock_when_the_check_itself_raises(settings, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("a bug in the executor")

    monkeypatch.setattr(local, "check_groups_locally", explode)
    with pytest.raises(RuntimeError):
        local.run_local(settings)
    lock = FileRunLock.for_status_file(settings.status_file)
    token = lock.acquire({"run_id": "next"})  # free again: the next run can start
    lock.release(token)
