"""A shadow run on the cluster (contract §16): MNAAS_SHADOW_DIR where the run is submitted
travels in its plan, so the control worker (which has no such setting) writes only there,
under a lock of its own."""

from __future__ import annotations

import json

import pytest

from tests.helpers.celerycluster import running_cluster
from tests.helpers.celeryjob import DAY
from tests.helpers.celeryproc import run_cli
from tests.helpers.snapshot import snapshot

STATUS = "MNAAS_Missing_Customer_Files_ProcessStatusFile"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("celery-shadow"), ["w1"]) as state:
        yield state


def test_a_submitted_shadow_run_writes_only_in_its_directory(cluster, tmp_path):
    c = cluster
    c.job.configure()
    assert c.run().returncode == 0
    reference = c.job.reports(), c.job.job.outstanding(DAY).read_bytes()
    c.job.configure()  # a fresh status file, no reports, no emails
    before = snapshot(c.job.job.root)
    shadow = tmp_path / "shadow"
    # Production's lock held (a real run in progress): a real submit is refused, the shadow's
    # lock is its own.
    token = c.lock().acquire({"run_id": "real-run", "day": str(DAY)})
    try:
        assert c.submit().returncode == 3
        done = run_cli(c.job.config, {**c.env, "MNAAS_SHADOW_DIR": str(shadow)}, "submit", "--date", str(DAY), "--wait")
    finally:
        c.lock().release(token)
    assert done.returncode == 0, done.stdout + done.stderr
    assert snapshot(c.job.job.root) == before  # the control worker wrote nothing of the job's own
    csv, txt = (shadow / f"Missing_Customer_Files_Report_{DAY}.csv", shadow / f"Missing_Customer_Files_{DAY}.txt")
    assert (csv.read_bytes(), txt.read_bytes()) == reference[0]
    assert (shadow / f"Missing_Customer_Files_Outstanding_{DAY}.csv").read_bytes() == reference[1]
    status = (shadow / STATUS).read_text()
    assert "MNAAS_job_status=Success" in status and "MOVE_Delay_Email_sent=No" in status
    assert len(list((shadow / "outbox").glob("*_report.eml"))) == 1
    [entry] = [json.loads(line) for line in (shadow / f"{STATUS}.runs.jsonl").read_text().splitlines()]
    assert (entry["outcome"], entry["trigger"]) == ("success", "submit")
