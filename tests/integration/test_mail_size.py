"""A large day's report email stays deliverable: big reports ride gzip-compressed, and a
message that would still exceed the relay's limit carries the report paths instead."""

from __future__ import annotations

import datetime as dt
import gzip

from mnaas_missing_files.core.model import PairRow
from mnaas_missing_files.reporting.mail import build_report_message
from mnaas_missing_files.reporting.maildelivery import deliver
from mnaas_missing_files.reporting.reports import write_reports
from tests.helpers.analysis import analysis_of
from tests.helpers.settings import settings_for_tests
from tests.helpers.smtpd import SmtpServer

DAY = dt.date(2026, 11, 24)
# 3,000 names of 30 characters + newline: a TXT of exactly 93,000 bytes.
NAMES = [f"eLUX_TRAFFIC_20261124_{n:04d}.dat" for n in range(3000)]
ROWS = [PairRow(DAY, "traffic", "regular", "eLUX", 3000, 0, NAMES), PairRow(DAY, "traffic", "regular", "JLR", 4, 4, [])]


def settings_for(tmp_path, server, **overrides):
    return settings_for_tests(
        conf_path=tmp_path,
        day=DAY,
        smtp_url=server.url(),
        mail_to=("ops@ops.example",),
        mail_from="hdfs@edge1.example.net",
        outbox_dir=tmp_path / "outbox",
        **overrides,
    )


def send(tmp_path, **overrides):
    summary = write_reports(ROWS, tmp_path / "r" / "report.csv", tmp_path / "r" / "names.txt", 0o640)
    assert summary.txt_path.stat().st_size == 93_000
    with SmtpServer() as server:
        settings = settings_for(tmp_path, server, **overrides)
        msg = build_report_message(
            settings, day=DAY, run_id="r1", summary=summary, analysis=analysis_of(ROWS, DAY), failed_groups={}
        )
        deliver(settings, msg, kind="report", run_id="r1")
        received = server.messages
    assert len(received) == 1
    return summary, received[0]


def test_a_report_above_the_threshold_is_attached_gzip_compressed(tmp_path):
    summary, received = send(tmp_path, mail_gzip_above=10_000)
    msg = received.parsed()
    parts = {p.get_filename(): p for p in msg.iter_attachments()}
    assert set(parts) == {"report.csv", "names.txt.gz"}
    assert parts["names.txt.gz"].get_content_type() == "application/gzip"
    unpacked = gzip.decompress(parts["names.txt.gz"].get_payload(decode=True))
    assert unpacked == "".join(n + "\n" for n in NAMES).encode()
    # the small CSV stays as it is, byte for byte
    assert parts["report.csv"].get_content_type() == "text/csv"
    assert parts["report.csv"].get_payload(decode=True) == summary.csv_path.read_bytes()
    body = msg.get_body(("plain",)).get_content()
    assert "names.txt.gz  one missing customer file name per line (gzip-compressed; 0.1 MB uncompressed)" in body
    assert len(received.data) < 40_000  # 93 kB of names did not ride raw


def test_at_the_threshold_a_report_is_attached_as_it_is(tmp_path):
    _summary, received = send(tmp_path, mail_gzip_above=93_000)
    names = {p.get_filename() for p in received.parsed().iter_attachments()}
    assert names == {"report.csv", "names.txt"}


def test_a_message_above_the_relay_limit_names_the_paths_instead(tmp_path):
    # gzip only above 1 MB: the 93 kB TXT would go raw (~127 kB base64), above a 60 kB relay
    summary, received = send(tmp_path, mail_gzip_above=1_000_000, mail_max_bytes=60_000)
    msg = received.parsed()
    assert list(msg.iter_attachments()) == []
    assert len(received.data) < 60_000
    body = msg.get_body(("plain",)).get_content()
    assert "The reports are NOT attached" in body
    assert "above the mail relay's limit of 0.1 MB (MNAAS_MAIL_MAX_BYTES)" in body
    assert f"  {summary.csv_path}  one row per process and customer" in body
    assert f"  {summary.txt_path}  one missing customer file name per line" in body
    page = msg.get_body(("html",)).get_content()
    assert "NOT attached" in page and str(summary.txt_path) in page
    # the summary is still there: the pair needing action with its counts (the ok JLR is in
    # the CSV only), and its names beyond the cap point at the reports' paths
    assert "3,000" in body and "eLUX" in body and "JLR" not in body
    assert "... and 2,990 more in the reports at the paths below" in body  # named once, below
