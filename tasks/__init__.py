"""The Celery side of the product: thin tasks over the domain package, the submit client and
the run state kept in Redis.

Importing this package imports no Celery: the task names below are shared by the Celery
configuration, the tasks, the client and anyone calling the tasks by name (Flower, scripts).
They are part of the product's interface (README, "Task names"): never rename them.
"""

START_RUN = "mnaas.start_run"  # plan, mark the status file, launch the chord
CHECK_GROUP = "mnaas.check_group"  # one group's two queries (retried on transient errors)
FINALIZE_RUN = "mnaas.finalize_run"  # chord callback: reports, one email, status file
RUN_FAILED = "mnaas.run_failed"  # error handler of the chord: report what is known, free the lock
SWEEP_LOST_RUNS = "mnaas.sweep_lost_runs"  # beat: report, once, a run whose lock lapsed; the deadline
CATCH_UP = "mnaas.catch_up"  # run the next missed day of the catch-up window, if the job is idle

TASK_NAMES = (START_RUN, CHECK_GROUP, FINALIZE_RUN, RUN_FAILED, SWEEP_LOST_RUNS, CATCH_UP)
