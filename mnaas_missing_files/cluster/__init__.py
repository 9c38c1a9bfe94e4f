"""The Celery side's decisions, typed and without Celery (contract §20).

- keys.py: every Redis key and TTL, and LAYOUT, the list the design page is checked against;
- records.py: a run's record, the lock as one read saw it, what a task returns;
- runstate.py, jobkeys.py: a run's state and the job's other keys in Redis; groupprogress.py:
  a run's groups there (active, done once, their results); store.py: the interfaces the
  passes use, and a run state in memory for unit tests;
- the rules, as functions over snapshots that unit tests drive in milliseconds:
  lifecycle.py (start, finish, who ends a lock-lost run), sweeping.py (lost runs),
  catching_up.py (due days, claims, busy), following.py (`submit --wait`);
- the passes that read a snapshot and apply the rules: run_start.py, run_end.py (the one way a
  submitted run ends), sweep_pass.py, catchup_pass.py, deadline_pass.py; context.py: settings,
  Redis clients and the lock per process.

`tasks/` only decodes messages, calls these and retries.
"""
