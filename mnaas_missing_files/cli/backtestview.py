"""`backtest`'s output (contract §14): one line per flagged pair-day as each day is replayed,
then a summary: the days, the pairs judged, and what was flagged on each day."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TextIO

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.errors import EXIT_FAILED, EXIT_OK
from mnaas_missing_files.run.backtest import backtest


def print_backtest(settings: Settings, first: dt.date, last: dt.date, out: TextIO | None = None) -> int:
    """Exit 0, or 1 when some day's KPIs could not be read (its line says why)."""
    out = out or sys.stdout
    print(
        f"backtest {first} .. {last}: volume rules of {settings.config_path} (MNAAS_BASELINE_WEEKS="
        f"{settings.baseline_weeks}, MNAAS_SILENT_MIN_DAYS={settings.silent_min_days}, MNAAS_LOW_INPUT_RATIO="
        f"{float(settings.low_input_ratio):g}, MNAAS_LOW_INPUT_MIN_FILES={settings.low_input_min_files}); read-only",
        file=out,
    )
    days = []
    for replay in backtest(settings, first, last):
        days.append(replay)
        for flag in replay.flags:
            print(flag.line(), file=out, flush=True)
    flags = [f for d in days for f in d.flags]
    by_verdict = {v: sum(1 for f in flags if f.verdict.value == v) for v in ("silent", "low_input")}
    print(
        f"summary: {len(days)} day(s), {sum(d.judged for d in days):,} pair-days judged, {len(flags):,} flagged "
        f"(silent {by_verdict['silent']:,}, low_input {by_verdict['low_input']:,})",
        file=out,
    )
    for replay in days:
        print(replay.line(), file=out)
    return EXIT_FAILED if any(d.problem and "could not be read" in d.problem for d in days) else EXIT_OK
