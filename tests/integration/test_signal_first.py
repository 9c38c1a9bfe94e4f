"""Contract §15 on `run`, as an operator meets it (real subprocesses, DuckDB): a run that fails
before its reports while a ticket is open still sends its one failure notice; a dry run never
touches the day's real reports; `status --run` tells one run whole; `status` into a closed
pipe ends quietly."""

from __future__ import annotations

import email
import json
import os
import subprocess
from email import policy

from tests.helpers.jobconfig import PROCESSES
from tests.integration.test_run_local import CLI, DAY, cli, data, job, status_of  # noqa: F401 (fixtures)

# A warehouse host nobody has: every group fails the same way (DNS), as with a mistyped host.
NOWHERE = {"MNAAS_WAREHOUSE_URL": "impala://warehouse-typo.invalid:21050", "MNAAS_QUERY_ATTEMPTS": "1"}


def messages(job, kind: str) -> list:
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in job.emails()
        if p.name.endswith(f"_{kind}.eml")
    ]


def history(job) -> list[dict]:
    return [json.loads(line) for line in open(f"{job.status_file}.runs.jsonl")]


def test_a_run_failing_before_its_reports_with_a_ticket_open_sends_one_notice_and_no_second_ticket(job):
    good = cli(job, "run", "--date", str(DAY))
    assert good.returncode == 0, good.stderr
    before = (job.csv(DAY).read_bytes(), job.txt(DAY).read_bytes())

    first = cli(job, "run", "--date", str(DAY), env_extra=NOWHERE)
    second = cli(job, "run", "--date", str(DAY), env_extra=NOWHERE)  # the ticket is open now

    assert (first.returncode, second.returncode) == (1, 1)
    assert len(messages(job, "sdp-ticket")) == 1
    assert status_of(job.status_file)["MNAAS_email_sdp_created"] == "Yes"
    notices = messages(job, "failure-notice")
    assert len(notices) == 2  # one per run, the second too
    assert len(messages(job, "report")) == 1  # the good run's only
    for notice in notices:
        subject = notice["Subject"]
        assert subject.startswith(f"FAILED - Missing customer files {DAY}: all ")
        assert "warehouse-typo.invalid:21050 unreachable" in subject and "0 missing" not in subject
        body = notice.get_body(("plain",)).get_content()
        assert body.count("failed to resolve") == 1  # the one error once, for every group
    told = sorted("already open" in n.get_body(("plain",)).get_content() for n in notices)
    assert told == [False, True]  # the first raised the ticket; the second says one is open
    # Nothing was checked: the day's good reports stay as they were.
    assert (job.csv(DAY).read_bytes(), job.txt(DAY).read_bytes()) == before
    assert [e["outcome"] for e in history(job)] == ["success", "failed", "failed"]


def test_a_dry_run_after_a_real_run_writes_under_dry_run_and_leaves_the_real_reports_byte_identical(job):
    real = cli(job, "run", "--date", str(DAY))
    assert real.returncode == 0, real.stderr
    paths = [job.csv(DAY), job.txt(DAY), job.outstanding(DAY)]
    before = [(p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in paths]

    dry = cli(job, "run", "--date", str(DAY), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert [(p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in paths] == before
    for path in paths:  # the dry run's own, the same content as the real run's (same data)
        assert (path.parent / "dry-run" / path.name).read_bytes() == path.read_bytes()

    # A dry run against an unreachable warehouse: nothing written anywhere, nothing sent, exit 1.
    emails = sorted(job.emails())
    broken = cli(job, "run", "--date", str(DAY), "--dry-run", env_extra=NOWHERE)
    assert broken.returncode == 1
    assert [(p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in paths] == before
    assert (paths[0].parent / "dry-run" / paths[0].name).read_bytes() == paths[0].read_bytes()
    assert sorted(job.emails()) == emails


def test_status_run_tells_one_failed_run_and_status_takes_no_dry_run_as_the_findings(job):
    assert cli(job, "run", "--date", str(DAY), env_extra=NOWHERE).returncode == 1
    assert cli(job, "run", "--date", str(DAY), "--dry-run").returncode == 0
    failed = history(job)[0]

    shown = cli(job, "status", "--run", failed["run_id"])
    assert shown.returncode == 0, shown.stderr
    groups = failed["groups"]
    assert f"run {failed['run_id']}: day {DAY}, trigger run, outcome failed" in shown.stdout
    assert f"groups: {groups} in all: ok 0, failed {groups}, running 0, waiting 0" in shown.stdout
    assert shown.stdout.count("failed to resolve") == 1  # the one distinct error, in full
    assert f"{PROCESSES[0]}/regular/1" in shown.stdout

    status = cli(job, "status")
    findings = status.stdout[status.stdout.index("last run's findings") :]
    assert findings.startswith(f"last run's findings ({failed['run_id']} for {DAY}, failed)")
    assert f"FAILED {groups} group(s)" in findings

    unknown = cli(job, "status", "--run", "20261124-nosuch00")
    assert unknown.returncode == 2 and "no run 20261124-nosuch00" in unknown.stderr


def test_status_into_a_closed_pipe_ends_quietly(job):
    assert cli(job, "run", "--date", str(DAY)).returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `status | head -n 1` once head has its line: every write fails
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    for args in (["status"], ["status", "--run", history(job)[0]["run_id"]], ["check-config"]):
        done = subprocess.run(
            [*CLI, *args, "--config", str(job.config)], stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=60
        )
        assert done.stderr == b"" and done.returncode in (0, 141), (args, done.stderr)
    os.close(write_end)
