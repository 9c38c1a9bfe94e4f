"""`doctor` against real dependencies (contract §16): a healthy job is exit 0 with every
file untouched; each broken dependency is its own FAIL line and exit 1."""

from __future__ import annotations

import datetime as dt
import os
import socket

import pytest

from tests.helpers.celeryproc import celery_env, run_cli, start_worker, stop_all
from tests.helpers.jobconfig import small_duckdb_job
from tests.helpers.redisproc import RedisServer, free_port
from tests.helpers.smtpd import SmtpServer
from tests.helpers.snapshot import snapshot

DAY = dt.date.today() - dt.timedelta(days=1)  # doctor looks for KPI rows of the last 7 days
PASSWORD = "s3cret-redis-pw"


def lines(done, level: str) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith(level)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A password-protected Redis, an SMTP relay with login and one worker on both queues."""
    root = tmp_path_factory.mktemp("doctor")
    job = small_duckdb_job(root, DAY)
    with RedisServer(password=PASSWORD) as redis, SmtpServer(user="ops", password="mailpw") as smtp:
        env = celery_env(redis, job.config, MNAAS_SMTP_URL=smtp.url(user="ops", password="mailpw"))
        worker = start_worker("doctor", env, root / "logs", concurrency=1, pool="solo")
        try:
            yield job, env, redis, smtp
        finally:
            stop_all([worker])


def test_a_healthy_job_passes_and_nothing_changes(cluster):
    job, env, redis, smtp = cluster
    before = snapshot(job.root)
    done = run_cli(job.config, env, "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines(done, "FAIL") == []
    assert snapshot(job.root) == before  # no file changed, none left behind
    for expected in (
        "ok   configuration: ",
        "ok   warehouse duckdb:///",
        "ok   table mnaas.kpi_measurement: has kpi_date, process_name, customer_name, kpi_name, kpi_value",
        "ok   table mnaas.telena_file_record_count: ",
        "ok   table mnaas.customers_files_records_count: ",
        "ok   MNAAS_BROKER_URL: answers",
        "ok   MNAAS_LOCK_URL: answers",
        "ok   smtp smtp://ops:***@",
        "ok   status file: ",
        "ok   queue mnaas-control: 1 worker(s) answer: doctor@",
        "ok   queue mnaas-groups: 1 worker(s) answer: doctor@",
    ):
        assert any(line.startswith(expected) for line in done.stdout.splitlines()), (expected, done.stdout)
    assert PASSWORD not in done.stdout + done.stderr and "mailpw" not in done.stdout + done.stderr
    assert smtp.messages == []  # no mail sent


def test_a_missing_table_and_column_are_named(cluster, tmp_path):
    import duckdb

    job, env, *_ = cluster
    warehouse = tmp_path / "broken.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("CREATE SCHEMA mnaas")
        conn.execute(
            "CREATE TABLE mnaas.kpi_measurement (kpi_date VARCHAR, process_name VARCHAR, customer_name VARCHAR, kpi_name VARCHAR)"
        )
        conn.execute(
            "CREATE TABLE mnaas.telena_file_record_count (file_date VARCHAR, process_name VARCHAR, customer_name VARCHAR, filename VARCHAR)"
        )
    done = run_cli(job.config, {**env, "MNAAS_WAREHOUSE_URL": f"duckdb:///{warehouse}"}, "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    failed = lines(done, "FAIL")
    assert len(failed) == 2, done.stdout
    assert failed[0].startswith("FAIL table mnaas.kpi_measurement: has no column kpi_value; check MNAAS_KPI_TABLE")
    assert failed[1].startswith("FAIL table mnaas.customers_files_records_count: cannot be read (")
    assert "check MNAAS_GENERATED_TABLE" in failed[1]


def test_a_warehouse_that_cannot_be_opened_fails(cluster, tmp_path):
    job, env, *_ = cluster
    garbage = tmp_path / "not-a-database.duckdb"
    garbage.write_bytes(b"this is not a DuckDB file\n" * 100)
    done = run_cli(job.config, {**env, "MNAAS_WAREHOUSE_URL": f"duckdb:///{garbage}"}, "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    [failed] = lines(done, "FAIL")
    assert failed.startswith(f"FAIL warehouse duckdb:///{garbage}: cannot connect: ")
    assert "check MNAAS_WAREHOUSE_URL" in failed


def test_redis_down_or_refusing_the_password_fails(cluster):
    job, env, redis, _ = cluster
    nothing = f"redis://127.0.0.1:{free_port()}/2"
    wrong = redis.url(2).replace(PASSWORD, "wrong-password")
    done = run_cli(job.config, {**env, "MNAAS_LOCK_URL": nothing, "MNAAS_RESULT_BACKEND": wrong}, "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    failed = lines(done, "FAIL")
    assert [line.split(":")[0] for line in failed] == ["FAIL MNAAS_RESULT_BACKEND", "FAIL MNAAS_LOCK_URL"], done.stdout
    assert "start Redis or fix MNAAS_LOCK_URL" in failed[1]
    assert "wrong-password" not in done.stdout + done.stderr


def test_smtp_down_fails(cluster):
    job, env, *_ = cluster
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run_cli(job.config, {**env, "MNAAS_SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=3"}, "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    [failed] = lines(done, "FAIL")
    assert failed.startswith(f"FAIL smtp smtp://127.0.0.1:{port}")
    assert "start the relay or fix MNAAS_SMTP_URL" in failed


def test_an_unwritable_path_fails(cluster, tmp_path):
    job, env, *_ = cluster
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a file where a directory should be: unwritable, even for root
    done = run_cli(job.config, {**env, "MNAAS_OUTBOX_DIR": str(blocker / "outbox")}, "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    [failed] = lines(done, "FAIL")
    assert failed.startswith(f"FAIL outbox: {blocker} (on the way to {blocker / 'outbox'}) is not a directory")
    assert "MNAAS_OUTBOX_DIR" in failed


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_report_directory_fails(cluster, tmp_path):
    job, env, *_ = cluster
    reports = tmp_path / "reports"
    reports.mkdir()
    reports.chmod(0o555)
    job_env = {**env, "MNAAS_OUTSTANDING_REPORT": str(reports / "outstanding.csv")}
    done = run_cli(job.config, job_env, "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    [failed] = lines(done, "FAIL")
    assert failed.startswith(f"FAIL report directory: {reports} is not writable by this user")


def test_workers_not_up_fail_their_queue_lines(cluster):
    job, env, redis, _ = cluster
    # The same Redis, a broker database no worker listens on.
    done = run_cli(job.config, {**env, "MNAAS_BROKER_URL": redis.url(5)}, "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    failed = lines(done, "FAIL")
    assert [line.split(":")[0] for line in failed] == ["FAIL queue mnaas-control", "FAIL queue mnaas-groups"]


def test_a_configuration_error_is_exit_2(cluster):
    job, env, *_ = cluster
    done = run_cli(job.config, {**env, "MNAAS_GROUP_SIZE": "many"}, "doctor")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.startswith("FAIL configuration: MNAAS_GROUP_SIZE: expected an integer")


@pytest.mark.redis
def test_sentinels_find_the_master_or_say_which_name_they_do_not_know(tmp_path):
    from tests.helpers.sentinelproc import MASTER_NAME, SentinelCluster

    job = small_duckdb_job(tmp_path, DAY)
    with SentinelCluster() as sentinels:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
        env.update(
            MNAAS_LOCK_URL=sentinels.url(2),
            MNAAS_SENTINEL_MASTER=MASTER_NAME,
            MNAAS_SENTINEL_PASSWORD=sentinels.sentinel_password,
        )
        done = run_cli(job.config, env, "doctor")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ok   MNAAS_LOCK_URL: answers (sentinel://" in done.stdout
        assert f"ok   MNAAS_LOCK_URL sentinels: master '{MASTER_NAME}' can fail over" in done.stdout
        done = run_cli(job.config, {**env, "MNAAS_SENTINEL_MASTER": "nosuchmaster"}, "doctor")
        assert done.returncode == 1, done.stdout + done.stderr
        [failed] = lines(done, "FAIL")
        assert failed.startswith("FAIL MNAAS_LOCK_URL: the sentinels at ")
        assert "know no master named 'nosuchmaster'" in failed
        assert sentinels.password not in done.stdout + done.stderr
