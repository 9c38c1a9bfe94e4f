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


def print_outcome(outcome: Mapping[str, Any], out: TextIO | None = None) -> None:
    for line in outcome_lines(outcome):
        print(line, file=out)
