"""The delivery deadline (contract §10): by MNAAS_DEADLINE on day D + 1, day D has a
successful run, or operators get one NOT DELIVERED alert and the SDP ticket (episode rule).

The decision is the history's, so every sweeper (and the metrics) reaches the same one; that
the alert goes once per day across sweepers is the caller's claim (mnaas_missing_files/cluster/deadline_pass.py).
"""

from __future__ import annotations

import datetime as dt
import logging

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import MailError
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.reporting.alerts import build_deadline_alert
from mnaas_missing_files.reporting.mail import build_sdp_ticket
from mnaas_missing_files.reporting.maildelivery import deliver
from mnaas_missing_files.state import statusfile
from mnaas_missing_files.state.history import HistoryEntry
from mnaas_missing_files.state.missed_days import history_entries

log = logging.getLogger(__name__)


def overdue_day(settings: Settings, now: dt.datetime | None = None) -> dt.date | None:
    """The latest day D whose deadline (MNAAS_DEADLINE on D + 1) has passed; None when off."""
    if not settings.deadline:
        return None
    now = (now or settings.now()).astimezone(settings.tzinfo)
    hour, minute = map(int, settings.deadline.split(":"))
    passed_today = (now.hour, now.minute) >= (hour, minute)
    return now.date() - dt.timedelta(days=1 if passed_today else 2)


def succeeded(entries: list[dict], day: dt.date) -> bool:
    return any(e.day == day.isoformat() and e.succeeded for e in map(HistoryEntry.from_json, entries))


def deadline_missed(settings: Settings, entries: list[dict], now: dt.datetime | None = None) -> bool:
    """1 in the metrics: from a missed deadline until a successful run of that day ends."""
    day = overdue_day(settings, now)
    return day is not None and not succeeded(entries, day)


def what_is_known(entries: list[dict], day: dt.date) -> tuple[list[str], list[str]]:
    """(what the history says of the day's runs, what to do), in operators' words."""
    runs = [e for e in entries if e.get("day") == day.isoformat()]
    known, advice = [], []
    for entry in reversed(runs):  # oldest first
        if not entry.get("ended"):
            known.append(
                f"run {entry.get('run_id')} ({entry.get('trigger')}) started "
                f"{entry.get('started')} and is still RUNNING"
            )
        else:
            known.append(
                f"run {entry.get('run_id')} ({entry.get('trigger')}) started "
                f"{entry.get('started')}, ended {entry.get('ended')}: "
                f"{str(entry.get('outcome')).upper()}"
            )
    if not runs:
        known.append("no run for this day was ever started (was beat or the control worker down?)")
        advice.append(
            "check that beat and the control worker are running (`systemctl status` "
            "or `docker compose ps`), then run the day: "
            f"mnaas-missing-files submit --date {day} --wait"
        )
    elif any(not e.get("ended") for e in runs):
        advice.append(
            "follow the running run with `mnaas-missing-files status`; if it does not "
            "move, the sweeper reports it lost after MNAAS_LOCK_TTL"
        )
    else:
        advice.append(
            "read the failed run's email and the log for the cause, fix it, then run "
            f"the day again: mnaas-missing-files submit --date {day} --wait"
        )
    return known, advice


def send_deadline_alert(settings: Settings, day: dt.date) -> dict:
    """One NOT DELIVERED email and, by the episode rule, one SDP ticket. Delivery problems are
    logged (the email is kept in the outbox), never raised: the alert is claimed already."""
    entries = history_entries(settings.status_file)
    known, advice = what_is_known(entries, day)
    alert_id = f"deadline-{day:%Y%m%d}"
    sent: dict = {"day": day.isoformat(), "alert": None, "ticket": False}
    message = build_deadline_alert(settings, day=day, alert_id=alert_id, known=known, advice=advice)
    try:
        delivery = deliver(settings, message, kind="deadline", run_id=alert_id)
        sent["alert"] = str(delivery.path) if delivery.path else "smtp"
    except MailError as exc:
        log.error(
            "deadline %s for %s: the NOT DELIVERED alert was not delivered: %s",
            settings.deadline,
            day,
            mask_secrets(exc),
        )
    reason = f"no successful run for {day} by {settings.deadline}: " + "; ".join(known)

    def raise_ticket() -> None:
        deliver(
            settings,
            build_sdp_ticket(settings, day=day, run_id=alert_id, reason=reason),
            kind="sdp-ticket",
            run_id=alert_id,
        )

    try:
        sent["ticket"] = statusfile.raise_ticket_once(settings.status_file, raise_ticket)
    except MailError as exc:
        log.error("deadline for %s: SDP ticket not delivered: %s", day, mask_secrets(exc))
    log.warning(
        "deadline %s missed for %s: NOT DELIVERED alert %s; %s",
        settings.deadline,
        day,
        "sent" if sent["alert"] else "NOT sent",
        "SDP ticket raised" if sent["ticket"] else "an SDP ticket is already open for this episode",
    )
    return sent
