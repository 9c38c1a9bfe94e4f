"""`mnaas-missing-files submit`: enqueue a run on the Celery cluster and, with --wait, follow
it to the end with the same exit codes as `run` (0/1/2/3/4).

The client takes the job's Redis lock itself, so a second submit (or a `run` pointing at the
same Redis) is refused at once with exit 3, and hands the lock's token to start_run. Progress
is read from the run's state in Redis, never by holding a worker.
"""

from __future__ import annotations

import sys
from typing import TextIO

from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.cluster.context import run_lock, run_state
from mnaas_missing_files.cluster.following import follow_run
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_OK, MnaasError
from mnaas_missing_files.core.model import FORMAT_VERSION
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.run.local import lock_holder
from mnaas_missing_files.state import statusfile

from . import START_RUN


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
    return follow_run(
        state, lock, token, out=out, err=err, sweep_wait=settings.group_time_limit + 2 * settings.sweep_interval
    )


def _send_start(settings: Settings, plan, token: str) -> None:
    app = celery_client(settings)
    kwargs = {
        "day": plan.day.isoformat(),
        "dry_run": plan.dry_run,
        "trigger": str(plan.trigger),
        "run_id": plan.run_id,
        "token": token,
        "version": FORMAT_VERSION,
        **({"shadow_dir": plan.shadow_dir} if plan.shadow_dir else {}),
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
