"""The run history next to the status file."""

from __future__ import annotations

import json
import multiprocessing
import stat
from pathlib import Path

import pytest

from mnaas_missing_files.core.errors import StatusFileError
from mnaas_missing_files.state.history import (
    KEEP_RUNS,
    history_path,
    recent_runs,
    record_run,
    update_run,
)


@pytest.fixture
def status(tmp_path: Path) -> Path:
    return tmp_path / "MNAAS_Missing_Customer_Files_ProcessStatusFile"


def run(run_id: str, **fields) -> dict:
    return {"run_id": run_id, "day": "2026-11-24", "trigger": "beat", "outcome": "running", **fields}


def test_history_lives_next_to_the_status_file(status):
    record_run(status, run("r1"))
    assert history_path(status) == status.parent / (status.name + ".runs.jsonl")
    assert json.loads(history_path(status).read_text()) == run("r1")
    assert stat.S_IMODE(history_path(status).stat().st_mode) & stat.S_IWOTH == 0


def test_recent_runs_is_newest_first_and_limited(status):
    for i in range(5):
        record_run(status, run(f"r{i}"))
    assert [r["run_id"] for r in recent_runs(status, limit=3)] == ["r4", "r3", "r2"]
    assert [r["run_id"] for r in recent_runs(status)] == ["r4", "r3", "r2", "r1", "r0"]


def test_no_history_yet_is_an_empty_list(status):
    assert recent_runs(status) == []


def test_update_run_merges_into_that_run_only(status):
    record_run(status, run("a", started="2026-11-25 06:30:00", ended=None))
    record_run(status, run("b"))
    assert (
        update_run(
            status, "a", ended="2026-11-25 06:31:10", outcome="success", missing_files=3, pairs=2, failed_groups=0
        )
        is True
    )
    newest, oldest = recent_runs(status)
    assert newest == run("b")
    assert oldest == {
        "run_id": "a",
        "day": "2026-11-24",
        "trigger": "beat",
        "outcome": "success",
        "started": "2026-11-25 06:30:00",
        "ended": "2026-11-25 06:31:10",
        "missing_files": 3,
        "pairs": 2,
        "failed_groups": 0,
    }


def test_update_of_an_unknown_run_records_it_rather_than_losing_it(status):
    record_run(status, run("a"))
    assert update_run(status, "ghost", outcome="failed") is False
    assert recent_runs(status)[0] == {"run_id": "ghost", "outcome": "failed"}
    assert len(recent_runs(status)) == 2


def test_only_the_newest_runs_are_kept(status):
    for i in range(KEEP_RUNS + 15):
        record_run(status, run(f"r{i}"))
    lines = history_path(status).read_text().splitlines()
    assert len(lines) == 200
    assert json.loads(lines[0])["run_id"] == "r15"
    assert json.loads(lines[-1])["run_id"] == f"r{KEEP_RUNS + 14}"


def test_corrupt_lines_are_skipped(status):
    path = history_path(status)
    path.write_text(
        json.dumps(run("good-1"))
        + "\n"
        + "{not json\n"
        + "\n"
        + '["a list, not a run"]\n'
        + json.dumps(run("good-2"))
        + "\n"
        + '{"run_id": "half-writ'  # a writer died mid-append
    )
    assert [r["run_id"] for r in recent_runs(status)] == ["good-2", "good-1"]
    record_run(status, run("after-crash"))
    assert [r["run_id"] for r in recent_runs(status)] == ["after-crash", "good-2", "good-1"]
    assert update_run(status, "good-1", outcome="success") is True
    assert recent_runs(status)[-1]["outcome"] == "success"


def test_a_run_id_is_required(status):
    with pytest.raises(ValueError):
        record_run(status, {"day": "2026-11-24"})


def test_dates_are_written_as_text(status):
    import datetime as dt

    record_run(status, run("r", day=dt.date(2026, 11, 24)))
    assert recent_runs(status)[0]["day"] == "2026-11-24"


def test_an_unwritable_place_is_a_status_file_error(tmp_path):
    missing = tmp_path / "no" / "dir" / "status"
    with pytest.raises(StatusFileError, match=str(missing)):
        record_run(missing, run("r"))


def _append_many(status: str, writer: int) -> None:
    for i in range(25):
        record_run(status, run(f"w{writer}-{i}"))
        update_run(status, f"w{writer}-{i}", outcome="success")


def test_concurrent_writers_lose_nothing(status):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(status), w)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    runs = recent_runs(status, limit=1000)
    assert len(runs) == 100
    assert {r["run_id"] for r in runs} == {f"w{w}-{i}" for w in range(4) for i in range(25)}
    assert all(r["outcome"] == "success" for r in runs)
