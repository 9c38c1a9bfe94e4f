"""`backfill --from D1 --to D2`: the days one after another, in date order, past failures."""

from __future__ import annotations

import datetime as dt
import logging
import sys

from mnaas_missing_files.config.settings import Settings, load_settings
from mnaas_missing_files.core.errors import EXIT_CONFIG, EXIT_OK, MnaasError
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.state import catchup

log = logging.getLogger(__name__)


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def backfill(first: Settings, start: dt.date, end: dt.date, *, submit: bool = False,
             dry_run: bool = False, only_missing: bool = False) -> int:
    """Run each day (here, or on the cluster with `submit`) and print a per-day table;
    with `only_missing`, only the days that never ran (contract §10).

    Exit 0 when every day completed, else the highest exit code of a day. A configuration
    error (2) stops the backfill at once: no later day can do better."""
    from mnaas_missing_files.run.local import run_local
    from mnaas_missing_files.run.progress import ProgressPrinter

    table: list[tuple[str, str, int, str]] = []
    worst = EXIT_OK
    days = days_between(start, end)
    if only_missing:
        wanted = set(catchup.only_missing(days, first.status_file))
        for day in days:
            if day not in wanted:
                table.append((day.isoformat(), "skipped", EXIT_OK, "ran already (--only-missing)"))
        days = [day for day in days if day in wanted]
    for index, day in enumerate(days, 1):
        print(f"backfill: day {index}/{len(days)}: {day}", file=sys.stderr)
        try:
            settings = first if day == first.day else load_settings(first.config_path, day=day)
            if submit:
                from tasks.client import submit_run

                code = submit_run(settings, wait=True, dry_run=dry_run, trigger="backfill")
                table.append((day.isoformat(), "completed" if code == 0 else "failed", code, "submitted"))
            else:
                outcome = run_local(settings, dry_run=dry_run, trigger="backfill",
                                    progress=ProgressPrinter(sys.stderr))
                code = outcome.exit_code
                detail = (f"{outcome.summary.missing_files} missing" if outcome.summary else "no reports")
                if outcome.failed_groups:
                    detail += f", {len(outcome.failed_groups)} failed groups"
                table.append((day.isoformat(), outcome.outcome, code, detail))
        except MnaasError as exc:
            code = exc.exit_code
            table.append((day.isoformat(), type(exc).__name__, code, mask_secrets(exc)))
            log.error("backfill: %s: %s", day, mask_secrets(exc))
            if code == EXIT_CONFIG:
                worst = code
                break
        worst = max(worst, code)
    print(f"{'day':<12}{'outcome':<16}{'exit':>5}  detail")
    for day_text, outcome_text, code, detail in sorted(table):
        print(f"{day_text:<12}{outcome_text:<16}{code:>5}  {detail}")
    return worst
