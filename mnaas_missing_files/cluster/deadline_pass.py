"""The sweeper's deadline step (contract §10): at most one NOT DELIVERED alert per day
across any number of sweepers, claimed in Redis before anything is sent."""

from __future__ import annotations

import logging

from mnaas_missing_files.cluster.context import job_lock_key, state_client
from mnaas_missing_files.cluster.jobkeys import claim_deadline_alert, deadline_alert_sent
from mnaas_missing_files.cluster.keys import ALERT_TTL
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.run.deadline_alert import overdue_day, send_deadline_alert, succeeded
from mnaas_missing_files.run.metrics import write_metrics_quietly
from mnaas_missing_files.state.missed_days import history_entries

log = logging.getLogger(__name__)


def check_deadline(settings: Settings) -> dict | None:
    """Alert for the overdue day unless it succeeded or was alerted already; None when
    there is nothing to do."""
    day = overdue_day(settings)
    if day is None or succeeded(history_entries(settings.status_file), day):
        return None
    client, job = state_client(settings), job_lock_key(settings)
    if not claim_deadline_alert(client, job, day, ALERT_TTL):
        return None  # this day's alert went out already (this sweeper or another)
    try:
        sent = send_deadline_alert(settings, day)
    except Exception:
        deadline_alert_sent(client, job, day, ALERT_TTL, sent=False)  # the next sweep tries again
        raise
    deadline_alert_sent(client, job, day, ALERT_TTL, sent=True)
    write_metrics_quietly(settings, None)
    return sent
