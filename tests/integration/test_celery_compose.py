"""docker-compose.yml: checked by parsing it (Docker does not run here), and its services'
commands started as plain processes against a real redis-server and a real SMTP server
standing in for the compose services `redis` and `mailcatcher`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest
import redis as redis_py
import yaml

from tests.helpers.celeryjob import DAY, CeleryJob
from tests.helpers.celeryproc import REPO, Proc, celery_env, run_cli, wait_until
from tests.helpers.redisproc import free_port
from tests.helpers.smtpd import SmtpServer

COMPOSE = REPO / "docker-compose.yml"
CELERY_SERVICES = ("worker", "control-worker", "beat", "flower")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_declares_redis_the_workers_one_beat_flower_and_a_mail_catcher(compose):
    services = compose["services"]
    assert set(services) == {"redis", "worker", "control-worker", "beat", "flower", "mailcatcher"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    redis_command = services["redis"]["command"]
    assert redis_command[0] == "redis-server"
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert redis_command[redis_command.index("--maxmemory-policy") + 1] == "noeviction"
    beats = [n for n, s in services.items() if "beat" in " ".join(map(str, s.get("command", [])))]
    assert beats == ["beat"] and services["beat"]["deploy"]["replicas"] == 1
    flower = services["flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH")
    assert not any("auth" in str(part) for part in flower["command"])  # never on a command line
    # /metrics and /healthcheck answer without auth: published on the host's loopback only;
    # the day's tasks survive a restart on a volume of their own
    assert flower["ports"] == ["127.0.0.1:5555:5555"]
    assert flower["environment"]["FLOWER_DB"] == "/var/lib/flower/flower.db"
    assert "flower-data:/var/lib/flower" in flower["volumes"] and "flower-data" in compose["volumes"]
    for name in CELERY_SERVICES:
        env = services[name]["environment"]
        assert env["MNAAS_BROKER_URL"].startswith("redis://redis:")
        assert env["MNAAS_RESULT_BACKEND"].startswith("redis://redis:")
        assert env["MNAAS_CONFIG"].startswith("${MNAAS_CONFIG")
        assert env["MNAAS_SMTP_URL"] == "smtp://mailcatcher:1025"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        script = REPO / services[name]["command"][0]
        text = script.read_text()
        assert os.access(script, os.X_OK), f"{script} is not executable"
        assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
        assert "exec celery -A workers.app" in text


def test_compose_file_is_valid_for_docker_compose_where_it_is_installed(tmp_path):
    if shutil.which("docker-compose"):
        command = ["docker-compose"]
    elif (
        shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        command = ["docker", "compose"]
    else:
        pytest.skip("docker compose is not installed here; the file is checked by parsing it")
    env = {
        **os.environ,
        "MNAAS_CONFIG": "/srv/job.properties",
        "MNAAS_JOB_DIR": str(tmp_path),
        "FLOWER_BASIC_AUTH": "ops:pw",
    }
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "--quiet"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def _service_env(service: dict, replacements: dict[str, str], base: dict[str, str]) -> dict[str, str]:
    """The service's environment as compose would set it, with the compose services' addresses
    and the host paths replaced by this test's."""
    env = dict(base)
    for key, value in service["environment"].items():
        value = str(value)
        for old, new in replacements.items():
            value = value.replace(old, new)
        env[key] = value
    return env


def _healthcheck(service: dict, replacements: dict[str, str], env: dict[str, str]) -> int:
    test = service["healthcheck"]["test"]
    if test[0] == "CMD-SHELL":
        command = ["bash", "-c", test[1].replace("$$", "$")]
    else:
        command = list(test[1:])
    command = [_replace(part, replacements) for part in command]
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, timeout=60).returncode


def _replace(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


@pytest.mark.redis
@pytest.mark.slow
def test_compose_commands_run_as_plain_processes_and_make_a_working_cluster(compose, tmp_path):
    services = compose["services"]
    logs = tmp_path / "logs"
    redis_port, flower_port = free_port(), free_port()
    # The compose redis command, with a port and a directory of this test's appended.
    redis_proc = Proc(
        "redis",
        [*services["redis"]["command"], "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", str(tmp_path)],
        dict(os.environ),
        logs,
    ).start()
    processes: dict[str, Proc] = {}
    with SmtpServer() as smtp:
        try:
            client = redis_py.Redis(port=redis_port, socket_timeout=2)
            wait_until(lambda: _ping(client), what="redis-server to start")
            assert client.config_get("appendonly")["appendonly"] == "yes"
            assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"

            job = CeleryJob.build(tmp_path / "job")
            (tmp_path / "flower").mkdir()  # the compose volume of Flower's database
            replacements = {
                "redis://redis:6379": f"redis://127.0.0.1:{redis_port}",
                "smtp://mailcatcher:1025": smtp.url(),
                "/tmp/celerybeat-schedule": str(tmp_path / "celerybeat-schedule"),
                "127.0.0.1:5555": f"127.0.0.1:{flower_port}",
                "/var/lib/flower": str(tmp_path / "flower"),
            }
            fake = type("R", (), {"url": staticmethod(lambda db=0: f"redis://127.0.0.1:{redis_port}/{db}")})
            base = celery_env(fake, job.config, HOSTNAME=socket.gethostname())
            for name in CELERY_SERVICES:
                env = _service_env(services[name], replacements, base)
                env["MNAAS_CONFIG"] = str(job.config)  # ${MNAAS_CONFIG:?...} in compose
                if name == "flower":
                    env.update(
                        FLOWER_BASIC_AUTH="ops:compose-test", FLOWER_PORT=str(flower_port), FLOWER_ADDRESS="127.0.0.1"
                    )
                processes[name] = Proc(name, list(services[name]["command"]), env, logs).start()
            processes["worker"].wait_for_log(" ready.")
            processes["control-worker"].wait_for_log(" ready.")
            processes["beat"].wait_for_log("beat: Starting")
            processes["flower"].wait_for_log("Connected to redis")

            for name in CELERY_SERVICES:
                code = _healthcheck(services[name], replacements, processes[name].env)
                assert code == 0, f"the health check of {name} failed:\n{processes[name].log()[-2000:]}"
            result = run_cli(job.config, processes["worker"].env, "submit", "--date", DAY.isoformat(), "--wait")
        finally:
            for process in processes.values():
                process.stop()
            redis_proc.stop()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Task mnaas.check_group[" in processes["worker"].log()
        assert "Task mnaas.finalize_run[" in processes["control-worker"].log()
        [report] = [m for m in smtp.messages if "Missing customer files" in m.parsed()["Subject"]]
        assert str(DAY) in report.parsed()["Subject"]
        assert job.emails() == []  # delivered through SMTP, not the outbox


def _ping(client) -> bool:
    try:
        return client.ping()
    except redis_py.exceptions.ConnectionError:
        return False
