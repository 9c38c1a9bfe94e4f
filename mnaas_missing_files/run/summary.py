"""The one way a run's outcome is told on a terminal: `run`, `demo`, `backfill` and
`submit --wait` all print these lines from the outcome's JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO


def outcome_lines(outcome: Mapping[str, Any]) -> list[str]:
    lines = [f"run {outcome.get('run_id')} for {outcome.get('day')}: {str(outcome.get('outcome')).upper()}"]
    if outcome.get("missing_files") is not None:
        unknown = outcome.get("unknown_pairs")
        lines.append(
            f"  missing files: {outcome['missing_files']} in {outcome.get('pairs')} pairs"
            + (f" ({unknown} unknown)" if unknown is not None else "")
        )
    verdicts = outcome.get("verdicts")
    if verdicts:
        lines.append("  verdicts: " + ", ".join(f"{name} {count}" for name, count in verdicts.items()))
    if outcome.get("outstanding_files") is not None:
        analysis = outcome.get("analysis") or {}
        oldest = max(
            (p.get("oldest_outstanding_age_days") or 0 for p in (analysis.get("processes") or {}).values()), default=0
        )
        lines.append(
            f"  new: {outcome.get('new_files')}, outstanding: {outcome['outstanding_files']}"
            + (f" (oldest {oldest} days)" if oldest else "")
            + f", recovered: {outcome.get('recovered_files')}"
            + (
                f", left the window still missing: {outcome['left_window_files']}"
                if outcome.get("left_window_files")
                else ""
            )
        )
    if outcome.get("processes_without_input"):
        lines.append(
            f"  NO INPUT: {', '.join(outcome['processes_without_input'])} received nothing on {outcome.get('day')}"
        )
    lines.extend(_volume_lines(outcome.get("analysis") or {}))
    for label, key in (("CSV", "csv"), ("TXT", "txt"), ("outstanding", "outstanding_report"), ("email", "email")):
        if outcome.get(key):
            lines.append(f"  {label}: {outcome[key]}")
    for group, error in (outcome.get("failed_groups") or {}).items():
        lines.append(f"  failed group {group}: {error}")
    for error in outcome.get("errors") or []:
        lines.append(f"  error: {error}")
    if outcome.get("ticket_raised"):
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
