"""The nemesis's menu of faults (contract §18), all in one place, and the seeded schedule.

Each fault is a kind, the seconds to wait before it, how long it lasts (an outage, or how long
a killed process stays down) and a number that picks its target. `schedule(seed, count)`
draws them all up front from `random.Random(seed)`: the same seed replays the same faults in
the same order with the same waits, durations and targets (the moments they land at in the
runs depend on how fast the machine is).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from chaos.cluster import GROUP_WORKERS, WORKERS, ChaosCluster, wait_for

log = logging.getLogger("chaos")

GAP_SECONDS = (1.0, 8.0)  # between one fault's start and the next one's


@dataclass(frozen=True)
class Fault:
    number: int
    kind: str
    wait: float  # seconds after the previous fault started
    duration: float  # outage length, or how long a killed process stays down
    pick: int  # chooses the worker, the pool process

    def describe(self) -> str:
        return f"fault {self.number}: {self.kind} ({self.duration:.0f} s, pick {self.pick})"

    def as_json(self) -> dict:
        return asdict(self)


def _pick(items, fault: Fault):
    return items[fault.pick % len(items)]


def kill_pool_process(c: ChaosCluster, f: Fault) -> bool:
    worker = c.workers[_pick(list(WORKERS), f)]
    pids = worker.pool_pids()
    if not pids:
        return False
    try:
        os.kill(_pick(sorted(pids), f), signal.SIGKILL)  # billiard starts a new one
    except ProcessLookupError:
        return False
    return True


def _kill_and_restart(c: ChaosCluster, name: str, f: Fault) -> bool:
    c.workers[name].kill()
    time.sleep(f.duration)
    c.restart_worker(name)
    return True


def kill_group_worker(c: ChaosCluster, f: Fault) -> bool:
    return _kill_and_restart(c, _pick(GROUP_WORKERS, f), f)


def kill_control_worker(c: ChaosCluster, f: Fault) -> bool:
    return _kill_and_restart(c, "control", f)


def term_worker(c: ChaosCluster, f: Fault) -> bool:
    name = _pick(list(WORKERS), f)
    c.warm_shutdown(name)
    time.sleep(f.duration)
    c.restart_worker(name)
    return True


def kill_redis_master(c: ChaosCluster, f: Fault) -> bool:
    if not c.wait_healthy_redis():
        return False
    master = c.master_node()
    if master is None:
        return False
    master.kill()
    wait_for(lambda: c.master_node() not in (None, master), 60.0, "the sentinels to promote the replica")
    time.sleep(f.duration)
    c.rejoin_as_replica(master)
    return True


def stop_redis_master(c: ChaosCluster, f: Fault) -> bool:
    """SIGSTOP for 5-20 s: the sentinels promote the replica meanwhile; SIGCONT wakes a stale
    master that still believes it is one until the sentinels turn it into a replica."""
    if not c.wait_healthy_redis():
        return False
    master = c.master_node()
    if master is None:
        return False
    c.signal_node(master, signal.SIGSTOP)
    try:
        time.sleep(f.duration)
    finally:
        c.signal_node(master, signal.SIGCONT)
    c.wait_healthy_redis()
    return True


def _outage(down: Callable[[], None], up: Callable[[], None], f: Fault) -> bool:
    down()
    try:
        time.sleep(f.duration)
    finally:
        up()
    return True


def smtp_down(c: ChaosCluster, f: Fault) -> bool:
    return _outage(c.smtp_down, c.smtp_up, f)


def warehouse_down(c: ChaosCluster, f: Fault) -> bool:
    return _outage(c.warehouse_down, c.warehouse_up, f)


def restart_beat(c: ChaosCluster, f: Fault) -> bool:
    assert c.beat is not None
    c.beat.kill()
    time.sleep(f.duration)
    c.restart_beat()
    return True


@dataclass(frozen=True)
class Entry:
    inject: Callable[[ChaosCluster, Fault], bool]
    duration: tuple[float, float]  # seconds, drawn uniformly
    resource: str  # two faults of one resource never overlap; different ones may
    # Seconds the part stays healthy after it healed before the next fault of it: one outage
    # is the menu's, two back to back would be a longer one than the menu promises to survive.
    rest: float = 5.0

    def resource_of(self, fault: Fault) -> str:
        if self.resource == "worker":
            return "worker:" + (
                _pick(GROUP_WORKERS, fault) if fault.kind == "kill-group-worker" else _pick(list(WORKERS), fault)
            )
        return self.resource


MENU: dict[str, Entry] = {
    "kill-pool-process": Entry(kill_pool_process, (0.0, 0.0), "worker"),
    "kill-group-worker": Entry(kill_group_worker, (1.0, 5.0), "worker"),
    "kill-control-worker": Entry(kill_control_worker, (1.0, 5.0), "worker:control"),
    "term-worker": Entry(term_worker, (1.0, 5.0), "worker"),
    "kill-redis-master": Entry(kill_redis_master, (1.0, 3.0), "redis"),
    "stop-redis-master": Entry(stop_redis_master, (5.0, 20.0), "redis"),
    # 35 s: a message whose retry was due in the outage gets its next attempt (30 s apart at
    # most) through before the next outage.
    "smtp-down": Entry(smtp_down, (5.0, 60.0), "smtp", rest=35.0),
    "warehouse-down": Entry(warehouse_down, (5.0, 60.0), "warehouse"),
    "restart-beat": Entry(restart_beat, (1.0, 3.0), "beat"),
}


def schedule(seed: int, count: int) -> list[Fault]:
    rng = random.Random(seed)
    faults = []
    for number in range(1, count + 1):
        kind = rng.choice(sorted(MENU))
        low, high = MENU[kind].duration
        faults.append(
            Fault(
                number, kind, round(rng.uniform(*GAP_SECONDS), 2), round(rng.uniform(low, high), 2), rng.randrange(1000)
            )
        )
    return faults
