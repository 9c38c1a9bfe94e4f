"""How a submitted run starts, shared by start_run and the catch-up pass: beat's path claims
the day and takes the lock; with the lock held, the status file is marked, the plan saved in
the run state and the chord sent (by the caller's `send_chord`: the Celery side's)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from mnaas_missing_files.checking.check import describe_error
from mnaas_missing_files.cluster.context import job_lock_key, run_lock, settings_for
from mnaas_missing_files.cluster.jobkeys import claim_scheduled_day, release_scheduled_day
from mnaas_missing_files.cluster.records import TaskResult
from mnaas_missing_files.cluster.run_end import abandon_run
from mnaas_missing_files.cluster.runstate import RunState
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import ConfigError, JobHeld, LockHeld, LockLost
from mnaas_missing_files.core.model import Plan
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Stage
from mnaas_missing_files.run.finalize import begin
from mnaas_missing_files.run.local import lock_holder
from mnaas_missing_files.run.shadow import enter_shadow

log = logging.getLogger(__name__)

SendChord = Callable[[Plan, str], None]


def scheduled_run_id(settings: Settings, task_id: str) -> str:
    """A beat-triggered run's id comes from its task id, so a redelivery is the same run."""
    return f"{settings.day:%Y%m%d}-{task_id.replace('-', '')[:8]}"


def launch_run(settings: Settings, plan: Plan, state: RunState, token: str, send_chord: SendChord) -> dict:
    """With the job's lock held by `token`: mark the status file, save the plan and send the
    chord. A held status file refuses the run and gives a claimed day back."""
    run_id, lock = plan.run_id, run_lock(settings)
    state.set(state=Stage.STARTING, total=len(plan.groups))
    try:
        if plan.shadow_dir:  # its directory, with a copy of the real status file, on this host
            enter_shadow(settings_for(plan.day, real=True), plan.shadow_dir)
        begin(settings, plan, pid=os.getpid())
    except (JobHeld, ConfigError) as exc:  # held by an operator; a shadow dir it cannot make
        lock.release(token)
        if plan.trigger.claims_its_day:
            release_scheduled_day(state.client, job_lock_key(settings), plan.day, run_id)
        log.error("run %s: %s", run_id, mask_secrets(exc))
        state.finish(state=Stage.REFUSED, exit_code=exc.exit_code, message=mask_secrets(exc))
        return TaskResult(run_id, "refused").to_json()
    except Exception as exc:  # the status file cannot be written: nothing ran, free the job
        log.exception("run %s: cannot start", run_id)
        return abandon_run(settings, state, token, f"cannot start: {describe_error(exc)}")
    state.save_plan(plan.to_json())
    send_chord(plan, token)
    state.set(state=Stage.RUNNING)
    extend_quietly(settings, token, run_id)
    return TaskResult(run_id, "running", {"groups": len(plan.groups)}).to_json()


def claim_scheduled_run(settings: Settings, plan: Plan, state: RunState) -> str | None:
    """Beat's path: claim the day, then the lock; the lock's token, or None when this tick
    must not run (the day was claimed, or another run holds the job: recorded refused)."""
    client, job = state.client, job_lock_key(settings)
    first = claim_scheduled_day(client, job, plan.day, plan.run_id)
    if first is not None:
        log.info("scheduled run for %s already started as run %s; not starting another", plan.day, first)
        return None
    try:
        token = run_lock(settings).acquire(lock_holder(settings, plan))
    except LockHeld as exc:
        release_scheduled_day(client, job, plan.day, plan.run_id)
        log.warning("scheduled run %s for %s not started: %s", plan.run_id, plan.day, mask_secrets(exc))
        state.create_for(plan, job=job, state=Stage.REFUSED)
        state.finish(state=Stage.REFUSED, exit_code=exc.exit_code, message=mask_secrets(exc))
        return None
    state.create_for(plan, job=job, state=Stage.STARTING, token=token)
    return token


def extend_quietly(settings: Settings, token: str | None, run_id: str) -> None:
    """Push the lock's expiry after progress; a lost lock is only logged here (the run's end
    finds it, and decides who reports the run)."""
    if not token:
        return
    try:
        run_lock(settings).extend(token)
    except LockLost as exc:
        log.warning("run %s: %s", run_id, mask_secrets(exc))
