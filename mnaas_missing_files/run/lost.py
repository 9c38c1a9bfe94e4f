"""A `run` of this host that died (SIGKILL, a crash, the machine's OOM killer) never ends by
itself: the next `run` or `status` finds its history entry still `running` with its process
gone and ends it as `lost`, through the one end-of-run boundary (contract §13). Submitted
runs are the sweeper's (mnaas_missing_files/cluster/sweep_pass.py)."""

from __future__ import annotations

import logging

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_FAILED
from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.run.end_of_run import RunEnd, end_run
from mnaas_missing_files.state import history
from mnaas_missing_files.state.liveness import dead_local_run

log = logging.getLogger(__name__)

# How far back to look: a dead run older than this many entries has long been superseded.
LOOK_BACK = 20


def mark_dead_runs_lost(settings: Settings, *, found_by: str) -> list[str]:
    """End every `running` entry of a dead local run as `lost`; the run ids so ended."""
    lost = []
    for entry in history.recent_runs(settings.status_file, limit=LOOK_BACK):
        if entry.get("outcome") != Outcome.RUNNING or not dead_local_run(entry, since_key="started_ts"):
            continue
        run_id = str(entry.get("run_id"))
        message = (
            f"its process (pid {entry.get('pid')} on {entry.get('host')}) is gone: it died "
            f"without ending (killed, or the machine stopped); found by {found_by}"
        )
        log.warning("run %s for %s: %s", run_id, entry.get("day"), message)
        end_run(
            RunEnd(
                settings,
                run_id,
                str(entry.get("day")),
                Outcome.LOST,
                EXIT_FAILED,
                message=message,
                trigger=entry.get("trigger"),
            )
        )
        lost.append(run_id)
    return lost
