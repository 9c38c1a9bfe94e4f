"""The analysis's bounded summaries (reporting/pairtally.py, contract §19): what they keep, in
what order, and the totals, on cases worked out by hand; and the email a bounded tally
gives is the one an unbounded one gives."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from mnaas_missing_files.checking.verdicts import PairStatus, Verdict
from mnaas_missing_files.reporting import mailbody
from mnaas_missing_files.reporting.pairtally import FirstN, MetricsTally, PairTally, Smallest, TallyCaps
from mnaas_missing_files.reporting.reports import ReportSummary
from mnaas_missing_files.run.dayanalysis import DayAnalysis
from mnaas_missing_files.run.inputfindings import input_findings
from tests.helpers.settings import settings_for_tests

D = dt.date(2026, 11, 23)


def test_first_n_keeps_the_first_items_and_counts_them_all():
    kept = FirstN[str](2)
    for item in "abcde":
        kept.add(item)
    assert (kept.items, kept.total, kept.more) == (["a", "b"], 5, 3)


def test_smallest_keeps_what_a_stable_sort_cut_to_the_cap_keeps_and_counts_the_rest_by_label():
    # arrival: a(2,X) b(1,Y) c(2,X) d(0,Z) e(1,Y) f(3,W) g(0,Z)
    # stable sort by rank: d g b e a c f -> the cap 3 keeps d g b; the rest e a c f
    kept = Smallest[str](3)
    for name, rank, label in [
        ("a", 2, "X"),
        ("b", 1, "Y"),
        ("c", 2, "X"),
        ("d", 0, "Z"),
        ("e", 1, "Y"),
        ("f", 3, "W"),
        ("g", 0, "Z"),
    ]:
        kept.add((rank,), name, label)
    assert kept.sorted() == ["d", "g", "b"]
    assert kept.total == 7
    # after the first 2 (d g): b e (Y), a c (X), f (W), labels in the order they first rank
    assert list(kept.beyond(2).items()) == [("Y", 2), ("X", 2), ("W", 1)]
    assert list(kept.beyond(0).items()) == [("Z", 2), ("Y", 2), ("X", 2), ("W", 1)]


def test_smallest_without_a_cap_keeps_everything_sorted():
    kept = Smallest[str](None)
    for n, rank in enumerate([3, 1, 3, 0]):
        kept.add((rank, -n), str(n))
    assert kept.sorted() == ["3", "1", "2", "0"]  # rank 3 twice: the later has the smaller -n
    assert kept.beyond(4) == {}


def _pair(customer, verdict, missing=0, outstanding=0, recovered=0, process="traffic", **kw):
    pair = PairStatus(process, "regular", customer, verdict, 10, 10 - missing, missing, outstanding, **kw)
    pair.recovered = recovered
    pair.oldest_age = 3 if outstanding else None
    return pair


def test_the_totals_are_the_sums_over_every_pair_whatever_the_caps():
    pairs = [
        _pair("a", Verdict.MISSING, missing=2),  # NEW 2
        _pair("b", Verdict.MISSING, missing=1, outstanding=4),  # PERSISTING
        _pair("c", Verdict.OK, outstanding=5),  # OUTSTANDING
        _pair("d", Verdict.OK, recovered=3, remembered=True),  # RESOLVED
        _pair("e", Verdict.MISMATCH, missing=1),  # NEW 1
        PairStatus("traffic", "regular", "f", Verdict.UNKNOWN),
    ]
    tally = PairTally(TallyCaps(email_pairs=1, outcome_pairs=1, metrics_customers=1, processes=("traffic",)))
    tally.add_all(pairs)
    # missing 2+1+1 = 4, new 2+1 = 3 (b is PERSISTING), outstanding 4+5 = 9, recovered 3
    assert (tally.pairs, tally.missing, tally.new, tally.outstanding, tally.recovered) == (6, 4, 3, 9, 3)
    assert tally.verdicts == {
        "unknown": 1,
        "no_input": 0,
        "silent": 0,
        "low_input": 0,
        "mismatch": 1,
        "missing": 2,
        "ok": 2,
    }
    # needing action in the email: a b c e (d is ok, f unknown); the cap keeps the most severe
    assert (tally.action.total, [p.customer for p in tally.action.sorted()]) == (4, ["e"])
    # the rest by label, in severity order: PERSISTING b, NEW a, OUTSTANDING c
    assert list(tally.action.beyond(1).items()) == [("PERSISTING", 1), ("NEW", 1), ("OUTSTANDING", 1)]
    # the outcome's pairs: not ok, or outstanding, or recovered: a b c d e f; most severe: f
    assert (tally.listed.total, [p.customer for p in tally.listed.sorted()]) == (6, ["f"])
    assert (tally.recovered_pairs.total, [p.customer for p in tally.recovered_pairs.items]) == (1, ["d"])
    facts = tally.metrics.processes["traffic"]
    assert (facts.known, facts.missing, facts.outstanding, facts.oldest_age_days) == (5, 4, 9, 3)
    assert tally.metrics.largest() == [("traffic", "b", 5)]  # c also has 5, but comes later


def test_metrics_rank_the_largest_ties_in_process_list_order_then_the_csvs():
    tally = MetricsTally(3, ("traffic", "sms"))
    tally.add("sms", "x", "missing", 2, 0, 0)
    tally.add("traffic", "y", "missing", 1, 1, 4)
    tally.add("traffic", "z", "missing", 2, 0, 0)
    tally.add("roaming", "w", "missing", 9, 0, 0)  # not in process_list: not ranked
    tally.add("sms", "v", "unknown", None, 0, 0)
    tally.add("sms", "u", "missing", 1, 0, 0)
    # files 2 each for x, y, z: traffic before sms, then y before z; u's 1 is cut by the cap
    assert tally.largest() == [("traffic", "y", 2), ("traffic", "z", 2), ("sms", "x", 2)]
    sms = tally.processes["sms"]
    assert (sms.verdicts, sms.known, sms.missing) == ({"missing": 2, "unknown": 1}, 2, 3)


def test_volume_findings_keep_the_email_cap_of_each_verdict_in_the_csvs_order():
    def volume(customer, verdict):
        return PairStatus("sms", "regular", customer, verdict, 1, 1, expected=Fraction(40), counted_days=4)

    analysis = DayAnalysis(
        D, 0, (), [], {}, volume_judged=True, tally=PairTally(TallyCaps(email_pairs=2, outcome_pairs=3))
    )
    for customer, verdict in [("a", Verdict.LOW_INPUT), ("b", Verdict.SILENT), ("c", Verdict.SILENT)]:
        analysis.add(volume(customer, verdict))
    for customer in "defg":
        analysis.add(volume(customer, Verdict.SILENT))
    found = input_findings(analysis, settings_for_tests(day=D))
    # silent b c kept of 6, low a of 1; in the CSV's order a b c
    assert [(f.customer, f.verdict) for f in found.volume] == [("a", "low_input"), ("b", "silent"), ("c", "silent")]
    assert (found.silent_count, found.low_count) == (6, 1)
    assert [p.customer for p in analysis.volume_findings] == ["a", "b", "c"]  # the outcome's cap: 3


def _many_pairs() -> list[PairStatus]:
    """40 pairs of every kind a section shows, in a mixed order."""
    kinds = [
        dict(verdict=Verdict.MISSING, missing=1),
        dict(verdict=Verdict.MISSING, missing=2, outstanding=1),
        dict(verdict=Verdict.OK, outstanding=2),
        dict(verdict=Verdict.MISMATCH, missing=1),
        dict(verdict=Verdict.OK, recovered=2, remembered=True),
        dict(verdict=Verdict.NO_INPUT, outstanding=1),
        dict(verdict=Verdict.OK),
    ]
    return [_pair(f"c{n:02d}", **kinds[(n * 5) % len(kinds)]) for n in range(40)]


def test_a_bounded_tally_gives_the_email_an_unbounded_one_gives(tmp_path):
    settings = settings_for_tests(conf_path=tmp_path, day=D, mail_pairs=4)
    bounded = DayAnalysis(D, 7, (), [], {}, tally=PairTally(TallyCaps(email_pairs=4, outcome_pairs=5)))
    for pair in _many_pairs():
        bounded.add(pair)
    unbounded = DayAnalysis(D, 7, _many_pairs(), [], {})
    summary = ReportSummary(40, 40, 0, bounded.missing, tmp_path / "r.csv", tmp_path / "r.txt")

    def view(analysis, **caps):
        return mailbody.view(
            settings,
            day=D,
            run_id="r1",
            summary=summary,
            analysis=analysis,
            outcome="success",
            failed_groups={},
            files=[],
            attached=[],
            **caps,
        )

    for caps in ({}, {"pairs_limit": 2, "names_total": 3}, {"pairs_limit": 0}):
        assert view(bounded, **caps) == view(unbounded, **caps)
    full = view(unbounded)
    assert len(full["action"]) == 4 and full["action_total"] > 4 and full["action_more"]
    # the outcome: the 5 most severe of the pairs the unbounded one lists, the rest counted
    small, whole = bounded.to_json(), unbounded.to_json()
    assert small["pairs"] == whole["pairs"][:5] and small["pairs_not_listed"] == len(whole["pairs"]) - 5
    assert {k: v for k, v in small.items() if k not in ("pairs", "pairs_not_listed")} == {
        k: v for k, v in whole.items() if k not in ("pairs", "pairs_not_listed")
    }
