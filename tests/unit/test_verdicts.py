"""Verdicts, changes and the email's subject prefixes (contract §7-§9), by hand."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from mnaas_missing_files.checking.verdicts import (
    Change,
    PairStatus,
    Verdict,
    action_label,
    pair_verdict,
    processes_without_input,
    severity,
)
from mnaas_missing_files.core.model import Group, GroupResult, Plan
from mnaas_missing_files.reporting.inputs import InputFindings, VolumeFinding
from mnaas_missing_files.reporting.mailbody import subject
from mnaas_missing_files.run.dayanalysis import DayAnalysis
from tests.helpers.settings import settings_for_tests

D = dt.date(2026, 11, 24)


def test_the_first_verdict_that_applies():
    assert pair_verdict(None, None, None, no_input=True) is Verdict.UNKNOWN
    assert pair_verdict(0, 0, 0, no_input=True) is Verdict.NO_INPUT
    assert pair_verdict(5, 5, 1, no_input=False) is Verdict.MISMATCH
    assert pair_verdict(5, 4, 1, no_input=False) is Verdict.MISSING
    assert pair_verdict(5, 5, 0, no_input=False) is Verdict.OK


def test_changes_and_their_order_most_severe_first():
    def pair(verdict, missing=0, outstanding=0, remembered=False):
        return PairStatus("p", "regular", "c", verdict, 1, 1, missing, outstanding, remembered=remembered)

    assert pair(Verdict.MISSING, missing=1).change is Change.NEW
    assert pair(Verdict.MISSING, missing=1, outstanding=2).change is Change.PERSISTING
    assert pair(Verdict.OK, outstanding=2).change is Change.OUTSTANDING
    assert pair(Verdict.OK, remembered=True).change is Change.RESOLVED
    assert pair(Verdict.OK).change is None and not pair(Verdict.OK).needs_action
    assert pair(Verdict.MISMATCH, missing=1).change is Change.NEW  # independent of the verdict
    pairs = [
        pair(Verdict.OK, outstanding=1),
        pair(Verdict.MISSING, missing=1),
        pair(Verdict.MISSING, missing=1, outstanding=1),
        pair(Verdict.MISMATCH, missing=1),
        pair(Verdict.NO_INPUT),
        pair(Verdict.UNKNOWN),
    ]
    assert [action_label(p) for p in sorted(pairs, key=severity)] == [
        "UNKNOWN",
        "NO INPUT",
        "MISMATCH",
        "PERSISTING",
        "NEW",
        "OUTSTANDING",
    ]


def test_no_input_needs_every_group_checked_and_empty():
    plan = Plan(
        "r",
        D,
        [
            Group("a/regular/1", "a", "regular", ("x",)),
            Group("a/infonova/1", "a", "infonova", ("y",)),
            Group("b/regular/1", "b", "regular", ("x",)),
        ],
    )
    empty = {
        "a/regular/1": GroupResult("a/regular/1", True, counts={"x": [0, 0]}, process_has_input=False),
        "a/infonova/1": GroupResult("a/infonova/1", True, counts={"y": [0, 0]}),
        "b/regular/1": GroupResult("b/regular/1", True, counts={"x": [0, 0]}, process_has_input=True),
    }
    assert processes_without_input(plan, empty) == ["a"]  # b's probe found a received row
    assert processes_without_input(plan, empty, allowed=["a"]) == []
    failed = dict(empty, **{"a/infonova/1": GroupResult.failed("a/infonova/1", "boom")})
    assert processes_without_input(plan, failed) == []  # not every group was checked
    kpi = dict(empty, **{"a/infonova/1": GroupResult("a/infonova/1", True, counts={"y": [3, 0]})})
    assert processes_without_input(plan, kpi) == []  # a File Received KPI says there was input


def test_subject_prefixes_in_order_and_without_the_window():
    settings = settings_for_tests(env_mode="dev")
    analysis = DayAnalysis(D, 7, [PairStatus("a", "regular", "x", Verdict.MISSING, 2, 1, 1, 3)], ["b"], {})
    inputs = InputFindings(
        volume=[
            VolumeFinding("a", "y", "low_input", 3, Fraction(30), 4),
            VolumeFinding("a", "z", "silent", 0, Fraction(44), 4),
        ]
    )
    assert (
        subject(settings, D, analysis, {"g": "boom"}, 16, inputs)
        == "[dev] INCOMPLETE - 1 of 16 groups failed - NO INPUT - SILENT - LOW INPUT - "
        "Missing customer files 2026-11-24: 1 missing (0 new), 3 outstanding"
    )
    analysis.without_input, analysis.lookback_days = [], 0
    assert subject(settings_for_tests(), D, analysis, {}) == "Missing customer files 2026-11-24: 1 missing"


def test_the_outcome_lists_at_most_a_thousand_pairs_most_severe_first():
    """1,200 missing pairs, 3 unknown ones at the end, 50 ok pairs (one of them with recovered
    files): the outcome keeps 1,000 rows, the unknown first, and counts the 204 it leaves out."""
    missing = [PairStatus("traffic", "regular", f"C{i:04d}", Verdict.MISSING, 5, 4, 1) for i in range(1200)]
    unknown = [PairStatus("traffic", "regular", f"U{i}", Verdict.UNKNOWN) for i in range(3)]
    ok = [PairStatus("actives", "regular", f"K{i:02d}", Verdict.OK, 2, 2) for i in range(50)]
    ok[7].recovered = 2
    analysis = DayAnalysis(D, 7, missing + unknown + ok, [], {})
    found = analysis.to_json()
    assert len(found["pairs"]) == 1000 and found["pairs_not_listed"] == 1204 - 1000
    assert [row[2] for row in found["pairs"][:3]] == ["U0", "U1", "U2"]
    assert {row[3] for row in found["pairs"][3:]} == {"missing"}
    assert found["verdicts"]["missing"] == 1200 and found["missing_files"] == 1200  # totals: every pair
    small = DayAnalysis(D, 7, missing[:2] + ok, [], {}).to_json()
    assert [row[2] for row in small["pairs"]] == ["C0000", "C0001", "K07"] and small["pairs_not_listed"] == 0
