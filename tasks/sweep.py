"""The sweeper of lost runs: beat sends it every MNAAS_SWEEP_INTERVAL seconds (control queue).

A run is lost when it has not ended but no longer holds the job's lock: nothing moved for
MNAAS_LOCK_TTL seconds (every worker died, its messages were lost), so the lock lapsed, and
it stayed so, with no group finishing, for MNAAS_GROUP_TIME_LIMIT after a sweeper first saw
it lapsed. Left alone, its day would go unreported and unticketed.

The sweeper takes the job over from such a run, only if nobody has held the job since
(RedisRunLock.acquire(after=...): two sweepers, or a sweeper and the run waking up, cannot
both get it), and reports it exactly as a run with failed groups is reported: the reports with
the groups whose results are known, one email (never a second one: the run's email journal is
shared), Failure in the status file and one ticket per failure episode. A run whose job
another run took meanwhile is only marked failed: the status file is that other run's.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from celery.utils.log import get_task_logger

from mnaas_missing_files.checking.check import describe_error
from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_FAILED, EXIT_OK, ConfigError, JobHeld, LockHeld, LockLost
from mnaas_missing_files.core.model import GroupResult, Plan
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import TERMINAL_STAGES, Outcome, Stage
from mnaas_missing_files.run.ending import RunEnd, end_run
from mnaas_missing_files.run.finalize import begin
from mnaas_missing_files.state import history
from workers.app import app

from . import SWEEP_LOST_RUNS
from .catchup import catch_up_pass
from .context import attach_job_log, job_lock_key, run_lock, settings_for, state_client
from .deadline import check_deadline
from .ending import abandon_run, finish_run
from .jobkeys import forget_open_run, open_runs
from .runstate import RunState

log = get_task_logger(__name__)

# A lost run is reported with its day's settings. While they do not load (a DuckDB file moved
# away for a moment) the report waits for a later sweep, up to this long past the grace: taken
# over then, the run could only be marked failed, with no reports and no email (chaos soak).
CONFIG_PATIENCE_SECONDS = 300


@app.task(name=SWEEP_LOST_RUNS, bind=True, ignore_result=True)
def sweep_lost_runs(self) -> dict:
    settings = settings_for(None)
    attach_job_log(settings)
    swept: dict = sweep(settings)
    for name, step in (
        ("deadline", lambda: check_deadline(settings)),
        ("catch-up", lambda: catch_up_pass(self.request.id, settings)),
    ):
        try:  # one step that fails must not stop the other; both come again next sweep
            swept[name] = step()
        except Exception:
            log.exception("the sweep's %s step failed; trying again next sweep", name)
    return swept


def sweep(settings: Settings) -> dict[str, list[str]]:
    """Look at every open run of the job; report the lost ones. What was done, by run id."""
    client = state_client(settings)
    job, lock = job_lock_key(settings), run_lock(settings)
    swept: dict[str, list[str]] = {"reported": [], "unreportable": [], "superseded": [], "lapsed": [], "running": []}
    for run_id in open_runs(client, job):
        try:
            verdict = _sweep_one(settings, RunState(client, run_id), lock)
        except Exception:  # one run that cannot be looked at must not hide the others
            log.exception("run %s: the sweep could not look at it; trying again next sweep", run_id)
            continue
        if verdict == "ended":
            forget_open_run(client, job, run_id)
        elif verdict:
            swept[verdict].append(run_id)
    return swept


def _sweep_one(settings: Settings, state: RunState, lock) -> str | None:
    """What the sweep did with one open run: ended, running, lapsed, superseded, reported,
    unreportable (taken over but could not be reported: marked failed, job freed) or None."""
    record = state.read()
    if not record or record["state"] in TERMINAL_STAGES:
        return "ended"
    token = state.token()
    if _ended_on_disk(settings, state, token, lock):
        return "ended"
    if not token or lock.is_owner(token):
        return "running"
    if lock.resumable(token) and not _lapsed_long_enough(settings, state, record):
        return "lapsed"
    if not _reportable_now(settings, state, record):
        return "lapsed"
    try:
        reporter = lock.acquire({"run_id": state.run_id, "day": record["day"], "trigger": "sweeper"}, after=token)
    except LockHeld:  # the run took its lock back a moment ago: it is moving again
        return "running"
    except LockLost:
        return "superseded" if _mark_superseded(settings, state, record, lock) else None
    return "reported" if _report_lost_run(settings, state, record, reporter) else "unreportable"


def _ended_on_disk(settings: Settings, state: RunState, token: str | None, lock) -> bool:
    """A run whose end the run history holds ended: Redis lost the record of it (a write to a
    stale master that woke up after a failover, chaos soak). Ending it again would rewrite its
    history, or report it twice; its Redis record and its lock are put right instead."""
    ended = next(
        (
            e
            for e in history.recent_runs(settings.status_file, limit=history.KEEP_RUNS)
            if e.get("run_id") == state.run_id and e.get("ended")
        ),
        None,
    )
    if ended is None:
        return False
    log.warning(
        "run %s: ended %s at %s by the run history, but Redis did not keep it (a failover lost "
        "the write); recording it there, not ending it again",
        state.run_id,
        ended.get("outcome"),
        ended.get("ended"),
    )
    exit_code = EXIT_OK if ended.get("outcome") == Outcome.SUCCESS else EXIT_FAILED
    state.finish(state=Stage.DONE, exit_code=exit_code, message=f"ended {ended.get('outcome')} (from the run history)")
    if token:
        lock.release(token)
    return True


def _reportable_now(settings: Settings, state: RunState, record: dict) -> bool:
    """Whether the run's day's settings load, so that taking the run over can report it; past
    CONFIG_PATIENCE_SECONDS it is taken over anyway (and marked failed, saying why)."""
    try:
        settings_for(record["day"])
        return True
    except ConfigError as exc:
        now = time.time()
        waited = now - state.lapse_seen(done=record["done"], now=now)
        if waited >= settings.group_time_limit + CONFIG_PATIENCE_SECONDS:
            return True
        log.warning(
            "run %s: lost; it is reported once the job's configuration loads again: %s",
            state.run_id,
            mask_secrets(exc),
        )
        return False


def _lapsed_long_enough(settings: Settings, state: RunState, record: dict) -> bool:
    """Whether the run has stayed lapsed, without a group finishing, for MNAAS_GROUP_TIME_LIMIT
    since a sweeper first saw it so. By then a group still running when the lock lapsed (say,
    Redis was away longer than the TTL) has finished, and taken the lock back, or been killed
    by its hard time limit; a healthy run is never reported lost."""
    now = time.time()
    return now - state.lapse_seen(done=record["done"], now=now) >= settings.group_time_limit


def _mark_superseded(settings: Settings, state: RunState, record: dict, lock) -> bool:
    """The run lapsed and another run has held the job since: it can never write again."""
    updated = record.get("updated")
    if _age_seconds(updated) < settings.lock_ttl:
        return False  # it was touched lately: a finalize is ending it, or a sweeper reporting it
    holder = lock.holder()
    now = f"run {holder.get('run_id')} holds it now" if holder else "it is free now"
    message = (
        f"lost: its lock lapsed ({settings.lock_ttl} s without progress, MNAAS_LOCK_TTL) "
        f"and another run has held the job since ({now}); this run wrote nothing more"
    )
    if not state.finish(state=Stage.FAILED, exit_code=EXIT_FAILED, message=message, if_updated=updated):
        return False
    end_run(
        RunEnd(
            settings,
            state.run_id,
            record["day"],
            Outcome.FAILED,
            EXIT_FAILED,
            message=message,
            trigger=record.get("trigger"),
        )
    )
    return True


def _age_seconds(stamp: str | None) -> float:
    try:
        then = dt.datetime.strptime(stamp or "", "%Y-%m-%d %H:%M:%S%z")
    except ValueError:
        return float("inf")
    return (dt.datetime.now(dt.UTC) - then).total_seconds()


def _report_lost_run(job: Settings, state: RunState, record: dict, reporter: str) -> bool:
    """With the job's lock taken over from the lost run: report it once, then free the job.
    Whatever fails here frees the job too, rather than holding it until the TTL; False then."""
    try:
        settings = settings_for(record["day"])
        attach_job_log(settings)
        stored = state.plan()
        plan = (
            Plan.from_json(stored)
            if stored
            else make_plan(
                settings,
                workers=settings.group_workers,
                dry_run=record["dry_run"],
                trigger=record["trigger"],
                run_id=state.run_id,
            )
        )
        reason = (
            f"lost: no result came back before the run's lock lapsed ({settings.lock_ttl} s "
            "without progress, MNAAS_LOCK_TTL): were its workers stopped or its messages lost?"
        )
        results = state.results()
        log.error(
            "run %s for %s: lost while %s with %d of %d groups done; reporting what is known",
            state.run_id,
            plan.day,
            record["state"],
            len(results),
            len(plan.groups),
        )
        for group in plan.groups:
            results.setdefault(group.group_id, GroupResult.failed(group.group_id, reason, attempts=0))
        state.set(state=Stage.FINALIZING, message="lost; the sweeper is reporting it")
        if stored is None:  # it never got as far as marking the status file
            begin(settings, plan, pid=os.getpid())
        finish_run(settings, plan, results, reporter, state, message=reason, lost=True)
        return True
    except JobHeld as exc:
        abandon_run(job, state, reporter, mask_secrets(exc))
    except Exception as exc:
        log.exception("run %s: could not report the lost run", state.run_id)
        abandon_run(job, state, reporter, f"lost, and could not be reported: {describe_error(exc)}")
    return False
