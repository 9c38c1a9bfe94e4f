"""The failure notice and the distinct errors it, the report and `status` tell (contract §15),
by hand: one line per distinct error, the subject's few words, and when a notice is due."""

from __future__ import annotations

import datetime as dt

from mnaas_missing_files.core.errors import EXIT_FAILED
from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.reporting.failures import distinct_errors, failure_records
from mnaas_missing_files.reporting.notice import build_failure_notice
from mnaas_missing_files.run.end_of_run import RunEnd, needs_failure_notice
from mnaas_missing_files.run.failurefacts import cause_of, failure_facts
from mnaas_missing_files.run.outcome import RunOutcome
from tests.helpers.settings import settings_for_tests

DNS = "TransientWarehouseError: Impala h.invalid:21050 unreachable or connection lost: failed to resolve h.invalid"
TIMEOUT = "timed out after 600 s (MNAAS_GROUP_TIME_LIMIT)"


def test_groups_failing_alike_are_one_error_with_their_processes_most_groups_first():
    failed = {"sms/regular/1": TIMEOUT, "traffic/regular/1": DNS, "traffic/regular/2": DNS, "sms/infonova/1": DNS}
    errors = distinct_errors(failed)
    assert [(e.error, e.groups, e.processes) for e in errors] == [
        (DNS, ("traffic/regular/1", "traffic/regular/2", "sms/infonova/1"), ("traffic", "sms")),
        (TIMEOUT, ("sms/regular/1",), ("sms",)),
    ]
    assert errors[0].describe(8) == f"3 of 8 groups (traffic, sms): {DNS}"
    many = failure_records({f"p/regular/{n}": DNS for n in range(1, 61)})
    assert [(r["group_count"], len(r["groups"]), r["groups"][-1]) for r in many] == [(60, 50, "p/regular/50")]


def test_the_subjects_cause_is_the_errors_first_clause_without_its_class():
    every = RunOutcome("r", "2026-11-24", Outcome.FAILED, EXIT_FAILED, {f"t/regular/{n}": DNS for n in range(20)})
    every.total_groups = 20
    assert (
        cause_of(Outcome.FAILED, every, "")
        == "all 20 groups failed: Impala h.invalid:21050 unreachable or connection lost"
    )
    reports = RunOutcome("r", "2026-11-24", Outcome.FAILED, EXIT_FAILED, errors=["reports not written: disk full"])
    assert cause_of(Outcome.FAILED, reports, "") == "reports not written"
    assert cause_of(Outcome.LOST, None, "whatever") == "the run was lost (its process or worker died)"


def test_a_notice_is_due_for_a_run_that_ended_without_its_report_only():
    settings = settings_for_tests()
    sent = RunOutcome("r", "2026-11-24", Outcome.FAILED, EXIT_FAILED, email="smtp to 3 recipients")
    undelivered = RunOutcome("r", "2026-11-24", Outcome.FAILED, EXIT_FAILED, report_undelivered=True)
    none = RunOutcome("r", "2026-11-24", Outcome.FAILED, EXIT_FAILED)
    assert needs_failure_notice(RunEnd.of(settings, none))
    assert not needs_failure_notice(RunEnd.of(settings, sent))  # the report went: one message
    assert not needs_failure_notice(RunEnd.of(settings, undelivered))  # a notice would go the same way
    assert needs_failure_notice(RunEnd(settings, "r", "2026-11-24", Outcome.LOST, EXIT_FAILED, message="gone"))
    assert not needs_failure_notice(
        RunEnd(settings, "r", "2026-11-24", Outcome.FAILED, EXIT_FAILED, message="x", dry_run=True)
    )
    success = RunOutcome("r", "2026-11-24", Outcome.SUCCESS, 0)
    assert not needs_failure_notice(RunEnd.of(settings, success))


def test_the_notice_tells_each_error_once_and_what_to_do():
    settings = settings_for_tests(env_mode="dev")
    outcome = RunOutcome("20261124-n0t1ce00", "2026-11-24", Outcome.FAILED, EXIT_FAILED)
    outcome.failed_groups = {f"traffic/regular/{n}": DNS for n in range(1, 21)}
    outcome.total_groups = 20
    facts = failure_facts(settings, outcome.run_id, outcome.day, outcome.outcome, outcome, "")
    msg = build_failure_notice(settings, facts)
    assert msg["Subject"] == (
        "[dev] FAILED - Missing customer files 2026-11-24: "
        "all 20 groups failed: Impala h.invalid:21050 unreachable or connection lost"
    )
    assert msg["X-MNAAS-Kind"] == "failure-notice" and facts.day == dt.date(2026, 11, 24)
    text = msg.get_body(("plain",)).get_content()
    assert text.count("failed to resolve") == 1 and f"20 of 20 groups (traffic): {DNS}" in text
    assert "0 of 20 groups returned results" in text
    assert "mnaas-missing-files status --run 20261124-n0t1ce00" in text
    assert "mnaas-missing-files run --date 2026-11-24" in text
    assert msg.get_body(("html",)).get_content().count("failed to resolve") == 1
