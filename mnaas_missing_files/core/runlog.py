"""Logging in operators' words: to stderr and to the job's log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from mnaas_missing_files.core.secrets import mask_secrets

FORMAT = "%(asctime)s %(levelname)s %(processName)s %(message)s"


class SecretFilter(logging.Filter):
    """Last line of defence: no password in a URL reaches a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def quiet_libraries() -> None:
    """thrift logs every refused connection at ERROR before our own, clearer, line."""
    logging.getLogger("thrift.transport.TSocket").setLevel(logging.CRITICAL)


def configure_stderr(verbose: bool = False) -> None:
    """Warnings and errors on the terminal (progress and the summary say the rest); every
    detail with -v. The log file always gets the INFO lines."""
    quiet_libraries()
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not any(getattr(h, "_mnaas", None) == "stderr" for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(SecretFilter())
        setattr(handler, "_mnaas", "stderr")  # noqa: B010 - a mark on a stdlib handler, read by getattr
        root.addHandler(handler)


def attach_log_file(path: Path) -> None:
    """Append the job's records to its log file (MNAAS_Missing_Customer_Files_logpath)."""
    root = logging.getLogger()
    key = f"file:{path}"
    if any(getattr(h, "_mnaas", None) == key for h in root.handlers):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SecretFilter())
    setattr(handler, "_mnaas", key)  # noqa: B010 - see configure_stderr
    root.addHandler(handler)
