"""docker-compose.sentinel.yml (contract §12): checked by parsing it on top of
docker-compose.yml (Docker does not run here), and by running its services' commands as plain
processes: the base file's redis as the master, the replica, three sentinels from the one
sentinel command, and the workers with the file's sentinel URLs; a submitted run completes."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
import yaml

from tests.helpers.celeryjob import DAY, CeleryJob
from tests.helpers.celeryproc import REPO, Proc, celery_env, run_cli, wait_until
from tests.helpers.redisproc import free_port
from tests.integration.test_celery_compose import _healthcheck, _replace

BASE = REPO / "docker-compose.yml"
SENTINEL = REPO / "docker-compose.sentinel.yml"
CELERY_SERVICES = ("worker", "control-worker", "beat", "flower")


@pytest.fixture(scope="module")
def files() -> tuple[dict, dict]:
    return yaml.safe_load(BASE.read_text()), yaml.safe_load(SENTINEL.read_text())


def test_the_sentinel_file_adds_a_replica_three_sentinels_and_points_every_celery_service_at_them(files):
    base, sentinel = files
    services = sentinel["services"]
    assert set(services) == {"redis-replica", "sentinel-1", "sentinel-2", "sentinel-3", *CELERY_SERVICES}
    assert set(CELERY_SERVICES) <= set(base["services"])  # it only overrides the base's services
    replica = services["redis-replica"]["command"]
    assert replica[replica.index("--replicaof") + 1 : replica.index("--replicaof") + 3] == ["redis", "6379"]
    assert replica[replica.index("--appendonly") + 1] == "yes"
    commands = {services[f"sentinel-{n}"]["command"][-1] for n in (1, 2, 3)}
    [script] = commands  # one sentinel configuration, three sentinels
    assert "sentinel monitor mnaas redis 6379 2" in script and "--sentinel" in script
    for name, service in services.items():
        if name.startswith(("sentinel", "redis")):
            assert service["healthcheck"]["test"], f"{name} has no health check"
    for name in CELERY_SERVICES:
        env = services[name]["environment"]
        for key in ("MNAAS_BROKER_URL", "MNAAS_RESULT_BACKEND", "MNAAS_LOCK_URL"):
            assert env[key].count("sentinel://") == 3, (name, key)
        assert env["MNAAS_SENTINEL_MASTER"] == "mnaas"
        assert {f"sentinel-{n}" for n in (1, 2, 3)} <= set(services[name]["depends_on"])


@pytest.mark.redis
@pytest.mark.slow
def test_the_sentinel_services_commands_run_as_plain_processes_and_a_run_completes(files, tmp_path):
    base, sentinel = files
    logs = tmp_path / "logs"
    master_port, replica_port = free_port(), free_port()
    sentinel_ports = [free_port() for _ in range(3)]
    to_master = {"redis 6379": f"127.0.0.1 {master_port}"}
    processes: list[Proc] = []

    def start(name: str, command: list[str], env=None) -> Proc:
        processes.append(Proc(name, command, env or dict(os.environ), logs).start())
        return processes[-1]

    try:
        start(
            "redis",
            [
                *base["services"]["redis"]["command"],
                "--port",
                str(master_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(tmp_path),
            ],
        )
        replica_dir = tmp_path / "replica"
        replica_dir.mkdir()
        # `--replicaof redis 6379`: the compose host and port of the master are whole arguments
        replica = [
            {"redis": "127.0.0.1", "6379": str(master_port)}.get(part, part)
            for part in sentinel["services"]["redis-replica"]["command"]
        ]
        start(
            "redis-replica", [*replica, "--port", str(replica_port), "--bind", "127.0.0.1", "--dir", str(replica_dir)]
        )
        replica_health = sentinel["services"]["redis-replica"]["healthcheck"]["test"][1]
        wait_until(
            lambda: (
                subprocess.run(
                    ["bash", "-c", replica_health.replace("redis-cli", f"redis-cli -p {replica_port}")],
                    capture_output=True,
                ).returncode
                == 0
            ),
            what="the replica to sync",
        )
        for number, port in enumerate(sentinel_ports, 1):
            service = sentinel["services"][f"sentinel-{number}"]
            mine = {
                **to_master,
                "port 26379": f"port {port}\nbind 127.0.0.1",
                "/tmp/sentinel.conf": str(tmp_path / f"sentinel-{number}.conf"),
            }
            start(f"sentinel-{number}", [_replace(part, mine) for part in service["command"]])
        for number, port in enumerate(sentinel_ports, 1):
            service = sentinel["services"][f"sentinel-{number}"]
            wait_until(
                lambda s=service, p=port: _healthcheck(s, {"-p 26379": f"-p {p}"}, dict(os.environ)) == 0,
                what=f"sentinel-{number} to be healthy",
            )

        job = CeleryJob.build(tmp_path / "job")
        urls = {f"sentinel-{n}:26379": f"127.0.0.1:{port}" for n, port in enumerate(sentinel_ports, 1)}
        fake = type("R", (), {"url": staticmethod(lambda db=0: "")})
        env = celery_env(fake, job.config, HOSTNAME=socket.gethostname())
        for key, value in sentinel["services"]["worker"]["environment"].items():
            env[key] = _replace(str(value), urls)
        workers = [start(name, list(base["services"][name]["command"]), env) for name in ("worker", "control-worker")]
        for worker in workers:
            worker.wait_for_log(" ready.")
        result = run_cli(job.config, env, "submit", "--date", DAY.isoformat(), "--wait")
    finally:
        for process in reversed(processes):
            process.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sentinel://127.0.0.1:" in workers[0].log()  # the banner's transport: the sentinels
    assert "Task mnaas.check_group[" in workers[0].log()
    assert "Task mnaas.finalize_run[" in workers[1].log()
    assert len(job.emails("report")) == 1
    want_csv, want_txt = job.expected()
    assert job.reports() == (want_csv.encode(), want_txt.encode())
