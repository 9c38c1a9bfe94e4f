"""The metrics file for alerting (contract §11): Prometheus text format for node_exporter's
textfile collector, replaced atomically (mode 0644) whenever a run ends and when a deadline
is missed.

The file is the metrics' only memory: series a run cannot vouch for (a process none of whose
groups returned) are carried over from the file it replaces, read with prometheus_client's
own parser; `last_success_*` come from the run history. The format is prometheus_client's
(`generate_latest`: escaping, HELP and TYPE lines), written by the product's one atomic writer.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mnaas_missing_files.checking.verdicts import Verdict
from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.core.fsio import atomic_write
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.reporting.pairtally import MetricsTally
from mnaas_missing_files.run.dayanalysis import DayAnalysis
from mnaas_missing_files.run.deadline_alert import deadline_missed
from mnaas_missing_files.state.missed_days import days_not_run, history_entries
from mnaas_missing_files.warehouse.kerberos import kerberos_ticket_status

log = logging.getLogger(__name__)

METRICS_MODE = 0o644  # node_exporter runs as its own user
PREFIX = "mnaas_missing_files_"
OUTCOMES = ("success", "failed", "incomplete", "no_input", "lost")
VERDICTS = tuple(v.value for v in Verdict)  # all seven (contract §14)
# Outcomes of the history shown as another in last_run_outcome; dry runs write no metrics.
OUTCOME_SHOWN_AS = {"interrupted": "failed"}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DAY_SECONDS = 86400


@dataclass(frozen=True, slots=True)
class PairFacts:
    """What the metrics need of one (process, customer) pair of a run, for a caller that has
    the pairs as a list (a run's analysis tallies them as it goes: metrics_of). `missing` is
    None when the pair is unknown (its group failed); `outstanding` counts earlier days' files
    (§8)."""

    process: str
    customer: str
    verdict: str
    missing: int | None
    outstanding: int = 0
    oldest_age_days: int = 0


def metrics_of(analysis: DayAnalysis | None) -> MetricsTally | None:
    """The run's pairs as the metrics read them, tallied by its analysis in the CSV's order
    (the customer top-N breaks ties by it); None for a run that got no analysis (it ended
    without reports)."""
    return None if analysis is None else analysis.tally.metrics


@dataclass(frozen=True)
class RunMetrics:
    """A run's end as the metrics see it. `pairs` is None for a run that got no analysis."""

    outcome: str
    pairs: MetricsTally | Sequence[PairFacts] | None
    failed_groups: int
    run_id: str
    unmonitored: int | None = None  # pairs with files on D that nobody configured; None: unknown


def _tally(pairs: MetricsTally | Sequence[PairFacts], settings: Settings) -> MetricsTally:
    if isinstance(pairs, MetricsTally):
        return pairs
    tally = MetricsTally(settings.metrics_max_customers, settings.processes)
    for p in pairs:
        tally.add(p.process, p.customer, p.verdict, p.missing, p.outstanding, p.oldest_age_days)
    return tally


def write_metrics_quietly(settings: Settings, run: RunMetrics | None) -> bool:
    """write_metrics, but a metrics file that cannot be written fails nothing else: the log
    says why and the run's outcome stands. False then."""
    try:
        write_metrics(settings, run)
        return True
    except Exception as exc:
        what = f"run {run.run_id}: " if run else ""
        log.error("%smetrics file %s not written: %s", what, settings.metrics_file, mask_secrets(exc))
        return False


def write_metrics(settings: Settings, run: RunMetrics | None, now: dt.datetime | None = None) -> Path | None:
    """Replace MNAAS_METRICS_FILE (off when unset). `run` None: only the history's and the
    clock's series change (a deadline alert); the last run's series are kept."""
    path = settings.metrics_file
    if path is None or (run is not None and run.outcome in ("dry-run", "refused")):
        return None
    now = (now or settings.now()).astimezone(settings.tzinfo)
    entries = history_entries(settings.status_file)
    previous = read_samples(path)
    gauges = _Gauges(settings.script_name)
    this = _this_run(entries, run.run_id) if run else None

    for name in ("last_run_end_timestamp_seconds", "last_run_duration_seconds"):
        value = _previous_one(previous, name)
        if this is not None:
            ended = _stamp(this, "ended", settings) or now.timestamp()
            started = _stamp(this, "started", settings) or ended
            value = ended if name.startswith("last_run_end") else max(0.0, ended - started)
        gauges.set(name, value or 0.0)
    shown = OUTCOME_SHOWN_AS.get(run.outcome, run.outcome) if run else None
    for outcome in OUTCOMES:
        value = (
            (1.0 if outcome == shown else 0.0) if run else _previous_one(previous, "last_run_outcome", outcome=outcome)
        )
        gauges.set("last_run_outcome", value or 0.0, outcome=outcome)
    successes = [e for e in entries if e.get("outcome") == "success" and e.get("ended")]
    gauges.set(
        "last_success_end_timestamp_seconds", max((_stamp(e, "ended", settings) or 0.0 for e in successes), default=0.0)
    )
    gauges.set(
        "last_success_day_timestamp_seconds", max((_day_start(e["day"], settings) for e in successes), default=0.0)
    )
    _per_process(gauges, settings, run, previous)
    gauges.set("failed_groups", float(run.failed_groups) if run else _previous_one(previous, "failed_groups") or 0.0)
    unmonitored = (
        run.unmonitored if run and run.unmonitored is not None else _previous_one(previous, "unmonitored_pairs")
    )
    gauges.set("unmonitored_pairs", float(unmonitored or 0))
    gauges.set("deadline_missed", 1.0 if deadline_missed(settings, entries, now) else 0.0)
    gauges.set("catchup_window_not_run", float(len(days_not_run(settings, now, entries))))
    ticket = kerberos_ticket_status(settings)  # None unless the warehouse uses GSSAPI (§17)
    if ticket is not None and ticket.expires is not None:
        gauges.set("kerberos_ticket_expiry_timestamp_seconds", ticket.expires.timestamp())
    atomic_write(path, generate_latest(gauges.registry), METRICS_MODE)
    return path


def _per_process(
    gauges: _Gauges, settings: Settings, run: RunMetrics | None, previous: dict[str, list[tuple[dict, float]]]
) -> None:
    """Missing, outstanding, oldest age and customer series from this run for each process
    with at least one known pair, from the previous file for the others; `pairs` always
    from this run (a deadline-only write keeps the file's)."""
    tally = _tally(run.pairs, settings) if run and run.pairs is not None else None
    # (-files, process rank, order, process, customer): the run's largest, then the previous
    # file's of each process none of whose pairs is known this run
    rank_of = {process: rank for rank, process in enumerate(settings.processes)}
    largest = tally.largest() if tally else []
    customers = [(-files, rank_of[p], n, p, customer) for n, (p, customer, files) in enumerate(largest)]
    for rank, process in enumerate(settings.processes):
        facts = tally.processes.get(process) if tally else None
        if facts is not None and facts.known:
            values: dict[str, float] = {
                "missing_files": facts.missing,
                "outstanding_files": facts.outstanding,
                "oldest_outstanding_age_seconds": facts.oldest_age_days * DAY_SECONDS,
            }
        else:
            values = {
                name: _previous_one(previous, name, process=process) or 0.0
                for name in ("missing_files", "outstanding_files", "oldest_outstanding_age_seconds")
            }
            customers += [
                (-int(value), rank, order, process, labels["customer"])
                for order, (labels, value) in enumerate(previous.get(f"{PREFIX}customer_missing_files", []))
                if labels.get("process") == process and value > 0
            ]
        for name, value in values.items():
            gauges.set(name, float(value), process=process)
        for verdict in VERDICTS:
            count = (
                (facts.verdicts.get(verdict, 0) if facts else 0)
                if run
                else _previous_one(previous, "pairs", process=process, verdict=verdict) or 0
            )
            gauges.set("pairs", float(count), process=process, verdict=verdict)
    for files, _rank, _order, process, customer in sorted(customers)[: settings.metrics_max_customers]:
        gauges.set("customer_missing_files", float(-files), process=process, customer=customer)


class _Gauges:
    """The series of §11, each with exactly its labels plus job_name."""

    HELP = {
        "last_run_end_timestamp_seconds": ("When the last run (not dry) ended, Unix seconds.", ()),
        "last_success_end_timestamp_seconds": ("When the last successful run ended, Unix seconds (0: none).", ()),
        "last_success_day_timestamp_seconds": (
            "Start of the latest day with a successful run, in MNAAS_TIMEZONE, Unix seconds (0: none).",
            (),
        ),
        "last_run_outcome": ("1 for the last run's outcome, 0 for the others.", ("outcome",)),
        "last_run_duration_seconds": ("How long the last run took.", ()),
        "missing_files": ("Files missing on the last run's day, per process.", ("process",)),
        "outstanding_files": ("Files of earlier days still missing, per process.", ("process",)),
        "oldest_outstanding_age_seconds": ("Age of the oldest outstanding file, per process (0: none).", ("process",)),
        "pairs": ("Pairs of the last run per process and verdict.", ("process", "verdict")),
        "failed_groups": ("Groups of the last run that failed after their retries.", ()),
        "customer_missing_files": (
            "Missing plus outstanding files of the pairs with the most, capped by MNAAS_METRICS_MAX_CUSTOMERS.",
            ("process", "customer"),
        ),
        "unmonitored_pairs": (
            "(process, customer) pairs with files on the last run's day that are not configured.",
            (),
        ),
        "deadline_missed": ("1 from a missed MNAAS_DEADLINE until a successful run of that day ends.", ()),
        "catchup_window_not_run": ("Days of the catch-up window that have not run.", ()),
        "kerberos_ticket_expiry_timestamp_seconds": (
            "End of the Kerberos ticket of the process that wrote this file (GSSAPI only).",
            (),
        ),
    }

    def __init__(self, job_name: str) -> None:
        self.registry = CollectorRegistry()
        self.job_name = job_name
        self.gauges = {
            name: Gauge(PREFIX + name, text, ("job_name", *labels), registry=self.registry)
            for name, (text, labels) in self.HELP.items()
        }

    def set(self, name: str, value: float, **labels: str) -> None:
        self.gauges[name].labels(job_name=self.job_name, **labels).set(value)


def read_samples(path: Path) -> dict[str, list[tuple[dict, float]]]:
    """The previous file's samples by name; an absent or unreadable file is a fresh start."""
    try:
        text = path.read_text(encoding="utf-8")
        samples: dict[str, list[tuple[dict, float]]] = defaultdict(list)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[sample.name].append((dict(sample.labels), float(sample.value)))
        return dict(samples)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("metrics file %s could not be read (%s); series it kept start again", path, exc)
        return {}


def _previous_one(previous: dict, name: str, **labels: str) -> float | None:
    for sample_labels, value in previous.get(PREFIX + name, []):
        if all(sample_labels.get(k) == v for k, v in labels.items()):
            return value
    return None


def _this_run(entries: list[dict], run_id: str) -> dict:
    return next((e for e in entries if e.get("run_id") == run_id), {})


def _stamp(entry: dict, field: str, settings: Settings) -> float | None:
    """An entry's `<field>_ts` (Unix seconds) if it has one, else its wall-clock text."""
    if isinstance(entry.get(f"{field}_ts"), (int, float)):
        return float(entry[f"{field}_ts"])
    try:
        wall = dt.datetime.strptime(str(entry.get(field)), TIME_FORMAT)
    except ValueError:
        return None
    return wall.replace(tzinfo=settings.tzinfo).timestamp()


def _day_start(day: str, settings: Settings) -> float:
    try:
        start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time())
    except ValueError:
        return 0.0
    return start.replace(tzinfo=settings.tzinfo).timestamp()
