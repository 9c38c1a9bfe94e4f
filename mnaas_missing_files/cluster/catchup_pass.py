"""A catch-up pass (contract §10): read what the rules of catching_up.py need from the run
history and Redis, ask them, and start the day they name.

Passes run when beat starts and at every tick (the catch_up task), after a catch-up or
scheduled run ends, and at every sweep while no run is open, so a lost message or a dead
worker delays a day by one sweep interval at most.
"""

from __future__ import annotations

import datetime as dt
import logging

from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.cluster.catching_up import Claim, PassView, busy_with, due_days, next_step
from mnaas_missing_files.cluster.context import job_lock_key, run_lock, settings_for, state_client
from mnaas_missing_files.cluster.jobkeys import claim_age, claim_day, open_runs, pending_tick, release_scheduled_day
from mnaas_missing_files.cluster.keys import claim_ttl, scheduled_key
from mnaas_missing_files.cluster.records import LockHolder, TaskResult
from mnaas_missing_files.cluster.run_start import SendChord, launch_run
from mnaas_missing_files.cluster.runstate import RunState
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import JobHeld, LockHeld
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Stage, Trigger
from mnaas_missing_files.run.local import lock_holder
from mnaas_missing_files.state import statusfile
from mnaas_missing_files.state.missed_days import days_not_run

log = logging.getLogger(__name__)


def catch_up_pass(task_id: str, settings: Settings, send_chord: SendChord, tick_day: dt.date | None = None) -> dict:
    """Start the next day that is due, if the job is idle. What was done, for the task result."""
    client, job = state_client(settings), job_lock_key(settings)
    ttl = claim_ttl(settings.catchup_days)
    if tick_day is not None:
        pending_tick(client, job, tick_day, ttl=ttl, mark=True)
    try:
        statusfile.check_not_held(settings.status_file)
    except JobHeld as exc:  # tried again at the next pass once an operator releases the job
        log.warning("catch-up: nothing started: %s", mask_secrets(exc))
        return {"held": True}
    view = _look(client, job, settings, task_id, tick_day, ttl)
    step = next_step(view)
    for day, owner in step.skipped:
        if day == tick_day:
            log.info("scheduled run for %s already started as run %s; not starting another", day, owner)
    if step.wait:
        log.info("catch-up: %s waits for %s", step.day, step.busy)
        return {"waiting": str(step.day), "for": step.busy}
    if not step.start:
        return {"started": None}
    assert step.day is not None and step.run_id is not None and step.trigger is not None
    return _start_day(settings_for(step.day), client, job, step, ttl, send_chord)


def _look(client, job: str, settings: Settings, task_id: str, tick_day: dt.date | None, ttl: int) -> PassView:
    tick = tick_day or settings.day  # a tick's day still pending behind catch-up days
    due = due_days(days_not_run(settings), tick, pending_tick(client, job, tick, ttl=ttl))
    claims: dict[dt.date, Claim] = {}
    for day in due:
        owner = str(client.get(scheduled_key(job, day)) or "")
        if owner:
            claims[day] = Claim(owner, RunState(client, owner).record(), claim_age(client, job, day, ttl))
    ticks = frozenset(day for day in due if pending_tick(client, job, day, ttl=ttl))
    return PassView(task_id, due, claims, ticks, _busy(client, job, settings), tick_day)


def _busy(client, job: str, settings: Settings) -> str | None:
    holder = run_lock(settings).holder()
    records = (RunState(client, run_id).record() for run_id in open_runs(client, job))
    return busy_with(LockHolder.from_json(holder) if holder else None, (r for r in records if r is not None))


def _start_day(settings: Settings, client, job: str, step, ttl: int, send_chord: SendChord) -> dict:
    day, run_id, trigger = step.day, step.run_id, step.trigger
    state = RunState(client, run_id)
    record = state.record()
    if record is not None and not record.not_started:
        return TaskResult(run_id, "already started").to_json()
    if not claim_day(client, job, day, run_id, ttl=ttl, replacing=step.replacing):
        # Another pass (another beat's tick, a sweep) claimed it a moment ago.
        log.info(
            "%s run for %s already started as run %s; not starting another",
            "scheduled" if trigger == Trigger.SCHEDULE else "catch-up",
            day,
            client.get(scheduled_key(job, day)),
        )
        return TaskResult(run_id, "claimed by another pass").to_json()
    plan = make_plan(settings, workers=settings.group_workers, dry_run=False, trigger=trigger, run_id=run_id)
    token = state.token()
    if token is None:
        try:
            token = run_lock(settings).acquire(lock_holder(settings, plan))
        except LockHeld as exc:  # an operator's run took the job a moment ago: wait for it
            release_scheduled_day(client, job, day, run_id)
            log.info("catch-up: %s waits: %s", day, mask_secrets(exc))
            return {"waiting": day.isoformat()}
        state.create_for(plan, job=job, state=Stage.STARTING, token=token)
    log.info("run %s: starting %s (trigger %s)", run_id, day, trigger)
    return launch_run(settings, plan, state, token, send_chord)
