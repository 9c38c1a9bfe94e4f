"""The catch_up task (contract §10), on the control queue: one pass of catch-up of missed
days (mnaas_missing_files/cluster/catchup_pass.py), sent by beat at start and at every tick,
and after a catch-up or scheduled run ends."""

from __future__ import annotations

from mnaas_missing_files.cluster.catchup_pass import catch_up_pass
from mnaas_missing_files.cluster.context import attach_job_log, settings_for
from workers.app import app

from . import CATCH_UP
from .runs import send_chord


@app.task(name=CATCH_UP, bind=True, ignore_result=True)
def catch_up(self, tick: bool = False) -> dict:
    """A pass; `tick`: sent by beat's daily entry, for yesterday (the tick's day)."""
    settings = settings_for(None)
    attach_job_log(settings)
    return catch_up_pass(self.request.id, settings, send_chord, tick_day=settings.day if tick else None)
