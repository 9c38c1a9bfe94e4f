"""The records the Celery side passes around, typed: a run's record in Redis, the lock's
holder (state/locks.py, since `run` takes the same lock), the lock as a sweeper or a follower sees it, and what each task returns. Each has one
`to_json` and one `from_json`; the wire and Redis forms are the plain words they were.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from mnaas_missing_files.core.states import TERMINAL_STAGES, Stage
from mnaas_missing_files.state.locks import LockHolder

__all__ = ["LockHolder", "LockView", "RunRecord", "TaskResult"]

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S%z"  # a run record's `created` and `updated`


def now_stamp() -> str:
    """Now, as a run record's `created` and `updated` hold it."""
    return dt.datetime.now().astimezone().strftime(STAMP_FORMAT)


# The stages in which start_run (or a catch-up pass, redelivered) may still start the run.
NOT_STARTED = frozenset({Stage.QUEUED, Stage.STARTING})


def _stage(value: Any) -> Stage | None:
    return Stage(value) if value else None


@dataclass(frozen=True)
class RunRecord:
    """A submitted run's record, as RunState.read() gives it (never its token)."""

    run_id: str
    day: str
    state: Stage | None
    trigger: str = ""
    dry_run: bool = False
    total: int = 0
    done: int = 0
    failed: int = 0
    exit_code: int | None = None
    outcome: dict | None = None
    message: str = ""
    created: str = ""
    updated: str = ""
    job: str = ""
    failed_groups: dict[str, str] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.state in TERMINAL_STAGES

    @property
    def not_started(self) -> bool:
        """Nothing of it ran yet: a start may (still) start it."""
        return self.state is None or self.state in NOT_STARTED

    def updated_age(self, now: dt.datetime) -> float:
        """Seconds since the record was last written; infinite when that cannot be told."""
        try:
            then = dt.datetime.strptime(self.updated, STAMP_FORMAT)
        except ValueError:
            return float("inf")
        return (now - then).total_seconds()

    def to_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "day": self.day,
            "state": self.state,
            "trigger": self.trigger,
            "dry_run": self.dry_run,
            "total": self.total,
            "done": self.done,
            "failed": self.failed,
            "exit_code": self.exit_code,
            "outcome": self.outcome,
            "message": self.message,
            "created": self.created,
            "updated": self.updated,
            "job": self.job,
            "failed_groups": dict(self.failed_groups),
        }

    @classmethod
    def from_json(cls, data: dict) -> RunRecord:
        return cls(
            run_id=str(data.get("run_id") or ""),
            day=str(data.get("day") or ""),
            state=_stage(data.get("state")),
            trigger=str(data.get("trigger") or ""),
            dry_run=bool(data.get("dry_run")),
            total=int(data.get("total") or 0),
            done=int(data.get("done") or 0),
            failed=int(data.get("failed") or 0),
            exit_code=data.get("exit_code"),
            outcome=data.get("outcome"),
            message=str(data.get("message") or ""),
            created=str(data.get("created") or ""),
            updated=str(data.get("updated") or ""),
            job=str(data.get("job") or ""),
            failed_groups=dict(data.get("failed_groups") or {}),
        )


@dataclass(frozen=True)
class LockView:
    """The job's lock as one read saw it: its holder and its last holder (tokens included)."""

    holder: LockHolder | None = None
    last: LockHolder | None = None

    @classmethod
    def of(cls, holder: dict | None, last: dict | None = None) -> LockView:
        return cls(LockHolder.from_json(holder) if holder else None, LockHolder.from_json(last) if last else None)

    def owned_by(self, token: str | None) -> bool:
        return bool(token) and self.holder is not None and self.holder.token == token

    def resumable(self, token: str | None) -> bool:
        """The run of `token` holds the lock, or may take it back: nobody held it since."""
        return bool(token) and any(h is not None and h.token == token for h in (self.holder, self.last))

    def held_for(self, run_id: str) -> bool:
        """Someone holds it under this run's id (the run itself, or the sweeper reporting it)."""
        return self.holder is not None and self.holder.run_id == run_id


@dataclass(frozen=True)
class TaskResult:
    """What a task returns (Flower and the result backend show it): the run and what became
    of it (`state`: running, refused, failed, skipped, lock lost, …), with the task's details."""

    run_id: str | None
    state: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "state": self.state, **self.details}

    @classmethod
    def from_json(cls, data: dict) -> TaskResult:
        details = {k: v for k, v in data.items() if k not in ("run_id", "state")}
        return cls(data.get("run_id"), str(data.get("state", "")), details)
