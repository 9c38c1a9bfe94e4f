"""`status --run RUN_ID` (contract §15): one run told whole — day, trigger, outcome, timings,
its groups as counts by state with the failed and running ones by id, each distinct error in
full — from the run history, and for a submitted run still under way from its run state."""

from __future__ import annotations

from mnaas_missing_files.cli.statusview import print_findings
from mnaas_missing_files.cluster.context import run_state
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import UsageError
from mnaas_missing_files.core.model import Plan
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.reporting.failures import GROUPS_LISTED, failure_records
from mnaas_missing_files.state import history

LOOK_BACK = 200  # the history keeps the newest 200 runs


def find_run(settings: Settings, run_id: str) -> dict:
    for entry in history.recent_runs(settings.status_file, limit=LOOK_BACK):
        if entry.get("run_id") == run_id:
            return entry
    raise UsageError(f"no run {run_id} in the run history {history.history_path(settings.status_file)}")


def live_groups(settings: Settings, run_id: str) -> dict | None:
    """A submitted run's groups from its run state in Redis: total, done, failed (id ->
    error) and active (running) ids; None for a local run or without the Celery side."""
    if not settings.lock_url:
        return None
    try:
        state = run_state(settings, run_id)
        record = state.read()
        if not record:
            return None
        # `active` names group tasks (batches); counted as the plan's groups they check.
        stored = state.plan()
        batches = {b.batch_id: b for b in Plan.from_json(stored).batches} if stored else {}
        running = [
            g.group_id for batch_id in sorted(state.active()) if batch_id in batches for g in batches[batch_id].groups()
        ]
        return {**record, "active": running}
    except Exception as exc:  # the history still says what it knows
        print(f"  run state: cannot be read: {mask_secrets(exc)}")
        return None


def _ids(ids: list[str], total: int) -> str:
    shown = ", ".join(ids[:GROUPS_LISTED])
    return shown + (f" and {total - len(ids[:GROUPS_LISTED])} more" if total > len(ids[:GROUPS_LISTED]) else "")


def print_run(settings: Settings, run_id: str) -> None:
    entry = find_run(settings, run_id)
    print(f"run {run_id}: day {entry.get('day')}, trigger {entry.get('trigger')}, outcome {entry.get('outcome')}")
    print(f"  started {entry.get('started')}, ended {entry.get('ended') or '(not yet)'}")
    if entry.get("started_ts") and entry.get("ended_ts"):
        print(f"  took {float(entry['ended_ts']) - float(entry['started_ts']):.1f} s")
    if entry.get("host"):
        print(f"  host {entry.get('host')}, pid {entry.get('pid')}")
    live = live_groups(settings, run_id) if entry.get("outcome") == "running" else None
    total = int(entry.get("groups") or 0)
    if live is not None:
        failures = failure_records({str(k): str(v) for k, v in (live.get("failed_groups") or {}).items()})
        total = int(live.get("total") or total)
        failed = sum(f["group_count"] for f in failures)
        ok = int(live.get("done") or 0) - failed
        running = list(live["active"])
        waiting = max(0, total - ok - failed - len(running))
    else:
        failures = entry.get("failures") or []
        failed = sum(int(f.get("group_count") or 0) for f in failures)
        ended = bool(entry.get("ended"))
        ok, running, waiting = (total - failed if ended else 0), [], (0 if ended else total)
    print(f"  groups: {total} in all: ok {ok}, failed {failed}, running {len(running)}, waiting {waiting}")
    if running:
        print(f"  running: {_ids(running, len(running))}")
    if failures:
        print(f"  failed: {_ids([g for f in failures for g in f.get('groups', [])], failed)}")
        print("  errors:")
        for f in failures:
            print(f"    {f.get('group_count')} group(s) ({', '.join(f.get('processes', []))}): {f.get('error')}")
    if entry.get("message"):
        print(f"  why: {entry['message']}")
    print_findings(entry)
