"""A failed group in Flower (contract §15): the group task that failed after its retries is
FAILURE in Flower's API, with its error, during the run and after it; the run still ends once,
through the chord's error callback, with one report naming the failed groups, and its history
entry says `incomplete`. The README's recipes (`state:FAILURE`, a run's tasks) return it."""

from __future__ import annotations

import json
import os
import re
import signal
import urllib.parse

from mnaas_missing_files.core.model import Plan
from tests.helpers.celerycluster import cluster, cluster_ready, first_line, hold_one_group, http_get, submitted_run_id  # noqa: F401
from tests.helpers.celeryjob import DAY, GROUPS
from tests.helpers.celeryproc import wait_until
from tests.helpers.redisproc import free_port
from tests.integration.test_flower_view import PASSWORD, start_flower


def api_tasks(port: int, **query: str) -> dict:
    code, body = http_get(f"http://127.0.0.1:{port}/api/tasks?{urllib.parse.urlencode(query)}", auth=("ops", PASSWORD))
    assert code == 200, body
    return json.loads(body)


def of_run(tasks: dict, run_id: str) -> dict:
    return {tid: t for tid, t in tasks.items() if run_id in (t.get("kwargs") or "")}


def test_a_failed_group_is_failure_in_flower_and_the_run_ends_once_incomplete(cluster_ready):
    c = cluster_ready
    c.job.configure(MNAAS_MAX_DELIVERIES="1")  # a group whose worker dies once counts as failed
    port = free_port()
    flower = start_flower(c, port)
    try:
        c.gate.touch()  # the other groups wait at the gate while Flower is asked
        submit = c.start_submit("--wait")
        run_id = submitted_run_id(first_line(submit))
        batch, pid = hold_one_group(c, run_id)
        os.kill(pid, signal.SIGKILL)  # its redelivery finds MNAAS_MAX_DELIVERIES spent: failed

        during = wait_until(
            lambda: of_run(api_tasks(port, state="FAILURE"), run_id),
            timeout=60,
            interval=1,
            what="Flower to list the failed group task",
        )
        [failed] = during.values()
        assert failed["name"] == "mnaas.check_group" and failed["state"] == "FAILURE"
        assert (
            "GroupsFailed" in failed["exception"] and "the worker checking this group was lost" in failed["exception"]
        )
        assert f"'group': '{batch.batch_id}'" in failed["kwargs"]
        assert c.state(run_id).read()["state"] == "running"  # the run goes on: the others are at the gate
        # status --run, read from the run state: the failed groups by id, the rest running or waiting
        shown = c.cli("status", "--run", run_id)
        assert shown.returncode == 0, shown.stderr
        counts = re.search(r"groups: (\d+) in all: ok (\d+), failed (\d+), running (\d+), waiting (\d+)", shown.stdout)
        assert counts, shown.stdout
        total, ok, failed_groups, running, waiting = map(int, counts.groups())
        assert (total, ok, failed_groups) == (GROUPS, 0, len(batch.groups()))
        plan = Plan.from_json(c.state(run_id).plan() or {})
        held = sum(len(b.groups()) for b in plan.batches if b.batch_id in c.state(run_id).active())
        assert running == held > 0 and running + waiting == GROUPS - len(batch.groups())  # groups, not tasks
        assert all(g.group_id in shown.stdout for g in batch.groups())

        c.gate.unlink()
        code = submit.wait(90)
        out, err = submit.communicate()
        assert code == 1, out + err

        # After: the README's recipes, as an operator types them.
        by_day = api_tasks(port, search=f"kwargs:day={DAY} state:FAILURE")
        assert list(of_run(by_day, run_id)) == list(during)
        everything = wait_until(
            lambda: (
                (t := api_tasks(port, search=f"kwargs:run_id={run_id}"))
                and any(v["name"] == "mnaas.run_failed" and v["state"] == "SUCCESS" for v in t.values())
                and t
            ),
            timeout=60,
            interval=1,
            what="Flower to see the error callback end the run",
        )
        names = sorted(t["name"] for t in everything.values())
        assert "mnaas.finalize_run" not in names  # the chord's error callback ended the run instead
        assert [t["state"] for t in everything.values() if t["name"] == "mnaas.check_group"].count("FAILURE") == 1
    finally:
        flower.stop()

    [report] = c.job.emails("report")  # one message for the run
    assert c.job.emails("failure-notice") == []
    message = c.job.message(report)
    assert message["Subject"].startswith(f"INCOMPLETE - {len(batch.groups())} of ")
    text = message.get_body(("plain",)).get_content()
    for group in batch.groups():
        assert group.group_id in text
    [entry] = [e for e in c.job.history() if e["run_id"] == run_id]
    assert entry["outcome"] == "incomplete"
    assert c.lock().holder() is None
