"""Settings: validation before anything runs, environment over file, secrets never shown."""

import datetime as dt
import os
import subprocess
import sys

import pytest

from mnaas_missing_files.config.options import OPTIONS_BY_KEY, convert
from mnaas_missing_files.config.settings import default_day, load_settings
from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.secrets import mask_secrets
from tests.helpers.jobconfig import make_job
from tests.helpers.settings import settings_for_tests

DAY = dt.date(2026, 11, 24)


def check_config(job, env=None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    clean.update(env or {})
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mnaas_missing_files.cli.main",
            "check-config",
            "--config",
            str(job.config),
            "--date",
            DAY.isoformat(),
        ],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
    )


@pytest.fixture
def duckdb_file(tmp_path):
    path = tmp_path / "wh.duckdb"
    import duckdb

    duckdb.connect(str(path)).close()
    return path


def test_examples_load_with_legacy_values(tmp_path, duckdb_file):
    job = make_job(tmp_path, {"MNAAS_WAREHOUSE_URL": f"duckdb:///{duckdb_file}"})
    s = load_settings(job.config, day=DAY, environ={})
    assert s.processes == ("traffic", "actives", "activations", "tolling")
    assert s.customers == ("eLUX", "MyRep", "JLR", "Uber_soft_SIM", "Sky Roam")
    assert s.infonova_customers == ("INFONOVA_CHT", "INFONOVA_VF")
    assert s.mail_to == ("move-dev@example.com", "move-ops@example.com")
    assert s.mail_cc == ("move-lead@example.com",)
    assert s.sdp_to == ("sdp-tickets@example.com",) and s.sdp_from == "hdfs@edge1.example.net"
    assert s.txt_path == job.conf_dir / "Missing_Customer_Files" / "Missing_Customer_Files_2026-11-24.txt"
    assert s.csv_path == job.conf_dir / "Missing_Customer_Files" / "Missing_Customer_Files_Report_2026-11-24.csv"
    assert s.outbox_dir == job.conf_dir / "Missing_Customer_Files" / "outbox"
    assert s.status_file == job.status_file
    assert (s.query_attempts, s.retry_backoff, s.group_size, s.report_mode) == (4, 2.0, 1000, 0o640)
    assert [s.retry_delay(n) for n in (1, 2, 3, 4, 5, 6)] == [2, 4, 8, 16, 30, 30]


def test_a_duckdb_url_may_bound_the_engine(tmp_path, duckdb_file):
    job = make_job(tmp_path, {"MNAAS_WAREHOUSE_URL": f"'duckdb:///{duckdb_file}?memory_limit=200MB&threads=2'"})
    s = load_settings(job.config, day=DAY, environ={})
    assert s.warehouse_url == f"duckdb:///{duckdb_file}?memory_limit=200MB&threads=2"


def test_default_warehouse_is_impala_from_legacy_host_and_port(tmp_path):
    job = make_job(tmp_path)
    s = load_settings(job.config, day=DAY, environ={})
    assert s.warehouse_url == "impala://impala-lb.example.net:21050"


def test_environment_wins_over_the_file(tmp_path, duckdb_file):
    job = make_job(tmp_path, {"MNAAS_WAREHOUSE_URL": f"duckdb:///{duckdb_file}", "MNAAS_GROUP_SIZE": "5"})
    s = load_settings(job.config, day=DAY, environ={"MNAAS_GROUP_SIZE": "7"})
    assert s.group_size == 7 and s.sources["MNAAS_GROUP_SIZE"] == "environment"
    s = load_settings(job.config, day=DAY, environ={"MNAAS_GROUP_SIZE": "7"}, ignore_env=True)
    assert s.group_size == 5 and s.sources["MNAAS_GROUP_SIZE"].endswith(f"{job.config.name}:19")


def test_a_lock_ttl_not_above_the_group_time_limit_is_warned_about(tmp_path, duckdb_file):
    job = make_job(
        tmp_path, {"MNAAS_WAREHOUSE_URL": f"duckdb:///{duckdb_file}", "MNAAS_LOCK_URL": "redis://127.0.0.1:1/2"}
    )
    assert load_settings(job.config, day=DAY, environ={}).warnings == ()  # 1800 s over 900 s
    short = load_settings(job.config, day=DAY, environ={"MNAAS_LOCK_TTL": "600", "MNAAS_GROUP_TIME_LIMIT": "600"})
    assert short.warnings == (
        "MNAAS_LOCK_TTL (600 s) does not exceed MNAAS_GROUP_TIME_LIMIT (600 s): on "
        "the cluster, a run whose slowest group takes longer than the TTL lets its "
        "lock lapse, and the sweeper may report it lost",
    )
    result = check_config(job, {"MNAAS_LOCK_TTL": "60"})
    assert result.returncode == 0 and "warning: MNAAS_LOCK_TTL (60 s) does not exceed" in result.stdout


@pytest.mark.parametrize(
    "line, key",
    [
        ("MNAAS_GROUP_SIZE=abc", "MNAAS_GROUP_SIZE"),
        ("MNAAS_GROUP_SIZE=0", "MNAAS_GROUP_SIZE"),
        ("MNAAS_REPORT_MODE=0666", "MNAAS_REPORT_MODE"),
        ("MNAAS_SCHEDULE='every day'", "MNAAS_SCHEDULE"),
        ("MNAAS_TIMEZONE=Mars/Olympus", "MNAAS_TIMEZONE"),
        ("MNAAS_KPI_TABLE='kpi; DROP TABLE x'", "MNAAS_KPI_TABLE"),
        ("process_list=()", "process_list"),
        ("MNAAS_WAREHOUSE_URL=duckdb:////nonexistent/wh.duckdb", "MNAAS_WAREHOUSE_URL"),
        ("MNAAS_WAREHOUSE_URL=postgres://x", "MNAAS_WAREHOUSE_URL"),
        ("MNAAS_WAREHOUSE_URL='duckdb:////tmp/wh.duckdb?memory_limit=plenty'", "MNAAS_WAREHOUSE_URL"),
    ],
)
def test_invalid_values_are_rejected_naming_key_and_file_line(tmp_path, line, key):
    job = make_job(tmp_path)
    lines = job.config.read_text().splitlines() + [line]
    job.config.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(job.config, day=DAY, environ={})
    assert key in str(caught.value)
    assert f"{job.config}:{len(lines)}" in str(caught.value)


def test_missing_required_key_is_named(tmp_path):
    job = make_job(tmp_path)
    job.config.write_text(job.config.read_text().replace("mail_from=", "#mail_from="))
    with pytest.raises(ConfigError, match="mail_from"):
        load_settings(job.config, day=DAY, environ={})


def test_check_config_prints_settings_with_secrets_masked(tmp_path, duckdb_file):
    job = make_job(tmp_path, {"MNAAS_WAREHOUSE_URL": f"duckdb:///{duckdb_file}"})
    result = check_config(
        job,
        {
            "MNAAS_SMTP_URL": "smtp://relay:S3cretPw@mail.example.net:25?starttls=1",
            "MNAAS_LOCK_URL": "redis://:R3disPw@127.0.0.1:6379/2",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "S3cretPw" not in result.stdout + result.stderr
    assert "R3disPw" not in result.stdout + result.stderr
    assert "smtp://relay:***@mail.example.net:25" in result.stdout
    # 4 processes x 7 customers, 4 workers, at most 1,000 customers a batch: 4 batches.
    assert "-> 4 group tasks for run, 4 for submit (2 queries each)" in result.stdout
    assert "MNAAS_SMTP_URL" in result.stdout and "[environment]" in result.stdout


def test_check_config_exit_2_without_password_in_the_error(tmp_path):
    job = make_job(tmp_path, {"MNAAS_WAREHOUSE_URL": "mysql://admin:Hunter2Pw@db:3306"})
    result = check_config(job)
    assert result.returncode == 2
    assert "MNAAS_WAREHOUSE_URL" in result.stderr and "Hunter2Pw" not in result.stderr


def test_check_config_without_a_config_file_is_a_usage_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mnaas_missing_files.cli.main", "check-config"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "MNAAS_CONFIG"},
    )
    assert result.returncode == 2 and "--config" in result.stderr


def test_mask_secrets():
    assert mask_secrets("amqp://guest:gu3st@h:5672//") == "amqp://guest:***@h:5672//"
    assert mask_secrets("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert mask_secrets("impala://h:1?password=abc&x=1") == "impala://h:1?password=***&x=1"
    assert mask_secrets("no secret here") == "no secret here"


def test_default_day_is_yesterday_in_the_job_zone():
    now = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.UTC)
    assert default_day("UTC", now) == dt.date(2026, 11, 24)
    assert default_day("Asia/Tokyo", now) == dt.date(2026, 11, 25)  # already the 26th there


def test_for_tests_builds_a_complete_settings():
    s = settings_for_tests(group_size=3)
    assert s.group_size == 3 and s.kpi_table == "mnaas.kpi_measurement"


def test_timezone_from_the_file_sets_yesterday_and_the_log_date(tmp_path):
    job = make_job(tmp_path, {"MNAAS_TIMEZONE": "Asia/Tokyo"})
    now = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.UTC)  # 2026-11-26 08:30 in Tokyo
    s = load_settings(job.config, environ={}, now=now)
    assert s.day == dt.date(2026, 11, 25)
    assert s.log_path.name == "MNAAS_Missing_Customer_Files.log_2026-11-26"
    assert s.txt_path.name == "Missing_Customer_Files_2026-11-25.txt"


def test_a_malformed_smtp_url_is_a_configuration_error(tmp_path, duckdb_file):
    job = make_job(
        tmp_path,
        {
            "MNAAS_WAREHOUSE_URL": f"duckdb:///{duckdb_file}",
            "MNAAS_SMTP_URL": "smtps://u:Pw9secret@relay:465?starttls=1",
        },
    )
    result = check_config(job)
    assert result.returncode == 2
    assert "MNAAS_SMTP_URL" in result.stderr and "Pw9secret" not in result.stderr
    assert f"{job.config}:" in result.stderr


@pytest.mark.parametrize(
    "key, url",
    [
        ("MNAAS_LOCK_URL", "redis://:Pw9secret@[::1/0"),  # unclosed IPv6 bracket
        ("MNAAS_BROKER_URL", "redis://:Pw9secret@broker:63x9/0"),  # a port that is no number
        ("MNAAS_RESULT_BACKEND", "redis://:Pw9secret@h:70000/1"),  # a port out of range
        ("MNAAS_LOCK_URL", "redis://:Pw9secret@:6379/2"),  # no host
        ("MNAAS_SMTP_URL", "smtp://u:Pw9secret@[relay/"),
    ],
)
def test_a_malformed_url_is_exit_2_naming_the_key_without_the_password(tmp_path, duckdb_file, key, url):
    warehouse = {"MNAAS_WAREHOUSE_URL": f"duckdb:///{duckdb_file}"}
    from_env = make_job(tmp_path / "env", warehouse)
    from_file = make_job(tmp_path / "file", {**warehouse, key: url})
    for job, env, where in ((from_env, {key: url}, "at environment"), (from_file, None, f"at {from_file.config}:")):
        result = check_config(job, env)
        assert result.returncode == 2, result.stderr
        assert f"{key}: malformed URL" in result.stderr and where in result.stderr
        assert "Traceback" not in result.stderr and "Pw9secret" not in result.stderr + result.stdout


@pytest.mark.parametrize("raw, expected", [("9:05", "09:05"), ("23:59", "23:59"), ("", None)])
def test_the_deadline_is_a_time_of_day(raw, expected):
    assert convert(OPTIONS_BY_KEY["MNAAS_DEADLINE"], raw, "job.properties:3") == expected


@pytest.mark.parametrize("raw", ["24:00", "9", "09:60", "nine"])
def test_a_deadline_that_is_not_a_time_of_day_is_refused_naming_it(raw):
    with pytest.raises(ConfigError, match="MNAAS_DEADLINE: expected a time of day as HH:MM"):
        convert(OPTIONS_BY_KEY["MNAAS_DEADLINE"], raw, "job.properties:3")
