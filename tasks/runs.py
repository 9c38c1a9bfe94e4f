"""The Celery tasks of a run: start_run -> chord(check_group x N) -> finalize_run, with
run_failed as the chord's error handler. Thin: every decision about the data, the reports,
the email and the status file is the domain package's (the same code `run` uses).

Arguments are small JSON with no secret and no host-only path (Flower and the broker show
them): run id, day, group, and the run's lock token, which Flower's display leaves out.
Each worker reads its connection settings from its own MNAAS_CONFIG and environment.
"""

from __future__ import annotations

import os
import time

from celery import chord
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.log import get_task_logger

from mnaas_missing_files.checking.check import RetryLater, check_attempt, describe_error, failed_results
from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import (
    ConfigError,
    JobHeld,
    LockHeld,
    LockLost,
    TransientWarehouseError,
)
from mnaas_missing_files.core.model import Batch, GroupResult, Plan
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import TERMINAL_STAGES, Stage
from mnaas_missing_files.run.finalize import begin
from mnaas_missing_files.run.local import lock_holder
from mnaas_missing_files.warehouse.base import close_shared_warehouses, shared_warehouse
from workers.app import app

from . import CHECK_GROUP, FINALIZE_RUN, RUN_FAILED, START_RUN
from .context import attach_job_log, job_lock_key, run_lock, run_state, settings_for, state_client
from .ending import abandon_run, finish_run
from .jobkeys import claim_scheduled_day, count_delivery, release_scheduled_day
from .runstate import RunState

log = get_task_logger(__name__)

# TEST ONLY (never set in production): path of a "gate" file. While it exists, a group task
# on its first delivery waits before querying, so an integration test can hold a group in a
# pool process and kill that process, or keep a run busy while it races another.
TEST_GATE_ENV = "MNAAS_TEST_GROUP_GATE"

# A configuration that does not load when a submitted run starts (a DuckDB file moved away for
# a moment, a file mid-edit) is tried again for a minute: failing at once left the run queued
# until the sweeper reported it lost (chaos soak, docs/reliability.md).
CONFIG_RETRIES = 6
CONFIG_RETRY_SECONDS = 10
# One callback of a run at a time: a broker failover can put a running callback's message back
# in the queue (kombu restores unacknowledged messages when its connection drops), and two
# copies riding out an SMTP outage both sent the report (chaos soak). A second copy waits.
FINALIZER_WAIT_SECONDS = 5


def scheduled_run_id(settings: Settings, task_id: str) -> str:
    """A beat-triggered run's id comes from its task id, so a redelivery is the same run."""
    return f"{settings.day:%Y%m%d}-{task_id.replace('-', '')[:8]}"


def _state(settings: Settings, run_id: str) -> RunState:
    return run_state(settings, run_id)


def _delivery(task, settings: Settings) -> int:
    return count_delivery(state_client(settings), task.request.id, task.request.retries)


def _shown(**fields) -> str:
    """What Flower shows as a task's keyword arguments: readable, without the lock token."""
    return repr(fields)


# --- start ---------------------------------------------------------------------------------


@app.task(name=START_RUN, bind=True)
def start_run(
    self,
    day: str | None = None,
    dry_run: bool = False,
    trigger: str = "schedule",
    run_id: str | None = None,
    token: str | None = None,
) -> dict:
    """Take (or verify) the lock, mark the status file, plan, and launch the chord.

    `submit` passes the run id and the token of the lock it took; a caller that passes
    neither gets the day claimed (one scheduled run per day) and the lock taken here. Beat's
    tick goes through the catch-up pass (tasks/catchup.py), which starts its days itself."""
    try:
        settings = settings_for(day)
    except ConfigError as exc:
        log.error(
            "run %s: cannot start yet, the job's configuration does not load: %s; trying again in %d s (%d of %d)",
            run_id or "(scheduled)",
            mask_secrets(exc),
            CONFIG_RETRY_SECONDS,
            self.request.retries + 1,
            CONFIG_RETRIES,
        )
        raise self.retry(countdown=CONFIG_RETRY_SECONDS, max_retries=CONFIG_RETRIES, exc=exc) from None
    attach_job_log(settings)
    run_id = run_id or scheduled_run_id(settings, self.request.id)
    state, lock = _state(settings, run_id), run_lock(settings)
    current = state.read().get("state")
    if current not in (None, "queued", "starting"):
        log.info("run %s: already %s; this delivery of start_run does nothing", run_id, current)
        return {"run_id": run_id, "state": current}
    token = token or state.token()  # a redelivered scheduled run goes on with its own lock
    delivery = _delivery(self, settings)
    if delivery > settings.max_deliveries:
        return abandon_run(
            settings,
            state,
            token,
            f"start_run was delivered {delivery} times "
            f"(MNAAS_MAX_DELIVERIES={settings.max_deliveries}); its worker kept dying",
        )
    plan = make_plan(settings, workers=settings.group_workers, dry_run=dry_run, trigger=trigger, run_id=run_id)
    if token is None:
        token = _claim_scheduled_run(settings, plan, state)
        if token is None:
            return {"run_id": run_id, "state": "skipped"}
    else:
        try:  # a lock that lapsed while the message waited is taken back if nobody held the job
            lock.extend(token)
        except LockLost:
            message = "the run's lock was taken by another run before a worker started this one"
            return abandon_run(settings, state, None, f"{message}; not starting")
    return launch_run(settings, plan, state, token)


def launch_run(settings: Settings, plan: Plan, state: RunState, token: str) -> dict:
    """With the job's lock held by `token`: mark the status file, save the plan and send the
    chord. A held status file refuses the run and gives a claimed day back."""
    run_id, lock = plan.run_id, run_lock(settings)
    state.set(state=Stage.STARTING, total=len(plan.groups))
    try:
        begin(settings, plan, pid=os.getpid())
    except JobHeld as exc:
        lock.release(token)
        if plan.trigger in ("schedule", "catchup"):
            release_scheduled_day(state.client, job_lock_key(settings), plan.day, run_id)
        log.error("run %s: %s", run_id, mask_secrets(exc))
        state.finish(state=Stage.REFUSED, exit_code=exc.exit_code, message=mask_secrets(exc))
        return {"run_id": run_id, "state": "refused"}
    except Exception as exc:  # the status file cannot be written: nothing ran, free the job
        log.exception("run %s: cannot start", run_id)
        return abandon_run(settings, state, token, f"cannot start: {describe_error(exc)}")
    state.save_plan(plan.to_json())
    _launch_chord(plan, token)
    state.set(state=Stage.RUNNING)
    _extend(settings, token, run_id)
    return {"run_id": run_id, "state": "running", "groups": len(plan.groups)}


def _claim_scheduled_run(settings: Settings, plan: Plan, state: RunState) -> str | None:
    """Beat's path: claim the day, then the lock. None when this tick must not run."""
    client = state.client
    first = claim_scheduled_day(client, job_lock_key(settings), plan.day, plan.run_id)
    if first is not None:
        log.info("scheduled run for %s already started as run %s; not starting another", plan.day, first)
        return None
    try:
        token = run_lock(settings).acquire(lock_holder(settings, plan))
    except LockHeld as exc:
        release_scheduled_day(client, job_lock_key(settings), plan.day, plan.run_id)
        log.warning("scheduled run %s for %s not started: %s", plan.run_id, plan.day, mask_secrets(exc))
        state.create(
            day=plan.day,
            trigger=plan.trigger,
            dry_run=plan.dry_run,
            total=len(plan.groups),
            job=job_lock_key(settings),
            state=Stage.REFUSED,
        )
        state.finish(state=Stage.REFUSED, exit_code=exc.exit_code, message=mask_secrets(exc))
        return None
    state.create(
        day=plan.day,
        trigger=plan.trigger,
        dry_run=plan.dry_run,
        total=len(plan.groups),
        job=job_lock_key(settings),
        state=Stage.STARTING,
        token=token,
    )
    return token


def _launch_chord(plan: Plan, token: str) -> None:
    day = plan.day.isoformat()
    # Flower shows kwargsrepr: the batch's size and span, not its thousand customers again.
    header = [
        check_group.s(run_id=plan.run_id, day=day, group=b.to_json(), token=token).set(  # type: ignore[call-arg]
            kwargsrepr=_shown(
                run_id=plan.run_id,
                day=day,
                group=b.batch_id,
                checks=b.describe(),
                groups=[g.group_id for g in b.groups()][:4] + (["…"] if len(b.groups()) > 4 else []),
            )
        )
        for b in plan.batches
    ]
    summary = _shown(run_id=plan.run_id, day=day, groups=len(plan.batches), dry_run=plan.dry_run)
    # Celery copies the callback (and its error handler) into every group task's message: it
    # names the run, whose plan start_run saved in the run state, instead of carrying it.
    run = {"run_id": plan.run_id, "day": day, "token": token}
    # Immutable (si): the callback's message does not carry the group tasks' returns — the
    # results are in the run state, where each group task put its own — so no message grows
    # with the day. kwargsrepr is a message option Celery honours; celery-types lacks it.
    body = finalize_run.si(**run).set(kwargsrepr=summary)  # type: ignore[call-arg]
    body.link_error(run_failed.s(**run).set(kwargsrepr=summary))  # type: ignore[call-arg]
    chord(header)(body)
    log.info("run %s: %d group tasks sent", plan.run_id, len(plan.batches))


# --- one group -----------------------------------------------------------------------------


# A group task's results reach the callback through the run state only, one hash field per
# group (each bounded by MNAAS_GROUP_SIZE customers): the chord's join gets a few bytes per
# task, and the immutable callback reads the run state. (Returning the results too stored
# them twice in the backend and put all of them in the callback's one message.)
@app.task(name=CHECK_GROUP, bind=True, max_retries=None, ignore_result=True)
def check_group(self, run_id: str, day: str, group: dict, token: str | None = None) -> dict:
    """One batch's queries (core/plan.py; `group` is its JSON, or one group's from a message
    of the version before batches). Transient errors are retried (countdown
    MNAAS_RETRY_BACKOFF, doubling) up to MNAAS_QUERY_ATTEMPTS; what still fails comes back as
    failed results, so the chord callback always runs."""
    settings = settings_for(day)
    batch = Batch.from_json(group)
    state = _state(settings, run_id)
    attempt = self.request.retries + 1
    delivery = _delivery(self, settings)
    if delivery > settings.max_deliveries:
        error = (
            f"the worker checking this group was lost {delivery - 1} times; not trying again "
            f"(MNAAS_MAX_DELIVERIES={settings.max_deliveries})"
        )
        log.error("run %s group %s: %s", run_id, batch.batch_id, error)
        results = failed_results(batch, error, attempts=attempt)
    else:
        state.group_started(batch.batch_id)
        _wait_at_test_gate(delivery, attempt)
        results = _check_once(self, settings, batch, run_id, attempt)
    state.batch_done(batch.batch_id, results)
    _extend(settings, token, run_id)
    return {"group": batch.batch_id, "groups": len(results), "failed": sum(not r.ok for r in results)}


def _check_once(task, settings: Settings, batch: Batch, run_id: str, attempt: int) -> list[GroupResult]:
    try:
        outcome = check_attempt(
            lambda: shared_warehouse(settings.warehouse_url), settings, batch, attempt=attempt, run_id=run_id
        )
    except SoftTimeLimitExceeded:
        close_shared_warehouses()  # the interrupted connection may be mid-query
        error = f"timed out after {task.app.conf.task_soft_time_limit} s (MNAAS_GROUP_TIME_LIMIT)"
        log.error("run %s group %s: %s", run_id, batch.batch_id, error)
        return failed_results(batch, error, attempts=attempt)
    except Exception as exc:  # a bug must not lose the run: the batch is reported as failed
        log.exception("run %s group %s: unexpected error", run_id, batch.batch_id)
        return failed_results(batch, describe_error(exc), attempts=attempt)
    if isinstance(outcome, RetryLater):  # the policy said: another attempt, after outcome.delay
        raise task.retry(countdown=outcome.delay, exc=TransientWarehouseError(outcome.error))
    if all(r.ok for r in outcome):
        log.info("run %s group %s (%s): ok (attempt %d)", run_id, batch.batch_id, batch.describe(), attempt)
    return outcome


def _wait_at_test_gate(delivery: int, attempt: int) -> None:
    gate = os.environ.get(TEST_GATE_ENV)
    if not gate or delivery != 1 or attempt != 1:
        return
    while os.path.exists(gate):
        time.sleep(0.05)


def _extend(settings: Settings, token: str | None, run_id: str) -> None:
    if not token:
        return
    try:
        run_lock(settings).extend(token)
    except LockLost as exc:
        log.warning("run %s: %s", run_id, mask_secrets(exc))


# --- the end -------------------------------------------------------------------------------


# Not stored either: with result_extended the stored result repeats the task's arguments, i.e.
# every group's result again; the run's outcome is kept in its run state.
@app.task(name=FINALIZE_RUN, bind=True, ignore_result=True)
def finalize_run(
    self,
    results: list | None = None,
    run_id: str | None = None,
    day: str | None = None,
    token: str | None = None,
    plan: dict | None = None,
) -> dict:
    """Chord callback: the run's outcome, exactly as `run` reports it, written only while the
    run still owns the lock (a late duplicate never overwrites a newer run), one email.
    `plan` (the whole plan) comes only from messages queued by a version that sent it."""
    settings, state, plan_ = _run_of(run_id, day, plan)
    attach_job_log(settings)
    delivery = _delivery(self, settings)
    if delivery > settings.max_deliveries:
        return abandon_run(
            settings,
            state,
            token,
            f"finalize_run was delivered {delivery} times "
            f"(MNAAS_MAX_DELIVERIES={settings.max_deliveries}); its worker kept dying",
        )
    if plan_ is None:
        return abandon_run(settings, state, token, PLAN_GONE)
    if token is None:
        return abandon_run(settings, state, None, NO_TOKEN)
    by_group = state.results()
    # A message of the version whose callback got the groups' results: they count too.
    by_group.update(
        {r["group_id"]: GroupResult.from_json(r) for r in results or [] if isinstance(r, dict) and r.get("group_id")}
    )
    finalizer = f"{state.key}:finalizer"
    me = f"{self.request.id} {os.getpid()}"
    # Held at most the callback's hard time limit: a holder killed meanwhile does not block it.
    if not state.client.set(finalizer, me, nx=True, ex=int(settings.group_time_limit) + 5):
        log.warning(
            "run %s: its callback is already running (%s); this copy waits %d s",
            run_id,
            state.client.get(finalizer),
            FINALIZER_WAIT_SECONDS,
        )
        raise self.retry(countdown=FINALIZER_WAIT_SECONDS, max_retries=None)
    try:
        if state.read().get("state") not in TERMINAL_STAGES:
            state.set(state=Stage.FINALIZING)
        return finish_run(settings, plan_, by_group, token, state)
    finally:
        if state.client.get(finalizer) == me:
            state.client.delete(finalizer)


@app.task(name=RUN_FAILED, bind=True)
def run_failed(
    self,
    task_id: str,
    *,
    run_id: str | None = None,
    day: str | None = None,
    token: str | None = None,
    plan: dict | None = None,
) -> dict:
    """Error handler of the chord (a task raised instead of returning a record, or the
    callback itself failed): report what is known, record the failure, free the lock."""
    settings, state, plan_ = _run_of(run_id, day, plan)
    attach_job_log(settings)
    log.error("run %s: task %s failed; reporting the groups whose results are known", state.run_id, task_id)
    if plan_ is None:
        return abandon_run(settings, state, token, f"task {task_id} failed; {PLAN_GONE}")
    if token is None:
        return abandon_run(settings, state, None, f"task {task_id} failed; {NO_TOKEN}")
    try:
        return finish_run(settings, plan_, state.results(), token, state)
    except Exception as exc:
        log.exception("run %s: could not report the failed run", plan_.run_id)
        return abandon_run(
            settings, state, token, f"task {task_id} failed and the run could not be reported: {describe_error(exc)}"
        )


NO_TOKEN = "the callback carries no lock token, so it cannot prove the run still holds the job; nothing is written"
PLAN_GONE = "the run's plan is no longer in its run state (expired or deleted), so its reports cannot be written"


def _run_of(run_id: str | None, day: str | None, plan: dict | None) -> tuple[Settings, RunState, Plan | None]:
    """A callback's settings, run state and plan (None when the run state lost it)."""
    if plan is not None:  # a message from the version that sent the whole plan
        run_id, day = plan["run_id"], plan["day"]
    if run_id is None or day is None:
        raise ValueError("the callback's message names no run (run_id and day are required)")
    settings = settings_for(day)
    state = _state(settings, run_id)
    stored = plan if plan is not None else state.plan()
    return settings, state, Plan.from_json(stored) if stored else None
