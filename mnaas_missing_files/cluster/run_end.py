"""How a submitted run ends, shared by its chord callback, its error handler and the sweeper
of lost runs: the domain's finalize under the run's lock token, then the lock released and
the outcome recorded in the run state; or, when nothing can be reported, the run abandoned.
Every end of a submitted run passes `finish_run` or `abandon_run`, and through them the
domain's one end-of-run boundary (run/end_of_run.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from mnaas_missing_files.cluster.context import run_lock
from mnaas_missing_files.cluster.lifecycle import LockLostEnd, who_ends_lock_lost
from mnaas_missing_files.cluster.records import LockView, TaskResult
from mnaas_missing_files.cluster.store import RunStore
from mnaas_missing_files.cluster.sweeping import ended_in_history
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_FAILED, LockLost
from mnaas_missing_files.core.model import GroupResult, Plan
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Outcome, Stage
from mnaas_missing_files.run.end_of_run import RunEnd, end_run
from mnaas_missing_files.run.finalize import end_superseded, finalize
from mnaas_missing_files.state import history

log = logging.getLogger(__name__)


def finish_run(
    settings: Settings,
    plan: Plan,
    results: Mapping[str, GroupResult],
    token: str,
    state: RunStore,
    message: str = "",
    lost: bool = False,
    next_pass: Callable[[], None] | None = None,
) -> dict:
    """Reports, one email, the status file, written only while `token` holds the job (a
    lapsed lock is taken back if nobody held the job meanwhile); the outcome as JSON.
    `next_pass` asks for the next catch-up pass once a scheduled or catch-up run ended."""
    lock = run_lock(settings)

    def still_owner() -> None:
        lock.extend(token)

    try:
        still_owner()
        outcome = finalize(settings, plan, results, journal=state.journal(), before_write=still_owner, lost=lost)
    except LockLost as exc:
        log.warning("run %s: %s", plan.run_id, mask_secrets(exc))
        ended = ended_in_history(history.recent_runs(settings.status_file, limit=history.KEEP_RUNS), plan.run_id)
        who = who_ends_lock_lost(plan.run_id, LockView.of(lock.holder()), ended_in_history=ended is not None)
        if who is LockLostEnd.ENDED:
            assert ended is not None
            log.info("run %s: ended %s already (run history); not ending it again", plan.run_id, ended.get("outcome"))
        elif who is LockLostEnd.SWEEPER:
            log.info("run %s: the sweeper is reporting it; leaving the outcome to the sweeper", plan.run_id)
        elif state.finish(state=Stage.FAILED, exit_code=EXIT_FAILED, message=mask_secrets(exc), only_if_open=True):
            end_superseded(settings, plan, exc, state.journal())
        return {"run_id": plan.run_id, "outcome": "lock lost"}
    # The outcome's JSON is built before the lock goes (on a 1,000,000-pair day that took
    # longer than `submit --wait` gives an ownerless run, LOST_GRACE_SECONDS): between the
    # release and the record there is one Redis write. The lock goes first: whoever sees the
    # run done may start the next one at once.
    done = outcome.to_json()
    lock.release(token)
    state.finish(state=Stage.DONE, exit_code=outcome.exit_code, outcome=done, message=message)
    if next_pass is not None and plan.trigger.claims_its_day:
        next_pass()
    return done


def abandon_run(settings: Settings, state: RunStore, token: str | None, message: str) -> dict:
    """The run cannot be reported: free the job, record it failed, and end it through the one
    boundary (history, log) with the reason."""
    if token:
        run_lock(settings).release(token)
    if state.finish(state=Stage.FAILED, exit_code=EXIT_FAILED, message=message, only_if_open=True):
        record = state.record()
        end_run(
            RunEnd(
                settings,
                state.run_id,
                (record.day if record else "") or str(settings.day),
                Outcome.FAILED,
                EXIT_FAILED,
                message=message,
                dry_run=bool(record and record.dry_run),
                journal=state.journal(),
            )
        )
    else:
        log.error("run %s: %s (it had already ended)", state.run_id, message)
    return TaskResult(state.run_id, "failed").to_json()
