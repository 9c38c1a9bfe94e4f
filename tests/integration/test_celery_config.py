"""celeryconfig: the Celery settings the product relies on, where they come from, and the
refusal of a worker or beat without a usable job configuration."""

from __future__ import annotations

import datetime as dt
import subprocess
import zoneinfo

import pytest
from celery import Celery

import celeryconfig
from mnaas_missing_files.core.errors import ConfigError
from tasks import CATCH_UP, CHECK_GROUP, FINALIZE_RUN, RUN_FAILED, START_RUN, SWEEP_LOST_RUNS, TASK_NAMES
from tests.helpers.celeryproc import CELERY, REPO
from tests.helpers.jobconfig import make_job
from tests.helpers.settings import settings_for_tests


def _app(conf: dict) -> Celery:
    app = Celery("config-test", set_as_current=False)
    app.conf.update(conf)
    return app


def test_json_only_late_acks_bounded_prefetch_and_limits_below_the_visibility_timeout(tmp_path):
    conf = celeryconfig.celery_settings(
        settings_for_tests(conf_path=tmp_path, group_time_limit=100, visibility_timeout=500)
    )
    assert conf["task_serializer"] == conf["result_serializer"] == conf["event_serializer"] == "json"
    assert conf["accept_content"] == conf["result_accept_content"] == ["json"]
    assert conf["task_acks_late"] is True and conf["task_reject_on_worker_lost"] is True
    assert conf["worker_prefetch_multiplier"] == 1
    assert (conf["task_soft_time_limit"], conf["task_time_limit"]) == (90, 100)
    assert conf["broker_transport_options"]["visibility_timeout"] == 500
    assert conf["result_expires"] >= 3 * 24 * 3600
    assert conf["worker_send_task_events"] is True and conf["task_send_sent_event"] is True


def test_group_tasks_route_only_to_the_groups_queue_and_the_rest_to_control(tmp_path):
    app = _app(celeryconfig.celery_settings(settings_for_tests(conf_path=tmp_path)))
    route = app.amqp.router.route
    assert route({}, CHECK_GROUP)["queue"].name == "mnaas-groups"
    for name in (START_RUN, FINALIZE_RUN, RUN_FAILED, SWEEP_LOST_RUNS, CATCH_UP, "celery.chord_unlock"):
        assert route({}, name)["queue"].name == "mnaas-control"
    assert [q.name for q in app.conf.task_queues] == ["mnaas-control", "mnaas-groups"]
    assert len(set(TASK_NAMES)) == 6


def test_the_environment_wins_over_the_properties_file_and_defaults_fill_the_rest(tmp_path):
    job = make_job(
        tmp_path / "job",
        {
            "MNAAS_WAREHOUSE_URL": "impala://impala-lb.example.net:21050",
            "MNAAS_BROKER_URL": "redis://file-host:6379/5",
            "MNAAS_GROUP_TIME_LIMIT": "120",
        },
    )
    environ = {"MNAAS_CONFIG": str(job.config), "MNAAS_BROKER_URL": "amqp://env-host//"}

    from_env = celeryconfig.celery_settings(celeryconfig.job_settings(environ), environ)
    from_file = celeryconfig.celery_settings(celeryconfig.job_settings({"MNAAS_CONFIG": str(job.config)}))
    nothing = celeryconfig.celery_settings(celeryconfig.job_settings({}), {})

    assert from_env["broker_url"] == "amqp://env-host//"
    assert from_file["broker_url"] == "redis://file-host:6379/5"
    assert from_env["task_time_limit"] == from_file["task_time_limit"] == 120
    assert from_env["result_backend"] == celeryconfig.DEFAULT_RESULT_BACKEND == "redis://127.0.0.1:6379/1"
    assert nothing["broker_url"] == celeryconfig.DEFAULT_BROKER_URL == "redis://127.0.0.1:6379/0"
    assert nothing["task_time_limit"] == 900


def test_a_visibility_timeout_not_above_the_time_limit_is_refused():
    with pytest.raises(ConfigError, match="MNAAS_VISIBILITY_TIMEOUT"):
        celeryconfig.celery_settings(None, {"MNAAS_GROUP_TIME_LIMIT": "600", "MNAAS_VISIBILITY_TIMEOUT": "600"})


def test_beat_runs_the_daily_schedule_in_the_job_zone_across_a_dst_change(tmp_path):
    settings = settings_for_tests(conf_path=tmp_path, schedule="30 6 * * *", timezone="Europe/Berlin")
    conf = celeryconfig.celery_settings(settings)
    entry = conf["beat_schedule"][celeryconfig.DAILY_ENTRY]
    assert (entry["task"], entry["kwargs"], entry["options"]["queue"]) == (CATCH_UP, {"tick": True}, "mnaas-control")
    assert conf["timezone"] == "Europe/Berlin"
    schedule = entry["schedule"]
    schedule.app = _app(conf)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    # Clocks go forward on 2026-03-29 at 02:00: the next run is still 06:30 on the wall clock.
    now = dt.datetime(2026, 3, 28, 7, 0, tzinfo=berlin)
    schedule.nowfun = lambda: now
    wait = schedule.remaining_estimate(dt.datetime(2026, 3, 28, 6, 30, tzinfo=berlin))
    fires = (now.astimezone(dt.UTC) + wait).astimezone(berlin)
    assert fires == dt.datetime(2026, 3, 29, 6, 30, tzinfo=berlin)
    assert wait == dt.timedelta(hours=22, minutes=30)  # a 23-hour day


def test_beat_sends_the_sweep_for_lost_runs_every_sweep_interval_to_the_control_queue(tmp_path):
    conf = celeryconfig.celery_settings(settings_for_tests(conf_path=tmp_path, sweep_interval=45))
    entry = conf["beat_schedule"][celeryconfig.SWEEP_ENTRY]
    assert (entry["task"], entry["schedule"], entry["options"]) == (
        SWEEP_LOST_RUNS,
        45.0,
        {"queue": "mnaas-control", "expires": 45.0},
    )
    default = celeryconfig.celery_settings(None, {})["beat_schedule"][celeryconfig.SWEEP_ENTRY]
    assert default["schedule"] == 300.0


def _start(role: str, environ: dict[str, str], workdir) -> subprocess.CompletedProcess:
    # cwd is the test's directory: beat writes its state file there before it refuses.
    return subprocess.run(
        [CELERY, "-A", "workers.app", role, "--loglevel=WARNING"],
        cwd=workdir,
        env={**environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_worker_without_a_job_configuration_refuses_to_start(tmp_path):
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    base["MNAAS_BROKER_URL"] = "redis://127.0.0.1:1/0"  # never reached: it stops before

    worker = _start("worker", base, tmp_path)
    broken = tmp_path / "broken.properties"
    broken.write_text("MNAASConfPath=/tmp\nprocess_list=(traffic\n")
    beat = _start("beat", {**base, "MNAAS_CONFIG": str(broken)}, tmp_path)

    assert worker.returncode == 2
    assert "MNAAS_CONFIG is not set" in worker.stderr
    assert beat.returncode == 2
    assert f"{broken}:2" in beat.stdout + beat.stderr
