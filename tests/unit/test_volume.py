"""Expected input (contract §14), the pure rules: the median and the counted days, each
verdict's boundary, the verdict order, the list settings and the not-monitored list."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from mnaas_missing_files.checking.dayinput import DayInput, Unmonitored, VolumeCheck
from mnaas_missing_files.checking.verdicts import PairStatus, Verdict, pair_verdict
from mnaas_missing_files.checking.volume import (
    Expectation,
    KpiHistory,
    VolumeRules,
    median,
    show_expected,
    volume_verdict,
)
from mnaas_missing_files.config.options import OPTIONS_BY_KEY, convert
from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.reporting.mailbody import subject
from mnaas_missing_files.reporting.sections import volume_note
from mnaas_missing_files.run.dayanalysis import DayAnalysis
from mnaas_missing_files.run.inputfindings import input_findings
from tests.helpers.settings import settings_for_tests

D = dt.date(2026, 11, 23)  # a Monday
W1, W2, W3, W4 = (D - dt.timedelta(days=7 * k) for k in (1, 2, 3, 4))
RULES = VolumeRules()  # the defaults: 4 weeks, 3 days, ratio 0.5, 10 files


def test_median_of_an_odd_and_an_even_count():
    assert median([44, 10, 50]) == 44
    assert median([40, 10, 43, 50]) == Fraction(83, 2)  # (40 + 43) / 2, kept exact
    assert show_expected(Fraction(83, 2)) == "41.5"
    assert show_expected(Fraction(21)) == "21"


def test_baseline_days_are_the_same_weekday_with_quiet_days_left_out():
    assert RULES.baseline_days(D) == [W1, W2, W3, W4]
    assert VolumeRules(quiet=frozenset({W2})).baseline_days(D) == [W1, W3, W4]
    assert VolumeRules(quiet=frozenset({D})).baseline_days(D) == []  # a quiet D is not judged
    assert VolumeRules(weeks=0).baseline_days(D) == []


def test_counted_days_belong_to_the_process_and_start_where_its_history_starts():
    history = KpiHistory()
    # The process's data starts mid-window (W2): W3 and W4 are not counted. On W1 only another
    # customer of the process has a row: the day still counts, and our pair received 0 on it.
    history.add(W2, "sms", "eLUX", 40)
    history.add(W2, "sms", "JLR", 5)
    history.add(W1, "sms", "JLR", 7)
    counted = history.counted_days("sms", RULES.baseline_days(D))
    assert counted == [W1, W2]
    assert history.expectation("sms", "eLUX", counted) == Expectation(2, 1, Fraction(20))
    assert history.counted_days("voice", RULES.baseline_days(D)) == []


def test_quiet_days_are_not_counted():
    history = KpiHistory()
    for day, count in ((W1, 40), (W2, 0), (W3, 44), (W4, 50)):
        history.add(day, "sms", "eLUX", count)
    quiet = VolumeRules(quiet=frozenset({W2}))
    counted = history.counted_days("sms", quiet.baseline_days(D))
    assert counted == [W1, W3, W4]
    assert history.expectation("sms", "eLUX", counted).expected == 44  # the holiday's 0 is out


def low(received: int, history: list[int], rules: VolumeRules = RULES) -> Verdict | None:
    return volume_verdict(received, Expectation.of(history), rules)


def test_low_input_boundary_is_strict_and_exact():
    assert low(10, [20, 20, 20, 20]) is None  # exactly 0.5 x 20 is not low
    assert low(9, [20, 20, 20, 20]) is Verdict.LOW_INPUT
    # 3 of an expected 30 at ratio 0.1: 0.1 * 30 is 3.0000000000000004 in floats, and 3 < it
    assert low(3, [30, 30, 30], VolumeRules(ratio=Fraction("0.1"))) is None
    assert low(2, [30, 30, 30], VolumeRules(ratio=Fraction("0.1"))) is Verdict.LOW_INPUT


def test_low_input_needs_an_expected_count_of_at_least_the_minimum():
    assert low(4, [10, 10, 10]) is Verdict.LOW_INPUT  # expected exactly 10 is judged
    assert low(4, [9, 10, 9, 10]) is None  # expected 9.5, just below 10
    assert low(1, [9, 9, 9]) is None


def test_silent_needs_min_days_with_files_among_enough_counted_days():
    assert low(0, [44, 40, 50]) is Verdict.SILENT
    assert low(0, [44, 40]) is None  # two counted days, one below MNAAS_SILENT_MIN_DAYS
    assert low(0, [44, 0, 0, 50]) is None  # four counted days, files on two only
    assert low(0, [1, 1, 1]) is Verdict.SILENT  # silent needs no minimum count
    assert low(0, [44, 40], VolumeRules(min_days=2)) is Verdict.SILENT
    assert low(40, [44, 40]) is None  # a history too short judges nothing


def test_verdict_order():
    assert pair_verdict(None, None, None, True, Verdict.SILENT) is Verdict.UNKNOWN
    assert pair_verdict(0, 0, 0, True, Verdict.SILENT) is Verdict.NO_INPUT
    assert pair_verdict(0, 3, 0, False, Verdict.SILENT) is Verdict.SILENT  # before mismatch
    assert pair_verdict(4, 2, 1, False, Verdict.LOW_INPUT) is Verdict.LOW_INPUT  # before mismatch, missing
    assert pair_verdict(4, 2, 1, False, None) is Verdict.MISMATCH
    assert [v.value for v in Verdict] == [
        "unknown",
        "no_input",
        "silent",
        "low_input",
        "mismatch",
        "missing",
        "ok",
    ]


def rows(*kpi: tuple, files: tuple = ()) -> list[tuple]:
    return [("kpi", *r) for r in kpi] + [("files", D.isoformat(), *f) for f in files]


def test_processes_not_judged_and_ignored_pairs():
    found = DayInput.from_rows(
        D,
        RULES.baseline_days(D),
        rows(
            *[(w.isoformat(), p, "eLUX", 40) for w in (W1, W2, W3) for p in ("sms", "voice", "data", "idle")],
            (D.isoformat(), "sms", "JLR", 5),  # sms's KPIs of D are loaded; eLUX has no row: 0
            (D.isoformat(), "idle", "eLUX", 0),  # loaded, but idle received nothing (allowed empty)
            (W1.isoformat(), "new", "eLUX", 30),  # a process whose history started last week
            (D.isoformat(), "new", "JLR", 5),
            files=(("voice", "eLUX", 12),),  # voice has files but no KPI row of D
        ),
    )
    check = VolumeCheck(RULES, found, ["sms", "voice", "data", "idle", "new"], ["eLUX", "JLR"], ["data"])
    # data: no input by §7 (the run's list); idle: an allowed empty process, no input either
    assert check.not_judged == {"voice": "KPI not loaded", "data": "no input", "idle": "no input"}
    assert check.kpi_not_loaded == ["voice"]
    assert check.judge("sms", "eLUX", 0).verdict is Verdict.SILENT
    assert check.judge("voice", "eLUX", 0).verdict is None
    assert check.judge("sms", "JLR", 5).verdict is None
    assert check.too_short == 0  # JLR has three counted days (of 0 files): judged, nothing to say
    assert check.judge("new", "eLUX", 0).verdict is None  # one counted day: not judged
    assert check.too_short == 1
    ignoring = VolumeCheck(VolumeRules(ignore=frozenset({"sms/eLUX"})), found, ["sms"], ["eLUX"])
    assert ignoring.judge("sms", "eLUX", 0).verdict is None


def test_unmonitored_pairs_largest_first_and_ignored_ones_left_out():
    found = DayInput.from_rows(
        D,
        [],
        rows(
            (D.isoformat(), "sms", "eLUX", 40),  # configured
            (D.isoformat(), "sms", "Unlisted", 3),
            (D.isoformat(), "cdr", "eLUX", 0),  # KPI 0: its 7 received files count
            (D.isoformat(), "cdr", "Zed", 7),
            (D.isoformat(), "cdr", "Nobody", 0),  # nothing at all: not listed
            (D.isoformat(), "fax", "eLUX", 9),
            files=(("cdr", "eLUX", 7), ("sms", "Unlisted", 99), ("gone", "Old", 2)),
        ),
    )
    listed = [(u.process, u.customer, u.received) for u in found.unmonitored(["sms"], ["eLUX"], ())]
    assert listed == [
        ("fax", "eLUX", 9),
        ("cdr", "Zed", 7),
        ("cdr", "eLUX", 7),
        ("sms", "Unlisted", 3),
        ("gone", "Old", 2),
    ]
    left = found.unmonitored(["sms"], ["eLUX"], ("fax", "Zed", "cdr/eLUX"))
    assert [(u.process, u.customer) for u in left] == [("sms", "Unlisted"), ("gone", "Old")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sms voice", ("sms", "voice")),
        ("sms/Sky Roam, voice", ("sms/Sky Roam", "voice")),  # a comma splits; a space stays
        (" , sms ,, ", ("sms",)),
        (["sms/Sky Roam", " voice "], ("sms/Sky Roam", "voice")),  # a bash array as it is
    ],
)
def test_list_settings_split_on_commas_else_whitespace(raw, expected):
    assert convert(OPTIONS_BY_KEY["MNAAS_VOLUME_IGNORE"], raw, None) == expected
    assert convert(OPTIONS_BY_KEY["MNAAS_EMPTY_INPUT_ALLOWED"], raw, None) == expected


def test_quiet_days_and_ratio_are_checked():
    quiet = OPTIONS_BY_KEY["MNAAS_QUIET_DAYS"]
    assert convert(quiet, "2026-12-25,2026-12-26", "job:3") == (dt.date(2026, 12, 25), dt.date(2026, 12, 26))
    with pytest.raises(ConfigError, match=r"MNAAS_QUIET_DAYS: expected dates as YYYY-MM-DD, got '25/12/2026'"):
        convert(quiet, "2026-12-24 25/12/2026", "job:3")
    with pytest.raises(ConfigError, match="2026-02-30"):
        convert(quiet, "2026-02-30", "job:3")
    ratio = OPTIONS_BY_KEY["MNAAS_LOW_INPUT_RATIO"]
    assert convert(ratio, "0.1", None) == Fraction(1, 10)
    for bad in ("0", "1.5", "half"):
        with pytest.raises(ConfigError, match="MNAAS_LOW_INPUT_RATIO"):
            convert(ratio, bad, None)


def test_the_email_lists_at_most_50_unmonitored_pairs_and_prefixes_silent_before_low_input():
    pairs = [
        PairStatus("sms", "regular", "JLR", Verdict.LOW_INPUT, 4, 4, expected=Fraction(43, 2), counted_days=4),
        PairStatus("sms", "regular", "eLUX", Verdict.SILENT, 0, 0, expected=Fraction(44), counted_days=1),
    ]
    analysis = DayAnalysis(D, 0, pairs, ["fax"], {}, volume_judged=True, history_too_short=2)
    analysis.not_judged = {"fax": "no input", "idle": "no input"}  # fax: its own NO INPUT line
    analysis.unmonitored = [Unmonitored("cdr", f"c{n:02d}", 100 - n) for n in range(52)]
    settings = settings_for_tests(day=D)
    found = input_findings(analysis, settings)
    prefixes = subject(settings, D, analysis, {"g": "boom"}, inputs=found)
    assert prefixes.startswith("INCOMPLETE - 1 groups failed - NO INPUT - SILENT - LOW INPUT - ")
    low, silent = found.volume
    assert low.describe("Monday") == "4 received, usually 21.5: median of 4 Mondays"
    assert silent.describe("Monday") == "0 received, usually 44: median of 1 Monday"
    shown, more = found.unmonitored_shown()
    assert len(shown) == 50 and more == 2 and shown[0] == Unmonitored("cdr", "c00", 100)
    assert (found.judged, found.history_too_short, found.unmonitored_unknown) == (True, 2, None)
    assert volume_note(found) == "Processes not judged for volume: idle (no input)"


def test_volume_left_off_or_unreadable_is_said_and_an_unknown_list_is_not_an_empty_one():
    analysis = DayAnalysis(D, 0, [], [], {}, volume_problem="no_such_table")
    unread = input_findings(analysis, settings_for_tests(day=D))
    assert not unread.judged and unread.unmonitored_unknown == "the day's input could not be read (no_such_table)"
    assert volume_note(unread) == "Volume not judged this run: the day's input could not be read (no_such_table)"
    analysis.volume_problem = None
    off = input_findings(analysis, settings_for_tests(day=D, baseline_weeks=0))
    assert off.volume_off == "off (MNAAS_BASELINE_WEEKS=0)" and volume_note(off) == ""
    quiet = input_findings(analysis, settings_for_tests(day=D))
    assert quiet.volume_off == "not judged: a quiet day (MNAAS_QUIET_DAYS)"
