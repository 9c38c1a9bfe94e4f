"""Shadow mode for the cutover (contract §16): the product runs beside the legacy cron job and
beside production, writing only into one directory.

In the shadow directory DIR a run writes its reports under their default names (so `compare
LEGACY_DIR DIR` finds them, whatever missing_files_report or query_output1 say), its log as
`DIR/<log file name>`, its emails as .eml files in DIR/outbox (never sent: the SDP ticket
neither), its status-file edits to `DIR/<status file name>` and, beside that file as always,
its lock, run history and memory of listed names; its metrics as `DIR/<metrics file name>`.
A lock beside a status file of its own (or a Redis key of its own: the key names the status
file) never waits for production's, nor production's for it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from mnaas_missing_files.config.options import csv_name, outstanding_name, txt_name
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.fsio import atomic_write, ensure_dir, os_error

log = logging.getLogger(__name__)

SHADOW_KEY = "MNAAS_SHADOW_DIR"


def shadowed(settings: Settings, directory: str | os.PathLike) -> Settings:
    """The same job with every path it writes moved into `directory` and no mail sent.
    Nothing is created (`enter_shadow` does that); a directory where the job's real files are
    written is refused, since the shadow's reports would replace production's."""
    shadow = Path(directory).expanduser().absolute()
    real = {
        "status file": settings.status_file.parent,
        "reports": settings.csv_path.parent,
        "TXT report": settings.txt_path.parent,
        "outstanding report": settings.outstanding_path.parent,
        "outbox": settings.outbox_dir,
        "log file": settings.log_path.parent,
        **({"metrics file": settings.metrics_file.parent} if settings.metrics_file else {}),
    }
    for what, real_dir in real.items():
        if shadow.resolve() == real_dir.resolve():
            raise ConfigError(
                f"the shadow directory {shadow} is where the real {what} is written; "
                "a shadow run must write elsewhere (a directory of its own)",
                key=SHADOW_KEY,
            )
    day = settings.day
    return dataclasses.replace(
        settings,
        shadow_dir=shadow,
        csv_path=shadow / csv_name(day),
        txt_path=shadow / txt_name(day),
        outstanding_path=shadow / outstanding_name(day),
        log_path=shadow / settings.log_path.name,
        status_file=shadow / settings.status_file.name,
        outbox_dir=shadow / "outbox",
        smtp_url=None,  # emails become .eml files in the shadow's outbox
        metrics_file=shadow / settings.metrics_file.name if settings.metrics_file else None,
    )


def enter_shadow(settings: Settings, directory: str | os.PathLike) -> Settings:
    """`shadowed`, with the directory created and the real status file copied into it when it
    holds none yet (then the shadow's own edits go on there, day after day)."""
    shadow = shadowed(settings, directory)
    assert shadow.shadow_dir is not None
    try:
        ensure_dir(shadow.shadow_dir)
        if not shadow.status_file.exists() and settings.status_file.is_file():
            atomic_write(shadow.status_file, settings.status_file.read_bytes(), 0o644)
            log.info("shadow: copied the status file %s into %s", settings.status_file, shadow.shadow_dir)
    except OSError as exc:
        raise ConfigError(
            f"cannot prepare the shadow directory {shadow.shadow_dir}: {os_error(exc)}", key=SHADOW_KEY
        ) from None
    return shadow
