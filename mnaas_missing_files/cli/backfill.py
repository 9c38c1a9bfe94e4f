"""`backfill --from D1 --to D2`: the days one after another, in date order, past failures."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys

from mnaas_missing_files.config.settings import Settings, load_settings
from mnaas_missing_files.core.errors import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, MnaasError
from mnaas_missing_files.core.runlog import attach_log_file
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.run.interrupt import Interruption, signals_stop
from mnaas_missing_files.run.shadow import enter_shadow
from mnaas_missing_files.state import history, missed_days

log = logging.getLogger(__name__)

LOOK_BACK = 200  # the history keeps the newest 200 runs


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def backfill(
    first: Settings,
    start: dt.date,
    end: dt.date,
    *,
    submit: bool = False,
    dry_run: bool = False,
    only_missing: bool = False,
) -> int:
    """Run each day (here, or on the cluster with `submit`) and print a per-day table;
    with `only_missing`, only the days that never ran (contract §10).

    Exit 0 when every day completed, else the highest exit code of a day. A configuration
    error (2) stops the backfill at once: no later day can do better. SIGTERM or SIGINT of a
    local backfill ends the day being checked as `interrupted` (contract §13) and runs no
    later day; with `submit` the days run on the cluster, and a signal only stops the waiting."""
    table: list[tuple[str, str, int, str]] = []
    days = days_between(start, end)
    if only_missing:
        wanted = set(missed_days.only_missing(days, first.status_file))
        for day in days:
            if day not in wanted:
                table.append((day.isoformat(), "skipped", EXIT_OK, "ran already (--only-missing)"))
        days = [day for day in days if day in wanted]
    stop = Interruption()
    with contextlib.nullcontext(stop) if submit else signals_stop(stop):
        worst = _each_day(first, days, table, stop, submit=submit, dry_run=dry_run)
    print(f"{'day':<12}{'outcome':<16}{'exit':>5}  detail")
    for day_text, outcome_text, code, detail in sorted(table):
        print(f"{day_text:<12}{outcome_text:<16}{code:>5}  {detail}")
    return worst


def _each_day(
    first: Settings,
    days: list[dt.date],
    table: list[tuple[str, str, int, str]],
    stop: Interruption,
    *,
    submit: bool,
    dry_run: bool,
) -> int:
    from mnaas_missing_files.run.local import run_local
    from mnaas_missing_files.run.progress import ProgressPrinter

    worst = EXIT_OK
    for index, day in enumerate(days, 1):
        if stop.is_set():
            table.append((day.isoformat(), "not run", EXIT_FAILED, f"backfill stopped ({stop.reason})"))
            worst = max(worst, EXIT_FAILED)
            continue
        print(f"backfill: day {index}/{len(days)}: {day}", file=sys.stderr)
        try:
            settings = first if day == first.day else load_settings(first.config_path, day=day)
            if settings is not first and first.shadow_dir:  # every day of a shadow backfill too
                settings = enter_shadow(settings, first.shadow_dir)
            attach_log_file(settings.log_path)  # the job's log, as for `run` and the workers
            if submit:
                from tasks.client import submit_run

                code = submit_run(settings, wait=True, dry_run=dry_run, trigger="backfill")
                entry = _last_entry(settings, day=day.isoformat())
                outcome_text = str(entry.get("outcome")) if entry else ("completed" if code == 0 else "failed")
                table.append((day.isoformat(), outcome_text, code, "submitted; " + findings(entry)))
            else:
                outcome = run_local(
                    settings,
                    dry_run=dry_run,
                    trigger="backfill",
                    progress=ProgressPrinter(sys.stderr),
                    interruption=stop,
                )
                code = outcome.exit_code
                detail = "; ".join(outcome.errors) if stop.is_set() else findings(_last_entry(settings, outcome.run_id))
                table.append((day.isoformat(), outcome.outcome, code, detail))
        except MnaasError as exc:
            code = exc.exit_code
            table.append((day.isoformat(), type(exc).__name__, code, mask_secrets(exc)))
            log.error("backfill: %s: %s", day, mask_secrets(exc))
            if code == EXIT_CONFIG:
                return code
        worst = max(worst, code)
    return worst


def _last_entry(settings: Settings, run_id: str | None = None, *, day: str | None = None) -> dict:
    for entry in history.recent_runs(settings.status_file, limit=LOOK_BACK):
        if (run_id and entry.get("run_id") == run_id) or (day and entry.get("day") == day):
            return entry
    return {}


def findings(entry: dict) -> str:
    """A day's line of the table (contract §15): its missing files, then every verdict that is
    not `ok` with its pair count, the failed groups and the not-monitored pairs, so a day where
    nothing arrived never reads as `0 missing` alone."""
    if not entry:
        return "no history entry"
    parts = [f"{entry['missing_files']} missing" if entry.get("missing_files") is not None else "no reports"]
    verdicts = entry.get("verdicts") or {}
    noted = [f"{name} {count}" for name, count in verdicts.items() if count and name not in ("ok", "missing")]
    if noted:
        parts.append("pairs: " + ", ".join(noted))
    if entry.get("failed_groups"):
        parts.append(f"{entry['failed_groups']} failed groups")
    if entry.get("unmonitored"):
        parts.append(f"{entry['unmonitored']} not monitored")
    return "; ".join(parts)
