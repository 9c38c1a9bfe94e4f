"""How a submitted run ends, shared by its chord callback, its error handler and the sweeper
of lost runs: the domain's finalize under the run's lock token, then the lock released and
the outcome recorded in the run state; or, when nothing can be reported, the run abandoned."""

from __future__ import annotations

from celery.utils.log import get_task_logger

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_FAILED, LockLost
from mnaas_missing_files.core.model import GroupResult, Plan
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Outcome, Stage
from mnaas_missing_files.run.ending import RunEnd, end_run
from mnaas_missing_files.run.finalize import end_superseded, finalize
from workers.app import app

from . import CATCH_UP
from .context import run_lock
from .runstate import RedisJournal, RunState

log = get_task_logger(__name__)


def finish_run(
    settings: Settings,
    plan: Plan,
    results: dict[str, GroupResult],
    token: str,
    state: RunState,
    message: str = "",
    lost: bool = False,
) -> dict:
    """Reports, one email, the status file, written only while `token` holds the job (a
    lapsed lock is taken back if nobody held the job meanwhile); the outcome as JSON."""
    lock = run_lock(settings)

    def still_owner() -> None:
        lock.extend(token)

    try:
        still_owner()
        outcome = finalize(
            settings, plan, results, journal=RedisJournal(state.client), before_write=still_owner, lost=lost
        )
    except LockLost as exc:
        log.warning("run %s: %s", plan.run_id, mask_secrets(exc))
        if (lock.holder() or {}).get("run_id") == plan.run_id:
            log.info("run %s: the sweeper is reporting it; leaving the outcome to the sweeper", plan.run_id)
        elif state.finish(state=Stage.FAILED, exit_code=EXIT_FAILED, message=mask_secrets(exc), only_if_open=True):
            end_superseded(settings, plan, exc, RedisJournal(state.client))
        return {"run_id": plan.run_id, "outcome": "lock lost"}
    # The outcome's JSON is built before the lock goes (on a 1,000,000-pair day that took
    # longer than `submit --wait` gives an ownerless run, LOST_GRACE_SECONDS): between the
    # release and the record there is one Redis write. The lock goes first: whoever sees the
    # run done may start the next one at once.
    done = outcome.to_json()
    lock.release(token)
    state.finish(state=Stage.DONE, exit_code=outcome.exit_code, outcome=done, message=message)
    if plan.trigger in ("catchup", "schedule"):
        _ask_for_the_next_day()
    return done


def _ask_for_the_next_day() -> None:
    """Catch-up runs one day at a time: the next pass now, rather than at the next sweep
    (which makes it anyway, within MNAAS_SWEEP_INTERVAL)."""
    try:
        app.send_task(CATCH_UP)
    except Exception as exc:  # kombu's connection errors vary; the run's outcome stands
        log.warning("catch-up: could not ask for the next pass now (%s); the next sweep makes it", mask_secrets(exc))


def abandon_run(settings: Settings, state: RunState, token: str | None, message: str) -> dict:
    """The run cannot be reported: free the job, record it failed, and end it through the one
    boundary (history, log) with the reason."""
    if token:
        run_lock(settings).release(token)
    if state.finish(state=Stage.FAILED, exit_code=EXIT_FAILED, message=message, only_if_open=True):
        record = state.read()
        end_run(
            RunEnd(
                settings,
                state.run_id,
                str(record.get("day") or settings.day),
                Outcome.FAILED,
                EXIT_FAILED,
                message=message,
                dry_run=bool(record.get("dry_run")),
                journal=RedisJournal(state.client),
            )
        )
    else:
        log.error("run %s: %s (it had already ended)", state.run_id, message)
    return {"run_id": state.run_id, "state": "failed"}
