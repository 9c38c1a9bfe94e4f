"""The status file against the platform's other jobs, which write it with `sed -i` and no lock
(contract §13): 25 real `run`s while a real `sed -i` loop appends ~100 updates a second.

Every foreign update is a new line `FOREIGN_<k>=<k>`, so one lost update is one missing line;
the product's own keys must show each run's end (flag 0, Success, pid 0) after every run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time

import pytest

from tests.helpers.jobconfig import small_duckdb_job

pytestmark = [pytest.mark.slow]

DAY = dt.date(2026, 11, 24)
RUNS = 25
# One `sed -i` every 10 ms (100 writes a second), paced by the clock so that the time sed
# itself takes is not added; `read -t` on a pipe that never delivers is a sleep without a fork.
SED_LOOP = r"""
exec 9<> <(:)
k=0
next=${EPOCHREALTIME/./}
while [ ! -e "$STOP" ]; do
    sed -i "\$a FOREIGN_$k=$k" "$STATUS" && k=$((k+1))
    next=$((next + 10000))
    now=${EPOCHREALTIME/./}
    if ((next > now)); then read -t "0.$(printf %06d $((next - now)))" -u 9; else next=$now; fi
done
echo "$k"
"""


@pytest.fixture
def job(tmp_path):
    return small_duckdb_job(tmp_path, DAY)


def own_keys(text: str) -> dict[str, str]:
    keys = ("MNAAS_Daily_ProcessStatusFlag", "MNAAS_Script_Process_Id", "MNAAS_job_status")
    return {k: v for k, v in re.findall(r"(?m)^(\w+)=(.*)$", text) if k in keys}


@pytest.mark.timeout(240)
def test_no_foreign_update_and_no_own_key_is_lost_to_a_sed_loop(job, tmp_path):
    stop = tmp_path / "stop"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    loop = subprocess.Popen(
        ["bash", "-c", SED_LOOP],
        stdout=subprocess.PIPE,
        text=True,
        env={**env, "STOP": str(stop), "STATUS": str(job.status_file)},
    )
    started = time.monotonic()
    own_lost = []
    try:
        for i in range(RUNS):
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "mnaas_missing_files.cli.main",
                    "run",
                    "--date",
                    DAY.isoformat(),
                    "--config",
                    str(job.config),
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            assert result.returncode == 0, result.stderr
            keys = own_keys(job.status_file.read_text())
            if keys != {
                "MNAAS_Daily_ProcessStatusFlag": "0",
                "MNAAS_Script_Process_Id": "0",
                "MNAAS_job_status": "Success",
            }:
                own_lost.append((i, keys))
    finally:
        stop.touch()
        written = int(loop.communicate(timeout=30)[0])
    elapsed = time.monotonic() - started

    text = job.status_file.read_text()
    present = [int(k) for k in re.findall(r"(?m)^FOREIGN_(\d+)=\1$", text)]
    lost = sorted(set(range(written)) - set(present))
    print(
        f"\nforeign updates: {written} written in {elapsed:.1f} s ({written / elapsed:.0f}/s), "
        f"{len(lost)} lost; own keys lost after {len(own_lost)} of {RUNS} runs"
    )
    # Paced at 100/s; a machine loaded by other work slows it, but not below this.
    assert written / elapsed > 20, "the sed loop was too slow to test anything"
    assert lost == [], f"{len(lost)} of {written} foreign updates lost: {lost[:10]}"
    assert present == list(range(written))  # each once, in the order written
    assert own_lost == []
    assert text.startswith("# process status file")  # the foreign first line is kept too
