"""A run's outcome as kept and told (run/outcome.py OutcomeRecord, run/summary.py): one JSON
form, read back typed, and the summary lines `run` and `submit --wait` print from it."""

from __future__ import annotations

from mnaas_missing_files.run.outcome import OutcomeRecord
from mnaas_missing_files.run.summary import outcome_lines

INCOMPLETE = {
    "run_id": "20261124-aaaa",
    "day": "2026-11-24",
    "outcome": "incomplete",
    "exit_code": 1,
    "failed_groups": {"sms/regular/1": "timed out after 600 s (MNAAS_GROUP_TIME_LIMIT)"},
    "total_groups": 6,
    "errors": [],
    "email": "smtp",
    "ticket_raised": True,
    "missing_files": 3,
    "pairs": 10,
    "unknown_pairs": 2,
    "csv": "/data/reports/missing_20261124.csv",
    "txt": "/data/reports/missing_20261124.txt",
    "outstanding_report": None,
    "verdicts": {
        "unknown": 2,
        "no_input": 0,
        "silent": 0,
        "low_input": 0,
        "mismatch": 0,
        "missing": 1,
        "ok": 7,
    },
    "new_files": 1,
    "outstanding_files": 4,
    "recovered_files": 0,
    "left_window_files": 2,
    "processes_without_input": ["tolling"],
    "analysis": {
        "processes": {
            "traffic": {"oldest_outstanding_age_days": 3},
            "sms": {"oldest_outstanding_age_days": None},
        }
    },
}


def test_the_outcome_record_round_trips_its_json_form():
    told = OutcomeRecord.from_json(INCOMPLETE)
    assert told.to_json() == INCOMPLETE
    assert told.oldest_outstanding_age == 3


def test_the_summary_lines_of_an_incomplete_run():
    assert outcome_lines(INCOMPLETE) == [
        "run 20261124-aaaa for 2026-11-24: INCOMPLETE",
        "  missing files: 3 in 10 pairs (2 unknown)",
        "  verdicts: unknown 2, no_input 0, silent 0, low_input 0, mismatch 0, missing 1, ok 7",
        "  new: 1, outstanding: 4 (oldest 3 days), recovered: 0, left the window still missing: 2",
        "  NO INPUT: tolling received nothing on 2026-11-24",
        "  CSV: /data/reports/missing_20261124.csv",
        "  TXT: /data/reports/missing_20261124.txt",
        "  email: smtp",
        "  failed group sms/regular/1: timed out after 600 s (MNAAS_GROUP_TIME_LIMIT)",
        "  service-desk ticket raised",
    ]


def test_the_summary_of_a_run_that_ended_without_reports_says_only_what_is_known():
    lost = {"run_id": "20261124-bbbb", "day": "2026-11-24", "outcome": "failed", "errors": ["reports not written"]}
    assert outcome_lines(lost) == ["run 20261124-bbbb for 2026-11-24: FAILED", "  error: reports not written"]
    assert outcome_lines({}) == ["run None for None: NONE"]  # a record without an outcome
