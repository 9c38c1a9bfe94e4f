"""The report's body (contract §15) on cases built by hand: the sections' order, one input line
per process without input, one failures line for twenty groups failing alike, the volume and
not-monitored sections from hand-built findings, and the HTML part under 100 KB on a large day."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from fractions import Fraction
from pathlib import Path

from mnaas_missing_files.checking.verdicts import PairStatus, Verdict
from mnaas_missing_files.reporting.inputs import InputFindings, Unmonitored, VolumeFinding
from mnaas_missing_files.reporting.mail import HTML_MAX_BYTES, build_report_message
from mnaas_missing_files.reporting.reports import ReportSummary
from mnaas_missing_files.run.dayanalysis import DayAnalysis, ProcessTotals
from tests.helpers.settings import settings_for_tests

D = dt.date(2026, 11, 23)  # a Monday
DNS = "TransientWarehouseError: Impala h.invalid:21050 unreachable: failed to resolve h.invalid"


def bodies(tmp_path: Path, analysis, failed=None, total=None, inputs=InputFindings(), **settings):
    csv, txt = tmp_path / "r.csv", tmp_path / "r.txt"
    csv.write_text("x\n")
    txt.write_text("")
    pairs = analysis.pair_count
    summary = ReportSummary(pairs, pairs, 0, analysis.missing, csv, txt)
    msg = build_report_message(
        settings_for_tests(conf_path=tmp_path, **settings),
        day=D,
        run_id="20261123-body0001",
        summary=summary,
        analysis=analysis,
        failed_groups=failed or {},
        outcome="incomplete" if failed else "no_input",
        total_groups=total,
        inputs=inputs,
    )
    msg = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    # As a mail client shows them: the SMTP policy's CRLF line ends read as lines.
    text, page = (msg.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))
    return msg, text, page


def a_day() -> DayAnalysis:
    """traffic: one NEW pair, one MISMATCH pair, one ok pair; sms: no input for its 12 customers,
    one of which (S03) still has 2 outstanding files; a RESOLVED pair with recovered files."""
    new = PairStatus("traffic", "regular", "eLUX", Verdict.MISSING, 5, 4, 1, names=[("eLUX_1.dat", None)])
    mismatch = PairStatus("traffic", "regular", "JLR", Verdict.MISMATCH, 9, 5, 2, names=[("J1", None), ("J2", None)])
    resolved = PairStatus("traffic", "regular", "Volvo", Verdict.OK, 3, 3, recovered=4, remembered=True)
    resolved.recovered_names = ["V1", "V2", "V3", "V4"]
    sms = [PairStatus("sms", "regular", f"S{i:02d}", Verdict.NO_INPUT, 0, 0) for i in range(12)]
    sms[3].outstanding, sms[3].oldest_age, sms[3].names = 2, 2, [("S03_a", 2), ("S03_b", 1)]
    processes = {
        "traffic": ProcessTotals(3, 17, 12, 3, 0, None, {"mismatch": 1, "missing": 1, "ok": 1}),
        "sms": ProcessTotals(12, 0, 0, 0, 2, 2, {"no_input": 12}),
    }
    return DayAnalysis(D, 7, [new, mismatch, resolved, *sms], ["sms"], processes)


def test_the_sections_come_in_the_contracts_order_in_both_parts(tmp_path):
    inputs = InputFindings(
        volume=[VolumeFinding("traffic", "Scania", "silent", 0, Fraction(44), 4)],
        unmonitored=[Unmonitored("roaming", "Acme", 7)],
    )
    _, text, page = bodies(tmp_path, a_day(), {"traffic/regular/2": DNS}, 3, inputs)
    text_heads = ["Pairs checked", "TOTALS PER PROCESS", "FAILURES", "\nINPUT\n", "NEEDS ACTION", "NOT MONITORED"]
    text_heads += ["RECOVERED SINCE THE LAST RUN", "LEGEND"]
    where = [text.index(h) for h in text_heads]
    assert where == sorted(where)
    html_heads = [">Pairs checked<", ">Totals per process<", ">Failures: ", ">Input<", ">Needs action: "]
    html_heads += [">Not monitored: ", ">Recovered since the last run: ", ">Legend<"]
    where = [page.index(h) for h in html_heads]
    assert where == sorted(where)


def test_a_process_without_input_is_one_input_line_and_its_customers_are_not_action_rows(tmp_path):
    _, text, page = bodies(tmp_path, a_day())
    input_section = text[text.index("\nINPUT\n") : text.index("NEEDS ACTION")]
    assert input_section.count("NO INPUT") == 1
    assert "NO INPUT    sms: nothing received for any of its 12 configured customers" in input_section
    action = text[text.index("NEEDS ACTION") : text.index("RECOVERED SINCE")]
    # MISMATCH, NEW, then the one sms pair with outstanding files, as OUTSTANDING; no other sms pair.
    assert "NEEDS ACTION: 3 pair(s)" in action
    labels = [line.split()[0] for line in action.splitlines()[2:] if line.startswith("  ") and " / " in line]
    assert labels == ["MISMATCH", "NEW", "OUTSTANDING"]
    assert "sms / S03" in action and "sms / S04" not in action
    assert page.count('4px">NO INPUT</b>') == 2  # as a label: the input line and the legend


def test_twenty_groups_failing_alike_are_one_failures_line(tmp_path):
    failed = {f"traffic/regular/{n}": DNS for n in range(1, 11)} | {f"sms/regular/{n}": DNS for n in range(1, 11)}
    msg, text, page = bodies(tmp_path, a_day(), failed, 24)
    assert msg["Subject"].startswith("INCOMPLETE - 20 of 24 groups failed - NO INPUT - ")
    assert text.count("Impala h.invalid:21050 unreachable") == 1
    assert "  20 of 24 groups (traffic, sms): " + DNS in text
    assert page.count("Impala h.invalid:21050 unreachable") == 1


def test_volume_findings_and_not_monitored_pairs_render_what_they_are_given(tmp_path):
    inputs = InputFindings(
        volume=[
            VolumeFinding("traffic", "Scania", "low_input", 3, Fraction(43, 2), 4),
            VolumeFinding("traffic", "Maersk", "silent", 0, Fraction(44), 4),
        ],
        # as the run gives them (checking/dayinput.py sorts): largest received first
        unmonitored=[Unmonitored("a", f"c{i:02d}", 10 + i) for i in reversed(range(55))] + [Unmonitored("b", "z", 3)],
    )
    msg, text, _ = bodies(tmp_path, a_day(), inputs=inputs)
    assert msg["Subject"].startswith("NO INPUT - SILENT - LOW INPUT - ")
    assert "  SILENT      traffic / Maersk: 0 received, usually 44: median of 4 Mondays" in text
    assert "  LOW INPUT   traffic / Scania: 3 received, usually 21.5: median of 4 Mondays" in text
    assert text.index("SILENT      traffic") < text.index("LOW INPUT   traffic")
    unmonitored = text[text.index("NOT MONITORED:") : text.index("RECOVERED SINCE")].splitlines()
    # 50 lines, a/c54 (64 received) first, then the other 6 (c04..c00 and b/z) counted.
    assert unmonitored[1] == "  a / c54: 64 received" and unmonitored[50] == "  a / c05: 15 received"
    assert unmonitored[51] == "  ... and 6 more"
    unknown = InputFindings(volume_not_judged="the baseline query failed", unmonitored_unknown="its query failed")
    _, text, _ = bodies(tmp_path, a_day(), inputs=unknown)
    assert "Silent / low input pairs:" in text and "not judged" in text
    assert "Volume not judged this run: the baseline query failed" in text
    assert "The list is unknown this run: its query failed" in text


def test_recovered_pairs_show_at_most_three_names(tmp_path):
    _, text, _ = bodies(tmp_path, a_day())
    recovered = text[text.index("RECOVERED SINCE") : text.index("LEGEND")]
    assert "RESOLVED    traffic / Volvo: 4 recovered" in recovered
    assert "V3" in recovered and "V4" not in recovered and "... and 1 more" in recovered


def test_the_html_part_stays_under_100_kb_on_a_large_day(tmp_path):
    """3,000 PERSISTING pairs of 134-character customer names, 10 missing names each. By
    hand: a pair's row is about 600 bytes (label, process, customer, six counts, and the line
    saying its names are in the reports), a name line about 165, the rest about 6 KB. The
    settings' caps (300 pairs, 200 names) make about 180 + 33 + 6 KB; halved once, 150 pairs
    and 100 names still about 90 + 16 + 6 KB; halved again, 75 and 50 about 45 + 8 + 6 KB."""
    long = "customer-with-a-long-name-" * 5
    pairs = [PairStatus("traffic", "regular", f"{long}{i:04d}", Verdict.MISSING, 20, 10, 10, 5, 3) for i in range(3000)]
    for p in pairs:
        p.names = [(f"{p.customer}_TRAFFIC_20261123_{n:05d}.dat", None) for n in range(10)]
    processes = {"traffic": ProcessTotals(3000, 60000, 30000, 30000, 15000, 3, {"missing": 3000})}
    analysis = DayAnalysis(D, 7, pairs, [], processes)
    msg, text, page = bodies(tmp_path, analysis, mail_pairs=300, mail_names_total=200, mail_names_per_pair=10)
    decoded = msg.get_body(("html",)).get_payload(decode=True)  # after transfer decoding, CRLFs and all
    assert 45_000 < len(decoded) <= HTML_MAX_BYTES < 102_400
    for part in (text, page):
        assert "it shows 75 of 3,000 pairs needing action and 50 file names; the rest are in the reports" in part


def test_silent_and_low_pairs_are_input_lines_and_need_action_only_with_files_missing(tmp_path):
    """A low-input pair with a file missing on the day is in "needs action" as NEW; a silent
    pair with nothing missing or outstanding is not (contract §15, 4 and 5)."""
    low = PairStatus("traffic", "regular", "Scania", Verdict.LOW_INPUT, 3, 2, 1, names=[("Scania_1.dat", None)])
    silent = PairStatus("traffic", "regular", "Maersk", Verdict.SILENT, 0, 0)
    processes = {"traffic": ProcessTotals(2, 3, 2, 1, 0, None, {"silent": 1, "low_input": 1})}
    inputs = InputFindings(
        volume=[
            VolumeFinding("traffic", "Maersk", "silent", 0, Fraction(44), 4),
            VolumeFinding("traffic", "Scania", "low_input", 3, Fraction(30), 4),
        ]
    )
    _, text, _ = bodies(tmp_path, DayAnalysis(D, 7, [low, silent], [], processes), inputs=inputs)
    action = text[text.index("NEEDS ACTION") : text.index("LEGEND")]
    assert "NEEDS ACTION: 1 pair(s)" in action
    assert "  NEW    traffic / Scania" in action and "Maersk" not in action


def test_the_input_section_lists_at_most_the_pair_cap_of_volume_findings(tmp_path):
    many = [VolumeFinding("traffic", f"C{n:03d}", "silent", 0, Fraction(44), 4) for n in range(12)]
    analysis = DayAnalysis(D, 0, [], [], {})
    _, text, page = bodies(tmp_path, analysis, inputs=InputFindings(volume=many), mail_pairs=10)
    assert "traffic / C009:" in text and "traffic / C010:" not in text
    assert "  ... and 2 more silent or low-input pairs in the reports" in text
    assert "&hellip; and 2 more silent or low-input pairs in the reports" in page
