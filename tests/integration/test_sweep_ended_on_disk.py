"""A run whose end the run history holds but Redis lost (the sweeper's write of it went to a
stale master that woke up after a failover, and was dropped when the sentinels made it a
replica) is not ended a second time: the sweeper puts its Redis record right and leaves its
history alone. Ended again, a run reported `lost` (reports, email) was reported once more, or
rewritten `failed`, "wrote nothing more" (found by the chaos soak, seed 2026, day 2026-11-25: a
`stop-redis-master` fault while the sweeper reported the run: docs/reliability.md)."""

from __future__ import annotations

from mnaas_missing_files.cluster.jobkeys import open_runs
from mnaas_missing_files.cluster.runstate import RunState, redis_client
from mnaas_missing_files.cluster.sweep_pass import sweep
from mnaas_missing_files.config.settings import load_settings
from mnaas_missing_files.state import history
from mnaas_missing_files.state.redislock import RedisRunLock, lock_key
from tests.helpers.celeryjob import DAY, CeleryJob

RUN = "20261124-aaaabbbb"


def test_a_run_ended_in_the_history_but_open_in_redis_is_not_ended_again(tmp_path, redis_server):
    job = CeleryJob.build(tmp_path)
    environ = {"MNAAS_LOCK_URL": redis_server.url(2), "MNAAS_RESULT_BACKEND": redis_server.url(1)}
    settings = load_settings(job.config, environ=environ, day=DAY)
    key = lock_key(settings.script_name, settings.status_file)
    client = redis_client(redis_server.url(2))
    # Redis as the failover left it: the run still finalizing, its lock lapsed long ago (nobody
    # took the job since), so a sweeper may take it over...
    lock = RedisRunLock(redis_server.url(2), key, 60)
    token = lock.acquire({"run_id": RUN, "day": DAY.isoformat()})
    client.delete(key)  # lapsed: the record of its last holder stays
    state = RunState(client, RUN)
    state.create(day=DAY, trigger="submit", dry_run=False, total=16, job=key, state="finalizing", token=token)
    client.hset(state.key, mapping={"lapse_seen_at": "0", "lapse_seen_done": "0"})
    # ...and the history with the end the sweeper wrote before its Redis write was lost.
    entry = {"run_id": RUN, "day": DAY.isoformat(), "ended": "2026-12-05 07:02:04", "outcome": "lost"}
    history.record_run(settings.status_file, entry)

    swept = sweep(settings)

    assert RUN not in swept["superseded"] + swept["reported"] + swept["unreportable"]
    assert [(e["run_id"], e["outcome"], e["ended"]) for e in job.history()] == [(RUN, "lost", "2026-12-05 07:02:04")]
    assert state.read()["state"] == "done"
    assert RUN not in open_runs(client, key)
    assert lock.holder() is None
    assert job.emails() == []  # not reported a second time
