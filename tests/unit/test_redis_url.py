"""Sentinel URLs of the broker, the result backend and the lock (contract §12): parsed,
checked before anything runs (exit 2 naming the key), passwords never shown."""

import datetime as dt

import pytest

import celeryconfig
from mnaas_missing_files.config.redis_url import parse_sentinel_url
from mnaas_missing_files.config.settings import load_settings
from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.secrets import mask_secrets
from tests.helpers.jobconfig import make_job

DAY = dt.date(2026, 11, 24)
SENTINELS = "sentinel://:redis-pw-31@s1:26379/2;sentinel://s2:26380/5;sentinel://s3"


def test_a_sentinel_list_gives_hosts_and_the_first_urls_db_and_password():
    address = parse_sentinel_url(SENTINELS)
    assert address.sentinels == (("s1", 26379), ("s2", 26380), ("s3", 26379))
    assert (address.db, address.password) == (2, "redis-pw-31")
    assert "redis-pw-31" not in repr(address) and address.describe() == "s1:26379, s2:26380, s3:26379"


@pytest.mark.parametrize(
    "url, problem",
    [
        ("sentinel://s1:26379/0;redis://s2:6379/0", "every URL of a sentinel list must be sentinel://"),
        ("sentinel://s1:26379/0;;sentinel://s2", "an empty sentinel URL"),
        ("sentinel://:pw-secret-1@s1:notaport/0", "port is not a number"),
        ("sentinel://s1:26379/zero", "the database must be a number"),
        ("sentinel://s1:26379/0?master_name=m", "take no ?options"),
        ("sentinel://:pw-secret-1@/0", "without a host"),
    ],
)
def test_a_malformed_sentinel_list_names_the_key_and_not_the_password(url, problem):
    with pytest.raises(ConfigError) as raised:
        parse_sentinel_url(url, "MNAAS_BROKER_URL")
    assert problem in str(raised.value) and "MNAAS_BROKER_URL" in str(raised.value)
    assert "pw-secret-1" not in str(raised.value)


@pytest.fixture
def job(tmp_path):
    import duckdb

    warehouse = tmp_path / "wh.duckdb"
    duckdb.connect(str(warehouse)).close()
    return make_job(tmp_path / "job", {"MNAAS_WAREHOUSE_URL": f"duckdb:///{warehouse}"})


def test_sentinel_urls_need_a_master_name_exit_2(job):
    with pytest.raises(ConfigError) as raised:
        load_settings(job.config, day=DAY, environ={"MNAAS_RESULT_BACKEND": SENTINELS})
    assert raised.value.exit_code == 2 and raised.value.key == "MNAAS_SENTINEL_MASTER"
    assert "MNAAS_RESULT_BACKEND and MNAAS_LOCK_URL name Redis sentinels" in str(raised.value)
    assert "redis-pw-31" not in str(raised.value)


def test_a_bad_sentinel_lock_url_is_named_with_where_it_was_set(job):
    with pytest.raises(ConfigError) as raised:
        load_settings(
            job.config, day=DAY, environ={"MNAAS_LOCK_URL": "sentinel://s1:x/0", "MNAAS_SENTINEL_MASTER": "m"}
        )
    assert raised.value.key == "MNAAS_LOCK_URL" and raised.value.where == "environment"


def test_a_sentinel_result_backend_is_the_default_lock_and_the_password_is_masked(job):
    s = load_settings(
        job.config,
        day=DAY,
        environ={
            "MNAAS_RESULT_BACKEND": SENTINELS,
            "MNAAS_SENTINEL_MASTER": "mnaas",
            "MNAAS_SENTINEL_PASSWORD": "sentinel-pw-88",
        },
    )
    assert s.lock_url == SENTINELS
    shown = {key: value for key, value, _, _ in s.describe()}
    assert shown["MNAAS_SENTINEL_PASSWORD"] == "***" and shown["MNAAS_SENTINEL_MASTER"] == "mnaas"
    assert "redis-pw-31" not in shown["MNAAS_LOCK_URL"] and shown["MNAAS_LOCK_URL"].startswith("sentinel://:***@s1")
    assert mask_secrets("auth failed for sentinel-pw-88") == "auth failed for ***"


def test_celery_gets_the_master_name_and_the_sentinels_password_for_sentinel_urls(job):
    s = load_settings(
        job.config,
        day=DAY,
        environ={
            "MNAAS_BROKER_URL": SENTINELS,
            "MNAAS_RESULT_BACKEND": "redis://r:6379/1",
            "MNAAS_SENTINEL_MASTER": "mnaas",
            "MNAAS_SENTINEL_PASSWORD": "sentinel-pw-88",
        },
    )
    conf = celeryconfig.celery_settings(s)
    broker = conf["broker_transport_options"]
    assert broker["master_name"] == "mnaas" and broker["sentinel_kwargs"]["password"] == "sentinel-pw-88"
    assert broker["visibility_timeout"] == s.visibility_timeout
    assert conf["result_backend_transport_options"] == {}  # a plain Redis backend needs none
    plain = celeryconfig.celery_settings(load_settings(job.config, day=DAY, environ={}))
    assert "master_name" not in plain["broker_transport_options"]
