"""The sweep of lost runs (contract §13): look at every open run of the job, ask the rules of
sweeping.py, and do what they decide: take a lost run's job over and report it exactly as a
run with failed groups is reported (the reports with the groups whose results are known, one
email — the run's email journal is shared —, Failure in the status file, one ticket per
failure episode), or mark a superseded run failed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time

from mnaas_missing_files.checking.check import describe_error
from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.cluster.context import attach_job_log, job_lock_key, run_lock, settings_for, state_client
from mnaas_missing_files.cluster.jobkeys import forget_open_run, open_runs
from mnaas_missing_files.cluster.records import LockHolder, LockView, RunRecord
from mnaas_missing_files.cluster.run_end import abandon_run, finish_run
from mnaas_missing_files.cluster.runstate import RunState
from mnaas_missing_files.cluster.store import JobLock, RunStore
from mnaas_missing_files.cluster.sweeping import (
    LISTED,
    Sweep,
    ended_in_history,
    first_look,
    lapsed_long_enough,
    lost_reason,
    may_mark_superseded,
    report_waits_for_settings,
    superseded_message,
)
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_FAILED, EXIT_OK, ConfigError, JobHeld, LockHeld, LockLost
from mnaas_missing_files.core.model import GroupResult, Plan
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Outcome, Stage
from mnaas_missing_files.run.end_of_run import RunEnd, end_run
from mnaas_missing_files.run.finalize import begin
from mnaas_missing_files.state import history

log = logging.getLogger(__name__)


def sweep(settings: Settings) -> dict[str, list[str]]:
    """Look at every open run of the job; report the lost ones. What was done, by run id."""
    client = state_client(settings)
    job = job_lock_key(settings)
    swept: dict[str, list[str]] = {str(outcome): [] for outcome in LISTED}
    for run_id in open_runs(client, job):
        try:
            outcome = sweep_one(settings, RunState(client, run_id), run_lock(settings))
        except Exception:  # one run that cannot be looked at must not hide the others
            log.exception("run %s: the sweep could not look at it; trying again next sweep", run_id)
            continue
        if outcome is Sweep.ENDED:
            forget_open_run(client, job, run_id)
        elif outcome is not None:
            swept[str(outcome)].append(run_id)
    return swept


def sweep_one(settings: Settings, state: RunStore, lock: JobLock) -> Sweep | None:
    """What the sweep did with one open run (None: nothing, it was touched a moment ago)."""
    record, token = state.record(), state.token()
    look = first_look(record, token, LockView.of(*lock.holder_and_last()))
    if look is Sweep.ENDED:
        return look
    assert record is not None
    if _ended_on_disk(settings, state, token, lock):
        return Sweep.ENDED
    if look is Sweep.RUNNING:
        return look
    assert token is not None
    if look is Sweep.LAPSED:
        now = time.time()
        if not lapsed_long_enough(state.lapse_seen(done=record.done, now=now), now, settings.group_time_limit):
            return Sweep.LAPSED
    if not _reportable_now(settings, state, record):
        return Sweep.LAPSED
    try:
        reporter = lock.acquire(LockHolder.sweeper(state.run_id, record.day).to_json(), after=token)
    except LockHeld:  # the run took its lock back a moment ago: it is moving again
        return Sweep.RUNNING
    except LockLost:
        return Sweep.SUPERSEDED if _mark_superseded(settings, state, record, lock) else None
    return Sweep.REPORTED if _report_lost_run(settings, state, record, reporter) else Sweep.UNREPORTABLE


def _ended_on_disk(settings: Settings, state: RunStore, token: str | None, lock: JobLock) -> bool:
    """The run history holds the run's end but Redis does not (a failover lost the write):
    record it in Redis and free its lock, rather than end it a second time."""
    ended = ended_in_history(history.recent_runs(settings.status_file, limit=history.KEEP_RUNS), state.run_id)
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


def _reportable_now(settings: Settings, state: RunStore, record: RunRecord) -> bool:
    """Whether the run's day's settings load, so that taking the run over can report it; past
    CONFIG_PATIENCE_SECONDS it is taken over anyway (and marked failed, saying why)."""
    try:
        settings_for(record.day)
        return True
    except ConfigError as exc:
        now = time.time()
        if not report_waits_for_settings(state.lapse_seen(done=record.done, now=now), now, settings.group_time_limit):
            return True
        log.warning(
            "run %s: lost; it is reported once the job's configuration loads again: %s",
            state.run_id,
            mask_secrets(exc),
        )
        return False


def _mark_superseded(settings: Settings, state: RunStore, record: RunRecord, lock: JobLock) -> bool:
    """The run lapsed and another run has held the job since: it can never write again."""
    if not may_mark_superseded(record.updated_age(dt.datetime.now(dt.UTC)), settings.lock_ttl):
        return False
    holder = lock.holder()
    message = superseded_message(settings.lock_ttl, holder.get("run_id") if holder else None)
    if not state.finish(state=Stage.FAILED, exit_code=EXIT_FAILED, message=message, if_updated=record.updated or None):
        return False
    end_run(
        RunEnd(
            settings,
            state.run_id,
            record.day,
            Outcome.FAILED,
            EXIT_FAILED,
            message=message,
            trigger=record.trigger,
            dry_run=record.dry_run,
            journal=state.journal(),  # its failure notice goes once, whoever sends it (contract §15)
        )
    )
    return True


def _report_lost_run(job: Settings, state: RunStore, record: RunRecord, reporter: str) -> bool:
    """With the job's lock taken over from the lost run: report it once, then free the job.
    Whatever fails here frees the job too, rather than holding it until the TTL; False then."""
    try:
        settings = settings_for(record.day)
        attach_job_log(settings)
        stored = state.plan()
        plan = (
            Plan.from_json(stored)
            if stored
            else make_plan(
                settings,
                workers=settings.group_workers,
                dry_run=record.dry_run,
                trigger=record.trigger,
                run_id=state.run_id,
            )
        )
        if plan.shadow_dir:  # a shadow run is reported in its own directory
            settings = settings_for(record.day, plan.shadow_dir)
            attach_job_log(settings)
        reason = lost_reason(settings.lock_ttl)
        results = state.results()
        log.error(
            "run %s for %s: lost while %s with %d of %d groups done; reporting what is known",
            state.run_id,
            plan.day,
            record.state,
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
