"""A worker's settings are parsed once per process (cluster/context.py, SettingsCache) and parsed
again as soon as anything they were read from changes: the job file, a file it sources, the
environment, the date. Real files on disk, the real parser; the clock is passed in where the
test needs another date."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from mnaas_missing_files.cluster.context import SettingsCache, settings_for
from tests.helpers.jobconfig import make_job

DAY = dt.date(2026, 11, 24)
SETTLE = 0.2  # the caches below trust files written this long before a parse
UTC = dt.UTC
NOON = dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def settled() -> None:
    time.sleep(SETTLE + 0.05)


@pytest.fixture
def job(tmp_path):
    job = make_job(
        tmp_path / "job", {"MNAAS_WAREHOUSE_URL": "impala://impala-lb.example.net:21050", "MNAAS_TIMEZONE": "UTC"}
    )
    settled()
    return job


def test_unchanged_files_give_the_same_settings_object_without_parsing_again(tmp_path):
    customers = " ".join(f"C{n:04d}" for n in range(2000))  # a production-sized job file
    job = make_job(
        tmp_path / "job",
        {"MNAAS_WAREHOUSE_URL": "impala://impala-lb.example.net:21050", "customer_names": f"({customers})"},
    )
    settled()
    cache = SettingsCache(settle_seconds=SETTLE)

    started = time.perf_counter()
    first = cache.get(job.config, day=DAY, environ={}, now=NOON)
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    again = [cache.get(job.config, day=DAY, environ={}, now=NOON + dt.timedelta(hours=h)) for h in range(1, 11)]
    cached_s = time.perf_counter() - started

    assert len(first.customers) == 2000
    assert first.files == (str(job.config), str(job.common))
    assert all(s is first for s in again)
    assert cached_s < parse_s  # ten look-ups cost less than one parse (stat calls, no parse)


def test_an_edit_of_a_sourced_file_is_seen_even_with_its_size_and_mtime_put_back(job):
    cache = SettingsCache(settle_seconds=SETTLE)
    before = cache.get(job.config, day=DAY, environ={}, now=NOON)
    assert before.env_mode == "PROD" and before.impala_host == "impala-lb.example.net"
    stamp = os.stat(job.common)

    job.common.write_text(job.common.read_text().replace("ENV_MODE=PROD", "ENV_MODE=TEST"))
    os.utime(job.common, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert (os.stat(job.common).st_size, os.stat(job.common).st_mtime_ns) == (stamp.st_size, stamp.st_mtime_ns)
    after = cache.get(job.config, day=DAY, environ={}, now=NOON)

    assert after.env_mode == "TEST"
    settled()
    assert cache.get(job.config, day=DAY, environ={}, now=NOON).env_mode == "TEST"


def test_an_edit_of_the_job_file_is_seen(job):
    cache = SettingsCache(settle_seconds=SETTLE)
    assert cache.get(job.config, day=DAY, environ={}, now=NOON).group_size != 7

    with open(job.config, "a") as handle:
        handle.write("MNAAS_GROUP_SIZE=7\n")

    assert cache.get(job.config, day=DAY, environ={}, now=NOON).group_size == 7


def test_a_changed_environment_is_seen(job):
    cache = SettingsCache(settle_seconds=SETTLE)
    first = cache.get(job.config, day=DAY, environ={}, now=NOON)

    overridden = cache.get(job.config, day=DAY, environ={"MNAAS_GROUP_SIZE": "3"}, now=NOON)
    # a variable the file expands ($MNAASLocalLogPath could come from anywhere) counts too
    unrelated = cache.get(job.config, day=DAY, environ={"MNAAS_GROUP_SIZE": "3", "LANG": "C"}, now=NOON)

    assert first.group_size != 3 and overridden.group_size == 3
    assert unrelated is not overridden and unrelated == overridden


def test_the_next_date_reads_the_file_again_for_the_log_name_and_the_default_day(job):
    cache = SettingsCache(settle_seconds=SETTLE)
    evening = dt.datetime(2026, 11, 25, 23, 59, 58, tzinfo=UTC)
    log_dir = job.root / "Logs"

    late = cache.get(job.config, day=None, environ={}, now=evening)
    same_day = cache.get(job.config, day=None, environ={}, now=evening.replace(hour=0, minute=5))
    next_day = cache.get(job.config, day=None, environ={}, now=evening + dt.timedelta(seconds=4))

    assert same_day is late
    assert late.day == dt.date(2026, 11, 24)  # yesterday in MNAAS_TIMEZONE
    assert late.log_path == log_dir / "MNAAS_Missing_Customer_Files.log_2026-11-25"
    assert next_day.day == dt.date(2026, 11, 25)
    assert next_day.log_path == log_dir / "MNAAS_Missing_Customer_Files.log_2026-11-26"


def test_files_written_just_before_a_parse_are_parsed_again_until_they_settle(tmp_path):
    job = make_job(tmp_path / "job", {"MNAAS_WAREHOUSE_URL": "impala://impala-lb.example.net:21050"})
    cache = SettingsCache()  # the production setting

    fresh = [cache.get(job.config, day=DAY, environ={}, now=NOON) for _ in range(2)]
    time.sleep(1.05)
    kept = [cache.get(job.config, day=DAY, environ={}, now=NOON) for _ in range(2)]

    assert fresh[0] is not fresh[1] and fresh[0] == fresh[1]
    assert kept[0] is kept[1] and kept[0] == fresh[0]


def test_settings_for_serves_a_task_from_the_process_cache(job, monkeypatch):
    for name in [k for k in os.environ if k.startswith("MNAAS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MNAAS_CONFIG", str(job.config))
    time.sleep(1.05)  # the production cache trusts files a second old

    cached = settings_for(DAY.isoformat())
    assert settings_for(DAY) is cached and cached.env_mode == "PROD"
    job.common.write_text(job.common.read_text().replace("ENV_MODE=PROD", "ENV_MODE=TEST"))
    assert settings_for(DAY).env_mode == "TEST"
