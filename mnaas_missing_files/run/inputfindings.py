"""The day's input findings (contract §14) as the email takes them (reporting/inputs.py):
made from the run's analysis, so the email never reads the warehouse or the rules itself."""

from __future__ import annotations

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.reporting.inputs import InputFindings, VolumeFinding
from mnaas_missing_files.run.dayanalysis import DayAnalysis


def input_findings(analysis: DayAnalysis, settings: Settings) -> InputFindings:
    """Silent and low-input pairs (in the CSV's order), why volume was not judged when it was
    not, the pairs with too short a history, the processes not judged, KPI NOT LOADED, and the
    not-monitored pairs (largest first) or why their list is unknown."""
    problem = analysis.volume_problem
    tally = analysis.tally  # the silent and low-input pairs with their expected count
    off = None
    if problem is None and not analysis.volume_judged:
        off = (
            "off (MNAAS_BASELINE_WEEKS=0)"
            if settings.baseline_weeks == 0
            else "not judged: a quiet day (MNAAS_QUIET_DAYS)"
        )
    return InputFindings(
        volume=[
            VolumeFinding(p.process, p.customer, p.verdict.value, p.received or 0, p.expected, p.counted_days)
            for _place, p in sorted(tally.silent.items + tally.low.items, key=lambda found: found[0])
            if p.expected is not None
        ],
        silent_more=tally.silent.more,
        low_more=tally.low.more,
        unmonitored=list(analysis.unmonitored or ()),
        volume_not_judged=f"the day's input could not be read ({problem})" if problem else None,
        volume_off=off,
        history_too_short=analysis.history_too_short,
        # a process without input has its own NO INPUT line: not named a second time
        processes_not_judged={p: why for p, why in analysis.not_judged.items() if p not in analysis.without_input},
        kpi_not_loaded=list(analysis.kpi_not_loaded),
        unmonitored_unknown=(
            None
            if analysis.unmonitored is not None
            else f"the day's input could not be read ({problem})"
            if problem
            else "the day's input was not read"
        ),
    )
