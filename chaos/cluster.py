"""The soak's cluster, real processes on loopback: a Redis master, a replica and three
sentinels; a control worker and two group workers (`celery -A workers.app worker -Q …`, as
operators start them); beat; the SMTP sink (smtpsink.py); the DuckDB warehouse file.

Each part can be hurt and healed by the nemesis (menu.py) and is brought back as an operator
would: a killed worker or beat is started again, a killed Redis node comes back empty as a
replica of the master the sentinels name now.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from mnaas_missing_files.state.redisconn import connect_redis
from tests.helpers.celeryproc import CELERY, REPO, Proc, celery_env, start_worker, stop_all
from tests.helpers.redisproc import RedisServer, free_port
from tests.helpers.sentinelproc import MASTER_NAME, SentinelCluster

log = logging.getLogger("chaos")

# Worker name -> the queues it consumes: one control worker, two group workers.
WORKERS = {"control": ["mnaas-control"], "groups-1": ["mnaas-groups"], "groups-2": ["mnaas-groups"]}
GROUP_WORKERS = ("groups-1", "groups-2")
HEAL_TIMEOUT = 60.0  # a failover, a resync or a worker start longer than this is a broken cluster


def wait_for(predicate, timeout: float, what: str) -> bool:
    """Poll `predicate` until true (True) or `timeout` seconds pass (False, logged)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (redis.exceptions.RedisError, OSError):
            pass
        time.sleep(0.2)
    log.warning("chaos: gave up after %.0f s waiting for %s", timeout, what)
    return False


class ChaosCluster:
    def __init__(self, root: Path, warehouse: Path):
        self.root = root
        self.logs = root / "logs"
        self.warehouse = warehouse
        self.sentinels = SentinelCluster()
        self.smtp_port = free_port()
        self.smtp: Proc | None = None
        self.workers: dict[str, Proc] = {}
        self.beat: Proc | None = None
        self.env: dict[str, str] = {}

    # --- the settings a job needs to use this cluster -------------------------------------

    def job_settings(self) -> dict[str, str]:
        return {
            "MNAAS_BROKER_URL": self.sentinels.url(0),
            "MNAAS_RESULT_BACKEND": self.sentinels.url(1),
            "MNAAS_LOCK_URL": self.sentinels.url(2),
            "MNAAS_SENTINEL_MASTER": MASTER_NAME,
            "MNAAS_SENTINEL_PASSWORD": self.sentinels.sentinel_password,
            "MNAAS_SMTP_URL": f"smtp://127.0.0.1:{self.smtp_port}",
        }

    def lock_client(self) -> redis.Redis:
        return connect_redis(
            self.sentinels.url(2),
            sentinel_master=MASTER_NAME,
            sentinel_password=self.sentinels.sentinel_password,
            decode_responses=True,
        )

    # --- start and stop -------------------------------------------------------------------

    def start_redis(self) -> None:
        # The master too must be able to authenticate to a master: once the sentinels have
        # turned it into a replica (after a SIGSTOP), it resyncs from the new one.
        self.sentinels.master.extra_args = ("--masterauth", self.sentinels.password)
        self.sentinels.start()

    def start_processes(self, config: Path) -> None:
        """Everything but Redis, once the job's properties file exists."""
        urls = type("Urls", (), {"url": staticmethod(self.sentinels.url)})
        self.env = celery_env(
            urls,
            config,
            MNAAS_SENTINEL_MASTER=MASTER_NAME,
            MNAAS_SENTINEL_PASSWORD=self.sentinels.sentinel_password,
        )
        self.smtp_up()
        for name in WORKERS:
            self.workers[name] = self._worker(name, wait=False)
        for worker in self.workers.values():
            worker.wait_for_log(" ready.", timeout=HEAL_TIMEOUT)
        self.beat = Proc(
            "beat",
            [CELERY, "-A", "workers.app", "beat", f"--schedule={self.root / 'beat-schedule'}", "--loglevel=INFO"],
            self.env,
            self.logs,
        ).start()

    def _worker(self, name: str, wait: bool = True) -> Proc:
        return start_worker(name, self.env, self.logs, queues=WORKERS[name], concurrency=2, wait=wait)

    def close(self) -> None:
        stop_all([*self.workers.values(), self.beat, self.smtp])
        self.sentinels.close()

    # --- workers and beat -----------------------------------------------------------------

    def restart_worker(self, name: str) -> None:
        """Start a stopped worker again under its name, as a supervisor would, until it is
        ready: one started during a warehouse outage refuses to start (exit 2, the DuckDB
        file does not exist) and is started again once the file is back."""
        worker = self.workers[name]
        deadline = time.monotonic() + 3 * HEAL_TIMEOUT
        while True:
            ready_before = worker.log().count(" ready.")
            worker.start()
            try:
                worker.wait_for_log(" ready.", timeout=HEAL_TIMEOUT, count=ready_before + 1)
                return
            except AssertionError:
                if worker.alive or time.monotonic() > deadline:
                    raise
                log.info("chaos: %s exited %s at start; starting it again", name, worker.process.returncode)
                time.sleep(2.0)

    def warm_shutdown(self, name: str) -> None:
        """SIGTERM: the worker finishes what it holds, then exits (a finalize that is riding
        out a mail outage may take its time); whatever is left after that is killed."""
        self.workers[name].stop(timeout=150.0)

    def restart_beat(self) -> None:
        """Beat refuses to start during a warehouse outage too: started again until it stays."""
        assert self.beat is not None
        deadline = time.monotonic() + 3 * HEAL_TIMEOUT
        self.beat.start()
        while time.monotonic() < deadline:
            time.sleep(5.0)
            if self.beat.alive:
                return
            log.info("chaos: beat exited %s at start; starting it again", self.beat.process.returncode)
            self.beat.start()

    # --- Redis ----------------------------------------------------------------------------

    def nodes(self) -> list[RedisServer]:
        assert self.sentinels.replica is not None
        return [self.sentinels.master, self.sentinels.replica]

    def master_node(self) -> RedisServer | None:
        """The node every sentinel names as master, if they agree and it says so itself."""
        try:
            ports = {
                int(self.sentinels.sentinel_client(p).sentinel_get_master_addr_by_name(MASTER_NAME)[1])
                for p in self.sentinels.sentinel_ports
            }
        except (redis.exceptions.RedisError, TypeError):
            return None
        if len(ports) != 1:
            return None
        [node] = [n for n in self.nodes() if n.port in ports] or [None]
        if node is None or not node.running:
            return None
        try:
            return node if node.client().info("replication")["role"] == "master" else None
        except redis.exceptions.RedisError:
            return None

    def replica_in_sync(self) -> bool:
        """A master the sentinels agree on, with a replica whose link is up and caught up."""
        master = self.master_node()
        if master is None:
            return False
        info = master.client().info("replication")
        replicas = [info[k] for k in info if k.startswith("slave") and isinstance(info[k], dict)]
        return any(
            r.get("state") == "online" and r.get("offset", -1) >= info["master_repl_offset"] - 1024 for r in replicas
        )

    def wait_healthy_redis(self) -> bool:
        return wait_for(self.replica_in_sync, HEAL_TIMEOUT, "a Redis master with a replica in sync")

    def rejoin_as_replica(self, node: RedisServer) -> None:
        """Bring a killed node back, empty, as a replica of the master of the moment."""
        master = None
        wait_for(lambda: (master := self.master_node()) is not None, HEAL_TIMEOUT, "the sentinels to name a master")
        master = self.master_node()
        if master is not None:
            node.extra_args = ("--replicaof", "127.0.0.1", str(master.port), "--masterauth", self.sentinels.password)
        node.start()
        wait_for(self.replica_in_sync, HEAL_TIMEOUT, f"Redis on port {node.port} to resync as a replica")

    @staticmethod
    def signal_node(node: RedisServer, sig: signal.Signals) -> None:
        if node.process is not None:
            os.kill(node.process.pid, sig)

    # --- SMTP and the warehouse -----------------------------------------------------------

    def smtp_up(self) -> None:
        self.smtp = Proc(
            "smtp",
            [sys.executable, "-m", "chaos.smtpsink", str(self.smtp_port), str(self.root / "smtp")],
            self.env,
            self.logs,
        ).start()
        self.smtp.wait_for_log("listening", timeout=HEAL_TIMEOUT)

    def smtp_down(self) -> None:
        if self.smtp is not None:
            self.smtp.kill()

    @property
    def _warehouse_away(self) -> Path:
        return self.warehouse.with_name(self.warehouse.name + ".away")

    def warehouse_down(self) -> None:
        """The file is gone from its path: a new connection cannot open it (an open one, held
        by a pool process since before, still reads it, as a session outlives a blip)."""
        self.warehouse.rename(self._warehouse_away)

    def warehouse_up(self) -> None:
        if self._warehouse_away.exists():
            self._warehouse_away.rename(self.warehouse)


def run_quietly(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)
