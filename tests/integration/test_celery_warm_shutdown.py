"""A worker's warm shutdown (SIGTERM) mid-run loses nothing (contract §13): with late ack, the
tasks it had reserved but not started go back to the queue, those it was running finish and
are acknowledged only then, and the run goes on on another worker. Real redis-server, real
prefork workers, the real CLI."""

from __future__ import annotations

import signal

import pytest

from tests.helpers.celerycluster import hold_one_group, running_cluster, submitted_run_id
from tests.helpers.celeryproc import start_worker, wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.redis, pytest.mark.slow]


def test_a_warm_shutdown_mid_run_requeues_and_the_run_completes_elsewhere(tmp_path):
    with running_cluster(tmp_path, ["w1"]) as c:
        c.gate.touch()  # every group's first delivery waits: w1 holds two and reserves more
        submit = c.start_submit("--wait")
        run_id = submitted_run_id(submit.stdout.readline())
        hold_one_group(c, run_id)
        [w1] = c.workers

        w1.process.send_signal(signal.SIGTERM)
        w1.wait_for_log("Warm shutdown", timeout=30)
        c.gate.unlink()  # its running groups finish and are acknowledged; then it exits
        wait_until(lambda: not w1.alive, timeout=60, what="w1 to finish its warm shutdown")
        assert w1.process.returncode == 0
        broker = c.redis.client(0)
        # Nothing is left unacknowledged: what w1 had reserved is back in its queue.
        print(
            "\nafter w1's warm shutdown: mnaas-groups",
            broker.llen("mnaas-groups"),
            "mnaas-control",
            broker.llen("mnaas-control"),
            "unacked",
            broker.hlen("unacked"),
        )
        assert broker.hlen("unacked") == 0
        assert broker.llen("mnaas-groups") > 0

        c.workers.append(start_worker("w2", c.env, tmp_path / "logs"))
        code = submit.wait(120)
        out, err = submit.communicate()

        assert code == 0, out + err
        assert c.state(run_id).read()["state"] == "done"
        want_csv, want_txt = c.job.expected()
        assert c.job.reports() == (want_csv.encode(), want_txt.encode())
        assert len(c.job.emails("report")) == 1 and not c.job.emails("sdp-ticket")
        assert c.job.status()["MNAAS_job_status"] == "Success"
        assert "succeeded" in c.workers[-1].log()  # w2 did part of the run
