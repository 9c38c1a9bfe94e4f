"""The product's Celery app as the benchmark runs it: `celery -A bench.workerapp worker`.

Same app, same tasks, same configuration (MNAAS_CONFIG and the environment), plus two
measurements: bench.latency's wrapper under every warehouse the worker opens (serving the
scale model's synthetic warehouse when BENCH_SYNTHETIC is set), message sizes
(bench.messages, when BENCH_MESSAGES_FILE is set), and the peak
resident memory (VmHWM) of the process that ran the run's callback — the process that writes
the reports — appended to BENCH_RSS_FILE as `task name <TAB> pid <TAB> MB <TAB> seconds`.
"""

from __future__ import annotations

import os

from bench import latency, messages, synthetic
from bench.way import peak_rss_mb

synthetic.install()  # the scale model's warehouse, when BENCH_SYNTHETIC names one
latency.install()  # before the app imports the tasks, so every later import sees the wrapper

import time  # noqa: E402

from celery.signals import task_postrun, task_prerun  # noqa: E402

from tasks import FINALIZE_RUN, RUN_FAILED  # noqa: E402
from workers.app import app  # noqa: E402,F401

latency.install()  # and again for modules the app imported by name just now
messages.install()

RSS_ENV = "BENCH_RSS_FILE"


_started: dict[str, float] = {}


@task_prerun.connect
def _note_writer_start(sender=None, task_id=None, task=None, **_kwargs):
    if getattr(task, "name", None) in (FINALIZE_RUN, RUN_FAILED) and task_id:
        _started[task_id] = time.monotonic()


@task_postrun.connect
def _record_writer_peak(sender=None, task_id=None, task=None, **_kwargs):
    """`name <TAB> pid <TAB> peak MB <TAB> seconds the task took`."""
    path = os.environ.get(RSS_ENV)
    if path and getattr(task, "name", None) in (FINALIZE_RUN, RUN_FAILED):
        took = time.monotonic() - _started.pop(task_id, time.monotonic())
        with open(path, "a") as handle:
            handle.write(f"{task.name}\t{os.getpid()}\t{peak_rss_mb():.1f}\t{took:.3f}\n")
