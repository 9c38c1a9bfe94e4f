"""A throw-away Redis Sentinel deployment on loopback for the failover tests: a master, one
replica and three sentinels (`redis-server FILE --sentinel`) on free ports in a temp dir,
with short detection and failover times so that a promotion takes a few seconds.

    with SentinelCluster() as sc:
        sc.url(2)                  # "sentinel://:pw@127.0.0.1:p1/2;sentinel://127.0.0.1:p2/2;…"
        sc.kill_master()           # SIGKILL
        sc.wait_promoted()         # seconds until every sentinel names the replica
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.helpers.redisproc import RedisServer, free_port

MASTER_NAME = "mnaas"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000
READY_TIMEOUT = 30.0


class SentinelCluster:
    def __init__(
        self,
        password: str = "redis-pw-9f2c",
        sentinel_password: str = "sentinel-pw-4b7e",
        master_name: str = MASTER_NAME,
    ):
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed; the Sentinel tests need it")
        self.password = password
        self.sentinel_password = sentinel_password
        self.master_name = master_name
        self.dir = Path(tempfile.mkdtemp(prefix="mnaas-sentinel-"))
        self.master = RedisServer(password=password)
        self.replica: RedisServer | None = None
        self.sentinel_ports: list[int] = []
        self.sentinels: list[subprocess.Popen] = []

    # --- start ---------------------------------------------------------------------------

    def start(self) -> SentinelCluster:
        self.master.start()
        self.replica = RedisServer(
            password=self.password,
            extra_args=("--replicaof", "127.0.0.1", str(self.master.port), "--masterauth", self.password),
        ).start()
        self._wait(
            lambda: (
                self.master.client().info("replication").get("connected_slaves") == 1
                and self.replica.client().info("replication").get("master_link_status") == "up"
            ),
            "the replica to sync with the master",
        )
        for number in range(3):
            self._start_sentinel(number)
        self._wait(self._sentinels_agree, "three sentinels that see the replica and each other")
        return self

    def _start_sentinel(self, number: int) -> None:
        port = free_port()
        config = self.dir / f"sentinel-{number}.conf"  # sentinel rewrites it: its own file
        config.write_text(
            "\n".join(
                [
                    f"port {port}",
                    "bind 127.0.0.1",
                    "daemonize no",
                    f"dir {self.dir}",
                    f"logfile {self.dir / f'sentinel-{number}.log'}",
                    f"sentinel monitor {self.master_name} 127.0.0.1 {self.master.port} 2",
                    f"sentinel down-after-milliseconds {self.master_name} {DOWN_AFTER_MS}",
                    f"sentinel failover-timeout {self.master_name} {FAILOVER_TIMEOUT_MS}",
                    f"sentinel parallel-syncs {self.master_name} 1",
                    f"sentinel auth-pass {self.master_name} {self.password}",
                    f"requirepass {self.sentinel_password}",
                    "",
                ]
            )
        )
        self.sentinel_ports.append(port)
        self.sentinels.append(
            subprocess.Popen(
                ["redis-server", str(config), "--sentinel"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def sentinel_client(self, port: int) -> redis.Redis:
        return redis.Redis(
            port=port,
            password=self.sentinel_password,
            socket_timeout=1,
            socket_connect_timeout=1,
            decode_responses=True,
        )

    def _sentinels_agree(self) -> bool:
        try:
            for port in self.sentinel_ports:
                state = self.sentinel_client(port).sentinel_master(self.master_name)
                if int(state["num-slaves"]) != 1 or int(state["num-other-sentinels"]) != 2:
                    return False
            return True
        except redis.exceptions.RedisError:
            return False

    @staticmethod
    def _wait(predicate, what: str, timeout: float = READY_TIMEOUT) -> float:
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.05)
        return time.monotonic() - started

    # --- use -----------------------------------------------------------------------------

    def url(self, db: int = 0, password: str | None = None) -> str:
        """Kombu's form: the Redis password on the first URL, which also carries the db."""
        password = self.password if password is None else password
        first, *others = self.sentinel_ports
        return ";".join(
            [
                f"sentinel://:{password}@127.0.0.1:{first}/{db}",
                *(f"sentinel://127.0.0.1:{port}/{db}" for port in others),
            ]
        )

    def master_port(self) -> int:
        """The master as the first sentinel names it now."""
        _, port = self.sentinel_client(self.sentinel_ports[0]).sentinel_get_master_addr_by_name(self.master_name)
        return int(port)

    def kill_master(self) -> float:
        """SIGKILL the master (no goodbye, as when its host dies); the monotonic time of it."""
        self.master.kill()
        return time.monotonic()

    def wait_promoted(self, timeout: float = 30.0) -> float:
        """Seconds until every sentinel names the replica as master and it answers as one."""
        assert self.replica is not None

        def promoted() -> bool:
            try:
                return (
                    all(
                        int(self.sentinel_client(p).sentinel_get_master_addr_by_name(self.master_name)[1])
                        == self.replica.port
                        for p in self.sentinel_ports
                    )
                    and self.replica.client().info("replication")["role"] == "master"
                )
            except (redis.exceptions.RedisError, TypeError):
                return False

        return self._wait(promoted, "the sentinels to promote the replica", timeout)

    # --- stop ----------------------------------------------------------------------------

    def close(self) -> None:
        for process in self.sentinels:
            process.kill()
            process.wait(10)
        self.sentinels.clear()
        for server in (self.master, self.replica):
            if server is not None:
                server.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> SentinelCluster:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc_info) -> None:
        self.close()
