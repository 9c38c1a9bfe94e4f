"""`run` compiles the email's templates while its group threads wait on the warehouse."""

from __future__ import annotations

import threading

from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.reporting import mailbody
from mnaas_missing_files.run import local
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
