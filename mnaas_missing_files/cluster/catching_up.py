"""Catch-up's rules (contract §10), over what a pass saw: which days are due, who claimed
each, whether the claimer ever started, and whether the job is busy. The pass (catchup.py)
reads those and does what `next_step` decides.

A pass starts the oldest due day (trigger `catchup`), or the tick's own day (trigger
`schedule`) once nothing older is left. One at a time: while any run of the job is open or
its lock is held, it starts nothing. Each day is started once across any number of beats:
it is claimed first; a claim whose run was refused, or that never got a run state within
STARTING_GRACE_SECONDS (its pass died between the claim and the start), is taken over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mnaas_missing_files.cluster.records import LockHolder, RunRecord
from mnaas_missing_files.core.states import Stage, Trigger

# A claimed day whose run never got a run state (its worker died between the claim and the
# start) is taken over by a pass this long after the claim: long enough for a pass that is
# still starting it, short against a day.
STARTING_GRACE_SECONDS = 60


def pass_run_id(day: dt.date, task_id: str) -> str:
    """A pass's run id for `day` comes from its task id: a redelivered pass is the same run."""
    return f"{day:%Y%m%d}-{task_id.replace('-', '')[:8]}"


def due_days(not_run: Iterable[dt.date], tick: dt.date | None, tick_pending: bool) -> list[dt.date]:
    """The window's days that never ran, and the tick's day while its tick is pending (it
    runs as scheduled even if an operator ran it before), oldest first."""
    due = set(not_run)
    if tick is not None and tick_pending:
        due.add(tick)
    return sorted(due)


@dataclass(frozen=True)
class Claim:
    """Who claimed a day, and what is known of that run."""

    owner: str  # the claiming run's id
    record: RunRecord | None  # its run state; None when it never got one
    age: float  # seconds since the claim

    def is_stale(self) -> bool:
        """Its run was refused, or never got a run state within the grace."""
        if self.record is None:
            return self.age > STARTING_GRACE_SECONDS
        return self.record.state == Stage.REFUSED


@dataclass(frozen=True)
class PassView:
    """What a pass saw. `claims`: day -> its claim (unclaimed days are absent); `ticks`: the
    days whose tick came; `busy`: what the job is doing (busy_with), None when idle."""

    task_id: str
    due: list[dt.date]
    claims: Mapping[dt.date, Claim] = field(default_factory=dict)
    ticks: frozenset[dt.date] = frozenset()
    busy: str | None = None
    tick_day: dt.date | None = None


@dataclass(frozen=True)
class Step:
    """`start`: start `day` as `run_id` (taking the claim over from `replacing`); `wait`:
    the job is busy with `busy`; neither: nothing is due. `skipped`: days already started by
    another run (with its id), for the log."""

    day: dt.date | None = None
    run_id: str | None = None
    trigger: Trigger | None = None
    replacing: str | None = None
    busy: str | None = None
    skipped: tuple[tuple[dt.date, str], ...] = ()

    @property
    def start(self) -> bool:
        return self.run_id is not None

    @property
    def wait(self) -> bool:
        return self.busy is not None


def next_step(view: PassView) -> Step:
    """The oldest due day this pass may start, or the wait, or nothing."""
    skipped: list[tuple[dt.date, str]] = []
    for day in view.due:
        run_id = pass_run_id(day, view.task_id)
        trigger = Trigger.SCHEDULE if day in view.ticks else Trigger.CATCHUP
        claim = view.claims.get(day)
        if claim is not None and claim.owner == run_id:  # this pass, redelivered
            if claim.record is None or claim.record.not_started:
                return Step(day, run_id, trigger, skipped=tuple(skipped))
            continue
        if claim is not None and not claim.is_stale():
            skipped.append((day, claim.owner))
            continue
        if view.busy:
            return Step(day, busy=view.busy, skipped=tuple(skipped))
        return Step(day, run_id, trigger, claim.owner if claim else None, skipped=tuple(skipped))
    return Step(skipped=tuple(skipped))


def busy_with(holder: LockHolder | None, open_records: Iterable[RunRecord]) -> str | None:
    """What the job is doing now that a new run must wait for, or None when it is idle."""
    if holder is not None:
        return f"run {holder.run_id} (it holds the job's lock)"
    for record in open_records:
        if not record.ended:
            return f"run {record.run_id} ({record.state}, not ended)"
    return None
