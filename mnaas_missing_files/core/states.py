"""The names a run's life is told in: its outcome (history, status, metrics, `run`'s summary)
and, on the cluster, the stage its run state in Redis is at. StrEnums, so they are written to
JSON, Redis and the history as the plain words the contract names."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How a run ended (contract §7), or RUNNING while it is under way."""

    RUNNING = "running"
    SUCCESS = "success"
    INCOMPLETE = "incomplete"  # a group failed after its retries; reports written
    NO_INPUT = "no_input"  # a process had no input on the day, under MNAAS_EMPTY_INPUT=fail
    FAILED = "failed"  # the run could not finish: reports, status file or lock
    DRY_RUN = "dry-run"
    INTERRUPTED = "interrupted"  # SIGTERM or SIGINT
    LOST = "lost"  # its process died; found and reported by the next run or the sweeper


class Stage(StrEnum):
    """Where a submitted run is, in its run state in Redis."""

    QUEUED = "queued"  # the client enqueued start_run
    STARTING = "starting"  # a worker took start_run
    RUNNING = "running"  # the chord is out
    FINALIZING = "finalizing"  # the callback (or the sweeper) is writing the outcome
    DONE = "done"  # outcome recorded (exit 0 or 1)
    REFUSED = "refused"  # another run or the status file's flag held the job; nothing changed
    FAILED = "failed"  # the run could not finish (exit 1)


TERMINAL_STAGES = frozenset({Stage.DONE, Stage.REFUSED, Stage.FAILED})


class Trigger(StrEnum):
    """What started a run: in its plan, its lock holder, its run state and its history."""

    RUN = "run"  # `run` on one machine
    SUBMIT = "submit"  # `submit` to the cluster
    SCHEDULE = "schedule"  # beat's daily tick
    BACKFILL = "backfill"  # `backfill`, one day at a time
    CATCHUP = "catchup"  # a day of the catch-up window that never ran (contract §10)

    @property
    def claims_its_day(self) -> bool:
        """Scheduled and catch-up runs claim their day (each starts once) and, when they end,
        ask for the next catch-up pass."""
        return self in (Trigger.SCHEDULE, Trigger.CATCHUP)
