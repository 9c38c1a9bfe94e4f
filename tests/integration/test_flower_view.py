"""Flower as a view of the run, in a real browser: headless Chromium renders Flower's task
list (filled by the page's own XHR) behind basic auth during a submitted run; its DOM shows
the run's group tasks with their run id and group, and after a Flower restart the finished
run's tasks are still there (persistent state)."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from tests.helpers.browser import dump_dom
from tests.helpers.celerycluster import cluster, cluster_ready, first_line, http_get, submitted_run_id  # noqa: F401
from tests.helpers.celeryjob import DAY
from tests.helpers.celeryproc import Proc, wait_until
from tests.helpers.redisproc import free_port

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

PASSWORD = "flower-view-secret"
# By hand: 7 customers, at most 5 a group task, 4 group workers: 4 tasks (1/4 .. 4/4), each
# every process.
TASKS = 4


class _Table(HTMLParser):
    """The header and the rows (cell texts) of the page's #tasks-table."""

    def __init__(self) -> None:
        super().__init__()
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self._in_table = self._in_cell = False
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "tasks-table":
            self._in_table = True
        elif self._in_table and tag == "th" and attrs.get("data-column"):
            self.header.append(attrs["data-column"])
        elif self._in_table and tag == "tr":
            self._row = []
        elif self._in_table and tag == "td" and self._row is not None:
            self._row.append("")
            self._in_cell = True

    def handle_endtag(self, tag):
        if tag == "table" and self._in_table:
            self._in_table = False
        elif tag == "td":
            self._in_cell = False
        elif tag == "tr" and self._row:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_cell and self._row:
            self._row[-1] += data


def tasks_page(port: int, **query: str) -> _Table:
    search = "&".join(f"{k}={v}" for k, v in query.items())
    table = _Table()
    table.feed(dump_dom(f"http://ops:{PASSWORD}@127.0.0.1:{port}/tasks" + (f"?{search}" if search else "")))
    return table


def start_flower(c, port: int) -> Proc:
    """As operators start it: workers/flower.sh's defaults (columns, persistence, loopback)."""
    env = {
        **c.env,
        "FLOWER_BASIC_AUTH": f"ops:{PASSWORD}",
        "FLOWER_PORT": str(port),
        "FLOWER_DB": str(c.root / "flower-state" / "flower.db"),
    }
    (c.root / "flower-state").mkdir(exist_ok=True)
    flower = Proc("flower-view", ["bash", "workers/flower.sh"], env, c.root / "logs").start()
    wait_until(lambda: http_get(f"http://127.0.0.1:{port}/healthcheck")[0] == 200, what="Flower to listen")
    flower.wait_for_log("Connected to redis")
    return flower


def test_flower_in_a_browser_shows_the_run_id_and_group_of_each_task_and_keeps_them(cluster_ready):
    c = cluster_ready
    c.job.configure(MNAAS_GROUP_SIZE="5")
    port = free_port()
    flower = start_flower(c, port)
    try:
        c.gate.touch()  # the run stays under way while the browser looks
        submit = c.start_submit("--wait")
        run_id = submitted_run_id(first_line(submit))
        wait_until(lambda: len(c.state(run_id).active()) == 4, what="four groups at the gate")

        during = tasks_page(port, name="mnaas.check_group")
        assert during.header[:2] == ["name", "kwargs"]
        kwargs = during.header.index("kwargs")
        groups = [row for row in during.rows if row[0] == "mnaas.check_group" and run_id in row[kwargs]]
        assert len(groups) == TASKS, during.rows
        assert {row[kwargs].split("'group': '")[1].split("'")[0] for row in groups} == {f"{n}/4" for n in range(1, 5)}
        assert all(f"'day': '{DAY}'" in row[kwargs] for row in groups)
        assert not any("token" in row[kwargs] for row in groups)

        c.gate.unlink()
        assert submit.wait(60) == 0, submit.communicate()
        wait_until(
            lambda: sum(1 for row in tasks_page(port, state="SUCCESS").rows if run_id in " ".join(row)) == TASKS + 2,
            timeout=60,
            interval=1,
            what="Flower to see the run's tasks succeed",
        )
        # the operations guide's recipe for one run's tasks, through the API
        code, body = http_get(
            f"http://127.0.0.1:{port}/api/tasks?search=kwargs:run_id={run_id}", auth=("ops", PASSWORD)
        )
        assert code == 200 and len(json.loads(body)) == TASKS + 2
    finally:
        flower.stop()  # SIGTERM: Flower saves its state

    assert PASSWORD.encode() not in (c.root / "logs" / "flower-view.log").read_bytes()
    flower = start_flower(c, port)  # a restart: what it knew comes back from FLOWER_DB
    try:
        after = tasks_page(port)
    finally:
        flower.stop()
    rows = [row for row in after.rows if run_id in " ".join(row)]
    names = sorted(row[0] for row in rows)
    assert names == ["mnaas.check_group"] * TASKS + ["mnaas.finalize_run", "mnaas.start_run"], after.rows
    state = after.header.index("state")
    assert {row[state] for row in rows} == {"SUCCESS"}
