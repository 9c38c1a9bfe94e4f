"""`status`: the status file's fields, the lock holder and the recent runs."""

from __future__ import annotations

import datetime as dt

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import MnaasError
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.run.lost import LOOK_BACK
from mnaas_missing_files.state import history, statusfile
from mnaas_missing_files.state.liveness import dead_local_run


def print_status(settings: Settings) -> None:
    from mnaas_missing_files.run.local import run_lock_for

    fields = statusfile.read_status(settings.status_file)
    print(f"status file {settings.status_file}")
    if not fields:
        print("  (missing or empty: the next run creates it)")
    for key in statusfile.OWNED_KEYS:
        print(f"  {key}={fields.get(key, '')}")
    flag = fields.get("MNAAS_Daily_ProcessStatusFlag", "0")
    if flag not in ("0", "1"):
        print(f"  HELD by an operator (flag {flag}): runs refuse with exit 4 until the flag is 0")
    lock = run_lock_for(settings)
    try:
        holder = lock.holder()
    except MnaasError as exc:
        print(f"lock: cannot be read: {mask_secrets(exc)}")
        holder = None
    else:
        if holder and dead_local_run(holder):
            print(
                f"lock: STALE: held by run {holder.get('run_id')} for {holder.get('day')}, whose "
                f"process (pid {holder.get('pid')} on this host) is gone; the next run takes it "
                "over at once"
            )
        elif holder:
            extra = f", age {holder['age']} s" if holder.get("age") is not None else ""
            extra += f", expires in {holder['ttl']} s" if holder.get("ttl") is not None else ""
            print(
                f"lock: HELD by run {holder.get('run_id')} for {holder.get('day')} "
                f"(trigger {holder.get('trigger', '?')}, host {holder.get('host')}, pid {holder.get('pid')}, "
                f"since {holder.get('started')}{extra})"
            )
            if settings.lock_url and holder.get("run_id"):
                print_run_progress(settings, str(holder["run_id"]))
        else:
            print("lock: free")
    if settings.lock_url:
        print_lapsed_runs(settings, holder)
    # Read-only (contract §15): the next `run` records a dead run as lost and sends its notice.
    for entry in history.recent_runs(settings.status_file, limit=LOOK_BACK):
        if entry.get("outcome") == "running" and dead_local_run(entry, since_key="started_ts"):
            print(
                f"run {entry.get('run_id')}: DEAD: its process (pid {entry.get('pid')}) on this host is gone; "
                "the next run records it as lost and sends its failure notice"
            )
    print_missed_days(settings)
    runs = history.recent_runs(settings.status_file, limit=10)
    print_last_findings(runs)
    print("recent runs:" if runs else "recent runs: none recorded")
    for r in runs:
        print(
            f"  {r.get('run_id', '?'):<18} day {r.get('day', '?')}  {r.get('trigger', ''):<9} "
            f"{r.get('started') or '':<19} -> {r.get('ended') or '':<19} {r.get('outcome', ''):<10} "
            f"missing {r.get('missing_files') if r.get('missing_files') is not None else '?'}"
            f", failed groups {r.get('failed_groups') or 0}"
        )


def print_run_progress(settings: Settings, run_id: str) -> None:
    """A submitted run's progress as its tasks record it in Redis (plain redis, no Celery).
    A `run` on this machine keeps none there: nothing is printed for it."""
    try:
        from mnaas_missing_files.cluster.context import state_client
        from mnaas_missing_files.cluster.runstate import RunState
    except ImportError:  # installed without the Celery side
        return
    try:
        record = RunState(state_client(settings), run_id).read()
    except Exception as exc:  # the lock was readable a moment ago; this is only extra detail
        print(f"  progress: cannot be read: {mask_secrets(exc)}")
        return
    if not record:
        return
    failed = f", {record['failed']} failed" if record.get("failed") else ""
    print(
        f"  progress: {record['done']}/{record['total']} groups done{failed} "
        f"(state {record.get('state')}, updated {record.get('updated')})"
    )
    for group, error in sorted((record.get("failed_groups") or {}).items()):
        print(f"    failed group {group}: {mask_secrets(error)}")


def print_lapsed_runs(settings: Settings, holder: dict | None) -> None:
    """Submitted runs that have not ended but do not hold the lock: the sweeper's to report."""
    try:
        from mnaas_missing_files.cluster.context import state_client
        from mnaas_missing_files.cluster.jobkeys import open_runs
        from mnaas_missing_files.cluster.runstate import RunState
    except ImportError:  # installed without the Celery side
        return
    from mnaas_missing_files.state.redislock import lock_key

    if not settings.lock_url:  # only the cluster's Redis lock has submitted runs to list
        return
    try:
        client = state_client(settings)
        lapsed = [
            RunState(client, run_id).read()
            for run_id in open_runs(client, lock_key(settings.script_name, settings.status_file))
            if run_id != (holder or {}).get("run_id")
        ]
    except Exception as exc:
        print(f"open runs: cannot be read: {mask_secrets(exc)}")
        return
    for record in filter(None, lapsed):
        print(
            f"run {record['run_id']} for {record.get('day')}: NOT ENDED and its lock lapsed "
            f"(state {record.get('state')}, {record['done']}/{record['total']} groups done, "
            f"updated {record.get('updated')}); unless a group finishes, beat's sweeper "
            f"reports it once it has stayed so for {settings.group_time_limit} s "
            f"(MNAAS_GROUP_TIME_LIMIT; a sweep every {settings.sweep_interval} s)"
        )


def print_findings(entry: dict) -> None:
    """A history entry's verdicts, files, processes without input and not-monitored pairs."""
    if entry.get("verdicts"):
        print("  verdicts: " + ", ".join(f"{name} {count}" for name, count in entry["verdicts"].items()))
    if entry.get("missing_files") is not None:  # None: no report was made
        print(
            f"  missing {entry.get('missing_files')}, outstanding {entry.get('outstanding_files')}, "
            f"recovered {entry.get('recovered_files')}"
        )
    if entry.get("no_input"):
        print(f"  NO INPUT: {', '.join(entry['no_input'])}")
    if "unmonitored" in entry:  # contract §14; runs before it have no such field
        unmonitored = entry["unmonitored"]
        print(f"  not monitored: {'unknown' if unmonitored is None else unmonitored} pair(s) with files not configured")


def print_last_findings(runs: list[dict]) -> None:
    """The newest ended non-dry run's verdicts, outstanding and recovered files (contract §5,
    §7, §15); for a failed or incomplete run, why and which groups failed."""
    last = next((r for r in runs if r.get("ended") and r.get("outcome") not in ("dry-run", "running")), None)
    if last is None:
        return
    print(f"last run's findings ({last.get('run_id')} for {last.get('day')}, {last.get('outcome')}):")
    print_findings(last)
    if last.get("message"):
        print(f"  why: {last['message']}")
    for failure in last.get("failures") or []:
        groups = failure.get("groups") or []
        more = int(failure.get("group_count") or 0) - len(groups)
        print(
            f"  FAILED {failure.get('group_count')} group(s) ({', '.join(failure.get('processes', []))}): "
            f"{failure.get('error')}\n    groups: {', '.join(groups)}{f' and {more} more' if more > 0 else ''}"
        )
    if last.get("outcome") in ("failed", "incomplete", "lost", "interrupted"):
        print(f"  more: mnaas-missing-files status --run {last.get('run_id')}")


def print_missed_days(settings: Settings) -> None:
    """The catch-up window's days that never ran, and a missed deadline (contract §10)."""
    from mnaas_missing_files.run.deadline_alert import overdue_day, succeeded
    from mnaas_missing_files.state.missed_days import days_not_run, history_entries, window

    entries = history_entries(settings.status_file)
    days = window(settings)
    if days:
        missing = days_not_run(settings, entries=entries)
        print(
            f"catch-up window {days[0]} .. {days[-1]} (MNAAS_CATCHUP_DAYS={settings.catchup_days}): "
            f"days not run: {', '.join(map(str, missing)) if missing else 'none'}"
        )
    overdue = overdue_day(settings)
    if overdue is not None and not succeeded(entries, overdue):
        print(
            f"deadline MISSED: {overdue} has no successful run by {settings.deadline} on "
            f"{overdue + dt.timedelta(days=1)} (MNAAS_DEADLINE)"
        )
