"""An output that cannot be written ends the run cleanly (contract §13): a read-only and a full
report directory, with the outbox below it (the default layout), so neither the reports nor
the SDP ticket can be saved anywhere.

Both are made for real in a private mount namespace (`unshare -m`, we are root in CI): a
read-only bind mount and a 256 KB tmpfs over the report directory, seen only by the run. A
machine that refuses `unshare` skips these tests, saying so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.jobconfig import small_duckdb_job

DAY = dt.date(2026, 11, 24)
CLI = [sys.executable, "-m", "mnaas_missing_files.cli.main"]


def _private_mounts_work() -> str | None:
    """None when `unshare -m` and a bind mount work here, else why not."""
    try:
        probe = subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare is not available: {exc}"
    return None if probe.returncode == 0 else f"unshare -m / mount refused: {probe.stderr.strip()}"


WHY_NOT = _private_mounts_work()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"needs a private mount namespace ({WHY_NOT})")


@pytest.fixture
def job(tmp_path):
    job = small_duckdb_job(tmp_path, DAY)
    first = run(job)  # yesterday's good reports, which a failed run must leave as they are
    assert first.returncode == 0, first.stderr
    return job


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}


def run(job, mount_first: str = "") -> subprocess.CompletedProcess:
    command = shlex.join([*CLI, "run", "--date", DAY.isoformat(), "--config", str(job.config)])
    if not mount_first:
        return subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env(), timeout=120)
    # The run is the namespace's last command: its exit code is the script's.
    return subprocess.run(
        ["unshare", "-m", "sh", "-euc", f"{mount_first}\n{command}"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=120,
    )


def history(job) -> list[dict]:
    return [json.loads(line) for line in Path(f"{job.status_file}.runs.jsonl").read_text().splitlines()]


def status(job) -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in job.status_file.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )


def log_text(job) -> str:
    return "".join(p.read_text() for p in sorted((job.root / "Logs").iterdir()))


def check_clean_failure(job, result, errno_text: str, reports_before: dict[str, bytes]) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"could not write the report {job.csv(DAY)}" in result.stderr
    assert errno_text in result.stderr
    assert f"cannot save the sdp-ticket email to the outbox {job.outbox}" in result.stderr
    assert history(job)[-1]["outcome"] == "failed" and history(job)[-1]["ended"]
    st = status(job)
    # Failure recorded; the ticket could not be kept, so the next failure tries it again.
    assert (st["MNAAS_Daily_ProcessStatusFlag"], st["MNAAS_job_status"], st["MNAAS_email_sdp_created"]) == (
        "1",
        "Failure",
        "No",
    )
    log = log_text(job)
    assert "the message follows whole, so it is not lost" in log
    assert f"Subject: MNAAS_Missing_Customer_Files.sh failed in PROD for {DAY}" in log
    assert f"The daily job MNAAS_Missing_Customer_Files.sh failed in PROD for {DAY}." in log
    assert {p.name: p.read_bytes() for p in (job.csv(DAY), job.txt(DAY))} == reports_before


def test_a_read_only_report_directory_fails_the_run_cleanly(job):
    reports = job.csv(DAY).parent
    before = {p.name: p.read_bytes() for p in (job.csv(DAY), job.txt(DAY))}
    emails_before = job.emails()
    result = run(
        job,
        f"mount --bind {shlex.quote(str(reports))} {shlex.quote(str(reports))}\n"
        f"mount -o remount,bind,ro {shlex.quote(str(reports))}",
    )
    check_clean_failure(job, result, "Read-only file system (EROFS)", before)
    assert job.emails() == emails_before


def test_a_full_report_directory_fails_the_run_cleanly_and_keeps_the_previous_reports(job, tmp_path):
    reports = job.csv(DAY).parent
    before = {p.name: p.read_bytes() for p in (job.csv(DAY), job.txt(DAY))}
    saved = tmp_path / "saved"
    saved.mkdir()
    for name, data in before.items():
        (saved / name).write_bytes(data)
    # A small tmpfs over the report directory holding yesterday's reports, then filled up.
    d = shlex.quote(str(reports))
    result = run(
        job,
        f"mount -t tmpfs -o size=256k tmpfs {d}\n"
        f"cp -p {shlex.quote(str(saved))}/* {d}/\n"
        f"mkdir {d}/outbox\n"
        f"dd if=/dev/zero of={d}/filler bs=4k 2>/dev/null || true\n"
        f"cmp {d}/{job.csv(DAY).name} {saved / job.csv(DAY).name}\n"
        f"trap 'cmp {d}/{job.csv(DAY).name} {saved / job.csv(DAY).name} && "
        f"cmp {d}/{job.txt(DAY).name} {saved / job.txt(DAY).name} && echo REPORTS-INTACT' EXIT",
    )
    assert "REPORTS-INTACT" in result.stdout  # checked inside the namespace, on the full disk
    check_clean_failure(job, result, "No space left on device (ENOSPC)", before)


def test_a_read_only_status_file_directory_refuses_the_run_with_one_message(job):
    conf = shlex.quote(str(job.status_file.parent))
    before = job.status_file.read_bytes()
    result = run(job, f"mount --bind {conf} {conf}\nmount -o remount,bind,ro {conf}")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{job.status_file}" in result.stderr and "Read-only file system (EROFS)" in result.stderr
    assert job.status_file.read_bytes() == before
    assert [e["outcome"] for e in history(job)] == ["success"]  # nothing started, nothing running
