"""The report email's subject and its two bodies (contract §9, §15): a body that triages in
ten seconds — the outcome, the totals, what failed and what did not arrive, then what needs
action — with the `ok` pairs left to the CSV.

The plain-text and the HTML body are two Jinja2 templates (templates/) over one view worked
out here, so both carry the same information in the same order; the HTML one is autoescaped
(customer and file names are data, never markup) and styled inline only, for mail clients.
The sections' own rules (failures, input, legend) are sections.py's.
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from mnaas_missing_files.checking.verdicts import Change, PairStatus
from mnaas_missing_files.reporting import sections
from mnaas_missing_files.reporting.attachments import files_note
from mnaas_missing_files.reporting.inputs import NO_FINDINGS, InputFindings
from mnaas_missing_files.reporting.pairtally import Smallest, action_label
from mnaas_missing_files.reporting.sections import COLOURS

UNKNOWN = "?"
RECOVERED_NAMES_PER_PAIR = 3  # contract §15: recovered pairs show a few names, the reports the rest

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


def subject(
    settings: Any,
    day: dt.date,
    analysis,
    failed_groups: dict[str, str],
    total_groups: int | None = None,
    inputs: InputFindings = NO_FINDINGS,
) -> str:
    """Prefixes in the contract's order (§15): INCOMPLETE (with how many groups failed), NO
    INPUT, SILENT, LOW INPUT; the counts are of what was checked."""
    prefix = env_prefix(settings)
    if failed_groups:
        of = f" of {total_groups}" if total_groups else ""
        prefix += f"INCOMPLETE - {len(failed_groups)}{of} groups failed - "
    if analysis.without_input:
        prefix += "NO INPUT - "
    if inputs.silent:
        prefix += "SILENT - "
    if inputs.low:
        prefix += "LOW INPUT - "
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


def action_pairs(analysis) -> Smallest[PairStatus]:
    """Section 5 (contract §15), most severe first (pairtally.py: which pairs, in what
    order): the first MNAAS_MAIL_PAIRS of them, and how many there are of each label."""
    return analysis.tally.action


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
    total_groups: int | None = None,
    inputs: InputFindings = NO_FINDINGS,
    pairs_limit: int | None = None,
    names_total: int | None = None,
    chosen: Smallest[PairStatus] | None = None,
) -> dict:
    """Everything both templates show, in the order they show it. `pairs_limit` and
    `names_total` override the settings' caps when the size measure shrinks the email;
    `chosen` is action_pairs(analysis) when the caller has it (sorted once, not per render)."""
    names_cap = settings.mail_names_total if names_total is None else names_total
    budget = [names_cap]  # one budget for "needs action" and "recovered"
    cap = settings.mail_names_per_pair
    limit = getattr(settings, "mail_pairs", 300) if pairs_limit is None else pairs_limit
    chosen = action_pairs(analysis) if chosen is None else chosen
    action = []
    for p in chosen.sorted()[:limit]:
        names, more = _budgeted(p.names, p.missing + p.outstanding, budget, cap)
        cells = {
            "received": _show(p.received),
            "generated": _show(p.generated),
            "difference": _show(p.difference),
            "missing": f"{p.missing:,}",
            "outstanding": f"{p.outstanding:,}",
            "oldest": "" if p.oldest_age is None else str(p.oldest_age),
        }
        action.append(Line(action_label(p), p.process, p.customer, cells, names, more))
    recovered = []
    recovered_pairs = analysis.tally.recovered_pairs
    for p in recovered_pairs.items[:limit]:
        resolved = p.change is Change.RESOLVED
        names, more = _budgeted(p.recovered_names, p.recovered, budget, min(cap, RECOVERED_NAMES_PER_PAIR))
        label = "RESOLVED" if resolved else "RECOVERED"
        recovered.append(Line(label, p.process, p.customer, {"count": f"{p.recovered:,}"}, names, more))
    # Once, at the end, the reports' paths; not under each of thousands of pairs.
    where = "in the attached reports" if attached is not None else "in the reports at the paths below"
    widths = {key: max([len(title)] + [len(line.cells[key]) for line in action]) for key, title in ACTION_COLUMNS}
    widths["label"] = max([len("label")] + [len(line.label) for line in action])
    widths["pair"] = max([len("process / customer")] + [len(f"{x.process} / {x.customer}") for x in action])
    state = sections.Outcome.of(outcome, failed_groups, total_groups, analysis.without_input, inputs, settings)
    volume, volume_more = sections.volume_lines(inputs, day, limit)
    unmonitored, unmonitored_more = inputs.unmonitored_shown()
    shrunk = pairs_limit is not None or names_total is not None
    names_shown = names_cap - budget[0]
    return {
        "day": str(day),
        "run_id": run_id,
        "state": state,
        "headline": sections.headline(summary, analysis, inputs, state),
        "memory_problem": analysis.memory_problem,
        "processes": sections.process_rows(analysis),
        "failures": sections.failure_lines(failed_groups, total_groups),
        "failed_count": len(failed_groups),
        "total_groups": total_groups,
        "no_input": sections.no_input_lines(analysis),
        "empty_input": settings.empty_input,
        "volume": volume,
        "volume_more": volume_more,
        "volume_note": sections.volume_note(inputs),
        "kpi_not_loaded": inputs.kpi_not_loaded,
        "unmonitored": unmonitored,
        "unmonitored_more": unmonitored_more,
        "unmonitored_total": len(inputs.unmonitored),
        "unmonitored_unknown": inputs.unmonitored_unknown,
        "action": action,
        "action_total": chosen.total,
        "action_more": ", ".join(f"{label} {count:,}" for label, count in chosen.beyond(limit).items()),
        "recovered_lines": recovered,
        "recovered": analysis.recovered,
        "recovered_total": recovered_pairs.total,
        "recovered_more": max(0, recovered_pairs.total - limit),
        "shrunk": sections.shrunk_note(len(action), chosen.total, names_shown) if shrunk else "",
        "columns": ACTION_COLUMNS,
        "widths": widths,
        "where": where,
        "colours": COLOURS,
        "legend": sections.LEGEND,
        "files_note": files_note(files, attached, too_large),
        "signature": f"{settings.script_name} ({settings.env_mode}) on {socket.gethostname()}",
    }


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
