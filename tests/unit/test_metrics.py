"""The metrics file (contract §11), parsed back with prometheus_client's own parser, the way
Prometheus reads what node_exporter exposes. Expected values are worked out by hand."""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import threading
import zoneinfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mnaas_missing_files.config.settings import Settings
from mnaas_missing_files.run.metrics import PairFacts, RunMetrics, write_metrics, write_metrics_quietly
from mnaas_missing_files.state import history
from tests.helpers.settings import settings_for_tests

NOW = dt.datetime(2026, 11, 25, 8, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
WEIRD = 'We"ird\\Cust'  # a quote and a backslash: both must be escaped in the label
JOB = "MNAAS_Missing_Customer_Files.sh"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return settings_for_tests(
        conf_path=tmp_path,
        metrics_file=tmp_path / "prom" / "mnaas.prom",
        processes=("traffic", "actives"),
        customers=("eLUX", WEIRD, "JLR"),
        timezone="Europe/Berlin",
        metrics_max_customers=3,
        catchup_days=0,
    )


def ended(settings, run_id: str, day: str, outcome: str, started: str, end: str) -> None:
    history.record_run(
        settings.status_file,
        {"run_id": run_id, "day": day, "trigger": "run", "started": started, "ended": end, "outcome": outcome},
    )


def samples(settings) -> dict[tuple[str, frozenset], float]:
    text = settings.metrics_file.read_text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found, name: str, **labels: str) -> float:
    return found[(f"mnaas_missing_files_{name}", frozenset({"job_name": JOB, **labels}.items()))]


def success_run() -> RunMetrics:
    pairs = [
        PairFacts("traffic", "eLUX", "missing", 2),
        PairFacts("traffic", WEIRD, "missing", 5),
        PairFacts("traffic", "JLR", "ok", 0),
        PairFacts("actives", "eLUX", "missing", 2),
        PairFacts("actives", WEIRD, "missing", 1),
        PairFacts("actives", "JLR", "ok", 0),
    ]
    return RunMetrics("success", pairs, 0, "r1")


def test_a_successful_run_writes_every_series_with_exactly_its_labels(settings):
    ended(settings, "r1", "2026-11-24", "success", "2026-11-25 06:30:00", "2026-11-25 06:31:40")
    write_metrics(settings, success_run(), now=NOW)
    found = samples(settings)

    six_thirty_one_forty = dt.datetime(2026, 11, 25, 6, 31, 40, tzinfo=NOW.tzinfo).timestamp()
    assert value(found, "last_run_end_timestamp_seconds") == six_thirty_one_forty
    assert value(found, "last_success_end_timestamp_seconds") == six_thirty_one_forty
    # the 24th began at 23:00 UTC on the 23rd (CET, UTC+1)
    assert (
        value(found, "last_success_day_timestamp_seconds")
        == dt.datetime(2026, 11, 23, 23, 0, tzinfo=dt.UTC).timestamp()
    )
    assert value(found, "last_run_duration_seconds") == 100.0
    assert {
        o: value(found, "last_run_outcome", outcome=o) for o in ("success", "failed", "incomplete", "no_input", "lost")
    } == {"success": 1, "failed": 0, "incomplete": 0, "no_input": 0, "lost": 0}
    assert value(found, "missing_files", process="traffic") == 7
    assert value(found, "missing_files", process="actives") == 3
    assert value(found, "outstanding_files", process="traffic") == 0
    assert value(found, "oldest_outstanding_age_seconds", process="traffic") == 0
    assert value(found, "pairs", process="traffic", verdict="missing") == 2
    assert value(found, "pairs", process="traffic", verdict="ok") == 1
    assert value(found, "pairs", process="actives", verdict="unknown") == 0
    assert value(found, "failed_groups") == 0
    assert value(found, "deadline_missed") == 0 and value(found, "catchup_window_not_run") == 0
    # the three largest of four pairs with files; the tie of 2 breaks in the CSV's order
    customers = {
        (dict(labels)["process"], dict(labels)["customer"]): v
        for (name, labels), v in found.items()
        if name == "mnaas_missing_files_customer_missing_files"
    }
    assert customers == {("traffic", WEIRD): 5, ("traffic", "eLUX"): 2, ("actives", "eLUX"): 2}
    assert 'customer="We\\"ird\\\\Cust"' in settings.metrics_file.read_text()
    labels = {name: {frozenset(dict(lab)) for (n, lab) in found if n == name} for name, _ in found}
    assert labels["mnaas_missing_files_pairs"] == {frozenset({"job_name", "process", "verdict"})}
    assert labels["mnaas_missing_files_failed_groups"] == {frozenset({"job_name"})}
    assert stat.S_IMODE(os.stat(settings.metrics_file).st_mode) == 0o644


def test_a_failure_keeps_the_last_success_and_the_series_of_a_process_without_results(settings):
    ended(settings, "r1", "2026-11-24", "success", "2026-11-25 06:30:00", "2026-11-25 06:31:40")
    write_metrics(settings, success_run(), now=NOW)
    ended(settings, "r2", "2026-11-25", "failed", "2026-11-26 06:30:00", "2026-11-26 06:30:30")
    failed = [PairFacts("traffic", c, "unknown", None) for c in ("eLUX", WEIRD, "JLR")] + [
        PairFacts("actives", "eLUX", "ok", 0),
        PairFacts("actives", WEIRD, "ok", 0),
        PairFacts("actives", "JLR", "missing", 4),
    ]
    write_metrics(settings, RunMetrics("failed", failed, 1, "r2"), now=NOW)
    found = samples(settings)

    assert (
        value(found, "last_success_end_timestamp_seconds")
        == dt.datetime(2026, 11, 25, 6, 31, 40, tzinfo=NOW.tzinfo).timestamp()
    )
    assert value(found, "last_run_duration_seconds") == 30.0
    assert value(found, "last_run_outcome", outcome="failed") == 1
    assert value(found, "last_run_outcome", outcome="success") == 0
    assert value(found, "missing_files", process="traffic") == 7  # kept: no group of it returned
    assert value(found, "missing_files", process="actives") == 4  # this run's
    assert value(found, "pairs", process="traffic", verdict="unknown") == 3  # always this run's
    assert value(found, "pairs", process="traffic", verdict="missing") == 0
    assert value(found, "failed_groups") == 1
    customers = {
        (dict(labels)["process"], dict(labels)["customer"]): v
        for (name, labels), v in found.items()
        if name == "mnaas_missing_files_customer_missing_files"
    }
    assert customers == {("traffic", WEIRD): 5, ("actives", "JLR"): 4, ("traffic", "eLUX"): 2}


@pytest.mark.parametrize(
    "outcome, shown",
    [("interrupted", "failed"), ("lost", "lost"), ("no_input", "no_input"), ("incomplete", "incomplete")],
)
def test_the_outcome_series_names_the_last_outcome(settings, outcome, shown):
    write_metrics(settings, RunMetrics(outcome, [], 0, "r3"), now=NOW)
    found = samples(settings)
    assert [
        o
        for o in ("success", "failed", "incomplete", "no_input", "lost")
        if value(found, "last_run_outcome", outcome=o) == 1
    ] == [shown]
    assert value(found, "last_success_day_timestamp_seconds") == 0  # no success ever: the alert fires


def test_a_dry_run_leaves_the_file_alone_and_a_deadline_write_keeps_the_last_run(settings):
    write_metrics(settings, success_run(), now=NOW)
    before = settings.metrics_file.read_bytes()
    write_metrics(settings, RunMetrics("dry-run", [], 0, "r4"), now=NOW)
    assert settings.metrics_file.read_bytes() == before
    missed = settings_for_tests(**{**_fields(settings), "deadline": "07:00"})
    write_metrics(missed, None, now=NOW)  # 08:00 on the 25th: the 24th has no success
    found = samples(missed)
    assert value(found, "deadline_missed") == 1
    assert value(found, "last_run_outcome", outcome="success") == 1
    assert value(found, "missing_files", process="traffic") == 7


def test_a_metrics_file_that_cannot_be_written_fails_nothing(settings, caplog, tmp_path):
    (tmp_path / "prom").write_text("a file where the directory should be")
    with caplog.at_level(logging.ERROR):
        assert write_metrics_quietly(settings, success_run()) is False
    assert f"run r1: metrics file {settings.metrics_file} not written" in caplog.text


def test_a_reader_never_sees_half_a_file(settings):
    write_metrics(settings, success_run(), now=NOW)
    expected = len(samples(settings))
    seen, stop = [], threading.Event()

    def read() -> None:
        # A pause between reads: a reader that never lets go of the GIL starves the writer,
        # whose every system call then waits for it (seen: 150 writes in 100 s instead of 1 s).
        while not stop.wait(0.0005):
            seen.append(len(samples(settings)))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(150):
            write_metrics(settings, success_run(), now=NOW)
    finally:
        stop.set()
        reader.join()
    assert seen and set(seen) == {expected}


def _fields(settings: Settings) -> dict:
    return {
        "conf_path": settings.conf_path,
        "metrics_file": settings.metrics_file,
        "processes": settings.processes,
        "customers": settings.customers,
        "timezone": settings.timezone,
        "metrics_max_customers": 3,
        "catchup_days": 0,
    }
