"""The job's run history: `<status file>.runs.jsonl`, one JSON object per run, oldest first.

Entries (HistoryEntry) carry run_id, day, trigger, started, ended, outcome (an Outcome:
`running` until the run ends), groups, failed_groups, missing_files, pairs, host and pid. Writers serialize on the status file's flock; readers take no lock and skip a
line they cannot parse (a half-appended last line, or a hand edit).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnaas_missing_files.core.errors import StatusFileError
from mnaas_missing_files.core.fsio import atomic_write, os_error
from mnaas_missing_files.core.states import Outcome
from mnaas_missing_files.state.statusfile import status_lock

KEEP_RUNS = 200
HISTORY_MODE = 0o640

# Ended entries that are not a run of the day: a dry run checks without reporting.
NOT_A_RUN = frozenset({Outcome.DRY_RUN, Outcome.RUNNING})


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the history, typed where a decision reads it (catch-up, the deadline);
    every other field (counts, verdicts, host, pid, …) is kept as written, in `details`."""

    run_id: str
    day: str
    outcome: str
    trigger: str = ""
    started: str = ""
    ended: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    TYPED = ("run_id", "day", "outcome", "trigger", "started", "ended")

    @property
    def counts_as_run(self) -> bool:
        """It ran the day (contract §10): ended, and not a dry run. A failed, interrupted or
        lost run was reported; running it again is the operators' call."""
        return bool(self.ended) and self.outcome not in NOT_A_RUN

    @property
    def succeeded(self) -> bool:
        return bool(self.ended) and self.outcome == Outcome.SUCCESS

    def to_json(self) -> dict:
        typed = {name: getattr(self, name) for name in self.TYPED if getattr(self, name) or name in ("run_id", "day")}
        return {**typed, **self.details}

    @classmethod
    def from_json(cls, data: dict) -> HistoryEntry:
        typed = {name: str(data[name]) for name in cls.TYPED if data.get(name) is not None}
        details = {k: v for k, v in data.items() if k not in cls.TYPED}
        return cls(**{"run_id": "", "day": "", "outcome": "", **typed}, details=details)


def history_path(status_file: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(status_file)}.runs.jsonl")


def _encode(entry: dict) -> str:
    return json.dumps(entry, default=str, separators=(",", ":")) + "\n"


def _read_lines(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.readlines()
    except FileNotFoundError:
        return []


def _decode(line: str) -> dict | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def _rewrite(path: Path, lines: list[str]) -> None:
    atomic_write(path, "".join(lines).encode("utf-8"), HISTORY_MODE, keep_existing=True)


def _complete(lines: list[str]) -> list[str]:
    """Lines ending in a newline, so that the next record starts on a line of its own."""
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def record_run(status_file: str | os.PathLike, entry: dict[str, Any]) -> None:
    """Append `entry` (it must have a run_id); keep only the newest KEEP_RUNS entries."""
    if not entry.get("run_id"):
        raise ValueError("a run history entry needs a run_id")
    path = history_path(status_file)
    line = _encode(entry)
    try:
        with status_lock(status_file):
            lines = _read_lines(path)
            if len(lines) < KEEP_RUNS and (not lines or lines[-1].endswith("\n")):
                _append(path, line)
            else:  # trim, or repair a last line a crashed writer left without its newline
                kept = [old for old in _complete(lines) if old.strip()]
                _rewrite(path, (kept + [line])[-KEEP_RUNS:])
    except OSError as exc:
        raise StatusFileError(f"cannot record the run in {path}: {os_error(exc)}") from exc


def _append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, HISTORY_MODE)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def update_run(status_file: str | os.PathLike, run_id: str, **fields: Any) -> bool:
    """Merge `fields` into the newest entry of `run_id`, rewriting the file atomically.

    Returns False when no entry has that run_id (trimmed away or never recorded); the fields
    are then recorded as a new entry so the outcome is not lost.
    """
    path = history_path(status_file)
    try:
        with status_lock(status_file):
            lines = _complete(_read_lines(path))
            for index in range(len(lines) - 1, -1, -1):
                entry = _decode(lines[index])
                if entry is not None and entry.get("run_id") == run_id:
                    entry.update(fields)
                    lines[index] = _encode(entry)
                    _rewrite(path, lines)
                    return True
            lines.append(_encode({"run_id": run_id, **fields}))
            _rewrite(path, lines[-KEEP_RUNS:])
            return False
    except OSError as exc:
        raise StatusFileError(f"cannot update run {run_id} in {path}: {os_error(exc)}") from exc


def recent_runs(status_file: str | os.PathLike, limit: int = 10) -> list[dict]:
    """The newest `limit` entries, newest first; unreadable lines are skipped."""
    path = history_path(status_file)
    try:
        lines = _read_lines(path)
    except OSError as exc:
        raise StatusFileError(f"cannot read the run history {path}: {os_error(exc)}") from exc
    runs: list[dict] = []
    for line in reversed(lines):
        if len(runs) >= limit:
            break
        entry = _decode(line)
        if entry is not None:
            runs.append(entry)
    return runs
