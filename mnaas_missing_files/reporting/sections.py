"""The report body's sections that are more than a table of pairs (contract §15): the outcome
banner and headline, the totals per process, the failures told once per distinct error, the
input section, the note the size measure leaves, and the legend."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from mnaas_missing_files.reporting.failures import distinct_errors
from mnaas_missing_files.reporting.inputs import InputFindings

RED, AMBER, GREEN = "#b91c1c", "#b45309", "#15803d"

# One colour per label, always beside its word (readable without the colour).
COLOURS = {
    "UNKNOWN": "#4b5563",
    "NO INPUT": "#6d28d9",
    "KPI NOT LOADED": "#6b21a8",
    "SILENT": "#7c3aed",
    "LOW INPUT": "#8b5cf6",
    "MISMATCH": "#c2410c",
    "PERSISTING": "#b91c1c",
    "NEW": "#dc2626",
    "OUTSTANDING": "#a16207",
    "NOT MONITORED": "#0e7490",
    "RESOLVED": GREEN,
    "RECOVERED": GREEN,
}

# Each label: what it means, what to do (contract §15, 8). One line each, in the body's order.
LEGEND = (
    ("UNKNOWN", "its group's queries failed: counts unknown, files not listed", "see Failures; fix; run the day again"),
    ("NO INPUT", "the process received nothing on the day", "check the upstream load; run the day again once it ran"),
    ("KPI NOT LOADED", "files came but the process's KPI load has not run", "check the KPI load; run the day again"),
    ("SILENT", "nothing came from a customer that usually sends on this weekday", "ask the customer or the feed"),
    ("LOW INPUT", "far fewer files than usual on this weekday", "check the feed for a partial load"),
    ("MISMATCH", "the KPI difference is not the number of missing names", "compare the KPI and the file tables"),
    ("PERSISTING", "missing today and still missing from earlier days", "escalate: generation keeps failing here"),
    ("NEW", "missing today, nothing missing before", "regenerate the files listed"),
    ("OUTSTANDING", "nothing new missing, earlier days' files still are", "regenerate the earlier files"),
    ("NOT MONITORED", "files received for a pair nobody configured", "configure it, or MNAAS_UNMONITORED_IGNORE"),
    ("RECOVERED", "files listed before have been generated since", "nothing; the rest stay listed"),
    ("RESOLVED", "every file listed before has been generated", "nothing"),
)


@dataclass(frozen=True)
class Outcome:
    """The banner: the outcome in words, a colour that matches it, and one sentence why."""

    words: str
    colour: str
    sentence: str

    @classmethod
    def of(
        cls, outcome: str, failed: dict[str, str], total: int | None, without_input: list[str], inputs, settings: Any
    ) -> Outcome:
        words = outcome.upper().replace("_", " ")
        if failed:
            of = f" of {total}" if total else ""
            return cls(
                f"{words}: {len(failed)}{of} groups failed",
                RED,
                "Their pairs were not checked: their counts are unknown and none of their files are listed "
                "(see Failures). The rest of the day was checked.",
            )
        if outcome == "failed":
            return cls(words, RED, "The run could not finish; see the errors below.")
        findings = [f"no input for {', '.join(without_input)}"] if without_input else []
        findings += [f"{inputs.silent_count} silent pair(s)"] if inputs.silent else []
        findings += [f"{inputs.low_count} pair(s) with low input"] if inputs.low else []
        if findings:
            warn = " (MNAAS_EMPTY_INPUT=warn: a warning)" if without_input and settings.empty_input == "warn" else ""
            return cls(words, AMBER, f"Every group was checked; input findings: {'; '.join(findings)}{warn}.")
        return cls(words, GREEN, "Every group was checked.")


def headline(summary, analysis, inputs: InputFindings, state: Outcome) -> list[tuple[str, str]]:
    """(label, value) rows: pairs checked, missing, outstanding, recovered, input findings."""
    unknown = f" ({summary.unknown_pairs:,} unknown)" if summary.unknown_pairs else ""
    rows = [("Pairs checked", f"{summary.pairs:,}{unknown}")]
    new = f" ({analysis.new:,} new)" if analysis.lookback_days else ""
    rows.append((f"Missing on {analysis.day}", f"{analysis.missing:,}{new}"))
    if analysis.lookback_days:
        rows.append((f"Outstanding from the {analysis.lookback_days} days before", f"{analysis.outstanding:,}"))
        rows.append(("Recovered since the last run", f"{analysis.recovered:,}"))
        rows.append(("Left the window still missing", f"{analysis.left_window:,}"))
    rows.append(("No input", ", ".join(analysis.without_input) or "none"))
    if inputs.judged:
        rows.append(("Silent / low input pairs", f"{inputs.silent_count:,} / {inputs.low_count:,}"))
        rows.append(("History too short to judge", f"{inputs.history_too_short:,} pair(s)"))
    else:
        rows.append(("Silent / low input pairs", inputs.volume_off or "not judged (see Input)"))
    known = inputs.unmonitored_unknown is None
    rows.append(("Not monitored pairs", f"{len(inputs.unmonitored):,}" if known else "unknown"))
    return rows


def process_rows(analysis) -> list[dict]:
    """One compact row per process, in process_list order, with its verdicts that are not ok."""
    rows = []
    for name, t in analysis.processes.items():
        flags = [f"{v.replace('_', ' ').upper()} {c:,}" for v, c in t.verdicts.items() if c and v != "ok"]
        rows.append(
            {
                "name": name,
                "pairs": t.pairs,
                "received": t.received,
                "generated": t.generated,
                "missing": t.missing,
                "outstanding": t.outstanding,
                "flags": ", ".join(flags),
            }
        )
    return rows


GROUPS_NAMED = 10  # per distinct error in the email; status --run names up to 50


def failure_lines(failed_groups: dict[str, str], total: int | None) -> list[tuple[str, str]]:
    """One line per distinct error (how many groups, the processes, the error once), and the
    failed groups it hit by id, the first GROUPS_NAMED of them."""
    lines = []
    for e in distinct_errors(failed_groups):
        more = len(e.groups) - GROUPS_NAMED
        named = ", ".join(e.groups[:GROUPS_NAMED]) + (f" and {more} more" if more > 0 else "")
        lines.append((e.describe(total), named))
    return lines


def no_input_lines(analysis) -> list[tuple[str, int]]:
    """(process, its configured pairs): one line per process, never one per customer."""
    return [(p, analysis.processes[p].pairs if p in analysis.processes else 0) for p in analysis.without_input]


def volume_lines(inputs: InputFindings, day: dt.date, limit: int) -> tuple[list[tuple[str, str, str, str]], int]:
    """(label, process, customer, `0 received, usually 44: median of 4 Mondays`), silent first,
    at most `limit` of them (the email's pair cap), and how many more there are."""
    weekday = day.strftime("%A")
    found = (inputs.silent + inputs.low)[:limit]
    more = inputs.silent_count + inputs.low_count - len(found)
    return [(f.label, f.process, f.customer, f.describe(weekday)) for f in found], more


def volume_note(inputs: InputFindings) -> str:
    """The input section's last line: why volume could not be judged, or which processes were
    not (contract §14: processes not judged at all are named, not counted). Volume left off
    by choice is said by the headline alone."""
    if inputs.volume_not_judged:
        return f"Volume not judged this run: {inputs.volume_not_judged}"
    skipped = [f"{process} ({why})" for process, why in inputs.processes_not_judged.items()]
    return f"Processes not judged for volume: {', '.join(skipped)}" if skipped else ""


def shrunk_note(shown_pairs: int, total_pairs: int, names_shown: int) -> str:
    return (
        f"To keep this email under 100 KB (mail clients cut longer ones), it shows {shown_pairs:,} of "
        f"{total_pairs:,} pairs needing action and {names_shown:,} file names; the rest are in the reports."
    )
