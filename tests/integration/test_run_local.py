"""`mnaas-missing-files run` end to end on DuckDB, as an operator runs it (a real subprocess)."""

from __future__ import annotations

import datetime as dt
import email
import os
import socket
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

from mnaas_missing_files.cli.demo_data import DataSpec, generate, write_duckdb
from tests.helpers.expected import expected_outstanding, expected_reports
from tests.helpers.jobconfig import CUSTOMERS, INFONOVA, PROCESSES, make_job
from tests.helpers.lockholder import file_lock_held

DAY = dt.date(2026, 11, 24)
CLI = [sys.executable, "-m", "mnaas_missing_files.cli.main"]


def status_of(path: Path) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")
    )


def cli(job, *args, env_extra=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    env.update(env_extra or {})
    return subprocess.run(
        [*CLI, *args, "--config", str(job.config)], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture
def data():
    spec = DataSpec(
        days=[DAY - dt.timedelta(days=1), DAY],
        processes=PROCESSES,
        customers=CUSTOMERS + INFONOVA,
        files_per_pair=12,
        missing_fraction=0.08,
    )
    return generate(spec)


@pytest.fixture
def job(tmp_path, data):
    write_duckdb(tmp_path / "wh.duckdb", data)
    return make_job(
        tmp_path / "job",
        {
            "MNAAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/wh.duckdb",
            "MNAAS_GROUP_SIZE": "2",
            "MNAAS_RETRY_BACKOFF": "0.05",
        },
    )


def test_run_writes_reports_email_and_status_as_worked_out_independently(job, data):
    before = job.status_file.read_text().splitlines()
    result = cli(job, "run", "--date", DAY.isoformat())
    assert result.returncode == 0, result.stderr
    want_csv, want_txt = expected_reports(data, DAY, PROCESSES, CUSTOMERS, INFONOVA)
    assert want_txt.count("\n") > 5  # the data really has missing files
    assert job.csv(DAY).read_text() == want_csv
    assert job.txt(DAY).read_text() == want_txt
    assert oct(job.csv(DAY).stat().st_mode & 0o777) == "0o640"
    assert oct(job.txt(DAY).stat().st_mode & 0o777) == "0o640"

    [eml] = job.emails()
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["From"] == "hdfs@edge1.example.net"
    assert msg["To"] == "move-dev@example.com, move-ops@example.com"
    assert msg["Cc"] == "move-lead@example.com"
    assert DAY.isoformat() in msg["Subject"] and str(want_txt.count("\n")) in msg["Subject"]
    attached = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert attached[job.csv(DAY).name] == want_csv
    assert attached[job.txt(DAY).name] == want_txt

    status = status_of(job.status_file)
    assert status["MNAAS_Daily_ProcessStatusFlag"] == "0"
    assert status["MNAAS_job_status"] == "Success"
    assert status["MNAAS_Script_Process_Id"] == "0"
    assert status["MNAAS_email_sdp_created"] == "No"
    assert status["MNAAS_job_ran_time"] != "2026-11-24 06:30:04"
    after = job.status_file.read_text().splitlines()
    assert after[0] == before[0] and after[-1] == "MOVE_Delay_Email_sent=No"  # foreign lines kept
    log_text = Path(status_file_log(job)).read_text()
    assert "started checking 2026-11-24" in log_text and "finished success" in log_text


def status_file_log(job) -> Path:
    [log] = list((job.root / "Logs").glob("MNAAS_Missing_Customer_Files.log_*"))
    return log


def test_dry_run_writes_reports_but_no_email_and_leaves_status_alone(job):
    before = job.status_file.read_bytes()
    result = cli(job, "run", "--date", DAY.isoformat(), "--dry-run")
    assert result.returncode == 0, result.stderr
    dry = job.csv(DAY).parent / "dry-run"  # contract §15: never the day's real reports
    assert (dry / job.csv(DAY).name).exists() and (dry / job.txt(DAY).name).exists()
    assert not job.csv(DAY).exists() and not job.txt(DAY).exists()
    assert job.emails() == []
    assert job.status_file.read_bytes() == before


def test_operator_hold_refuses_with_exit_4_and_changes_nothing(job):
    job.status_file.write_text(
        job.status_file.read_text().replace("MNAAS_Daily_ProcessStatusFlag=0", "MNAAS_Daily_ProcessStatusFlag=HOLD")
    )
    before = job.status_file.read_bytes()
    result = cli(job, "run", "--date", DAY.isoformat())
    assert result.returncode == 4
    assert "HOLD" in result.stderr
    assert job.status_file.read_bytes() == before
    assert not job.csv(DAY).exists() and job.emails() == []


def test_two_concurrent_runs_one_exits_3_and_changes_nothing(job, tmp_path):
    with file_lock_held(job.status_file, "20261124-deadbeef", "2026-11-24"):
        before = job.status_file.read_bytes()
        result = cli(job, "run", "--date", DAY.isoformat())
        assert result.returncode == 3, result.stderr
        assert "20261124-deadbeef" in result.stderr
        assert job.status_file.read_bytes() == before
        assert not job.csv(DAY).exists() and job.emails() == []


def test_two_runs_started_together_one_wins(job):
    procs = [
        subprocess.Popen(
            [*CLI, "run", "--date", DAY.isoformat(), "--config", str(job.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")},
        )
        for _ in range(2)
    ]
    codes = sorted(p.wait(timeout=120) for p in procs)
    # Either they overlapped (one refused with 3) or the second started after the first ended.
    assert codes in ([0, 3], [0, 0])
    assert len(job.emails()) == codes.count(0)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_impala_retries_then_fails_with_one_ticket(tmp_path):
    port = closed_port()
    job = make_job(
        tmp_path / "job",
        {
            "MNAAS_WAREHOUSE_URL": f"impala://127.0.0.1:{port}?timeout=2",
            "MNAAS_QUERY_ATTEMPTS": "3",
            "MNAAS_RETRY_BACKOFF": "0.05",
            "MNAAS_GROUP_SIZE": "10",
        },
    )
    result = cli(job, "run", "--date", DAY.isoformat())
    assert result.returncode == 1, result.stderr
    # 7 customers, 4 local workers: 4 group tasks (each every process) x (3 attempts - 1),
    # and the run's day-input query (contract §14), retried alike
    assert result.stderr.count("retrying in") == 4 * 2 + 2
    assert result.stderr.count("reading the day's input, attempt") == 2
    status = status_of(job.status_file)
    assert status["MNAAS_Daily_ProcessStatusFlag"] == "1"
    assert status["MNAAS_job_status"] == "Failure"
    assert status["MNAAS_email_sdp_created"] == "Yes"
    assert status["MNAAS_job_ran_time"] == "2026-11-24 06:30:04"  # written on success only
    emails = job.emails()
    tickets = [e for e in emails if "sdp" in e.name]
    assert len(tickets) == 1 and len(emails) == 2
    # Every group failed: no report (contract §15), the failure notice instead.
    notice = email.message_from_bytes([e for e in emails if e not in tickets][0].read_bytes(), policy=policy.default)
    assert notice["X-MNAAS-Kind"] == "failure-notice"
    # 4 processes x 4 groups each (their 7 customers split for the 4 local workers)
    assert notice["Subject"].startswith(f"FAILED - Missing customer files {DAY}: all 16 groups failed: Impala ")
    assert not job.csv(DAY).exists() and not job.txt(DAY).exists()

    # A second failure in a row raises no second ticket.
    again = cli(job, "run", "--date", DAY.isoformat())
    assert again.returncode == 1
    assert len([e for e in job.emails() if "sdp" in e.name]) == 1


def test_run_through_smtp_delivers_one_message_with_the_files_attached(job, data):
    from tests.helpers.smtpd import SmtpServer

    with SmtpServer(user="relay", password="Relay-Pw-123") as server:
        result = cli(
            job,
            "run",
            "--date",
            DAY.isoformat(),
            env_extra={"MNAAS_SMTP_URL": server.url(user="relay", password="Relay-Pw-123")},
        )
        assert result.returncode == 0, result.stderr
        assert len(server.messages) == 1
        received = server.messages[0]
        msg = received.parsed()
    assert "Relay-Pw-123" not in result.stderr + result.stdout
    assert job.emails() == []  # delivered, nothing left in the outbox
    assert set(received.rcpt_tos) == {"move-dev@example.com", "move-ops@example.com", "move-lead@example.com"}
    attached = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    # the day before has missing files too: they are outstanding, in the third attachment
    want = expected_outstanding(data, DAY, 7, PROCESSES, CUSTOMERS, INFONOVA)
    assert want.count("\n") > 3 and job.outstanding(DAY).read_text() == want
    assert attached == {
        job.csv(DAY).name: job.csv(DAY).read_bytes(),
        job.txt(DAY).name: job.txt(DAY).read_bytes(),
        job.outstanding(DAY).name: job.outstanding(DAY).read_bytes(),
    }
    assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None


def test_undeliverable_mail_is_kept_in_the_outbox_and_fails_the_run(job):
    from tests.helpers.smtpd import free_port

    port = free_port()  # nothing listens there: the relay is down
    result = cli(
        job,
        "run",
        "--date",
        DAY.isoformat(),
        env_extra={"MNAAS_SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=2", "MNAAS_MAIL_ATTEMPTS": "2"},
    )
    assert result.returncode == 1
    kept = job.emails()
    assert sorted(p.name.rsplit("_", 1)[1] for p in kept) == ["report.eml", "sdp-ticket.eml"]
    assert str(kept[0].parent) in result.stdout  # the operator is told where the messages lie
    assert "report email not delivered" in result.stdout
    status = status_of(job.status_file)
    assert status["MNAAS_job_status"] == "Failure" and status["MNAAS_Daily_ProcessStatusFlag"] == "1"
    # The ticket did not reach the service desk, so the next failure must try again.
    assert status["MNAAS_email_sdp_created"] == "No"
    assert job.csv(DAY).exists() and job.txt(DAY).exists()


def test_backfill_runs_days_in_order_and_continues_past_a_failed_day(job):
    # the warehouse has no data at all for `last`: no input, a failure under the default policy
    first, bad, last = DAY - dt.timedelta(days=1), DAY, DAY + dt.timedelta(days=1)
    job.txt(bad).mkdir(parents=True)  # that day's TXT cannot be written: the day fails
    result = cli(job, "backfill", "--from", first.isoformat(), "--to", last.isoformat())
    assert result.returncode == 1, result.stderr
    table = [line.split()[:3] for line in result.stdout.splitlines()[1:]]
    assert table == [
        [first.isoformat(), "success", "0"],
        [bad.isoformat(), "failed", "1"],
        [last.isoformat(), "no_input", "1"],
    ]
    # A day where nothing arrived never reads as `0 missing` alone (contract §15): its
    # verdicts that need attention are on its line, here every pair (4 processes x 7 customers).
    [last_line] = [line for line in result.stdout.splitlines() if line.startswith(last.isoformat())]
    assert last_line.endswith("0 missing; pairs: no_input 28")
    assert job.csv(first).exists() and job.csv(last).exists() and not job.csv(bad).exists()
    # each day's reports carry that day's date in their name and their rows
    assert job.csv(last).read_text().splitlines()[1].startswith(last.isoformat())
