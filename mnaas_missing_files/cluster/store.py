"""The run store: what the passes (sweep_pass, catchup_pass) ask of one run's state and of the
job's lock, as interfaces. RunState (runstate.py) and RedisRunLock are the Redis ones;
MemoryRunState keeps a run's state in a dict, so a pass can be driven by unit tests without
a Redis (tests/helpers/memorylock.py is the lock's counterpart).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from mnaas_missing_files.cluster.records import RunRecord, now_stamp
from mnaas_missing_files.core.model import GroupResult, Plan
from mnaas_missing_files.core.states import TERMINAL_STAGES, Stage
from mnaas_missing_files.run.end_of_run import DeliveryJournal, MemoryJournal


class RunStore(Protocol):
    """One run's state, as the passes read and end it."""

    run_id: str

    def record(self) -> RunRecord | None: ...

    def token(self) -> str | None: ...

    def set(self, **fields: Any) -> None: ...

    def lapse_seen(self, *, done: int, now: float) -> float: ...

    def plan(self) -> dict | None: ...

    def results(self) -> dict[str, GroupResult]: ...

    def stored_results(self, plan: Plan) -> Mapping[str, GroupResult]:
        """The results as a callback reads them, as the plan's groups are asked for."""
        ...

    def journal(self) -> DeliveryJournal:
        """Which emails of the run went out, shared by whoever reports it."""
        ...

    def finish(
        self,
        *,
        state: Stage,
        exit_code: int,
        outcome: dict | None = None,
        message: str = "",
        only_if_open: bool = False,
        if_updated: str | None = None,
    ) -> bool: ...


class JobLock(Protocol):
    """The job's lock, as the passes use it (RedisRunLock's methods)."""

    def acquire(self, holder: dict, *, after: str | None = None) -> str: ...

    def release(self, token: str) -> bool: ...

    def holder(self) -> dict | None: ...

    def holder_and_last(self) -> tuple[dict | None, dict | None]: ...


class MemoryRunState:
    """A run's state in memory, with RunState's rules: a finish with `only_if_open` leaves an
    ended run alone, one with `if_updated` writes only if nobody touched the record since."""

    def __init__(self, run_id: str, fields: dict[str, Any] | None = None, token: str | None = None):
        self.run_id = run_id
        self.fields: dict[str, Any] = dict(fields or {})
        self._token = token
        self._plan: dict | None = None
        self._results: dict[str, GroupResult] = {}
        self._lapse: tuple[float, int] | None = None
        self._journal = MemoryJournal()

    def record(self) -> RunRecord | None:
        return RunRecord.from_json({"run_id": self.run_id, **self.fields}) if self.fields else None

    def token(self) -> str | None:
        return self._token

    def set(self, **fields: Any) -> None:
        self.fields.update(fields, updated=now_stamp())

    def lapse_seen(self, *, done: int, now: float) -> float:
        if self._lapse is not None and self._lapse[1] == done:
            return self._lapse[0]
        self._lapse = (now, done)
        return now

    def save_plan(self, plan: dict) -> None:
        self._plan = plan

    def plan(self) -> dict | None:
        return self._plan

    def add_result(self, result: GroupResult) -> None:
        self._results[result.group_id] = result

    def results(self) -> dict[str, GroupResult]:
        return dict(self._results)

    def stored_results(self, plan: Plan) -> Mapping[str, GroupResult]:
        return self.results()

    def journal(self) -> DeliveryJournal:
        return self._journal

    def finish(
        self,
        *,
        state: Stage,
        exit_code: int,
        outcome: dict | None = None,
        message: str = "",
        only_if_open: bool = False,
        if_updated: str | None = None,
    ) -> bool:
        if only_if_open and self.fields.get("state") in TERMINAL_STAGES:
            return False
        if if_updated is not None and self.fields.get("updated") != if_updated:
            return False
        self.set(state=state, exit_code=exit_code, message=message, **({"outcome": outcome} if outcome else {}))
        return True
