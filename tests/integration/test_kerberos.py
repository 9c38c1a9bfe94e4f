"""Kerberos (GSSAPI) against a real MIT KDC and a Kerberos-secured HiveServer2 (contract §17).

One session fixture: a KDC on loopback (tests/helpers/kdc.py) and the Spark Thrift Server
with hive.server2.authentication=KERBEROS and hadoop.security.authentication=kerberos, its
principal impala/localhost@MNAAS.TEST, loaded with a generated day. The product runs as a
subprocess with its own environment (KRB5_CONFIG naming the test realm, KRB5CCNAME a cache
that does not exist), so no ticket is ever prepared for it: what it has, it got itself.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from mnaas_missing_files.config.impala_url import parse_impala_url
from mnaas_missing_files.config.settings import load_settings
from mnaas_missing_files.core.errors import KerberosServiceUnknown, TransientWarehouseError, WarehouseError
from mnaas_missing_files.run.metrics import read_samples
from mnaas_missing_files.warehouse import kerberos
from mnaas_missing_files.warehouse.impala import ImpalaWarehouse
from tests.helpers.celeryjob import DAY, CeleryJob, job_rows
from tests.helpers.celeryproc import celery_env, run_cli, start_worker
from tests.helpers.hs2 import KerberizedServer, SparkThriftServer
from tests.helpers.kdc import KerberosKdc
from tests.helpers.redisproc import RedisServer
from tests.helpers.tools import require_module, require_tool

ROWS = job_rows()
# Every test here uses the session's KDC and Kerberized HiveServer2 (the realm fixture).
pytestmark = [pytest.mark.kerberos, pytest.mark.hs2]
TEN_HOURS = 36000  # the KDC's max_life (tests/helpers/kdc.py): a default principal's ticket


class Realm:
    """The session's KDC, the Kerberized server and the job's keytabs."""

    def __init__(self, base: Path):
        self.kdc = KerberosKdc(base / "kdc")
        self.base = base
        self.server: SparkThriftServer | None = None

    def start(self) -> Realm:
        self.kdc.start()
        server_keytab = self.kdc.add_principal("impala/localhost")
        loader_keytab = self.kdc.add_principal("loader")
        self.keytab = self.kdc.add_principal("mnaas")
        self.short_keytab = self.kdc.add_principal("mnaas-short", max_life="1 minute")
        # Two principals, the job's second: MNAAS_KERBEROS_PRINCIPAL picks it.
        self.two_keytab = self.base / "two.keytab"
        self.kdc.add_principal("first", keytab=self.two_keytab)
        self.kdc._admin(f"ktadd -k {self.two_keytab} -norandkey {self.kdc.principal('mnaas')}")
        identity = KerberizedServer(
            self.kdc.principal("impala/localhost"),
            server_keytab,
            self.kdc.krb5_conf,
            loader_keytab,
            self.base / "loader.ccache",
        )
        self.server = SparkThriftServer(self.base / "hs2", auth="GSSAPI", kerberos=identity)
        self.server.start()
        self.server.load(
            {
                "kpi_measurement": ROWS.kpi,
                "telena_file_record_count": ROWS.received,
                "customers_files_records_count": ROWS.generated,
            }
        )
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.kdc.stop()

    def env(self, tmp_path: Path, **extra: str) -> dict[str, str]:
        """A product process's environment: the test realm, and a ticket cache that does not
        exist (nothing prepared; the product must never create it)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MNAAS_", "KRB5"))}
        env.update(KRB5_CONFIG=str(self.kdc.krb5_conf), KRB5CCNAME=f"FILE:{tmp_path / 'untouched.ccache'}")
        env.update(extra)
        return env

    def url(self, **params: str) -> str:
        assert self.server is not None
        return f'"{self.server.url(timeout="10", **params)}"'  # quoted for the properties file


@pytest.fixture(scope="session")
def realm(tmp_path_factory):
    require_module("kerberos", "make test installs it (requirements-kerberos.txt; it builds against libkrb5-dev)")
    began = time.monotonic()
    realm = Realm(tmp_path_factory.mktemp("kerberos"))
    try:
        realm.start()
        print(
            f"\nKerberos fixture started in {time.monotonic() - began:.1f} s (KDC {realm.kdc.startup_seconds:.2f} s, "
            f"Kerberized HiveServer2 {realm.server.startup_seconds[0]:.1f} s, then the data loaded)"
        )
        yield realm
    finally:
        realm.stop()


def _job(tmp_path: Path, realm: Realm, **settings: str) -> CeleryJob:
    job = CeleryJob(tmp_path, ROWS, tmp_path / "unused.duckdb", None)  # type: ignore[arg-type]
    job.configure(**{"MNAAS_WAREHOUSE_URL": realm.url(), **settings})
    return job


def _no_raw_gss(*texts: str) -> None:
    for text in texts:
        assert "GSSError" not in text and "Traceback" not in text, text


# -- whole runs through GSSAPI -------------------------------------------------------------------


@pytest.mark.promtool
def test_run_through_gssapi_from_a_keytab_gives_exact_reports_and_the_ticket_expiry(realm, tmp_path):
    metrics = tmp_path / "metrics.prom"
    job = _job(tmp_path, realm, MNAAS_KERBEROS_KEYTAB=str(realm.keytab), MNAAS_METRICS_FILE=str(metrics))
    env = realm.env(tmp_path)
    began = time.time()
    result = run_cli(job.config, env, "run", "--date", DAY.isoformat())
    assert result.returncode == 0, result.stderr
    assert job.reports(DAY) == tuple(text.encode() for text in job.expected(DAY))
    assert job.expected(DAY)[1].count("\n") > 5  # the day really has missing files
    assert not (tmp_path / "untouched.ccache").exists()  # the environment's cache is never written
    [(labels, expiry)] = read_samples(metrics)["mnaas_missing_files_kerberos_ticket_expiry_timestamp_seconds"]
    assert labels == {"job_name": job.status()["MNAAS_Daily_ProcessName"]}
    assert began + TEN_HOURS - 5 <= expiry <= time.time() + TEN_HOURS + 1
    promtool = require_tool("promtool", "prometheus")
    checked = subprocess.run([promtool, "check", "metrics"], input=metrics.read_bytes(), capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_backfill_logs_in_from_the_keytab_too(realm, tmp_path):
    job = _job(tmp_path, realm, MNAAS_KERBEROS_KEYTAB=str(realm.keytab))
    result = run_cli(job.config, realm.env(tmp_path), "backfill", "--from", DAY.isoformat(), "--to", DAY.isoformat())
    assert result.returncode == 0, result.stderr
    assert job.reports(DAY) == tuple(text.encode() for text in job.expected(DAY))


def test_doctor_shows_the_principal_and_the_tickets_end_or_what_to_do(realm, tmp_path):
    job = _job(tmp_path, realm, MNAAS_KERBEROS_KEYTAB=str(realm.keytab))
    healthy = run_cli(job.config, realm.env(tmp_path), "doctor")
    [line] = [line for line in healthy.stdout.splitlines() if "Kerberos" in line]
    assert line.startswith("ok   Kerberos: ticket of mnaas@MNAAS.TEST valid until ")
    assert re.search(r"\((9 h 59|10 h 0) min left\)$", line), line  # the KDC's 10 h tickets
    assert f"ok   warehouse impala://127.0.0.1:{realm.server.port}" in healthy.stdout, healthy.stdout
    job.configure(MNAAS_WAREHOUSE_URL=realm.url())  # no keytab, and no ticket in the cache
    broken = run_cli(job.config, realm.env(tmp_path), "doctor")
    assert broken.returncode == 1
    [line] = [line for line in broken.stdout.splitlines() if line.startswith("FAIL Kerberos")]
    assert "MNAAS_KERBEROS_KEYTAB" in line and "kinit -kt" in line
    _no_raw_gss(healthy.stdout, healthy.stderr, broken.stdout, broken.stderr)
    assert not (tmp_path / "untouched.ccache").exists()


def test_no_ticket_and_no_keytab_fails_the_run_at_once_naming_the_keytab_setting(realm, tmp_path):
    job = _job(tmp_path, realm, MNAAS_QUERY_ATTEMPTS="3", MNAAS_RETRY_BACKOFF="5")
    started = time.monotonic()
    result = run_cli(job.config, realm.env(tmp_path), "run", "--date", DAY.isoformat())
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 5 * 3  # not retried: no backoff waited
    assert "MNAAS_KERBEROS_KEYTAB" in result.stderr and "kinit -kt" in result.stderr
    assert "No Kerberos credentials available" in result.stderr  # the library's reason, quoted
    assert f"Impala 127.0.0.1:{realm.server.port}" in result.stderr
    assert "failed, not retrying (retrying cannot fix it)" in result.stderr
    assert "attempt 1 of 3 failed" not in result.stderr
    _no_raw_gss(result.stdout, result.stderr)
    status = job.status()
    assert status["MNAAS_job_status"] == "Failure" and status["MNAAS_email_sdp_created"] == "Yes"
    assert len(job.emails("sdp-ticket")) == 1


@pytest.mark.redis
def test_a_service_principal_the_kdc_does_not_know_is_exit_2_with_nothing_changed(realm, tmp_path):
    job = _job(tmp_path, realm, MNAAS_KERBEROS_KEYTAB=str(realm.keytab))
    job.configure(MNAAS_WAREHOUSE_URL=realm.url(kerberos_service_name="hive"), MNAAS_KERBEROS_KEYTAB=str(realm.keytab))
    before = job.status_file.read_bytes()
    result = run_cli(job.config, realm.env(tmp_path), "run", "--date", DAY.isoformat())
    assert result.returncode == 2, result.stderr
    assert "hive/localhost@MNAAS.TEST" in result.stderr
    assert "kerberos_service_name" in result.stderr and "krb_host" in result.stderr
    _no_raw_gss(result.stdout, result.stderr)
    with RedisServer() as redis:  # submit checks the same before it enqueues anything
        submitted = run_cli(job.config, celery_env(redis, job.config, **realm.env(tmp_path)), "submit")
        assert submitted.returncode == 2, submitted.stderr
        assert "hive/localhost@MNAAS.TEST" in submitted.stderr
        assert all(redis.client(db).keys("*") == [] for db in range(3))  # no message, lock or state
    _no_raw_gss(submitted.stdout, submitted.stderr)
    assert job.status_file.read_bytes() == before
    assert not job.job.csv(DAY).exists() and job.emails() == []
    assert not Path(f"{job.status_file}.runs.jsonl").exists()


def test_the_kdc_stopped_is_transient_and_retried(realm, tmp_path):
    job = _job(
        tmp_path,
        realm,
        MNAAS_KERBEROS_KEYTAB=str(realm.keytab),
        MNAAS_QUERY_ATTEMPTS="2",
        MNAAS_RETRY_BACKOFF="0.1",
    )
    realm.kdc.stop()
    try:
        result = run_cli(job.config, realm.env(tmp_path), "run", "--date", DAY.isoformat())
    finally:
        realm.kdc.start()
    assert result.returncode == 1, result.stderr
    assert "Kerberos KDC unreachable" in result.stderr and "Cannot contact any KDC" in result.stderr
    assert "attempt 1 of 2 failed" in result.stderr and "giving up after 2 attempts" in result.stderr
    _no_raw_gss(result.stdout, result.stderr)
    assert job.status()["MNAAS_job_status"] == "Failure"


@pytest.mark.redis
@pytest.mark.slow  # waits out a ticket's one-minute life
def test_a_one_minute_ticket_is_renewed_by_a_long_running_worker(realm, tmp_path):
    """One pool process serves two runs more than a ticket's life apart; the server restarts
    in between, so the second run's connection needs a ticket the first run never had."""
    metrics = tmp_path / "metrics.prom"
    job = _job(tmp_path, realm)
    settings = dict(
        MNAAS_WAREHOUSE_URL=realm.url(),
        MNAAS_KERBEROS_KEYTAB=str(realm.short_keytab),
        MNAAS_METRICS_FILE=str(metrics),
        MNAAS_QUERY_ATTEMPTS="1",  # no retry may hide a failed login
    )
    job.configure(**settings)
    want = tuple(text.encode() for text in job.expected(DAY))
    expiry = "mnaas_missing_files_kerberos_ticket_expiry_timestamp_seconds"
    with RedisServer() as redis:
        env = {**celery_env(redis, job.config), **realm.env(tmp_path)}
        worker = start_worker("kerberos", env, tmp_path / "logs", concurrency=1)
        try:
            [pid] = worker.pool_pids()
            first = run_cli(job.config, env, "submit", "--wait", "--date", DAY.isoformat())
            assert first.returncode == 0, first.stderr + worker.log()[-3000:]
            assert job.reports(DAY) == want
            [(_, first_end)] = read_samples(metrics)[expiry]
            assert first_end <= time.time() + 60

            realm.server.restart()  # the connection the worker keeps is gone
            time.sleep(max(0.0, first_end + 2 - time.time()))  # past the first ticket's end

            job.configure(**settings)  # fresh status file, no reports
            second = run_cli(job.config, env, "submit", "--wait", "--date", DAY.isoformat())
            assert second.returncode == 0, second.stderr + worker.log()[-3000:]
            assert job.reports(DAY) == want  # every group connected and counted
            assert worker.pool_pids() == [pid]  # the same process, with a ticket of its own again
            [(_, second_end)] = read_samples(metrics)[expiry]
            assert second_end > first_end + 1
            # (impyla logs its own traceback of the stale connection's replacement; no Kerberos error)
            assert "GSSError" not in worker.log() and "Kerberos" not in worker.log()
        finally:
            worker.stop()
    assert not (tmp_path / "untouched.ccache").exists()


# -- the ticket's status (the doctor's Kerberos line) and the warehouse's errors ------------------


@pytest.fixture
def own_process_login(realm, monkeypatch):
    """In this process: the test realm, and the environment and login state restored after."""
    monkeypatch.setenv("KRB5_CONFIG", str(realm.kdc.krb5_conf))
    monkeypatch.setenv("KRB5CCNAME", f"MEMORY:test-{time.monotonic_ns()}")
    monkeypatch.setenv("KRB5_CLIENT_KTNAME", "FILE:/nonexistent.keytab")
    monkeypatch.setattr(kerberos, "_login", None)


def _settings(tmp_path: Path, realm: Realm, **values: str):
    job = _job(tmp_path, realm, **values)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    return load_settings(job.config, environ=environ, day=DAY)


def test_ticket_status_names_the_principal_in_full_and_its_end(realm, tmp_path, own_process_login):
    status = kerberos.kerberos_ticket_status(_settings(tmp_path, realm, MNAAS_KERBEROS_KEYTAB=str(realm.keytab)))
    assert status is not None and status.problem is None
    assert status.principal == "mnaas@MNAAS.TEST"
    now = dt.datetime.now(dt.UTC)
    assert now + dt.timedelta(seconds=TEN_HOURS - 5) <= status.expires <= now + dt.timedelta(seconds=TEN_HOURS)


def test_ticket_status_of_the_principal_chosen_in_a_keytab_of_two(realm, tmp_path, own_process_login):
    settings = _settings(
        tmp_path, realm, MNAAS_KERBEROS_KEYTAB=str(realm.two_keytab), MNAAS_KERBEROS_PRINCIPAL="mnaas@MNAAS.TEST"
    )
    status = kerberos.kerberos_ticket_status(settings)
    assert status.problem is None and status.expires is not None, status
    assert status.principal == "mnaas@MNAAS.TEST"  # not the keytab's first, first@MNAAS.TEST


def test_ticket_status_without_a_keytab_or_a_ticket_says_what_to_do(realm, tmp_path, own_process_login):
    os.environ.pop("KRB5_CLIENT_KTNAME")
    status = kerberos.kerberos_ticket_status(_settings(tmp_path, realm))
    assert status is not None and status.expires is None
    assert "MNAAS_KERBEROS_KEYTAB" in status.problem and "kinit -kt" in status.problem


def test_ticket_status_is_none_without_gssapi(realm, tmp_path, own_process_login):
    settings = _settings(tmp_path, realm, MNAAS_WAREHOUSE_URL="impala://127.0.0.1:1?auth_mechanism=NOSASL")
    assert kerberos.kerberos_ticket_status(settings) is None


def test_warehouse_errors_are_classified_for_the_group_task(realm, own_process_login):
    kerberos.login_with_keytab(realm.keytab, None)
    wrong = ImpalaWarehouse(parse_impala_url(realm.url(kerberos_service_name="hive").strip('"')))
    with pytest.raises(KerberosServiceUnknown) as unknown:
        wrong.query("SELECT 1", [])
    assert not isinstance(unknown.value, TransientWarehouseError)  # the group fails, not retried
    assert "hive/localhost@MNAAS.TEST" in str(unknown.value)
    right = ImpalaWarehouse(parse_impala_url(realm.url().strip('"')))
    try:
        assert right.query("SELECT 1", []) == [(1,)]
    finally:
        right.close()
    realm.kdc.stop()
    try:
        os.environ["KRB5CCNAME"] = f"MEMORY:test-{time.monotonic_ns()}"  # no ticket left to use
        with pytest.raises(TransientWarehouseError, match="Kerberos KDC unreachable"):
            ImpalaWarehouse(parse_impala_url(realm.url().strip('"'))).query("SELECT 1", [])
    finally:
        realm.kdc.start()
    assert issubclass(KerberosServiceUnknown, WarehouseError) and KerberosServiceUnknown.exit_code == 2
