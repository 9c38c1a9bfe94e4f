"""The report and SDP emails, delivered to a real aiosmtpd server on loopback or the outbox."""

from __future__ import annotations

import datetime as dt
import email
import logging
import os
import re
import stat
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from mnaas_missing_files.core.errors import MailError
from mnaas_missing_files.core.model import PairRow
from mnaas_missing_files.reporting.mail import build_report_message, build_sdp_ticket
from mnaas_missing_files.reporting.maildelivery import deliver
from mnaas_missing_files.reporting.reports import write_reports
from tests.helpers.analysis import analysis_of
from tests.helpers.settings import settings_for_tests
from tests.helpers.smtpd import SmtpServer, free_port, make_tls_files

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

DAY = dt.date(2026, 11, 24)
RUN_ID = "20261125T063000-4f2c"
ACME = 'Acme, "Big" Co'
TELEPHONIE = "Téléphonie Ünited"
PASSWORD = "s3 cr:t@w/rd%1"
TO = ("ops1@ops.example", "ops2@ops.example")
CC = ("lead@ops.example",)


def pair(process, ctype, customer, received, generated, missing):
    return PairRow(DAY, process, ctype, customer, received, generated, missing)


ROWS = [
    pair("traffic", "regular", "eLUX", 5, 3, ["eLUX_a.cdr", "eLUX_b.cdr"]),
    pair("traffic", "regular", ACME, 2, 2, []),
    pair("traffic", "infonova", "INFONOVA_CHT", None, None, None),
    pair("actives", "regular", TELEPHONIE, 1, 0, [f"{TELEPHONIE}_é.cdr"]),
]
# By hand: the pairs needing action, most severe first (the unknown one, then the two NEW
# ones in the CSV's order), unknown shown as "?"; the ok pair (ACME) is not in the body.
EXPECTED_CELLS = [
    ["label", "process", "customer", "received", "generated", "diff", "missing on day", "outstanding", "oldest (days)"],
    ["NEW", "traffic", "eLUX", "5", "3", "2", "2", "0", ""],
    ["", "eLUX_a.cdreLUX_b.cdr"],
    ["NEW", "actives", TELEPHONIE, "1", "0", "1", "1", "0", ""],
    ["", f"{TELEPHONIE}_é.cdr"],
]
EXPECTED_TEXT = [
    ["label", "process / customer", "received", "generated", "diff", "missing on day", "outstanding", "oldest (days)"],
    ["NEW", "traffic / eLUX", "5", "3", "2", "2", "0"],
    ["eLUX_a.cdr"],
    ["eLUX_b.cdr"],
    ["NEW", f"actives / {TELEPHONIE}", "1", "0", "1", "1", "0"],
    [f"{TELEPHONIE}_é.cdr"],
]
FAILED = {"traffic/infonova/1": "connection refused by impala://svc:hunter2@impala1:21050"}


def make_settings(tmp_path, **overrides):
    values = dict(
        conf_path=tmp_path,
        day=DAY,
        log_path=tmp_path / "job.log",
        status_file=tmp_path / "status",
        script_name="MNAAS_Missing_Customer_Files.sh",
        mail_to=TO,
        mail_cc=CC,
        mail_from="hdfs@edge1.example.net",
        sdp_to=("sdp@desk.example",),
        sdp_cc=("oncall@ops.example",),
        sdp_from="mnaas-alerts@edge1.example.net",
        env_mode="PROD",
        smtp_url=None,
        outbox_dir=tmp_path / "outbox",
        mail_attempts=3,
        retry_backoff=2.0,
        report_mode=0o640,
    )
    values.update(overrides)
    return settings_for_tests(**values)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def summary(tmp_path):
    return write_reports(
        ROWS,
        tmp_path / "reports" / f"Missing_Customer_Files_Report_{DAY}.csv",
        tmp_path / "reports" / f"Missing_Customer_Files_{DAY}.txt",
        0o640,
    )


def report_message(settings, summary, failed=None):
    return build_report_message(
        settings,
        day=DAY,
        run_id=RUN_ID,
        summary=summary,
        analysis=analysis_of(ROWS, DAY),
        failed_groups=failed or {},
        outcome="incomplete" if failed else "success",
        total_groups=16,
    )


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


class TableCells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def text_table(body):
    lines = body.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  label "))
    end = lines.index("", start)
    table = lines[start:end]
    pair_lines = [line.rstrip() for line in table if not line.startswith("      ")]
    assert len({len(line) for line in pair_lines[1:]}) <= 2, "columns are not aligned"
    return [re.split(r"\s{2,}", line.strip()) for line in table]


def action_rows(cells):
    start = next(i for i, row in enumerate(cells.rows) if row and row[0] == "label")
    # The table ends where the next one starts: a header row, or the legend ("→ what to do").
    end = next(
        (
            i
            for i in range(start + 1, len(cells.rows))
            if cells.rows[i] and (cells.rows[i][0] == "process" or cells.rows[i][-1].startswith("\u2192"))
        ),
        len(cells.rows),
    )
    return cells.rows[start:end]


def test_report_over_plain_smtp_carries_everything(tmp_path, summary):
    with SmtpServer() as server:
        settings = make_settings(tmp_path, smtp_url=server.url())
        delivery = deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID)
        received = server.messages
    assert (delivery.via, delivery.path) == ("smtp", None)
    assert delivery.recipients == [*TO, *CC]
    assert len(received) == 1
    assert received[0].mail_from == "hdfs@edge1.example.net"
    assert received[0].rcpt_tos == [*TO, *CC]
    msg = received[0].parsed()
    assert msg["From"] == "hdfs@edge1.example.net"
    assert [a.addr_spec for a in msg["To"].addresses] == list(TO)
    assert [a.addr_spec for a in msg["Cc"].addresses] == list(CC)
    assert msg["Subject"] == "Missing customer files 2026-11-24: 3 missing"
    assert msg["X-MNAAS-Run-Id"] == RUN_ID
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@edge1.example.net>")
    assert parsedate_to_datetime(msg["Date"]).tzinfo is not None

    text = msg.get_body(("plain",)).get_content()
    assert text_table(text) == EXPECTED_TEXT
    assert re.search(r"^Missing on 2026-11-24: +3\r?$", text, re.M) and "INCOMPLETE" not in text
    html_part = msg.get_body(("html",))
    assert html_part.get_content_type() == "text/html"
    cells = TableCells()
    cells.feed(html_part.get_content())
    assert action_rows(cells) == EXPECTED_CELLS
    assert ACME not in text and "Acme, &quot;Big&quot; Co" not in html_part.get_content()

    attachments = {part.get_filename(): part for part in msg.iter_attachments()}
    assert set(attachments) == {summary.csv_path.name, summary.txt_path.name}
    csv_part, txt_part = attachments[summary.csv_path.name], attachments[summary.txt_path.name]
    assert csv_part.get_content_type() == "text/csv"
    assert txt_part.get_content_type() == "text/plain"
    assert csv_part.get_payload(decode=True) == summary.csv_path.read_bytes()
    assert txt_part.get_payload(decode=True) == summary.txt_path.read_bytes()


@pytest.mark.parametrize(
    "tls,mechanism", [("plain", "LOGIN"), ("plain", "PLAIN"), ("starttls", "PLAIN"), ("implicit", "LOGIN")]
)
def test_tls_modes_and_login(tmp_path, summary, tls_files, tls, mechanism):
    with SmtpServer(
        tls=tls, tls_files=tls_files, user="mnaas", password=PASSWORD, auth_mechanisms=(mechanism,)
    ) as server:
        options = {} if tls == "plain" else {"cafile": tls_files.ca_cert}
        url = server.url(**options)
        assert url.startswith("smtps://" if tls == "implicit" else "smtp://")
        settings = make_settings(tmp_path, smtp_url=url)
        delivery = deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID)
        assert delivery.via == "smtp"
        assert server.auth_attempts == [(mechanism, True)]
        assert len(server.messages) == 1


def test_starttls_without_the_ca_is_refused_without_retries(tmp_path, summary, tls_files):
    sleeps = Sleeps()
    with SmtpServer(tls="starttls", tls_files=tls_files) as server:
        settings = make_settings(tmp_path, smtp_url=server.url())
        with pytest.raises(MailError, match="TLS") as caught:
            deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID, sleep=sleeps)
        assert server.messages == []
    assert sleeps == []
    assert os.path.exists(caught.value.saved_to)


def test_verify_0_accepts_an_unknown_certificate(tmp_path, summary, tls_files):
    with SmtpServer(tls="implicit", tls_files=tls_files) as server:
        settings = make_settings(tmp_path, smtp_url=server.url(verify=0))
        deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID)
        assert len(server.messages) == 1


def test_wrong_password_fails_at_once_and_keeps_an_outbox_copy(tmp_path, summary, tls_files, caplog):
    sleeps = Sleeps()
    caplog.set_level(logging.DEBUG, logger="mnaas_missing_files")
    with SmtpServer(
        tls="starttls", tls_files=tls_files, user="mnaas", password="the-right-one", auth_mechanisms=("PLAIN",)
    ) as server:
        settings = make_settings(tmp_path, smtp_url=server.url(password=PASSWORD, cafile=tls_files.ca_cert))
        with pytest.raises(MailError) as caught:
            deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID, sleep=sleeps)
        assert server.auth_attempts == [("PLAIN", False)]
        assert server.messages == []
    assert sleeps == []
    error = str(caught.value)
    assert f"127.0.0.1:{server.port}" in error
    for secret in (PASSWORD, quote(PASSWORD, safe=""), "t@w", "t%40w"):
        assert secret not in error
        assert secret not in caplog.text
    saved = tmp_path / "outbox" / f"{DAY}_{RUN_ID}_report.eml"
    assert caught.value.saved_to == str(saved)
    assert (
        email.message_from_bytes(saved.read_bytes(), policy=default_policy)["Subject"]
        == "Missing customer files 2026-11-24: 3 missing"
    )


def test_server_down_is_retried_then_saved_to_the_outbox(tmp_path, summary, caplog):
    sleeps = Sleeps()
    port = free_port()
    settings = make_settings(
        tmp_path, smtp_url=f"smtp://mnaas:{quote(PASSWORD, safe='')}@127.0.0.1:{port}", mail_attempts=3
    )
    with caplog.at_level(logging.WARNING, logger="mnaas_missing_files"):
        with pytest.raises(MailError) as caught:
            deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID, sleep=sleeps)
    assert sleeps == [2.0, 4.0]  # 3 attempts: retry_backoff 2 s, doubling
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert f"127.0.0.1:{port}" in str(caught.value) and "3 attempt" in str(caught.value)
    for secret in (PASSWORD, quote(PASSWORD, safe=""), "t@w", "t%40w"):
        assert secret not in str(caught.value) and secret not in caplog.text
    saved = caught.value.saved_to
    assert saved and os.path.basename(saved) == f"{DAY}_{RUN_ID}_report.eml"


def test_temporary_4xx_is_retried_until_accepted(tmp_path, summary):
    sleeps = Sleeps()
    with SmtpServer(fail_first=2) as server:
        settings = make_settings(tmp_path, smtp_url=server.url(), mail_attempts=3)
        delivery = deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID, sleep=sleeps)
        assert server.data_attempts == 3
        assert len(server.messages) == 1
    assert delivery.via == "smtp" and sleeps == [2.0, 4.0]
    assert not (tmp_path / "outbox").exists()


def test_lasting_4xx_gives_up_after_mail_attempts(tmp_path, summary):
    sleeps = Sleeps()
    with SmtpServer(fail_first=10) as server:
        settings = make_settings(tmp_path, smtp_url=server.url(), mail_attempts=2)
        with pytest.raises(MailError, match="451") as caught:
            deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID, sleep=sleeps)
        assert server.data_attempts == 2
    assert sleeps == [2.0]
    assert os.path.exists(caught.value.saved_to)


def test_5xx_is_not_retried(tmp_path, summary):
    sleeps = Sleeps()
    with SmtpServer(fail_first=10, fail_reply="554 5.6.0 Message rejected") as server:
        settings = make_settings(tmp_path, smtp_url=server.url())
        with pytest.raises(MailError, match="554"):
            deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID, sleep=sleeps)
        assert server.data_attempts == 1
    assert sleeps == []


def test_some_refused_recipients_do_not_stop_the_others(tmp_path, summary):
    with SmtpServer(refuse_rcpt={"ops2@ops.example"}) as server:
        settings = make_settings(tmp_path, smtp_url=server.url())
        delivery = deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID)
        assert server.messages[0].rcpt_tos == ["ops1@ops.example", "lead@ops.example"]
    assert set(delivery.refused) == {"ops2@ops.example"}
    assert delivery.refused["ops2@ops.example"][0] == 550


def test_thirty_recipients_in_mixed_separators_all_receive(tmp_path, summary):
    team = [f"ops{i:02d}@ops.example" for i in range(1, 31)]
    # as MOVE_DEV_TEAM arrives from the properties file: one string, mixed separators
    mail_to = ", ".join(team[:10]) + " " + "  ".join(team[10:20]) + " ," + ",".join(team[20:])
    with SmtpServer() as server:
        settings = make_settings(
            tmp_path, smtp_url=server.url(), mail_to=mail_to, mail_cc="lead@ops.example  boss@ops.example"
        )
        deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID)
        received = server.messages[0]
    assert received.rcpt_tos == [*team, "lead@ops.example", "boss@ops.example"]
    msg = received.parsed()
    assert [a.addr_spec for a in msg["To"].addresses] == team
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["lead@ops.example", "boss@ops.example"]


def test_a_malformed_address_is_skipped_and_the_rest_receive(tmp_path, summary, caplog):
    with SmtpServer() as server:
        settings = make_settings(tmp_path, smtp_url=server.url(), mail_to=("ops1@ops.example", "not-an-address"))
        with caplog.at_level(logging.WARNING, logger="mnaas_missing_files"):
            delivery = deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID)
        assert server.messages[0].rcpt_tos == ["ops1@ops.example", *CC]
    assert delivery.recipients == ["ops1@ops.example", *CC]
    assert "not-an-address" in caplog.text


def test_non_ascii_names_are_encoded_and_round_trip(tmp_path, summary):
    with SmtpServer() as server:
        settings = make_settings(
            tmp_path, smtp_url=server.url(), env_mode="PRÉ-PROD", mail_cc=("Jérôme Ünited <jerome@ops.example>",)
        )
        deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID)
        received = server.messages[0]
    received.data.decode("ascii")  # encoded for any relay: no SMTPUTF8 or 8-bit needed
    msg = received.parsed()
    assert msg["Subject"] == "[PRÉ-PROD] Missing customer files 2026-11-24: 3 missing"
    assert msg["Cc"].addresses[0].display_name == "Jérôme Ünited"
    assert received.rcpt_tos[-1] == "jerome@ops.example"
    assert TELEPHONIE in msg.get_body(("plain",)).get_content()
    assert TELEPHONIE in msg.get_body(("html",)).get_content()


def test_incomplete_run_says_so_and_names_the_failed_groups(tmp_path, summary):
    settings = make_settings(tmp_path, env_mode="dev")
    msg = report_message(settings, summary, failed=FAILED)
    assert msg["Subject"] == "[dev] INCOMPLETE - 1 of 16 groups failed - Missing customer files 2026-11-24: 3 missing"
    text = msg.get_body(("plain",)).get_content()
    assert "1 of 16 groups (traffic): connection refused by impala://svc:***@impala1:21050" in text
    assert "groups: traffic/infonova/1" in text
    assert "hunter2" not in msg.as_string()
    assert "traffic/infonova/1" in msg.get_body(("html",)).get_content()


def test_outbox_mode_writes_one_eml_that_parses_back(tmp_path, summary):
    settings = make_settings(tmp_path, report_mode=0o640)
    previous = os.umask(0)
    try:
        delivery = deliver(settings, report_message(settings, summary), kind="report", run_id=RUN_ID)
    finally:
        os.umask(previous)
    expected = tmp_path / "outbox" / f"{DAY}_{RUN_ID}_report.eml"
    assert delivery.via == "outbox" and delivery.path == expected
    assert delivery.recipients == [*TO, *CC]
    assert [p.name for p in expected.parent.iterdir()] == [expected.name]
    assert stat.S_IMODE(expected.stat().st_mode) == 0o640
    assert not stat.S_IMODE(expected.parent.stat().st_mode) & 0o002
    msg = email.message_from_bytes(expected.read_bytes(), policy=default_policy)
    assert msg["Subject"] == "Missing customer files 2026-11-24: 3 missing"
    csv_part = next(p for p in msg.iter_attachments() if p.get_filename().endswith(".csv"))
    assert csv_part.get_payload(decode=True) == summary.csv_path.read_bytes()


def test_sdp_ticket(tmp_path):
    settings = make_settings(tmp_path, env_mode="PROD")
    msg = build_sdp_ticket(settings, day=DAY, run_id=RUN_ID, reason="2 query groups failed: warehouse unreachable")
    with SmtpServer() as server:
        deliver(make_settings(tmp_path, smtp_url=server.url()), msg, kind="sdp", run_id=RUN_ID)
        received = server.messages[0]
    assert received.mail_from == "mnaas-alerts@edge1.example.net"
    assert received.rcpt_tos == ["sdp@desk.example", "oncall@ops.example"]
    parsed = received.parsed()
    assert parsed["Subject"] == "MNAAS_Missing_Customer_Files.sh failed in PROD for 2026-11-24"
    body = parsed.get_content()
    for fact in (
        "2 query groups failed: warehouse unreachable",
        RUN_ID,
        str(tmp_path / "job.log"),
        str(tmp_path / "status"),
    ):
        assert fact in body
