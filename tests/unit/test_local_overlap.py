"""`run` compiles the email's templates while its group threads wait on the warehouse."""

from __future__ import annotations

import threading

from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.reporting import mailbody
from mnaas_missing_files.run import local
from mnaas_missing_files.run.interrupt import Interruption
from tests.helpers.settings import settings_for_tests


class HeldWarehouse:
    """Answers nothing until `released`: a query in flight."""

    def __init__(self, released: threading.Event):
        self.released = released

    def query(self, sql, params):
        assert self.released.wait(10), "the batches finished waiting before anything released them"
        return []

    def interrupt(self):
        pass

    def close(self):
        pass


def test_the_waiting_work_runs_while_the_batches_are_under_way(monkeypatch):
    released = threading.Event()
    monkeypatch.setattr(local, "open_warehouse", lambda url: HeldWarehouse(released))
    settings = settings_for_tests(customers=("a", "b"), min_group_customers=1, local_workers=2)
    plan = make_plan(settings, workers=2)
    seen = []

    def while_waiting():
        seen.append(threading.current_thread() is threading.main_thread())
        mailbody.prepare()
        released.set()  # only now may the queries answer: had this run after them, they time out

    results = local.check_groups_locally(settings, plan, while_waiting=while_waiting)
    assert seen == [True]
    assert len(results) == 2 and all(r.ok for r in results.values())
    assert {"report.txt.j2", "report.html.j2"} <= {key[1] for key in mailbody._ENV.cache}


class StoppingWarehouse:
    """Stops the run during the first group's query, as SIGTERM would; records every query."""

    def __init__(self, stop: Interruption):
        self.stop, self.asked = stop, []

    def query(self, sql, params):
        self.asked.append(sql)
        self.stop.stop("interrupted by SIGTERM")
        return []

    def interrupt(self):
        pass

    def close(self):
        pass


def test_a_run_stopped_before_the_day_input_does_not_ask_for_it(monkeypatch):
    """One thread: the group's check comes first and the run is stopped during it, so the
    day-input query (queued behind it) must not start, nor wait out a retry."""
    stop = Interruption()
    warehouse = StoppingWarehouse(stop)
    monkeypatch.setattr(local, "open_warehouse", lambda url: warehouse)
    settings = settings_for_tests(customers=("a", "b"), min_group_customers=1, group_size=2, local_workers=1)
    plan = make_plan(settings, workers=1)
    assert len(plan.batches) == 1
    day_input: list = []

    local.check_groups_locally(settings, plan, interruption=stop, day_input=day_input)

    assert warehouse.asked and not any("'files'" in sql or "'kpi' AS part" in sql for sql in warehouse.asked)
    [found] = day_input
    assert found.problem and "SIGTERM" in found.problem
