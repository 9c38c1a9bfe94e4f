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
from mnaas_missing_files.state import missed_days

log = logging.getLogger(__name__)


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
                table.append((day.isoformat(), "completed" if code == 0 else "failed", code, "submitted"))
            else:
                outcome = run_local(
                    settings,
                    dry_run=dry_run,
                    trigger="backfill",
                    progress=ProgressPrinter(sys.stderr),
                    interruption=stop,
                )
                code = outcome.exit_code
                detail = (
                    f"{outcome.summary.missing_files} missing"
                    if outcome.summary
                    else "; ".join(outcome.errors)
                    if stop.is_set()
                    else "no reports"
                )
                if outcome.failed_groups:
                    detail += f", {len(outcome.failed_groups)} failed groups"
                table.append((day.isoformat(), outcome.outcome, code, detail))
        except MnaasError as exc:
            code = exc.exit_code
            table.append((day.isoformat(), type(exc).__name__, code, mask_secrets(exc)))
            log.error("backfill: %s: %s", day, mask_secrets(exc))
            if code == EXIT_CONFIG:
                return code
        worst = max(worst, code)
    return worst
