"""The sweeper's deadline step (contract §10): at most one NOT DELIVERED alert per day
across any number of sweepers, claimed in Redis before anything is sent."""

from __future__ import annotations

from celery.utils.log import get_task_logger

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.run.deadline import overdue_day, send_deadline_alert, succeeded
from mnaas_missing_files.run.metrics import write_metrics_quietly
from mnaas_missing_files.state.catchup import history_entries

from .context import job_lock_key, state_client
from .runstate import PREFIX, _job

log = get_task_logger(__name__)

# The claim outlives the two days in which a day can be the overdue one.
ALERT_TTL = 4 * 24 * 3600


def check_deadline(settings: Settings) -> dict | None:
    """Alert for the overdue day unless it succeeded or was alerted already; None when
    there is nothing to do."""
    day = overdue_day(settings)
    if day is None or succeeded(history_entries(settings.status_file), day):
        return None
    client = state_client(settings)
    key = f"{PREFIX}:deadline:{_job(job_lock_key(settings))}:{day.isoformat()}"
    if not client.set(key, "alerting", nx=True, ex=ALERT_TTL):
        return None  # this day's alert went out already (this sweeper or another)
    try:
        sent = send_deadline_alert(settings, day)
    except Exception:
        client.delete(key)  # nothing went out: the next sweep tries again
        raise
    client.set(key, "sent", ex=ALERT_TTL)
    write_metrics_quietly(settings, None)
    return sent
