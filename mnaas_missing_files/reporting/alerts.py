"""The NOT DELIVERED alert of a missed deadline (contract §10): To and Cc as the report."""

from __future__ import annotations

import datetime as dt
import socket
from email.message import EmailMessage
from typing import Any

from mnaas_missing_files.reporting.mail import new_message
from mnaas_missing_files.reporting.mailbody import env_prefix


def build_deadline_alert(
    settings: Any, *, day: dt.date, alert_id: str, known: list[str], advice: list[str]
) -> EmailMessage:
    """`known`: what the history says of the day's runs; `advice`: what the operator does."""
    msg = new_message(settings, "deadline", day, alert_id, settings.mail_from, settings.mail_to, settings.mail_cc)
    msg["Subject"] = (
        f"{env_prefix(settings)}NOT DELIVERED - Missing customer files {day}: no successful run by {settings.deadline}"
    )
    config = getattr(settings, "config_path", None)
    msg.set_content(
        "\n".join(
            [
                f"The missing customer files report of {day} was not delivered: by {settings.deadline} "
                f"({settings.timezone or 'system time zone'}) on {day + dt.timedelta(days=1)} no run of "
                f"{settings.script_name} for {day} had succeeded.",
                "",
                "What is known:",
                *(f"  - {line}" for line in known),
                "",
                "What to do:",
                *(f"  - {line}" for line in advice),
                "",
                "Status:   mnaas-missing-files status" + (f" --config {config}" if config else ""),
                f"Log file: {settings.log_path}",
                f"Host:     {socket.gethostname()}",
                "",
            ]
        )
    )
    return msg
