"""The Celery tasks of a run: start_run -> chord(check_group x N) -> finalize_run, with
run_failed as the chord's error handler. Adapters: they decode the message, read what the
cluster layer's rules need, and apply its decision (mnaas_missing_files/cluster/).

Arguments are small JSON with no secret and no host-only path (Flower and the broker show
them): run id, day, batch, and the run's lock token, which Flower's display leaves out.
Each worker reads its connection settings from its own MNAAS_CONFIG and environment.
"""

from __future__ import annotations

import os

from celery import chord
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.log import get_task_logger

from mnaas_missing_files.checking.check import RetryLater, check_attempt, describe_error, failed_results
from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.cluster.context import attach_job_log, run_lock, run_state, settings_for, state_client
from mnaas_missing_files.cluster.jobkeys import count_delivery
from mnaas_missing_files.cluster.lifecycle import (
    NO_TOKEN,
    PLAN_GONE,
    TAKEN_BEFORE_START,
    Start,
    finish_problem,
    start_step,
    too_many_deliveries,
)
from mnaas_missing_files.cluster.records import TaskResult
from mnaas_missing_files.cluster.run_end import abandon_run, finish_run
from mnaas_missing_files.cluster.run_start import claim_scheduled_run, extend_quietly, launch_run, scheduled_run_id
from mnaas_missing_files.cluster.runstate import RunState
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_LOCKED, ConfigError, GroupsFailed, LockLost, TransientWarehouseError
from mnaas_missing_files.core.model import FORMAT_VERSION, Batch, GroupResult, Plan
from mnaas_missing_files.core.plan import accept_version, parse_trigger
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Stage
from mnaas_missing_files.warehouse.duckdb_engine import close_shared_warehouses, shared_warehouse
from workers.app import app

from . import CATCH_UP, CHECK_GROUP, FINALIZE_RUN, RUN_FAILED, START_RUN

log = get_task_logger(__name__)

# A configuration that does not load at a run's start is tried again for a minute: failing at
# once left the run queued until the sweeper reported it lost (chaos soak). A second copy of a
# run's callback waits FINALIZER_WAIT s for the first (cluster/runstate.py: claim_finalizer).
CONFIG_RETRIES, CONFIG_RETRY_SECONDS, FINALIZER_WAIT = 6, 10, 5


def ask_for_the_next_pass() -> None:
    """Catch-up runs one day at a time: the next pass now, rather than at the next sweep
    (which makes it anyway, within MNAAS_SWEEP_INTERVAL)."""
    try:
        app.send_task(CATCH_UP)
    except Exception as exc:  # kombu's connection errors vary; the run's outcome stands
        log.warning("catch-up: could not ask for the next pass now (%s); the next sweep makes it", mask_secrets(exc))


def _delivery(task, settings: Settings) -> int:
    return count_delivery(state_client(settings), task.request.id, task.request.retries)


@app.task(name=START_RUN, bind=True)
def start_run(
    self,
    day: str | None = None,
    dry_run: bool = False,
    trigger: str = "schedule",
    run_id: str | None = None,
    token: str | None = None,
    shadow_dir: str | None = None,
    version: int = FORMAT_VERSION,
) -> dict:
    """Take (or verify) the lock, mark the status file, plan, and launch the chord.

    `submit` passes the run id and the token of the lock it took; a caller that passes
    neither gets the day claimed (one scheduled run per day) and the lock taken here. Beat's
    tick goes through the catch-up pass (tasks/catchup.py), which starts its days itself."""
    accept_version(f"a {START_RUN} message", version)
    trigger = parse_trigger(f"a {START_RUN} message", trigger)
    try:
        settings = settings_for(day, shadow_dir)
    except ConfigError as exc:  # a DuckDB file away for a moment, a file mid-edit
        why, tries = mask_secrets(exc), f"{self.request.retries + 1} of {CONFIG_RETRIES + 1}"
        log.error(
            "run %s: cannot start yet, the job's configuration does not load: %s; trying again in %d s (%s)",
            *(run_id or "(scheduled)", why, CONFIG_RETRY_SECONDS, tries),
        )
        raise self.retry(countdown=CONFIG_RETRY_SECONDS, max_retries=CONFIG_RETRIES, exc=exc) from None
    attach_job_log(settings)
    run_id = run_id or scheduled_run_id(settings, self.request.id)
    state = run_state(settings, run_id)
    record = state.record()
    token = token or state.token()  # a redelivered scheduled run goes on with its own lock
    delivery = _delivery(self, settings) if record is None or record.not_started else 0
    step = start_step(record, token, delivery, settings.max_deliveries)
    if step is Start.ALREADY:
        assert record is not None
        log.info("run %s: already %s; this delivery of start_run does nothing", run_id, record.state)
        return TaskResult(run_id, str(record.state)).to_json()
    if step is Start.ABANDON:
        return abandon_run(settings, state, token, too_many_deliveries("start_run", delivery, settings.max_deliveries))
    plan = make_plan(settings, workers=settings.group_workers, dry_run=dry_run, trigger=trigger, run_id=run_id)
    if step is Start.CLAIM:
        token = claim_scheduled_run(settings, plan, state)
        if token is None:
            return TaskResult(run_id, "skipped").to_json()
    else:
        assert token is not None
        try:  # a lock that lapsed while the message waited is taken back if nobody held the job
            run_lock(settings).extend(token)
        except LockLost:
            # Nothing started (contract §15): refused like a held lock, exit 3, no message sent.
            log.warning("run %s: %s", run_id, TAKEN_BEFORE_START)
            state.finish(state=Stage.REFUSED, exit_code=EXIT_LOCKED, message=TAKEN_BEFORE_START, only_if_open=True)
            return TaskResult(run_id, "refused").to_json()
    return launch_run(settings, plan, state, token, send_chord)


def send_chord(plan: Plan, token: str) -> None:
    day = plan.day.isoformat()
    shadow = {"shadow_dir": plan.shadow_dir} if plan.shadow_dir else {}
    # Flower shows kwargsrepr: the batch's size and span, not its thousand customers again.
    header = [
        check_batch.s(run_id=plan.run_id, day=day, group=b.to_json(), token=token, **shadow).set(  # type: ignore[call-arg]
            kwargsrepr=repr(
                {
                    "run_id": plan.run_id,
                    "day": day,
                    "group": b.batch_id,
                    "checks": b.describe(),
                    "groups": [g.group_id for g in b.groups()][:4] + (["…"] if len(b.groups()) > 4 else []),
                }
            )
        )
        for b in plan.batches
    ]
    summary = repr({"run_id": plan.run_id, "day": day, "groups": len(plan.batches), "dry_run": plan.dry_run})
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


# A group task's results reach the callback through the run state only, one key per group
# (each bounded by MNAAS_GROUP_SIZE customers): the chord's join gets a few bytes per task,
# and the immutable callback reads the run state.
@app.task(name=CHECK_GROUP, bind=True, max_retries=None, ignore_result=True)
def check_batch(
    self, run_id: str, day: str, group: dict, token: str | None = None, shadow_dir: str | None = None
) -> dict:
    """One batch's queries (core/plan.py; `group` is its JSON: the task's name predates
    batches). Transient errors are retried (countdown MNAAS_RETRY_BACKOFF, doubling) up to
    MNAAS_QUERY_ATTEMPTS; what still fails is recorded as failed results in the run state,
    then raised (GroupsFailed): Flower shows the task FAILURE, and the chord calls the body's
    error callback, run_failed, which ends the run through the same boundary as finalize_run,
    with a report naming the failed groups."""
    settings = settings_for(day, shadow_dir)  # a shadow run's lock is its own
    batch = Batch.from_json(group)
    state = run_state(settings, run_id)
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
        results = _check_once(self, settings, batch, run_id, attempt)
    state.batch_done(batch.batch_id, results)
    extend_quietly(settings, token, run_id)
    failed = [r for r in results if not r.ok]
    if failed:  # recorded above; raising shows FAILURE in Flower and routes the chord to run_failed
        raise GroupsFailed(
            f"{len(failed)} of {len(results)} group(s) failed after their retries; "
            f"first: {failed[0].group_id}: {mask_secrets(failed[0].error)}"
        )
    return {"group": batch.batch_id, "groups": len(results), "failed": 0}


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


# Not stored either: with result_extended the stored result repeats the task's arguments, i.e.
# every group's result again; the run's outcome is kept in its run state.
@app.task(name=FINALIZE_RUN, bind=True, ignore_result=True)
def finalize_run(self, run_id: str, day: str, token: str | None = None, version: int = FORMAT_VERSION) -> dict:
    """Chord callback: the run's outcome, exactly as `run` reports it, written only while the
    run still owns the lock (a late duplicate never overwrites a newer run), one email."""
    accept_version(f"a {FINALIZE_RUN} message", version)
    settings, state, plan = _run_of(run_id, day)
    attach_job_log(settings)
    problem = finish_problem(
        delivery=_delivery(self, settings),
        max_deliveries=settings.max_deliveries,
        plan_known=plan is not None,
        token=token,
    )
    if problem is not None or plan is None or token is None:
        return abandon_run(settings, state, token, problem or PLAN_GONE)
    me = f"{self.request.id} {os.getpid()}"
    holder = state.claim_finalizer(me, ttl=int(settings.group_time_limit) + 5)
    if holder is not None:  # another copy of this callback is ending the run: wait for it
        log.warning(
            "run %s: its callback is already running (%s); this copy waits %d s", run_id, holder, FINALIZER_WAIT
        )
        raise self.retry(countdown=FINALIZER_WAIT, max_retries=None)
    try:
        record = state.record()
        if record is None or not record.ended:
            state.set(state=Stage.FINALIZING)
        return finish_run(settings, plan, state.stored_results(plan), token, state, next_pass=ask_for_the_next_pass)
    finally:
        state.release_finalizer(me)


@app.task(name=RUN_FAILED, bind=True)
def run_failed(
    self, task_id: str, *, run_id: str, day: str, token: str | None = None, version: int = FORMAT_VERSION
) -> dict:
    """Error handler of the chord (a task raised instead of returning a record, or the
    callback itself failed): report what is known, record the failure, free the lock."""
    accept_version(f"a {RUN_FAILED} message", version)
    settings, state, plan = _run_of(run_id, day)
    attach_job_log(settings)
    log.error("run %s: task %s failed; reporting the groups whose results are known", state.run_id, task_id)
    if plan is None:
        return abandon_run(settings, state, token, f"task {task_id} failed; {PLAN_GONE}")
    if token is None:
        return abandon_run(settings, state, None, f"task {task_id} failed; {NO_TOKEN}")
    try:
        return finish_run(settings, plan, state.stored_results(plan), token, state, next_pass=ask_for_the_next_pass)
    except Exception as exc:
        log.exception("run %s: could not report the failed run", plan.run_id)
        return abandon_run(
            settings, state, token, f"task {task_id} failed and the run could not be reported: {describe_error(exc)}"
        )


def _run_of(run_id: str, day: str) -> tuple[Settings, RunState, Plan | None]:
    """A callback's settings, run state and plan (None when the run state lost it)."""
    settings = settings_for(day)
    state = run_state(settings, run_id)
    stored = state.plan()
    plan = Plan.from_json(stored) if stored else None
    if plan is not None and plan.shadow_dir:
        settings = settings_for(day, plan.shadow_dir)
    return settings, state, plan
