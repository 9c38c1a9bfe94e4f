"""The local executor: `run` checks the plan's batches in parallel threads on this machine."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

from mnaas_missing_files.checking.check import check_batch_with_retries, failed_results
from mnaas_missing_files.checking.dayinput import DayInput, not_read, read_day_input
from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import LockLost, RunInterrupted, StatusFileError
from mnaas_missing_files.core.model import GroupResult, Plan
from mnaas_missing_files.reporting import mailbody
from mnaas_missing_files.run.finalize import begin, end_failed, end_interrupted, end_superseded, finalize
from mnaas_missing_files.run.interrupt import Interruption
from mnaas_missing_files.run.lost import mark_dead_runs_lost
from mnaas_missing_files.run.outcome import RunOutcome
from mnaas_missing_files.state.liveness import LOCAL
from mnaas_missing_files.state.locks import FileRunLock, LockHolder, RunLock
from mnaas_missing_files.warehouse.duckdb_engine import open_warehouse

log = logging.getLogger(__name__)

Progress = Callable[[int, int, GroupResult], None]


def run_lock_for(settings: Settings) -> RunLock:
    """The job's one lock: Redis when a lock URL is configured (shared with `submit`), else a
    file lock next to the status file."""
    if settings.lock_url:
        # imported here: redis costs a run without it ~10 MB of memory (contract §19)
        from mnaas_missing_files.state.redislock import RedisRunLock

        return RedisRunLock.for_job(settings)
    return FileRunLock.for_status_file(settings.status_file)


def lock_holder(settings: Settings, plan: Plan, *, local: bool = False) -> dict:
    """The lock's record of its holder. `local`: this process checks the run itself, so the
    run is dead when it is (contract §13); a submitted run outlives its client."""
    return LockHolder(
        run_id=plan.run_id,
        day=plan.day.isoformat(),
        trigger=plan.trigger,
        host=socket.gethostname(),
        pid=os.getpid(),
        started=settings.now().strftime("%Y-%m-%d %H:%M:%S"),
        executor=LOCAL if local else None,
    ).to_json()


def check_groups_locally(
    settings: Settings,
    plan: Plan,
    *,
    progress: Progress | None = None,
    on_group_done: Callable[[], object] | None = None,
    interruption: Interruption | None = None,
    day_input: list[DayInput] | None = None,
    while_waiting: Callable[[], object] | None = None,
) -> dict[str, GroupResult]:
    """Check every batch of the plan in `local_workers` threads, one warehouse connection
    each; the results per group. Once `interruption` is set, queries in flight are
    cancelled, retries stop waiting and the batches not yet checked come back failed at once.
    `day_input`: the run's day-input query (contract §14) runs in the pool too, on a thread's
    warehouse already open and warm, and its DayInput is appended there. `while_waiting` runs
    in this thread once the batches (and the day-input query) are under way."""
    results: dict[str, GroupResult] = {}
    workers = max(1, min(settings.local_workers, len(plan.batches)))
    local = threading.local()
    opened: list = []
    stop = interruption or Interruption()

    def warehouse():
        if getattr(local, "warehouse", None) is None:
            local.warehouse = open_warehouse(settings.warehouse_url)
            opened.append(local.warehouse)
            stop.watch(local.warehouse)
        return local.warehouse

    def read_input() -> DayInput:
        # A run stopped before the pool reached this does not start it: its first failure
        # would only wait out a retry that the stop then cuts short.
        stop.check()
        return read_day_input(warehouse, settings, run_id=plan.run_id, sleep=stop.sleep)

    def check(batch):
        try:
            stop.check()
            # Compressed in the thread that found them: a run holds every group's names until
            # the reports are written, and a large day has a million of them.
            return [
                r.compact()
                for r in check_batch_with_retries(warehouse, settings, batch, run_id=plan.run_id, sleep=stop.sleep)
            ]
        except RunInterrupted as exc:
            return failed_results(batch, str(exc))

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="group") as pool:
            futures = {pool.submit(check, b): b for b in plan.batches}
            found = pool.submit(read_input) if day_input is not None else None
            if while_waiting:
                while_waiting()
            for future in as_completed(futures):
                batch = futures.pop(future)  # a finished future holds its result: let it go
                try:
                    done = future.result()
                except Exception as exc:  # a bug must not lose the run: report the batch as failed
                    log.exception("run %s group %s: unexpected error", plan.run_id, batch.batch_id)
                    done = failed_results(batch, f"{type(exc).__name__}: {exc}")
                failed = next((r.error for r in done if not r.ok), None)
                log.info(
                    "run %s group %s (%s): %s",
                    plan.run_id,
                    batch.batch_id,
                    batch.describe(),
                    "ok" if failed is None else f"FAILED ({failed})",
                )
                for result in done:
                    results[result.group_id] = result
                    if progress:
                        progress(len(results), len(plan.groups), result)
                if on_group_done:
                    on_group_done()
            if found is not None and day_input is not None:
                day_input.append(_day_input_of(found, settings, plan))
    finally:
        for wh in opened:
            wh.close()
    return results


def _day_input_of(found: Future, settings: Settings, plan: Plan) -> DayInput:
    try:
        return found.result()
    except Exception as exc:  # RunInterrupted, or a bug
        return not_read(settings.day, exc, plan.run_id)


def run_local(
    settings: Settings,
    *,
    dry_run: bool = False,
    trigger: str = "run",
    progress: Progress | None = None,
    interruption: Interruption | None = None,
) -> RunOutcome:
    """Take the lock, mark the status file, check every group, finalize. Raises LockHeld (3),
    JobHeld (4) or LockUnavailable before changing anything. A set `interruption` (SIGTERM,
    SIGINT) ends the run as interrupted, without reports."""
    plan = make_plan(settings, workers=settings.local_workers, dry_run=dry_run, trigger=trigger)
    lock = run_lock_for(settings)
    token = lock.acquire(lock_holder(settings, plan, local=True))
    started = time.monotonic()
    stop = interruption or Interruption()
    try:
        mark_dead_runs_lost(settings, found_by=f"run {plan.run_id}")
        begin(settings, plan, local=True)
        day_input: list[DayInput] = []
        try:
            results = check_groups_locally(
                settings,
                plan,
                progress=progress,
                interruption=stop,
                on_group_done=lambda: lock.extend(token),
                day_input=day_input,
                while_waiting=mailbody.prepare,  # the email's templates compile while the queries run
            )
            if stop.is_set():
                outcome = end_interrupted(settings, plan, stop.reason)
            else:
                # A Redis lock that expired or was taken over means another run owns the job
                # now: extend() raises LockLost and this run writes nothing more.
                try:
                    outcome = finalize(
                        settings,
                        plan,
                        results,
                        before_write=lambda: lock.extend(token),
                        day_input=day_input[0] if day_input else None,
                    )
                except StatusFileError as exc:
                    outcome = end_failed(settings, plan, str(exc))
        except LockLost as exc:
            end_superseded(settings, plan, exc)  # its end recorded and told, then exit 1
            raise
    finally:
        lock.release(token)
    log.info("run %s: took %.1f s", plan.run_id, time.monotonic() - started)
    return outcome


__all__ = ["run_local", "run_lock_for", "check_groups_locally", "lock_holder"]
