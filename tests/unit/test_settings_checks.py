"""The checks across settings (validation.validate): each refusal names its key and the
file:line or the environment that set it."""

import datetime as dt

import pytest

from mnaas_missing_files.config.settings import load_settings
from mnaas_missing_files.core.errors import ConfigError
from tests.helpers.jobconfig import make_job

DAY = dt.date(2026, 11, 24)


@pytest.fixture
def job(tmp_path):
    import duckdb

    warehouse = tmp_path / "wh.duckdb"
    duckdb.connect(str(warehouse)).close()
    return make_job(tmp_path / "job", {"MNAAS_WAREHOUSE_URL": f"duckdb:///{warehouse}"})


def refusal(job, lines=(), environ=None) -> ConfigError:
    text = job.config.read_text().rstrip("\n").splitlines() + list(lines)
    job.config.write_text("\n".join(text) + "\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(job.config, day=DAY, environ=environ or {})
    return raised.value


def last_line(job) -> str:
    return f"{job.config}:{len(job.config.read_text().splitlines())}"


def test_no_customers_at_all_is_refused(job):
    error = refusal(job, ["customer_names=()", "infonova_customer_names=()"])
    assert error.key == "customer_names" and "no customers configured" in str(error)


def test_recipients_that_are_only_separators_are_refused_where_they_are_set(job):
    error = refusal(job, ["MOVE_DEV_TEAM=', ;'"])
    assert (error.key, error.where) == ("MOVE_DEV_TEAM", last_line(job))
    assert str(error).startswith("MOVE_DEV_TEAM: no report recipients")


def test_a_visibility_timeout_within_the_task_limit_is_refused(job):
    error = refusal(job, ["MNAAS_GROUP_TIME_LIMIT=600", "MNAAS_VISIBILITY_TIMEOUT=600"])
    assert (error.key, error.where) == ("MNAAS_VISIBILITY_TIMEOUT", last_line(job))
    assert "must exceed MNAAS_GROUP_TIME_LIMIT (600 s)" in str(error)


def test_a_broker_url_of_another_scheme_is_refused(job):
    error = refusal(job, environ={"MNAAS_BROKER_URL": "kafka://broker:9092"})
    assert (error.key, error.where) == ("MNAAS_BROKER_URL", "environment")
    assert "expected redis:// or rediss:// or sentinel:// or amqp://" in str(error)


def test_a_relay_url_with_an_unknown_option_is_refused_naming_the_relay_key(job):
    error = refusal(job, ["MNAAS_SMTP_URL='smtp://relay:25?colour=red'"])
    assert (error.key, error.where) == ("MNAAS_SMTP_URL", last_line(job))


def test_an_impala_url_with_a_bad_option_is_refused_where_it_is_set(job):
    error = refusal(job, environ={"MNAAS_WAREHOUSE_URL": "impala://impala-lb:21050?use_ssl=maybe"})
    assert (error.key, error.where) == ("MNAAS_WAREHOUSE_URL", "environment")
    assert "use_ssl must be 1 or 0" in str(error)
