"""`mnaas-missing-files submit`: enqueue a run on the Celery cluster and, with --wait, follow
it to the end with the same exit codes as `run` (0/1/2/3/4).

The client takes the job's Redis lock itself, so a second submit (or a `run` pointing at the
same Redis) is refused at once with exit 3, and hands the lock's token to start_run. Progress
is read from the run's state in Redis, never by holding a worker.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

import redis

from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.cluster.context import run_lock, run_state
from mnaas_missing_files.cluster.following import Follower
from mnaas_missing_files.cluster.records import LockView, RunRecord
from mnaas_missing_files.cluster.runstate import RunState
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_OK, LockUnavailable, MnaasError
from mnaas_missing_files.core.model import FORMAT_VERSION
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Stage
from mnaas_missing_files.run.local import lock_holder
from mnaas_missing_files.run.progress import ProgressPrinter
from mnaas_missing_files.run.summary import print_outcome
from mnaas_missing_files.state import statusfile

from . import START_RUN

POLL_SECONDS = 0.25
# A Redis restart (the lock, run state and broker are usually one server) is waited out, since
# the workers reconnect and the run goes on; one unreachable for longer than the lock's TTL is
# not coming back soon enough to follow the run.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, LockUnavailable)


def celery_client(settings: Settings):
    """A Celery app that only sends: configured like the workers, from these settings."""
    from celery import Celery

    import celeryconfig

    app = Celery("mnaas-submit", set_as_current=False)
    app.conf.update(celeryconfig.celery_settings(settings))
    return app


def submit_run(
    settings: Settings,
    wait: bool = False,
    dry_run: bool = False,
    trigger: str = "submit",
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Lock, enqueue start_run, print the run id; with `wait`, follow it and return its exit
    code. Raises LockHeld (3) or JobHeld (4) having changed nothing."""
    out, err = out or sys.stdout, err or sys.stderr
    plan = make_plan(settings, workers=settings.group_workers, dry_run=dry_run, trigger=trigger)
    lock = run_lock(settings)
    token = lock.acquire(lock_holder(settings, plan))
    state = run_state(settings, plan.run_id)
    try:
        # The status file is checked here when this host has it; otherwise start_run refuses.
        statusfile.check_not_held(settings.status_file)
        state.create(day=plan.day, trigger=trigger, dry_run=dry_run, total=len(plan.groups), job=lock.key, token=token)
        _send_start(settings, plan, token)
    except BaseException:
        lock.release(token)
        state.client.delete(state.key)
        raise
    print(
        f"submitted run {plan.run_id} for {plan.day} ({len(plan.groups)} groups{', dry run' if dry_run else ''})",
        file=out,
        flush=True,
    )
    if not wait:
        print(f"follow it with: mnaas-missing-files status --config {settings.config_path}", file=err)
        return EXIT_OK
    return wait_for_run(
        state, lock, token, out=out, err=err, sweep_wait=settings.group_time_limit + 2 * settings.sweep_interval
    )


def _send_start(settings: Settings, plan, token: str) -> None:
    app = celery_client(settings)
    kwargs = {
        "day": plan.day.isoformat(),
        "dry_run": plan.dry_run,
        "trigger": plan.trigger,
        "run_id": plan.run_id,
        "token": token,
        "version": FORMAT_VERSION,
    }
    shown = {k: v for k, v in kwargs.items() if k != "token"}
    try:
        app.send_task(
            START_RUN,
            kwargs=kwargs,
            kwargsrepr=repr(shown),
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1.0, "interval_max": 2.0},
        )
    except Exception as exc:  # kombu's connection errors vary by transport
        raise MnaasError(
            f"cannot enqueue the run on the broker {mask_secrets(app.conf.broker_url)}: {mask_secrets(exc)}"
        ) from None
    finally:
        app.close()


def wait_for_run(state: RunState, lock, token: str, *, out: TextIO, err: TextIO, sweep_wait: float = 1500) -> int:
    """Show progress until the run ends (cluster/following.py decides); its exit code."""
    printer = ProgressPrinter(err)
    follower = Follower(state.run_id, token, lock_ttl=lock.ttl_seconds, sweep_wait=sweep_wait)
    while True:
        try:
            seen = follower.saw(time.monotonic(), state.record(), LockView.of(*lock.holder_and_last()))
        except REDIS_DOWN as exc:
            seen = follower.unreachable(time.monotonic(), mask_secrets(exc))
        if seen.progress is not None:
            printer.update(*seen.progress)
        if seen.say:
            print(seen.say, file=err, flush=True)
        if seen.ended is not None:
            _report(seen.ended, out, err)
        if seen.exit_code is not None:
            return seen.exit_code
        time.sleep(POLL_SECONDS)


def _report(record: RunRecord, out: TextIO, err: TextIO) -> None:
    if record.state != Stage.DONE:
        print(
            f"run {record.run_id} for {record.day}: {str(record.state).upper()}: {record.message or 'no detail'}",
            file=err,
        )
        return
    print_outcome(record.outcome or {}, out)
