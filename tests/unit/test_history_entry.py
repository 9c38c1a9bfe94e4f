"""A run history line, typed where catch-up and the deadline read it (state/history.py)."""

from __future__ import annotations

from mnaas_missing_files.state.history import HistoryEntry
from mnaas_missing_files.state.missed_days import ran_days

LINE = {
    "run_id": "20261124-aaaa",
    "day": "2026-11-24",
    "trigger": "schedule",
    "started": "2026-11-25 07:00:00",
    "ended": "2026-11-25 07:03:10",
    "outcome": "incomplete",
    "failed_groups": 1,
    "missing_files": 3,
    "host": "edge01",
    "pid": 4242,
}


def test_an_entry_round_trips_every_field_as_written():
    entry = HistoryEntry.from_json(LINE)
    assert (entry.run_id, entry.outcome, entry.details["pid"]) == ("20261124-aaaa", "incomplete", 4242)
    assert entry.to_json() == LINE


def test_which_entries_count_as_a_run_of_their_day_and_which_succeeded():
    def entry(**changes) -> HistoryEntry:
        return HistoryEntry.from_json({**LINE, **changes})

    assert entry().counts_as_run and not entry().succeeded
    assert entry(outcome="success").succeeded
    assert not entry(outcome="success", ended=None).succeeded  # not ended yet
    assert not entry(outcome="dry-run").counts_as_run
    assert not entry(outcome="running", ended=None).counts_as_run
    for reported in ("failed", "lost", "interrupted", "no_input"):
        assert entry(outcome=reported).counts_as_run, reported
    assert ran_days([LINE, {**LINE, "day": "2026-11-23", "outcome": "dry-run"}]) == {"2026-11-24"}
