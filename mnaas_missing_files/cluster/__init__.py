"""The Celery side's decisions, typed and without Celery: every Redis key and TTL (keys.py),
the records that travel between tasks, the client and Redis (records.py), a run's state in
Redis (runstate.py) and the job's other keys (jobkeys.py), and the rules themselves as
functions over snapshots (start.py, sweeping.py, catching_up.py, following.py), which unit
tests drive without a Redis or a worker. `tasks/` only decodes messages, calls these and
applies what they decide.
"""
