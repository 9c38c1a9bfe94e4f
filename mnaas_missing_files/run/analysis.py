"""What a run found, pair by pair: verdicts, outstanding files, what was recovered since the
memory of listed names was written, and the totals the email, the outcome and the metrics
show (contract §7, §8), gathered into a DayAnalysis (dayanalysis.py).

One pass over the groups in plan order, unpacking one group's names at a time; each pair,
once judged, goes into a bounded tally (reporting/pairtally.py), not a list. It also puts
this run's own listing into the memory object (in memory only; `finalize` saves it once the
reports are written, and never on a dry run).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace

from mnaas_missing_files.checking.dayinput import DayInput, VolumeCheck
from mnaas_missing_files.checking.planning import configured_customers, configured_processes
from mnaas_missing_files.checking.verdicts import (
    PairStatus,
    Verdict,
    age_days,
    pair_verdict,
    processes_without_input,
)
from mnaas_missing_files.checking.volume import VolumeRules
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.model import GroupResult, Plan
from mnaas_missing_files.reporting.pairtally import PairTally, TallyCaps
from mnaas_missing_files.run.dayanalysis import OUTCOME_PAIRS, DayAnalysis, ProcessTotals
from mnaas_missing_files.state.listed import DayNames, ListedMemory


def analyse(
    settings: Settings,
    plan: Plan,
    results: Mapping[str, GroupResult],
    memory: ListedMemory,
    found: DayInput | None = None,
    signs: dict[str, GroupResult] | None = None,
) -> DayAnalysis:
    """`found`: the day's input (checking/dayinput.py), read once for the run; None when it
    was not asked for (volume is then not judged and nothing is listed as not monitored).
    `signs`: input_signs(plan, results) when the caller has them (one pass fewer)."""
    signs = input_signs(plan, results) if signs is None else signs
    empty = processes_without_input(plan, signs, settings.empty_input_allowed)
    caps = TallyCaps(settings.mail_pairs, OUTCOME_PAIRS, settings.metrics_max_customers, tuple(settings.processes))
    analysis = DayAnalysis(
        plan.day, settings.lookback_days, (), empty, {}, memory_problem=memory.problem, tally=PairTally(caps)
    )
    volume = _volume_check(settings, found, empty, analysis)
    first = settings.window_start.isoformat()
    day = plan.day.isoformat()
    cap = settings.mail_names_per_pair
    for group in plan.groups:
        result = results.get(group.group_id)
        ok = result is not None and result.ok
        on_day = result.missing_names() if ok and result is not None else {}
        earlier = (
            {d: result.outstanding_names(d) for d in result.outstanding_days()} if ok and result is not None else {}
        )
        totals = analysis.processes.setdefault(group.process, ProcessTotals())
        for customer in group.customers:
            old = memory.days_of(group.process, customer) if settings.lookback_days else {}
            analysis.left_window += sum(len(n) for d, n in old.items() if d < first)
            if not ok or result is None:
                pair = PairStatus(group.process, group.customer_type, customer, Verdict.UNKNOWN)
                totals.add(pair)
                analysis.add(pair)
                continue
            received, generated = (int(v) for v in result.counts.get(customer, [0, 0]))
            current: DayNames = {d: names[customer] for d, names in earlier.items() if names.get(customer)}
            outstanding = sum(len(n) for n in current.values())
            names_d = on_day.get(customer, [])
            judgement = volume.judge(group.process, customer, received)
            pair = PairStatus(
                group.process,
                group.customer_type,
                customer,
                pair_verdict(received, generated, len(names_d), group.process in empty, judgement.verdict),
                received=received,
                generated=generated,
                missing=len(names_d),
                outstanding=outstanding,
                oldest_age=age_days(plan.day, min(current)) if current else None,
                names=_first_names(plan.day, names_d, current, cap),
                **judgement.facts(),
            )
            if names_d:
                current[day] = names_d
            _recover(pair, old, current, first, day, cap)
            if settings.lookback_days:
                # newer days stay (a backfill of an older day); the window is this run's now
                kept = {d: n for d, n in old.items() if d > day}
                memory.put(group.process, customer, {**kept, **current})
            totals.add(pair)
            analysis.add(pair)
    analysis.history_too_short = volume.too_short
    return analysis


def input_signs(plan: Plan, results: Mapping[str, GroupResult]) -> dict[str, GroupResult]:
    """Each group's result as far as processes_without_input and the failed groups read it
    (ok, its error, whether anything was received or missing, whether the process had input),
    without its counts and names: the callback reads the results one group at a time and must
    not hold them all (contract §19)."""
    signs = {}
    for group in plan.groups:
        result = results.get(group.group_id)
        if result is not None:
            received = any(r for r, _ in result.counts.values())
            signs[group.group_id] = replace(
                result,
                counts={"": [1, 0]} if received else {},
                missing={},
                packed="1" if result.packed or result.missing else None,
                outstanding={},
                outstanding_packed={},
            )
    return signs


def _volume_check(settings: Settings, found: DayInput | None, empty: list[str], analysis: DayAnalysis) -> VolumeCheck:
    """The §14 rules for this run, and what the analysis says of them before any pair."""
    regular, infonova, _ = configured_customers(settings)
    processes, _ = configured_processes(settings)
    volume = VolumeCheck(VolumeRules.of(settings), found, processes, regular + infonova, empty)
    analysis.volume_judged = volume.active
    analysis.not_judged = dict(volume.not_judged) if volume.active else {}
    analysis.kpi_not_loaded = volume.kpi_not_loaded
    if found is not None:
        analysis.volume_problem = found.problem
        if found.problem is None:
            analysis.unmonitored = found.unmonitored(processes, regular + infonova, settings.unmonitored_ignore)
    return volume


def _first_names(day: dt.date, names_d: Sequence[str], earlier: DayNames, cap: int) -> list[tuple[str, int | None]]:
    """The names the email may show for a pair: D's first, then outstanding oldest first,
    each with its age (None for D's own)."""
    shown: list[tuple[str, int | None]] = [(n, None) for n in names_d[:cap]]
    for d in sorted(earlier):
        if len(shown) >= cap:
            break
        age = age_days(day, d)
        shown.extend((n, age) for n in earlier[d][: cap - len(shown)])
    return shown


def _recover(pair: PairStatus, old: DayNames, current: DayNames, first: str, day: str, cap: int) -> None:
    """Names the memory listed for a day of the window that are no longer missing."""
    for d in sorted(old):
        if not first <= d <= day or not old[d]:
            continue
        pair.remembered = True
        still = set(current.get(d, ()))
        gone = [n for n in old[d] if n not in still]
        pair.recovered += len(gone)
        pair.recovered_names.extend(gone[: max(0, cap - len(pair.recovered_names))])
