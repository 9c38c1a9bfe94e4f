"""What the report email says about expected input (contract §14): the line under a silent or
low-input pair, the headline's volume facts, the processes whose KPIs are not loaded and the
pairs nobody configured. Both templates read this one view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mnaas_missing_files.checking.dayinput import UNMONITORED_SHOWN
from mnaas_missing_files.checking.verdicts import PairStatus, Verdict
from mnaas_missing_files.checking.volume import show_expected


def subject_prefix(analysis: Any) -> str:
    """`SILENT - ` and/or `LOW INPUT - `, after INCOMPLETE and NO INPUT."""
    verdicts = {p.verdict for p in getattr(analysis, "volume_findings", ())}
    return ("SILENT - " if Verdict.SILENT in verdicts else "") + (
        "LOW INPUT - " if Verdict.LOW_INPUT in verdicts else ""
    )


def expected_note(pair: PairStatus, day: dt.date) -> str:
    """ "0 received, usually 44: median of 4 Mondays" under a silent or low-input pair."""
    if pair.verdict not in (Verdict.SILENT, Verdict.LOW_INPUT) or pair.expected is None:
        return ""
    weekday = day.strftime("%A") + ("s" if pair.counted_days != 1 else "")
    return (
        f"{pair.received or 0:,} received, usually {show_expected(pair.expected)}: "
        f"median of {pair.counted_days} {weekday}"
    )


def volume_view(analysis: Any, settings: Any) -> dict:
    """The headline's volume line, the input section's KPI NOT LOADED and the not-monitored
    section (largest first, at most UNMONITORED_SHOWN lines, then a count)."""
    unmonitored = analysis.unmonitored
    if analysis.volume_problem:
        volume = f"not judged this run: the day's input could not be read ({analysis.volume_problem})"
    elif not analysis.volume_judged:
        volume = (
            "off (MNAAS_BASELINE_WEEKS=0)"
            if settings.baseline_weeks == 0
            else f"not judged: {analysis.day} is a quiet day (MNAAS_QUIET_DAYS)"
        )
    else:
        weeks = settings.baseline_weeks
        volume = f"judged against the last {weeks} {analysis.day.strftime('%A')}{'s' if weeks != 1 else ''}"
        volume += f"; history too short for {analysis.history_too_short:,} pair(s)"
        skipped = [f"{p} ({why})" for p, why in analysis.not_judged.items()]
        if skipped:
            volume += "; not judged: " + ", ".join(skipped)
    return {
        "volume": volume,
        "kpi_not_loaded": analysis.kpi_not_loaded,
        "unmonitored_unknown": unmonitored is None,
        "unmonitored_problem": analysis.volume_problem,
        "unmonitored_total": len(unmonitored or ()),
        "unmonitored_lines": [(u.process, u.customer, f"{u.received:,}") for u in (unmonitored or ())][
            :UNMONITORED_SHOWN
        ],
        "unmonitored_more": max(0, len(unmonitored or ()) - UNMONITORED_SHOWN),
    }
