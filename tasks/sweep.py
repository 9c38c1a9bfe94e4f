"""The sweep_lost_runs task: beat sends it every MNAAS_SWEEP_INTERVAL seconds (control queue).
It reports, once, a run whose lock lapsed (mnaas_missing_files/cluster/sweep_pass.py), then
makes the deadline check and a catch-up pass."""

from __future__ import annotations

from celery.utils.log import get_task_logger

from mnaas_missing_files.cluster.catchup_pass import catch_up_pass
from mnaas_missing_files.cluster.context import attach_job_log, settings_for
from mnaas_missing_files.cluster.deadline_pass import check_deadline
from mnaas_missing_files.cluster.sweep_pass import sweep
from workers.app import app

from . import SWEEP_LOST_RUNS
from .runs import send_chord

log = get_task_logger(__name__)


@app.task(name=SWEEP_LOST_RUNS, bind=True, ignore_result=True)
def sweep_lost_runs(self) -> dict:
    settings = settings_for(None)
    attach_job_log(settings)
    swept: dict = sweep(settings)
    for name, step in (
        ("deadline", lambda: check_deadline(settings)),
        ("catch-up", lambda: catch_up_pass(self.request.id, settings, send_chord)),
    ):
        try:  # one step that fails must not stop the other; both come again next sweep
            swept[name] = step()
        except Exception:
            log.exception("the sweep's %s step failed; trying again next sweep", name)
    return swept
