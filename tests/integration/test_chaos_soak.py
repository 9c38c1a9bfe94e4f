"""The short chaos soak (contract §18) in the suite, so that a regression in how the cluster
rides out faults together fails CI: `python -m chaos` with a fixed seed and 10 runs, exactly
as `make chaos SEED=… RUNS=10` runs it (a real Redis master, replica and three sentinels,
three workers, beat, an SMTP server), must end with no violation. The long soak and its
figures: docs/reliability.md."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers.celeryproc import REPO

SEED = 20261205
RUNS = 10


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_seeded_soak_of_ten_runs_ends_without_a_violation(tmp_path):
    chaos_dir = tmp_path / "chaos"
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "--seed", str(SEED), "--runs", str(RUNS), "--dir", str(chaos_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=840,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"no summary line (exit {done.returncode}):\n{done.stderr[-3000:]}"
    summary = json.loads(lines[-1])
    assert summary["violations"] == {}, f"{json.dumps(summary['violations'], indent=1)}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, done.stderr[-3000:]
    assert (summary["seed"], summary["runs"]) == (SEED, RUNS)
    assert sum(summary["faults"].values()) >= 5, summary["faults"]
    # The layout an operator replays a seed in (contract §18).
    assert (chaos_dir / "job.properties").is_file()
    assert len(list((chaos_dir / "smtp").glob("*.eml"))) >= RUNS
    assert (chaos_dir / "reference" / "Missing_Customer_Files").is_dir()
