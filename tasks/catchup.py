"""Catch-up of missed days (contract §10), on the control queue.

A pass works out, from the job's configuration and run history, the days of the window
Y-K+1 … Y that never ran, and starts the oldest one (trigger `catchup`), or, at a tick, the
tick's own day (trigger `schedule`) once nothing older is left. One at a time: while any run
of the job is open or its lock is held, a pass starts nothing, and the next pass (sent when a
catch-up or scheduled run ends, and made by every sweep) goes on. Each day is started once
across any number of beats: it is claimed first, with the same claim as a scheduled day.

Passes run when beat starts and at every tick (CATCH_UP, from beat), after a
catch-up or scheduled run ends, and at every sweep while no run is open, so a lost message or
a dead worker delays a day by one sweep interval at most.
"""

from __future__ import annotations

import datetime as dt

from celery.utils.log import get_task_logger

from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import JobHeld, LockHeld
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import TERMINAL_STAGES, Stage
from mnaas_missing_files.run.local import lock_holder
from mnaas_missing_files.state import statusfile
from mnaas_missing_files.state.catchup import days_not_run
from workers.app import app

from . import CATCH_UP
from .context import attach_job_log, job_lock_key, run_lock, settings_for, state_client
from .jobkeys import (
    SCHEDULED_TTL,
    claim_age,
    claim_day,
    open_runs,
    pending_tick,
    release_scheduled_day,
    scheduled_key,
)
from .runs import launch_run
from .runstate import RunState

log = get_task_logger(__name__)

# A claimed day whose run never got a run state (its worker died between the claim and the
# start) is taken over by a pass this long after the claim: long enough for a pass that is
# still starting it, short against a day.
STARTING_GRACE_SECONDS = 60


@app.task(name=CATCH_UP, bind=True, ignore_result=True)
def catch_up(self, tick: bool = False) -> dict:
    """A pass; `tick`: sent by beat's daily entry, for yesterday (the tick's day)."""
    settings = settings_for(None)
    attach_job_log(settings)
    return catch_up_pass(self.request.id, settings, tick_day=settings.day if tick else None)


def claim_ttl(settings: Settings) -> int:
    """Claims outlive the window (K + 1 days at least), so no day of it is started twice."""
    return max(SCHEDULED_TTL, (settings.catchup_days + 2) * 24 * 3600)


def catch_up_pass(task_id: str, settings: Settings, tick_day: dt.date | None = None) -> dict:
    """Start the next day that is due, if the job is idle. What was done, for the task result."""
    client = state_client(settings)
    job = job_lock_key(settings)
    ttl = claim_ttl(settings)
    if tick_day is not None:
        pending_tick(client, job, tick_day, ttl=ttl, mark=True)
    try:
        statusfile.check_not_held(settings.status_file)
    except JobHeld as exc:  # tried again at the next pass once an operator releases the job
        log.warning("catch-up: nothing started: %s", mask_secrets(exc))
        return {"held": True}
    due = set(days_not_run(settings))
    tick = tick_day or settings.day  # a tick's day still pending behind catch-up days
    if pending_tick(client, job, tick, ttl=ttl):
        due.add(tick)
    for day in sorted(due):
        run_id = f"{day:%Y%m%d}-{task_id.replace('-', '')[:8]}"
        owner = str(client.get(scheduled_key(job, day)) or "")
        trigger = "schedule" if pending_tick(client, job, day, ttl=ttl) else "catchup"
        if owner == run_id:  # this pass, redelivered: go on with the day it claimed
            if RunState(client, run_id).read().get("state") in (None, Stage.QUEUED, Stage.STARTING):
                return _start_day(settings_for(day), client, job, day, run_id, trigger, None, ttl)
            continue
        if owner and not _claim_is_stale(client, job, day, owner, ttl):
            if day == tick_day:
                log.info("scheduled run for %s already started as run %s; not starting another", day, owner)
            continue
        busy = _busy(client, job, settings)
        if busy:
            log.info("catch-up: %s waits for %s", day, busy)
            return {"waiting": day.isoformat(), "for": busy}
        return _start_day(settings_for(day), client, job, day, run_id, trigger, owner or None, ttl)
    return {"started": None}


def _claim_is_stale(client, job: str, day: dt.date, owner: str, ttl: int) -> bool:
    """A claim whose run was refused, or that never got a run state (its pass died between
    the claim and the start: a moment, unless it is gone)."""
    record = RunState(client, owner).read()
    if not record:
        return claim_age(client, job, day, ttl) > STARTING_GRACE_SECONDS
    return record.get("state") == Stage.REFUSED


def _busy(client, job: str, settings: Settings) -> str | None:
    """What the job is doing now that a new run must wait for, or None when it is idle."""
    holder = run_lock(settings).holder()
    if holder:
        return f"run {holder.get('run_id')} (it holds the job's lock)"
    for run_id in open_runs(client, job):
        record = RunState(client, run_id).read()
        if record and record.get("state") not in TERMINAL_STAGES:
            return f"run {run_id} ({record.get('state')}, not ended)"
    return None


def _start_day(
    settings: Settings, client, job: str, day: dt.date, run_id: str, trigger: str, stale_owner: str | None, ttl: int
) -> dict:
    state = RunState(client, run_id)
    if state.read().get("state") not in (None, Stage.QUEUED, Stage.STARTING):
        return {"run_id": run_id, "state": "already started"}
    if not claim_day(client, job, day, run_id, ttl=ttl, replacing=stale_owner):
        # Another pass (another beat's tick, a sweep) claimed it a moment ago.
        log.info(
            "%s run for %s already started as run %s; not starting another",
            "scheduled" if trigger == "schedule" else "catch-up",
            day,
            client.get(scheduled_key(job, day)),
        )
        return {"run_id": run_id, "state": "claimed by another pass"}
    plan = make_plan(settings, workers=settings.group_workers, dry_run=False, trigger=trigger, run_id=run_id)
    token = state.token()
    if token is None:
        try:
            token = run_lock(settings).acquire(lock_holder(settings, plan))
        except LockHeld as exc:  # an operator's run took the job a moment ago: wait for it
            release_scheduled_day(client, job, day, run_id)
            log.info("catch-up: %s waits: %s", day, mask_secrets(exc))
            return {"waiting": day.isoformat()}
        state.create(
            day=day, trigger=trigger, dry_run=False, total=len(plan.groups), job=job, state=Stage.STARTING, token=token
        )
    log.info("run %s: starting %s (trigger %s)", run_id, day, trigger)
    return launch_run(settings, plan, state, token)
