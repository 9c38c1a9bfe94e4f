"""The nemesis: a thread that walks the seeded schedule (menu.py), each fault in a thread of
its own, so that faults of different parts overlap (a failover while a worker restarts and
the SMTP server is down); two faults of one part never do. `stop()` ends the schedule and
waits for every fault in progress to heal."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from pathlib import Path

from chaos.cluster import ChaosCluster
from chaos.menu import MENU, Fault

log = logging.getLogger("chaos")


class Nemesis:
    def __init__(self, cluster: ChaosCluster, faults: list[Fault], journal: Path):
        self.cluster = cluster
        self.faults = faults
        self.journal = journal
        self.injected: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self._busy: set[str] = set()
        self._healthy_from: dict[str, float] = {}  # resource -> monotonic time its rest ends
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._ended = threading.Event()
        self._threads: list[threading.Thread] = []
        self._main = threading.Thread(target=self._walk, name="nemesis", daemon=True)
        self._supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self.crashes: Counter[str] = Counter()  # worker or beat -> exits nobody caused

    def start(self) -> Nemesis:
        self._main.start()
        self._supervisor.start()
        return self

    def _supervise(self) -> None:
        """systemd's part (deploy/systemd: Restart=on-failure, RestartSec=10): a worker or beat
        that exits while no fault is at it crashed on its own; it is said so and, 10 s later,
        started again. Runs until the soak ends (after the faults stop, too)."""
        while not self._ended.wait(2.0):
            for name, proc in [*self.cluster.workers.items(), ("beat", self.cluster.beat)]:
                resource = "beat" if name == "beat" else f"worker:{name}"
                with self._changed:
                    if proc is None or proc.alive or resource in self._busy or proc.process is None:
                        continue
                    self._busy.add(resource)
                self.crashes[name] += 1
                log.warning(
                    "chaos: %s exited on its own (exit %s); starting it again in 10 s", name, proc.process.returncode
                )
                with open(self.journal.with_name("crashes.jsonl"), "a") as out:
                    out.write(json.dumps({"process": name, "exit": proc.process.returncode, "at": time.time()}) + "\n")
                try:
                    time.sleep(10.0)
                    if name == "beat":
                        self.cluster.restart_beat()
                    else:
                        self.cluster.restart_worker(name)
                except Exception as exc:
                    log.warning("chaos: %s could not be started again: %s", name, exc)
                finally:
                    with self._changed:
                        self._busy.discard(resource)
                        self._changed.notify_all()

    def made_at_least(self, count: float):
        """A predicate: this many faults have been made (injected or skipped) so far."""
        return lambda: sum(self.injected.values()) + sum(self.skipped.values()) >= count

    def end(self) -> None:
        """Stop supervising (the cluster is about to be stopped)."""
        self._ended.set()
        self._supervisor.join()

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        self._main.join()
        for thread in self._threads:
            thread.join()

    def _walk(self) -> None:
        for fault in self.faults:
            if self._stopping.wait(fault.wait):
                return
            resource = MENU[fault.kind].resource_of(fault)
            with self._changed:
                while not self._stopping.is_set() and (
                    resource in self._busy or time.monotonic() < self._healthy_from.get(resource, 0.0)
                ):
                    self._changed.wait(1.0)
                if self._stopping.is_set():
                    return
                self._busy.add(resource)
            thread = threading.Thread(target=self._inject, args=(fault, resource), name=fault.kind, daemon=True)
            self._threads.append(thread)
            thread.start()

    def _inject(self, fault: Fault, resource: str) -> None:
        log.info("chaos: %s", fault.describe())
        done = False
        try:
            done = MENU[fault.kind].inject(self.cluster, fault)
        except Exception as exc:  # a fault that could not be made is said so, not fatal
            log.warning("chaos: %s could not be injected: %s", fault.describe(), exc)
        finally:
            with self._changed:
                self._busy.discard(resource)
                self._healthy_from[resource] = time.monotonic() + MENU[fault.kind].rest
                (self.injected if done else self.skipped)[fault.kind] += 1
                self._changed.notify_all()
        with open(self.journal, "a") as out:
            out.write(json.dumps({**fault.as_json(), "injected": done}) + "\n")
        log.info("chaos: %s %s", fault.describe(), "healed" if done else "skipped (its target was not there)")
