"""Two copies of a run's callback at once send one report. A broker failover puts a running
task's message back in the queue (kombu restores the unacknowledged messages of a dropped
connection), so another pool process runs the callback again while the first is still riding
out an SMTP outage; both used to send the report (found by the chaos soak, seed 2026, day
2026-08-31: docs/reliability.md). Here the copy is made as kombu makes it: the unacknowledged
message pushed back onto the control queue."""

from __future__ import annotations

import email
import json
import socket
import subprocess
import sys
import time
from email import policy

import pytest

from tasks import FINALIZE_RUN
from tests.helpers.celerycluster import running_cluster, submitted_run_id
from tests.helpers.celeryproc import REPO, wait_until
from tests.helpers.redisproc import free_port

CONTROL_QUEUE = "mnaas-control"


def running_callback(broker) -> str | None:
    """The callback's message as the queue holds it, while a worker holds it unacknowledged."""
    for raw in broker.hvals("unacked"):
        message, _exchange, _routing_key = json.loads(raw)
        if message["headers"].get("task") == FINALIZE_RUN:
            return json.dumps(message)
    return None


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def reports(directory) -> list[str]:
    kinds = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in directory.glob("*.eml")]
    return [str(m["X-MNAAS-Run-Id"]) for m in kinds if m["X-MNAAS-Kind"] == "report"]


@pytest.mark.redis
def test_two_copies_of_a_runs_callback_send_one_report(tmp_path):
    port, inbox = free_port(), tmp_path / "inbox"
    with running_cluster(tmp_path, ["w1"]) as c:  # two pool processes: one for each copy
        # The SMTP server is down: the callback retries at 1, 3, 7, 15 and 31 s.
        c.job.configure(MNAAS_SMTP_URL=f"smtp://127.0.0.1:{port}", MNAAS_MAIL_ATTEMPTS="6", MNAAS_RETRY_BACKOFF="1")
        submit = c.submit()
        assert submit.returncode == 0, submit.stderr
        run_id = submitted_run_id(submit.stdout)
        broker = c.redis.client(0)
        copy = wait_until(lambda: running_callback(broker), timeout=60, what="the callback to be running")
        broker.lpush(CONTROL_QUEUE, copy)
        time.sleep(3)  # the copy is taken by the other pool process
        sink = subprocess.Popen(
            [sys.executable, "-m", "chaos.smtpsink", str(port), str(inbox)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(lambda: listening(port), timeout=30, what="the SMTP server")
            wait_until(lambda: reports(inbox), timeout=60, what="the report")
            wait_until(lambda: c.state(run_id).read().get("state") == "done", timeout=60, what="the run to end")
            time.sleep(20)  # past the copy's next attempts, had it gone on to send
            assert reports(inbox) == [run_id]
            assert f"run {run_id}: its callback is already running" in c.workers[0].log()
            assert [(e["run_id"], e["outcome"]) for e in c.job.history()] == [(run_id, "success")]
        finally:
            sink.terminate()
            sink.wait(10)
