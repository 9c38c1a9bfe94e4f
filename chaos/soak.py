"""One soak: start the cluster, run RUNS days (the catch-up window's last days scheduled by
beat, the others submitted one after another) while the nemesis hurts the cluster, stop the
faults, wait until every run has ended, run the fault-free reference, check the invariants.

Its result is the JSON object `__main__` prints last: seed, runs, faults (kind -> count) and
violations (kind -> list of {day, run_id, detail}).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from chaos import job
from chaos.cluster import ChaosCluster, run_quietly, wait_for
from chaos.invariants import Outputs, Violations, check, runs_of
from chaos.menu import schedule
from chaos.nemesis import Nemesis
from mnaas_missing_files.core.states import TERMINAL_STAGES
from mnaas_missing_files.state.redislock import lock_key
from tests.helpers.celeryproc import CLI

log = logging.getLogger("chaos")

SCHEDULED_DAYS = 2  # MNAAS_CATCHUP_DAYS: beat runs the last two days itself
RUN_KEY = re.compile(r"^mnaas-missing-files:run:[^:]+$")
SUBMIT_PATIENCE = 600.0  # seconds a day may wait for the job (a run still ending, a failover)
END_PATIENCE = 900.0  # a lost run is reported after the lock's TTL and the group time limit
SCRIPT_NAME = "MNAAS_Missing_Customer_Files.sh"
# A run of the soak's day takes a second or two, faults come seconds apart: each submitted day
# waits (at most PACE_PATIENCE s) until this many faults per day have been made, so that the
# runs go through faults, not between them (100 runs: at least 150 faults, contract §18).
FAULTS_PER_RUN = 1.6
PACE_PATIENCE = 90.0


@dataclass
class Soak:
    seed: int
    runs: int
    root: Path
    config: Path = Path()

    def run(self) -> dict:
        started = time.monotonic()
        days = job.soak_days(self.runs, dt.datetime.now(dt.UTC).date())
        iso = [d.isoformat() for d in days]
        warehouse = self.root / "warehouse.duckdb"
        job.write_warehouse(warehouse, days)
        cluster = ChaosCluster(self.root, warehouse)
        nemesis: Nemesis | None = None
        try:
            cluster.start_redis()
            catchup = str(min(SCHEDULED_DAYS, self.runs))
            settings = {
                **job.SOAK_SETTINGS,
                **cluster.job_settings(),
                "MNAAS_WAREHOUSE_URL": f"duckdb:///{warehouse}",
                "MNAAS_CATCHUP_DAYS": catchup,
            }
            self.config = job.write_job(self.root, settings)
            cluster.start_processes(self.config)
            faults = schedule(self.seed, 6 * self.runs + 20)
            nemesis = Nemesis(cluster, faults, self.root / "faults.jsonl").start()
            try:
                for number, day in enumerate(iso[: -int(catchup)]):
                    wait_for(nemesis.made_at_least(FAULTS_PER_RUN * number), PACE_PATIENCE, "the nemesis to keep pace")
                    self._submit_and_follow(cluster, day)
            finally:
                log.info("chaos: faults stop; healing what is still hurt")
                nemesis.stop()
            self._wait_for_the_end(cluster, iso)
            outputs = self._outputs(cluster, iso)
        finally:
            if nemesis is not None:
                nemesis.end()
            cluster.close()
        outputs.reference = self._reference(iso)
        violations = check(outputs)
        assert nemesis is not None
        log.info(
            "chaos: %d runs in %.0f s; faults %s; skipped %s; crashes %s",
            self.runs,
            time.monotonic() - started,
            dict(nemesis.injected),
            dict(nemesis.skipped),
            dict(nemesis.crashes),
        )
        return {
            "seed": self.seed,
            "runs": self.runs,
            "faults": dict(sorted(nemesis.injected.items())),
            "violations": violations,
        }

    # --- the runs -------------------------------------------------------------------------

    def _cli(self, cluster: ChaosCluster, *args: str, timeout: float = 120.0):
        return run_quietly([*CLI, *args, "--config", str(self.config)], cluster.env, timeout)

    def _runs_of_day(self, day: str) -> list[dict]:
        return [e for e in runs_of(job.history(self.root)) if e.get("day") == day]

    def _submit_and_follow(self, cluster: ChaosCluster, day: str) -> None:
        deadline = time.monotonic() + SUBMIT_PATIENCE
        while time.monotonic() < deadline:
            if self._runs_of_day(day):  # an earlier submit that said it failed had started it
                break
            try:
                done = self._cli(cluster, "submit", "--date", day)
            except Exception as exc:  # a hung client under a failover: try again
                log.warning("chaos: submit of %s: %s", day, exc)
                continue
            if re.search(r"^submitted run (\S+) for", done.stdout, re.M):
                break
            if done.returncode != 3:  # 3: the job is busy (a run ending, a catch-up run)
                log.info("chaos: submit of %s exited %d: %s", day, done.returncode, done.stderr.strip()[-300:])
            time.sleep(1.0)
        else:
            log.warning("chaos: %s could not be submitted within %.0f s", day, SUBMIT_PATIENCE)
            return
        if not wait_for(lambda: any(e.get("ended") for e in self._runs_of_day(day)), END_PATIENCE, f"the run of {day}"):
            return
        log.info("chaos: %s ended: %s", day, ", ".join(str(e.get("outcome")) for e in self._runs_of_day(day)))

    def _wait_for_the_end(self, cluster: ChaosCluster, days: list[str]) -> None:
        def all_ended() -> bool:
            entries = runs_of(job.history(self.root))
            return all(any(e.get("day") == d and e.get("ended") for e in entries) for d in days) and all(
                e.get("ended") for e in entries
            )

        wait_for(all_ended, END_PATIENCE, "every day's run to end")
        wait_for(lambda: not self._open(cluster), END_PATIENCE, "no lock held and no run open")
        # The message of a run that just ended may still be on its way (retries after an outage).
        sent = lambda: {m.run_id for m in job.messages(self.root / "smtp")}  # noqa: E731
        ended = {str(e.get("run_id")) for e in runs_of(job.history(self.root)) if e.get("ended")}
        wait_for(lambda: ended <= sent(), 120.0, "every ended run's message")

    def _open(self, cluster: ChaosCluster) -> tuple[dict | None, list[str]] | None:
        holder, open_runs = self._redis_state(cluster)
        return (holder, open_runs) if holder or open_runs else None

    def _redis_state(self, cluster: ChaosCluster) -> tuple[dict | None, list[str]]:
        client = cluster.lock_client()
        raw = client.get(lock_key(SCRIPT_NAME, self.root / job.STATUS_NAME))
        holder = json.loads(raw) if raw else None
        open_runs = []
        for key in client.scan_iter("mnaas-missing-files:run:*"):
            if RUN_KEY.match(key) and client.hget(key, "state") not in TERMINAL_STAGES:
                open_runs.append(key.rsplit(":", 1)[1])
        return holder, sorted(open_runs)

    # --- the outputs ----------------------------------------------------------------------

    def _outputs(self, cluster: ChaosCluster, days: list[str]) -> Outputs:
        holder, open_runs = self._redis_state(cluster)
        return Outputs(
            days=days,
            history=job.history(self.root),
            messages=job.messages(self.root / "smtp"),
            status=job.status(self.root),
            reports=job.reports(self.root, days),
            reference={},
            lock_holder=holder,
            open_runs=open_runs,
        )

    def _reference(self, days: list[str]) -> dict[str, dict[str, bytes]]:
        """The same days, one after another, by `backfill` without the cluster or faults."""
        reference = self.root / "reference"
        warehouse = {"MNAAS_WAREHOUSE_URL": f"duckdb:///{self.root / 'warehouse.duckdb'}"}
        config = job.write_job(reference, {**job.SOAK_SETTINGS, **warehouse, "MNAAS_CATCHUP_DAYS": "0"})
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MNAAS_", "CELERY_"))}
        done = run_quietly([*CLI, "backfill", "--from", days[0], "--to", days[-1], "--config", str(config)], env, 1800)
        log.info("chaos: reference backfill exited %d", done.returncode)
        return job.reports(reference, days)


def summary_line(result: dict) -> str:
    return json.dumps(result, sort_keys=False)


def violation_count(violations: Violations) -> int:
    return sum(len(v) for v in violations.values())
