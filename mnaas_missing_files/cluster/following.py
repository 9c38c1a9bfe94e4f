"""Following a submitted run (`submit --wait`): when its progress is shown, when it has
ended, and when it counts as lost, decided from what each poll saw (its record, the job's
lock, the time) or that Redis could not be reached. The poll loop only
reads, asks `Follower`, prints and sleeps (`follow_run`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TextIO

import redis

from mnaas_missing_files.cluster.records import LockView, RunRecord
from mnaas_missing_files.cluster.runstate import RunState
from mnaas_missing_files.core.errors import EXIT_FAILED, LockUnavailable
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.core.states import Stage
from mnaas_missing_files.run.progress import ProgressPrinter
from mnaas_missing_files.run.summary import print_outcome

# How long the run may look ownerless (lock gone, state not final) before the client calls
# it lost: finalize releases the lock a moment before it records the outcome. A run whose lock
# merely lapsed (nobody took the job since) may still move again, or the sweeper reports it
# after MNAAS_GROUP_TIME_LIMIT more, at its next sweep: that is waited for.
LOST_GRACE_SECONDS = 5.0

SHOWN_STAGES = frozenset({Stage.RUNNING, Stage.FINALIZING, Stage.DONE})
POLL_SECONDS = 0.25
# A Redis restart (the lock, run state and broker are usually one server) is waited out, since
# the workers reconnect and the run goes on; one unreachable for longer than the lock's TTL is
# not coming back soon enough to follow the run.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, LockUnavailable)


@dataclass(frozen=True)
class Seen:
    """What to do after one poll: show `progress` (done, total, failed), tell `say`, and stop
    with `exit_code` (with `ended`, the run's final record, to report), or poll again."""

    progress: tuple[int, int, int] | None = None
    say: str | None = None
    exit_code: int | None = None
    ended: RunRecord | None = None


class Follower:
    """One run followed by its token. `lock_ttl`: how long an unreachable Redis is waited
    for; `sweep_wait`: how much longer a lapsed run (nobody took the job since) is given to
    move again or be reported by the sweeper."""

    def __init__(
        self, run_id: str, token: str, *, lock_ttl: float, sweep_wait: float, grace: float = LOST_GRACE_SECONDS
    ):
        self.run_id, self.token = run_id, token
        self.lock_ttl, self.sweep_wait, self.grace = lock_ttl, sweep_wait, grace
        self._shown: tuple[int, int, int] | None = None
        self._ownerless_since: float | None = None
        self._unreachable_since: float | None = None
        self._lapse_told = False

    def unreachable(self, now: float, error: str) -> Seen:
        """Redis (lock, run state) did not answer: waited out for up to the lock's TTL, since
        the workers reconnect and the run goes on."""
        self._ownerless_since = None
        if self._unreachable_since is None:
            self._unreachable_since = now
            return Seen(
                say=f"run {self.run_id}: Redis unreachable ({error}); waiting for it (up to {self.lock_ttl:g} s)"
            )
        if now - self._unreachable_since > self.lock_ttl:
            return Seen(
                say=f"run {self.run_id}: lost track: Redis unreachable for over {self.lock_ttl:g} s; "
                "the run may still finish: follow it with `status`",
                exit_code=EXIT_FAILED,
            )
        return Seen()

    def saw(self, now: float, record: RunRecord | None, lock: LockView) -> Seen:
        self._unreachable_since = None
        progress = None
        if record is not None and record.state in SHOWN_STAGES:
            current = (record.done, record.total, record.failed)
            if current != self._shown:
                progress = self._shown = current
        if record is not None and record.ended:
            code = EXIT_FAILED if record.exit_code is None else record.exit_code
            return Seen(progress, exit_code=code, ended=record)
        # The sweeper reporting this lost run holds the lock under the run's id.
        if lock.owned_by(self.token) or lock.held_for(self.run_id):
            self._ownerless_since = None
            return Seen(progress)
        if self._ownerless_since is None:
            self._ownerless_since = now
            return Seen(progress)
        return self._ownerless(now, progress, resumable=lock.resumable(self.token))

    def _ownerless(self, now: float, progress: tuple[int, int, int] | None, *, resumable: bool) -> Seen:
        assert self._ownerless_since is not None
        waited = now - self._ownerless_since
        limit = self.grace + (self.sweep_wait if resumable else 0)
        lapse = None
        if resumable and not self._lapse_told and waited > self.grace:
            self._lapse_told = True
            lapse = (
                f"run {self.run_id}: its lock lapsed (no progress for MNAAS_LOCK_TTL); waiting "
                f"up to {limit:.0f} s for it to move again or for the sweeper to report it"
            )
        if waited > limit:
            lost = f"run {self.run_id}: lost: its lock expired and no outcome was recorded (did every worker die?)"
            return Seen(progress, say=f"{lapse}\n{lost}" if lapse else lost, exit_code=EXIT_FAILED)
        if lapse:
            return Seen(progress, say=lapse)
        return Seen(progress)


def follow_run(state: RunState, lock, token: str, *, out: TextIO, err: TextIO, sweep_wait: float = 1500) -> int:
    """Show progress until the run ends (`Follower` decides); its exit code."""
    printer = ProgressPrinter(err)
    follower = Follower(state.run_id, token, lock_ttl=lock.ttl_seconds, sweep_wait=sweep_wait)
    while True:
        try:
            seen = follower.saw(time.monotonic(), state.record(), LockView.of(*lock.holder_and_last()))
        except REDIS_DOWN as exc:
            seen = follower.unreachable(time.monotonic(), mask_secrets(exc))
        if seen.progress is not None:
            printer.update(*seen.progress)
        if seen.say:
            print(seen.say, file=err, flush=True)
        if seen.ended is not None:
            _report(seen.ended, out, err)
        if seen.exit_code is not None:
            return seen.exit_code
        time.sleep(POLL_SECONDS)


def _report(record: RunRecord, out: TextIO, err: TextIO) -> None:
    if record.state != Stage.DONE:
        print(
            f"run {record.run_id} for {record.day}: {str(record.state).upper()}: {record.message or 'no detail'}",
            file=err,
        )
        return
    print_outcome(record.outcome or {}, out)
