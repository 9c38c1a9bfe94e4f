"""The report email's subject and its two bodies (contract §9): what changed and what needs
action first, the `ok` pairs left to the CSV.

The plain-text and the HTML body are two Jinja2 templates (templates/) over one view worked
out here, so both carry the same information in the same order; the HTML one is autoescaped
(customer and file names are data, never markup) and styled inline only, for mail clients.
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from mnaas_missing_files.checking.verdicts import Change, PairStatus, action_label, severity
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.reporting.attachments import files_note
from mnaas_missing_files.reporting.volumeview import expected_note, subject_prefix, volume_view

UNKNOWN = "?"

# One colour per label, always beside its word (readable without the colour).
COLOURS = {
    "UNKNOWN": "#4b5563",
    "NO INPUT": "#6d28d9",
    "SILENT": "#9d174d",
    "LOW INPUT": "#be185d",
    "MISMATCH": "#c2410c",
    "PERSISTING": "#b91c1c",
    "NEW": "#dc2626",
    "OUTSTANDING": "#a16207",
    "RESOLVED": "#15803d",
    "RECOVERED": "#15803d",
}

_ENV = Environment(
    loader=PackageLoader("mnaas_missing_files.reporting", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _grouped(value: Any) -> str:
    """1000000 -> 1,000,000: a large day's counts read at a glance (the CSV keeps plain digits)."""
    return f"{value:,}" if isinstance(value, int) else str(value)


_ENV.filters["n"] = _grouped


@dataclass
class Line:
    """One pair in a section of the body, with the names shown under it."""

    label: str
    process: str
    customer: str
    cells: dict[str, str] = field(default_factory=dict)
    names: list[tuple[str, str]] = field(default_factory=list)  # (name, note: "" or "outstanding, 3 days")
    more: int = 0  # names not shown
    note: str = ""  # under a silent or low-input pair: received against expected

    @property
    def colour(self) -> str:
        return COLOURS.get(self.label, "#374151")


ACTION_COLUMNS = (
    ("received", "received"),
    ("generated", "generated"),
    ("difference", "diff"),
    ("missing", "missing on day"),
    ("outstanding", "outstanding"),
    ("oldest", "oldest (days)"),
)


def env_prefix(settings: Any) -> str:
    """`[ENV] ` before every subject outside production."""
    env = (settings.env_mode or "PROD").strip()
    return "" if env.upper() == "PROD" else f"[{env}] "


def subject(settings: Any, day: dt.date, analysis, failed_groups: dict[str, str]) -> str:
    prefix = env_prefix(settings)
    if failed_groups:
        prefix += "INCOMPLETE - "
    if analysis.without_input:
        prefix += "NO INPUT - "
    prefix += subject_prefix(analysis)
    text = f"Missing customer files {day}: {analysis.missing} missing"
    if analysis.lookback_days:
        text += f" ({analysis.new} new), {analysis.outstanding} outstanding"
    return prefix + text


def _show(value: int | None) -> str:
    return UNKNOWN if value is None else f"{value:,}"


def _note(age: int | None) -> str:
    return "" if age is None else f"outstanding, {age} day{'s' if age != 1 else ''} old"


def _budgeted(names: list, total: int, budget: list[int], cap: int) -> tuple[list[tuple[str, str]], int]:
    take = names[: max(0, min(cap, budget[0]))]
    budget[0] -= len(take)
    shown = [(n[0], _note(n[1])) if isinstance(n, tuple) else (n, "") for n in take]
    return shown, total - len(take)


def view(
    settings: Any,
    *,
    day: dt.date,
    run_id: str,
    summary,
    analysis,
    outcome: str,
    failed_groups: dict[str, str],
    files,
    attached,
    too_large=None,
) -> dict:
    """Everything both templates show, in the order they show it."""
    budget = [settings.mail_names_total]  # one budget for "needs action" and "recovered"
    cap = settings.mail_names_per_pair
    limit = getattr(settings, "mail_pairs", 300)
    action_pairs: list[PairStatus] = sorted((p for p in analysis.pairs if p.needs_action), key=severity)
    action = []
    for p in action_pairs[:limit]:
        names, more = _budgeted(p.names, p.missing + p.outstanding, budget, cap)
        action.append(
            Line(
                action_label(p),
                p.process,
                p.customer,
                {
                    "received": _show(p.received),
                    "generated": _show(p.generated),
                    "difference": _show(p.difference),
                    "missing": UNKNOWN if p.received is None else f"{p.missing:,}",
                    "outstanding": UNKNOWN if p.received is None else f"{p.outstanding:,}",
                    "oldest": "" if p.oldest_age is None else str(p.oldest_age),
                },
                names,
                more,
                expected_note(p, day),
            )
        )
    recovered = []
    recovered_pairs = [p for p in analysis.pairs if p.recovered]
    for p in recovered_pairs[:limit]:
        resolved = p.change is Change.RESOLVED
        names, more = _budgeted(p.recovered_names, p.recovered, budget, cap)
        recovered.append(
            Line(
                "RESOLVED" if resolved else "RECOVERED",
                p.process,
                p.customer,
                {"count": f"{p.recovered:,}"},
                names,
                more,
            )
        )
    note = files_note(files, attached, too_large)
    # Once, at the end, the reports' paths; not under each of thousands of pairs.
    where = "in the attached reports" if attached is not None else "in the reports at the paths below"
    widths = {key: max([len(title)] + [len(line.cells[key]) for line in action]) for key, title in ACTION_COLUMNS}
    widths["label"] = max([len("label")] + [len(line.label) for line in action])
    widths["pair"] = max([len("process / customer")] + [len(f"{x.process} / {x.customer}") for x in action])
    return {
        "day": str(day),
        "run_id": run_id,
        "outcome": outcome.upper().replace("_", " "),
        "pairs": summary.pairs,
        "unknown_pairs": summary.unknown_pairs,
        "missing": analysis.missing,
        "new": analysis.new,
        "outstanding": analysis.outstanding,
        "recovered": analysis.recovered,
        "left_window": analysis.left_window,
        "lookback_days": analysis.lookback_days,
        "without_input": analysis.without_input,
        "empty_input": settings.empty_input,
        "memory_problem": analysis.memory_problem,
        **volume_view(analysis, settings),
        "action": action,
        "recovered_lines": recovered,
        "action_total": len(action_pairs),
        "recovered_total": len(recovered_pairs),
        "action_more": _more_by_label(action_pairs[limit:]),
        "recovered_more": len(recovered_pairs[limit:]),
        "columns": ACTION_COLUMNS,
        "widths": widths,
        "where": where,
        "colours": COLOURS,
        "unknown": UNKNOWN,
        "processes": [
            {"name": name, **{k: v for k, v in t.to_json().items() if k != "verdicts"}}
            for name, t in analysis.processes.items()
        ],
        "failures": {group: mask_secrets(error) for group, error in failed_groups.items()},
        "files_note": note,
        "signature": f"{settings.script_name} ({settings.env_mode}) on {socket.gethostname()}",
    }


def _more_by_label(pairs: list[PairStatus]) -> str:
    """ "PERSISTING 7,700, OUTSTANDING 3": the pairs a section had no room for, by label."""
    counts: dict[str, int] = {}
    for p in pairs:
        counts[action_label(p)] = counts.get(action_label(p), 0) + 1
    return ", ".join(f"{label} {count:,}" for label, count in counts.items())


_TEMPLATES = ("report.txt.j2", "report.html.j2")


def prepare() -> None:
    """Compile the two bodies' templates now (kept by the environment): ~0.2 s that `run`
    spends while its group threads wait on the warehouse, not after (contract §19)."""
    for name in _TEMPLATES:
        _ENV.get_template(name)


def render(context: dict) -> tuple[str, str]:
    """(plain text, HTML)."""
    text, page = (_ENV.get_template(name).render(context) for name in _TEMPLATES)
    return text, page
