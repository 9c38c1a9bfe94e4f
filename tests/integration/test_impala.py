"""Impala over HiveServer2 against a real HS2 endpoint (the Spark Thrift Server of pyspark).

Two servers start once per session, in parallel: NOSASL (loaded with the dataset below) and
SASL PLAIN over TLS whose logins are checked by a small Java provider compiled at start-up
(tests/helpers/hs2_auth/FixedPasswords.java): the right password logs in as the user the
server then sees, and a wrong one is refused by the server itself.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
import uuid
from urllib.parse import quote

import pytest

from mnaas_missing_files.cli.demo_data import DataSpec, Rows, generate, write_duckdb
from mnaas_missing_files.config.impala_url import ImpalaTarget, parse_impala_url
from mnaas_missing_files.core.errors import ConfigError, TransientWarehouseError, WarehouseError
from mnaas_missing_files.warehouse import queries
from mnaas_missing_files.warehouse.duckdb_engine import DuckDBWarehouse
from mnaas_missing_files.warehouse.impala import ImpalaWarehouse
from tests.helpers.celeryjob import CeleryJob
from tests.helpers.celeryproc import celery_env, run_cli, start_worker
from tests.helpers.expected import expected_outstanding, expected_reports
from tests.helpers.hs2 import SparkThriftServer, free_port, make_tls_material
from tests.helpers.jobconfig import CUSTOMERS as JOB_CUSTOMERS
from tests.helpers.jobconfig import INFONOVA, PROCESSES, make_job
from tests.helpers.redisproc import RedisServer

DAY = dt.date(2026, 3, 14)
D, OTHER_DAY = DAY.isoformat(), "2026-03-13"
NASTY = 'o\'brien \\ "co"? 100%s :1'  # quote, backslash, double quote, and every paramstyle marker
PASSWORD = "s3cr3t-Pa55'w@rd/x"
RECEIVED, GENERATED = "File Received", "File Generated"

ROWS = {
    "kpi_measurement": [
        (D, "sms", "acme", RECEIVED, 3),
        (D, "sms", "acme", RECEIVED, 2),
        (D, "sms", "acme", GENERATED, 4),
        (D, "sms", "beta", GENERATED, 1),
        (D, "sms", NASTY, RECEIVED, 7),
        (D, "sms", "acme", "Records Rejected", 100),  # other KPI: ignored
        (OTHER_DAY, "sms", "acme", RECEIVED, 50),  # other day: ignored
        (D, "voice", "acme", RECEIVED, 9),  # other process: ignored for sms
        (D, "sms", "zeta", RECEIVED, 11),  # customer not asked for: ignored
    ],
    "telena_file_record_count": [
        (D, "sms", "acme", "f1", 10),
        (D, "sms", "acme", "f2", 10),
        (D, "sms", "acme", "f2", 10),
        (D, "sms", "acme", "f3", 10),
        (D, "sms", "acme", None, 1),
        (D, "sms", NASTY, "g1", 5),
        (D, "sms", "beta", "h1", 5),
        (D, "sms", "zeta", "z1", 5),
    ],
    "customers_files_records_count": [
        (D, "sms", "acme", "f1", "acme_f1", 10),
        (D, "voice", "beta", "h1", "beta_h1", 5),  # generated for another process: h1 still missing
        (OTHER_DAY, "sms", NASTY, "g1", "x_g1", 5),  # generated on another day: g1 still missing
    ],
}
CUSTOMERS = ["acme", NASTY, "beta"]
# Worked out by hand from ROWS: sums per customer (File Received, File Generated) for sms on D,
# and the received (customer, file) pairs with no generated row of the same day and process.
EXPECTED_KPI = sorted([("acme", 5, 4), ("beta", 0, 1), (NASTY, 7, 0)])
EXPECTED_MISSING = sorted([("acme", "f2"), ("acme", "f3"), (NASTY, "g1"), ("beta", "h1")])

# The run-level tests use the demo generator's data for another day; both sets share the tables.
RUN_DAY = dt.date(2026, 11, 24)
DEMO = generate(
    DataSpec(
        days=[RUN_DAY - dt.timedelta(days=1), RUN_DAY],
        processes=PROCESSES,
        customers=JOB_CUSTOMERS + INFONOVA,
        files_per_pair=12,
        missing_fraction=0.08,
    )
)
ALL = Rows(
    kpi=ROWS["kpi_measurement"] + DEMO.kpi,
    received=ROWS["telena_file_record_count"] + DEMO.received,
    generated=ROWS["customers_files_records_count"] + DEMO.generated,
)


@pytest.fixture(scope="session")
def hs2_servers(tmp_path_factory):
    """(NOSASL server with ROWS loaded, PLAIN+TLS server), started in parallel, stopped at the end."""
    base = tmp_path_factory.mktemp("hs2")
    tls = make_tls_material(base / "tls")
    servers = (
        SparkThriftServer(base / "nosasl"),
        SparkThriftServer(
            base / "plain-tls", auth="PLAIN", tls=tls, passwords={"loader": "loader-password", "svc_mnaas": PASSWORD}
        ),
    )
    errors: list[BaseException] = []

    def start(server):
        try:
            server.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        servers[0].load(
            {
                "kpi_measurement": ALL.kpi,
                "telena_file_record_count": ALL.received,
                "customers_files_records_count": ALL.generated,
            }
        )
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def duckdb_twin(tmp_path_factory):
    """A DuckDB warehouse file with exactly the rows loaded into the HS2 server."""
    path = tmp_path_factory.mktemp("duckdb") / "warehouse.duckdb"
    write_duckdb(path, ALL)
    return path


@pytest.fixture
def hs2(hs2_servers) -> SparkThriftServer:
    return hs2_servers[0]


@pytest.fixture
def hs2_tls(hs2_servers) -> SparkThriftServer:
    return hs2_servers[1]


def warehouse(url: str) -> ImpalaWarehouse:
    return ImpalaWarehouse(parse_impala_url(url))


# -- URL parsing (no server) -----------------------------------------------------------------


def test_url_defaults():
    t = parse_impala_url("impala://impala-lb.example")
    assert (t.host, t.port, t.auth_mechanism, t.database) == ("impala-lb.example", 21050, "NOSASL", None)
    assert (t.use_ssl, t.ca_cert, t.user, t.password) == (False, None, None, None)
    assert (t.timeout, t.query_timeout) == (30.0, 600.0)


def test_url_full(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    t = parse_impala_url(
        f"impala://svc%40corp:{quote(PASSWORD, safe='')}@h:21051/mnaas?auth_mechanism=ldap"
        f"&use_ssl=1&ca_cert={ca}&timeout=5&query_timeout=90"
    )
    assert (t.user, t.password, t.database, t.port, t.auth_mechanism) == ("svc@corp", PASSWORD, "mnaas", 21051, "LDAP")
    assert (t.use_ssl, t.ca_cert, t.timeout, t.query_timeout) == (True, str(ca), 5.0, 90.0)
    assert PASSWORD not in repr(t) and quote(PASSWORD, safe="") not in repr(t) and ":***@" in repr(t)
    assert PASSWORD not in t.safe_url() and PASSWORD not in str(t)


def test_url_gssapi_and_password_env(monkeypatch):
    t = parse_impala_url("impala://h?auth_mechanism=GSSAPI&kerberos_service_name=hive&krb_host=impala.corp")
    assert (t.auth_mechanism, t.kerberos_service_name, t.krb_host) == ("GSSAPI", "hive", "impala.corp")
    monkeypatch.setenv("MNAAS_TEST_IMPALA_PW", PASSWORD)
    t = parse_impala_url("impala://u@h?auth_mechanism=PLAIN&password_env=MNAAS_TEST_IMPALA_PW&database=db")
    assert (t.password, t.database) == (PASSWORD, "db")
    assert PASSWORD not in repr(t) and "password_env=MNAAS_TEST_IMPALA_PW" in t.safe_url()


@pytest.mark.parametrize(
    "url, complaint",
    [
        ("duckdb:///x.duckdb", "impala://"),
        ("impala://", "no host"),
        (f"impala://u:{quote(PASSWORD, safe='')}@h:notaport", "malformed"),
        (f"impala://u:{PASSWORD}@h:21050?auth_mechanism=PLAIN", ""),  # unencoded: mangled, yet never shown
        ("impala://h:21050?auth_mechanism=KERBEROS", "auth_mechanism"),
        ("impala://h?auth_mechanism=PLAIN&bogus=1", "unknown parameter 'bogus'"),
        (f"impala://u:{quote(PASSWORD, safe='')}@h?auth_mechanism=NOSASL", "only used with"),
        ("impala://u@h?auth_mechanism=LDAP", "LDAP needs a user and a password"),
        ("impala://h?use_ssl=1&ca_cert=/nonexistent/ca.pem", "not a readable file"),
        ("impala://h?ca_cert=/etc/hostname", "use_ssl"),
        ("impala://h?use_ssl=maybe", "use_ssl must be 1 or 0"),
        ("impala://h?timeout=-1", "timeout"),
        ("impala://h/db1?database=db2", "database given twice"),
        ("impala://h/db;drop", "not a plain identifier"),
        ("impala://h?auth_mechanism=PLAIN&password_env=MNAAS_TEST_UNSET_VARIABLE", "not set"),
        (f"impala://u:{quote(PASSWORD, safe='')}@h?auth_mechanism=PLAIN&password_env=X", "not both"),
    ],
)
def test_url_rejected_without_password(url, complaint):
    with pytest.raises(ConfigError) as caught:
        parse_impala_url(url)
    assert caught.value.key == "MNAAS_WAREHOUSE_URL"
    assert complaint in str(caught.value)
    assert PASSWORD not in str(caught.value) and quote(PASSWORD, safe="") not in str(caught.value)
    assert caught.value.__cause__ is None or PASSWORD not in str(caught.value.__cause__)


# -- against the server ----------------------------------------------------------------------


def test_nosasl_connect_and_query(hs2):
    wh = warehouse(hs2.url())
    try:
        rows = wh.query(
            "SELECT kpi_value FROM mnaas.kpi_measurement WHERE kpi_date = ? AND customer_name = ?"
            " AND kpi_name = ? AND process_name = ?",
            [D, "acme", GENERATED, "sms"],
        )
        assert rows == [(4,)]
        # The same connection serves the next query (one session per warehouse object).
        assert wh.query("SELECT COUNT(*) FROM mnaas.telena_file_record_count WHERE file_date = ?", [D]) == [(8,)]
    finally:
        wh.close()


def test_database_from_url_is_the_default_schema(hs2):
    wh = warehouse(hs2.url() + "&database=mnaas")
    try:
        rows = wh.query("SELECT COUNT(*) FROM customers_files_records_count WHERE file_date IN (?, ?)", [D, OTHER_DAY])
        assert rows == [(3,)]
    finally:
        wh.close()


def test_sessions_opening_and_closing_at_once_all_succeed(hs2):
    # Local workers each hold their own session, so sessions open while others close. (A shared
    # resources directory on the server once made such a session fail now and then in CI.)
    failures: list[str] = []

    def sessions(n: int):
        for _ in range(n):
            wh = warehouse(hs2.url())
            try:
                if wh.query("SELECT ?", ["ok"]) != [("ok",)]:
                    failures.append("wrong row")
            except WarehouseError as exc:
                failures.append(str(exc))
            finally:
                wh.close()

    threads = [threading.Thread(target=sessions, args=(20,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_plain_user_and_password_over_tls_with_ca_file(hs2_tls):
    # (Hive's server shortens "user@REALM" to "user", so the user here has no @.)
    url = (
        f"impala://svc_mnaas:{quote(PASSWORD, safe='')}@127.0.0.1:{hs2_tls.port}?auth_mechanism=PLAIN"
        f"&use_ssl=1&ca_cert={hs2_tls.tls.ca_cert}"
    )
    wh = warehouse(url)
    try:
        assert wh.query("SELECT current_user(), ?", ["tls"]) == [("svc_mnaas", "tls")]
    finally:
        wh.close()


def test_a_wrong_password_is_refused_by_the_server_at_once_and_never_shown(hs2_tls):
    wrong = "wr0ng-Pa55'w@rd/x"
    url = (
        f"impala://svc_mnaas:{quote(wrong, safe='')}@127.0.0.1:{hs2_tls.port}?auth_mechanism=PLAIN"
        f"&use_ssl=1&ca_cert={hs2_tls.tls.ca_cert}&timeout=10"
    )
    wh = warehouse(url)
    with pytest.raises(WarehouseError) as caught:
        wh.query("SELECT 1", [])
    assert not isinstance(caught.value, TransientWarehouseError)  # retrying cannot fix it
    assert "authentication failed" in str(caught.value)
    assert "Error validating the login" in str(caught.value)  # the server's own words
    assert wrong not in str(caught.value) and quote(wrong, safe="") not in str(caught.value)


def test_a_run_with_a_wrong_password_fails_every_group_at_once_with_one_ticket(hs2_tls, tmp_path):
    wrong = "wr0ng-Pa55'w@rd/x"
    url = (
        f"impala://svc_mnaas:{quote(wrong, safe='')}@127.0.0.1:{hs2_tls.port}?auth_mechanism=PLAIN"
        f"&use_ssl=1&ca_cert={hs2_tls.tls.ca_cert}&timeout=10"
    )
    job = make_job(tmp_path / "job", {"MNAAS_GROUP_SIZE": "5", "MNAAS_QUERY_ATTEMPTS": "4", "MNAAS_RETRY_BACKOFF": "5"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    env["MNAAS_WAREHOUSE_URL"] = url
    started = time.monotonic()
    result = run_cli(job.config, env, "run", "--date", RUN_DAY.isoformat())
    elapsed = time.monotonic() - started

    assert result.returncode == 1, result.stderr
    tasks = 4  # 7 customers, at most 5 a task, 4 local workers: 4 group tasks, each every process
    assert result.stderr.count("failed, not retrying (retrying cannot fix it)") == tasks
    assert "attempt 1 of 4 failed" not in result.stderr and elapsed < 5 * 4  # no backoff waited
    assert "Error validating the login" in result.stderr
    status = job.status_file.read_text()
    assert "MNAAS_job_status=Failure\n" in status and "MNAAS_email_sdp_created=Yes\n" in status
    assert [p.name.endswith("_sdp-ticket.eml") for p in job.emails()].count(True) == 1
    logs = "".join(path.read_text() for path in (job.root / "Logs").iterdir())
    assert "Error validating the login" in logs
    for text in (result.stdout, result.stderr, logs, *(p.read_text() for p in job.emails())):
        assert wrong not in text and quote(wrong, safe="") not in text


def test_tls_without_the_ca_is_a_configuration_error_not_retried(hs2_tls):
    # No ca_cert: the system store does not trust the test's self-signed certificate.
    wh = warehouse(f"impala://u:pw@127.0.0.1:{hs2_tls.port}?auth_mechanism=PLAIN&use_ssl=1&timeout=5")
    with pytest.raises(WarehouseError) as caught:
        wh.query("SELECT 1", [])
    assert not isinstance(caught.value, TransientWarehouseError)
    assert "certificate verify failed" in str(caught.value)


def test_plaintext_client_against_tls_server_fails(hs2_tls):
    wh = warehouse(f"impala://u:pw@127.0.0.1:{hs2_tls.port}?auth_mechanism=PLAIN&timeout=5")
    with pytest.raises(TransientWarehouseError, match="check auth_mechanism and use_ssl"):
        wh.query("SELECT 1", [])


def test_quote_and_backslash_round_trip_as_bound_parameters(hs2):
    wh = warehouse(hs2.url())
    try:
        assert wh.query("SELECT ?, ?", [NASTY, "line\nbreak\ttab"]) == [(NASTY, "line\nbreak\ttab")]
        # The loader bound NASTY too: the stored value matches the bound comparison exactly.
        rows = wh.query("SELECT customer_name, kpi_value FROM mnaas.kpi_measurement WHERE customer_name = ?", [NASTY])
        assert rows == [(NASTY, 7)]
    finally:
        wh.close()


def test_missing_table_fails_at_once_with_the_servers_message(hs2):
    table = f"mnaas.no_such_table_{uuid.uuid4().hex[:8]}"
    wh = warehouse(hs2.url())
    began = time.monotonic()
    with pytest.raises(WarehouseError) as caught:
        wh.query(f"SELECT * FROM {table} WHERE kpi_date = ?", [D])
    assert time.monotonic() - began < 5
    assert not isinstance(caught.value, TransientWarehouseError)
    assert "TABLE_OR_VIEW_NOT_FOUND" in str(caught.value) and table.split(".")[1] in str(caught.value)
    # One attempt: the server saw the statement exactly once.
    submitted = [line for line in hs2.log_path.read_text().splitlines() if "Submitting query" in line and table in line]
    assert len(submitted) == 1, submitted
    # A failed query leaves the connection usable.
    assert wh.query("SELECT 1", []) == [(1,)]
    wh.close()


def test_sql_error_is_not_transient(hs2):
    with pytest.raises(WarehouseError) as caught:
        warehouse(hs2.url()).query("SELEC 1", [])
    assert not isinstance(caught.value, TransientWarehouseError)
    assert "PARSE_SYNTAX_ERROR" in str(caught.value) and "\tat org." not in str(caught.value)


def test_wrong_port_is_transient_and_quick():
    began = time.monotonic()
    with pytest.raises(TransientWarehouseError, match="unreachable"):
        warehouse(f"impala://127.0.0.1:{free_port()}?timeout=2").query("SELECT 1", [])
    assert time.monotonic() - began < 3


def test_silent_server_times_out_as_transient():
    # Accepts TCP but never answers: only the connect/RPC timeout ends the wait.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        began = time.monotonic()
        with pytest.raises(TransientWarehouseError, match="timeout"):
            warehouse(f"impala://127.0.0.1:{silent.getsockname()[1]}?timeout=1").query("SELECT 1", [])
        assert 0.9 < time.monotonic() - began < 3


def test_query_timeout_cancels_and_keeps_the_connection(hs2):
    # 2 s, not less: the same limit applies to the SELECT 1 after the cancel, which a busy
    # 2-core machine's Spark may take over half a second to answer (it failed so at 0.5 s).
    wh = warehouse(hs2.url(query_timeout="2"))
    began = time.monotonic()
    with pytest.raises(TransientWarehouseError, match="query_timeout=2"):
        wh.query("SELECT COUNT(*) FROM range(100000000) a CROSS JOIN range(100000) b WHERE a.id <> ?", [-1])
    # 2 s plus at most one long poll of the server (500 ms in the test server), and slack.
    assert time.monotonic() - began < 4.5
    assert wh.query("SELECT 1", []) == [(1,)]
    wh.close()


def test_shared_queries_give_the_same_rows_on_hs2_and_duckdb(hs2, duckdb_twin):
    """The product's own SQL (queries.py), unchanged, on both backends over the same rows."""
    backends = {"hs2": warehouse(hs2.url()), "duckdb": DuckDBWarehouse(f"duckdb:///{duckdb_twin}")}
    kpi = queries.kpi_counts("mnaas.kpi_measurement", DAY, ["sms"], CUSTOMERS)
    missing = queries.missing_files(
        "mnaas.telena_file_record_count", "mnaas.customers_files_records_count", DAY, ["sms"], CUSTOMERS
    )
    window = queries.missing_files(
        "mnaas.telena_file_record_count",
        "mnaas.customers_files_records_count",
        DAY,
        ["sms"],
        CUSTOMERS,
        first_day=DAY - dt.timedelta(days=1),
    )
    # One batch of two processes: voice adds acme's 9 received (by hand from ROWS), no names.
    both = queries.kpi_counts("mnaas.kpi_measurement", DAY, ["sms", "voice"], CUSTOMERS)
    probe = queries.any_received("mnaas.telena_file_record_count", DAY, "sms", ["beta", "zeta"])
    nothing = queries.any_received("mnaas.telena_file_record_count", DAY, "nosuch", CUSTOMERS)
    try:
        for name, wh in backends.items():
            assert sorted(wh.query(*kpi)) == [("sms", *row) for row in EXPECTED_KPI], name
            assert sorted(wh.query(*both)) == sorted(
                [("sms", *row) for row in EXPECTED_KPI] + [("voice", "acme", 9, 0)]
            ), name
            # each name with its own file_date, in the order the check streams them (no sort
            # here); the day before holds none of these
            assert wh.query(*missing) == [("sms", D, c, f) for c, f in EXPECTED_MISSING], name
            assert wh.query(*window) == [("sms", D, c, f) for c, f in EXPECTED_MISSING], name
            assert [tuple(r) for r in wh.query(*probe)] == [(1,)], name
            assert [tuple(r) for r in wh.query(*nothing)] == [(0,)], name
    finally:
        for wh in backends.values():
            wh.close()


def test_no_password_in_errors_or_logs(hs2, hs2_tls, caplog):
    caplog.set_level(logging.DEBUG)
    secret = quote(PASSWORD, safe="")
    urls = [
        f"impala://svc_mnaas:{secret}@127.0.0.1:{hs2_tls.port}?auth_mechanism=PLAIN&use_ssl=1&ca_cert={hs2_tls.tls.ca_cert}",
        # the password of another user: the server refuses the login
        f"impala://u:{secret}@127.0.0.1:{hs2_tls.port}?auth_mechanism=PLAIN&use_ssl=1&ca_cert={hs2_tls.tls.ca_cert}",
        f"impala://u:{secret}@127.0.0.1:{hs2_tls.port}?auth_mechanism=PLAIN&use_ssl=1&timeout=3",  # untrusted cert
        f"impala://u:{secret}@127.0.0.1:{hs2_tls.port}?auth_mechanism=PLAIN&timeout=3",  # no TLS
        f"impala://u:{secret}@127.0.0.1:{free_port()}?auth_mechanism=PLAIN&timeout=2",  # nobody there
        f"impala://u:{secret}@127.0.0.1:{hs2.port}?auth_mechanism=PLAIN&timeout=3",  # server speaks NOSASL
    ]
    texts = []
    ok = 0
    for url in urls:
        wh = warehouse(url)
        texts += [repr(wh), repr(wh.target), str(wh.target)]
        for sql, params in (("SELECT 1", []), ("SELECT * FROM mnaas.no_such_table", [])):
            try:
                wh.query(sql, params)
                ok += 1
            except WarehouseError as exc:
                while exc is not None:
                    texts += [str(exc), repr(exc)]
                    exc = exc.__cause__ or exc.__context__
        wh.close()
    assert ok == 1  # only the trusted TLS connection ran the harmless query
    records = [
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "") for r in caplog.records
    ]
    assert records and texts
    for text in texts + records:
        assert PASSWORD not in text and secret not in text, text


def test_a_fresh_connection_is_not_retried_on_transport_failure(hs2, caplog):
    caplog.set_level(logging.INFO, logger="mnaas_missing_files.warehouse.impala")
    wh = warehouse(f"impala://127.0.0.1:{free_port()}?timeout=2")
    with pytest.raises(TransientWarehouseError):
        wh.query("SELECT 1", [])
    assert not any("reconnecting" in r.getMessage() for r in caplog.records)


def test_target_is_plain_data():
    t = ImpalaTarget(host="h")
    assert t.port == 21050 and t.safe_url().startswith("impala://h:21050?auth_mechanism=NOSASL")


# -- whole runs through impala:// -------------------------------------------------------------


def test_run_reports_are_byte_identical_on_hs2_and_duckdb(hs2, duckdb_twin, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    reports = {}
    for name, url in (("duckdb", f"duckdb:///{duckdb_twin}"), ("hs2", hs2.url())):
        job = make_job(
            tmp_path / name, {"MNAAS_WAREHOUSE_URL": url, "MNAAS_GROUP_SIZE": "5", "MNAAS_RETRY_BACKOFF": "0.05"}
        )
        result = run_cli(job.config, env, "run", "--date", RUN_DAY.isoformat())
        assert result.returncode == 0, result.stderr
        reports[name] = (
            job.csv(RUN_DAY).read_bytes(),
            job.txt(RUN_DAY).read_bytes(),
            job.outstanding(RUN_DAY).read_bytes(),
        )
    assert reports["hs2"] == reports["duckdb"]
    # the day before's missing files are outstanding, found by the same window query on both
    outstanding = expected_outstanding(DEMO, RUN_DAY, 7, PROCESSES, JOB_CUSTOMERS, INFONOVA)
    assert reports["hs2"][2] == outstanding.encode() and outstanding.count("\n") > 3
    reports = {name: r[:2] for name, r in reports.items()}
    want_csv, want_txt = expected_reports(DEMO, RUN_DAY, PROCESSES, JOB_CUSTOMERS, INFONOVA)
    assert reports["hs2"] == (want_csv.encode(), want_txt.encode())
    assert want_txt.count("\n") > 5  # the day really has missing files


def _check_config(job, url: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    return run_cli(job.config, {**env, "MNAAS_WAREHOUSE_URL": url}, "check-config")


def test_check_config_never_shows_the_password(hs2_tls, tmp_path):
    secret = quote(PASSWORD, safe="")
    url = f"impala://svc:{secret}@127.0.0.1:{hs2_tls.port}?auth_mechanism=PLAIN&use_ssl=1&ca_cert={hs2_tls.tls.ca_cert}"
    result = _check_config(make_job(tmp_path / "job"), url)
    assert result.returncode == 0, result.stderr
    assert f"impala://svc:***@127.0.0.1:{hs2_tls.port}" in result.stdout
    for text in (result.stdout, result.stderr):
        assert PASSWORD not in text and secret not in text, text


@pytest.mark.parametrize("extra", ["&auth_mechanism=LDAP", "&bogus=1", "&timeout=soon"])
def test_check_config_rejects_a_bad_impala_url_without_the_password(tmp_path, extra):
    secret = quote(PASSWORD, safe="")
    result = _check_config(make_job(tmp_path / "job"), f"impala://svc:{secret}@h:21050?auth_mechanism=PLAIN{extra}")
    for text in (result.stdout, result.stderr):
        assert PASSWORD not in text and secret not in text, text
    assert result.returncode == 2 and "MNAAS_WAREHOUSE_URL" in result.stderr


@pytest.mark.redis
def test_hs2_restart_between_queries_and_between_runs_of_one_worker_process(hs2, tmp_path, caplog):
    """One server restart (they are slow) serves two checks:
    - an ImpalaWarehouse object used before the restart: the first query after it succeeds on
      a fresh connection (documented behaviour: no error reaches the caller), the next too;
    - one Celery pool process serving two runs: the second run succeeds with every group done,
      although MNAAS_QUERY_ATTEMPTS=1 leaves no retry to hide a failure."""
    caplog.set_level(logging.INFO, logger="mnaas_missing_files.warehouse.impala")
    sql = "SELECT COUNT(*) FROM mnaas.kpi_measurement WHERE kpi_date = ?"
    wh = warehouse(hs2.url())
    assert wh.query(sql, [D]) == [(8,)]
    job = CeleryJob(tmp_path, DEMO, tmp_path / "unused.duckdb", None)  # type: ignore[arg-type]
    settings = dict(MNAAS_WAREHOUSE_URL=hs2.url(), MNAAS_GROUP_SIZE="5", MNAAS_QUERY_ATTEMPTS="1")
    job.configure(**settings)
    want = tuple(text.encode() for text in job.expected(RUN_DAY))
    with RedisServer() as redis:
        env = celery_env(redis, job.config)
        worker = start_worker("impala", env, tmp_path / "logs", concurrency=1)
        try:
            [pid] = worker.pool_pids()
            first = run_cli(job.config, env, "submit", "--wait", "--date", RUN_DAY.isoformat())
            assert first.returncode == 0, first.stderr
            assert job.reports(RUN_DAY) == want

            hs2.restart()

            assert wh.query(sql, [D]) == [(8,)]
            assert any("reconnecting" in r.getMessage() for r in caplog.records)
            assert wh.query(sql, [OTHER_DAY]) == [(1,)]
            wh.close()

            job.configure(**settings)  # fresh status file, no reports
            second = run_cli(job.config, env, "submit", "--wait", "--date", RUN_DAY.isoformat())
            assert second.returncode == 0, second.stderr + worker.log()[-3000:]
            assert "SUCCESS" in second.stdout
            assert job.reports(RUN_DAY) == want  # no group failed: every count is known
            assert worker.pool_pids() == [pid]
            assert "reused Impala connection was dead" in worker.log()
        finally:
            worker.stop()


# -- round trips (contract: one connection per worker, the group's queries sent together) ---

SLEEP_SQL = "SELECT ? AS tag, reflect('java.lang.Thread', 'sleep', CAST(? AS BIGINT)) AS slept"


def test_query_many_sends_the_statements_together_so_the_server_overlaps_them(hs2):
    """Two statements that each sleep 1.5 s on the server: sent one after another they take
    3 s or more; sent together (query_many) the server runs them side by side."""
    wh = warehouse(hs2.url())
    try:
        wh.query("SELECT 1", [])  # connect outside the timed part
        began = time.monotonic()
        first, second = wh.query_many([(SLEEP_SQL, ["a", 1500]), (SLEEP_SQL, ["b", 1500])])
        assert [row[0] for row in first] == ["a"] and [row[0] for row in second] == ["b"]
        assert time.monotonic() - began < 2.6
    finally:
        wh.close()


def test_one_connection_and_one_session_per_statement_opened_once_and_reused(hs2, monkeypatch):
    import impala.dbapi
    import impala.hiveserver2

    opened = {"connections": 0, "sessions": 0}
    connect, cursor = impala.dbapi.connect, impala.hiveserver2.HiveServer2Connection.cursor

    def counting_connect(*args, **kwargs):
        opened["connections"] += 1
        return connect(*args, **kwargs)

    def counting_cursor(self, *args, **kwargs):
        opened["sessions"] += 1
        return cursor(self, *args, **kwargs)

    monkeypatch.setattr(impala.dbapi, "connect", counting_connect)
    monkeypatch.setattr(impala.hiveserver2.HiveServer2Connection, "cursor", counting_cursor)
    wh = warehouse(hs2.url())
    try:
        kpi = queries.kpi_counts("mnaas.kpi_measurement", DAY, ["sms"], CUSTOMERS)
        missing = queries.missing_files(
            "mnaas.telena_file_record_count", "mnaas.customers_files_records_count", DAY, ["sms"], CUSTOMERS
        )
        for _ in range(3):  # three groups checked by one worker
            kpi_rows, missing_rows = (sorted(rows) for rows in wh.query_many([kpi, missing]))
            assert kpi_rows == [("sms", *row) for row in EXPECTED_KPI]
            assert [(c, f) for _p, _d, c, f in missing_rows] == EXPECTED_MISSING
        assert wh.query("SELECT 1", []) == [(1,)]
        assert opened == {"connections": 1, "sessions": 2}
    finally:
        wh.close()


# -- expected input (contract §14) on HiveServer2 ------------------------------------------------


def test_volume_verdicts_and_not_monitored_on_hs2_as_worked_out_by_hand(hs2, tmp_path):
    """volumescenario.py's five weeks, in a database of their own on the same server: the
    day-input query and the backtest's KPI query run unchanged on HiveServer2."""
    from tests.helpers import volumescenario as scenario

    data = scenario.rows()
    hs2.load(
        {
            "kpi_measurement": data.kpi,
            "telena_file_record_count": data.received,
            "customers_files_records_count": data.generated,
        },
        database="volume",
    )
    tables = {
        "MNAAS_KPI_TABLE": "volume.kpi_measurement",
        "MNAAS_RECEIVED_TABLE": "volume.telena_file_record_count",
        "MNAAS_GENERATED_TABLE": "volume.customers_files_records_count",
    }
    job = make_job(tmp_path / "job", {**scenario.SETTINGS, **tables, "MNAAS_WAREHOUSE_URL": hs2.url()})
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    result = run_cli(job.config, env, "run", "--date", scenario.D.isoformat())
    assert result.returncode == 0, result.stderr
    history = job.status_file.with_name(job.status_file.name + ".runs.jsonl").read_text().splitlines()
    entry = json.loads(history[-1])
    assert (entry["verdicts"], entry["unmonitored"]) == (scenario.VERDICTS, 2)
    assert "  SILENT: sms / eLUX: 0 received, usually 46" in result.stdout
    assert "  KPI NOT LOADED: late" in result.stdout
    backtest = run_cli(job.config, env, "backtest", "--from", scenario.D.isoformat(), "--to", scenario.D.isoformat())
    assert backtest.returncode == 0, backtest.stderr
    flagged = [line.split()[1:3] for line in backtest.stdout.splitlines() if line.startswith("20")]
    assert flagged == [[verdict, process] for process, _c, verdict, *_ in scenario.FINDINGS]
