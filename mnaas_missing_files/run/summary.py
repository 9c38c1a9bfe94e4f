"""The one way a run's outcome is told on a terminal: `run`, `demo`, `backfill` and
`submit --wait` all print these lines from the outcome's JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from mnaas_missing_files.run.outcome import OutcomeRecord


def outcome_lines(outcome: Mapping[str, Any]) -> list[str]:
    told = OutcomeRecord.from_json(outcome)
    lines = [f"run {told.run_id} for {told.day}: {str(told.outcome).upper()}"]
    if told.missing_files is not None:
        unknown = f" ({told.unknown_pairs} unknown)" if told.unknown_pairs is not None else ""
        lines.append(f"  missing files: {told.missing_files} in {told.pairs} pairs{unknown}")
    if told.verdicts:
        lines.append("  verdicts: " + ", ".join(f"{name} {count}" for name, count in told.verdicts.items()))
    if told.outstanding_files is not None:
        oldest = told.oldest_outstanding_age
        lines.append(
            f"  new: {told.new_files}, outstanding: {told.outstanding_files}"
            + (f" (oldest {oldest} days)" if oldest else "")
            + f", recovered: {told.recovered_files}"
            + (f", left the window still missing: {told.left_window_files}" if told.left_window_files else "")
        )
    if told.processes_without_input:
        lines.append(f"  NO INPUT: {', '.join(told.processes_without_input)} received nothing on {told.day}")
    lines.extend(_volume_lines(told.analysis or {}))
    for label, path in (("CSV", told.csv), ("TXT", told.txt), ("outstanding", told.outstanding_report)):
        if path:
            lines.append(f"  {label}: {path}")
    if told.email:
        lines.append(f"  email: {told.email}")
    lines += [f"  failed group {group}: {error}" for group, error in told.failed_groups.items()]
    lines += [f"  error: {error}" for error in told.errors]
    if told.ticket_raised:
        lines.append("  service-desk ticket raised")
    return lines


def _volume_lines(analysis: Mapping[str, Any]) -> list[str]:
    """Expected input (contract §14): the silent and low-input pairs, why volume was not
    judged, and the pairs nobody configured."""
    if "unmonitored_pairs" not in analysis:
        return []
    lines = [
        f"  {verdict.replace('_', ' ').upper()}: {process} / {customer}: {received} received, usually {expected}"
        for process, customer, verdict, received, expected, _days in analysis.get("volume_findings") or []
    ]
    if analysis.get("volume_problem"):
        lines.append(f"  volume not judged: the day's input could not be read ({analysis['volume_problem']})")
    elif analysis.get("history_too_short"):
        lines.append(f"  volume: history too short for {analysis['history_too_short']} pair(s)")
    if analysis.get("kpi_not_loaded"):
        lines.append(f"  KPI NOT LOADED: {', '.join(analysis['kpi_not_loaded'])}")
    unmonitored = analysis.get("unmonitored_pairs")
    lines.append(
        f"  not monitored: {'unknown' if unmonitored is None else unmonitored} pair(s) with files not configured"
    )
    return lines


def print_outcome(outcome: Mapping[str, Any], out: TextIO | None = None) -> None:
    for line in outcome_lines(outcome):
        print(line, file=out)
