"""The product's Celery app with the test-only group gate: `celery -A
tests.helpers.gatedworkerapp worker`, which start_worker uses when MNAAS_TEST_GROUP_GATE is in
the worker's environment.

While the file MNAAS_TEST_GROUP_GATE names exists, a group task on its first delivery and
first attempt waits in its pool process before it opens the warehouse (after it has marked
its batch active), so an integration test can hold a group in a pool process and kill that
process, or keep a run busy while it races another. Production workers never have it: it
wraps the task module's warehouse, as bench/workerapp.py wraps it to measure.
"""

from __future__ import annotations

import os
import time

from celery import current_task

import tasks.runs
from mnaas_missing_files.cluster.context import settings_for, state_client
from mnaas_missing_files.cluster.keys import deliveries_key
from workers.app import app  # noqa: F401  (the app celery -A loads)

GATE_ENV = "MNAAS_TEST_GROUP_GATE"

_open_warehouse = tasks.runs.shared_warehouse


def _first_delivery_of_first_attempt() -> bool:
    request = current_task.request
    if request.retries:
        return False
    count = state_client(settings_for(None)).get(deliveries_key(request.id, 0))
    return str(count) == "1"


def gated_shared_warehouse(url: str):
    gate = os.environ.get(GATE_ENV)
    if gate and _first_delivery_of_first_attempt():
        while os.path.exists(gate):
            time.sleep(0.05)
    return _open_warehouse(url)


tasks.runs.shared_warehouse = gated_shared_warehouse  # type: ignore[assignment]
