"""Message sizes, for the scale model: every task message a process publishes (client and
workers) and every result a group task returns into the chord's join, one line each in the
file named by BENCH_MESSAGES_FILE: `publish|result <TAB> task name <TAB> bytes`.

Bytes are the message's JSON (body and headers, as kombu's json serializer writes them)
before the Redis transport's base64; a result's are its JSON. O_APPEND keeps concurrent
writers' lines whole, as in latency.py.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

MESSAGES_ENV = "BENCH_MESSAGES_FILE"


def _append(kind: str, name: str, size: int) -> None:
    path = os.environ.get(MESSAGES_ENV)
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{kind}\t{name}\t{size}\n".encode())
    finally:
        os.close(fd)


def _size(value) -> int:
    return len(json.dumps(value, default=str, separators=(", ", ": ")).encode())


def install() -> None:
    """Connect the two signal handlers in this process (idempotent: Celery dedupes by uid)."""
    from celery.signals import before_task_publish, task_postrun

    from tasks import CHECK_GROUP

    @before_task_publish.connect(weak=False, dispatch_uid="bench-message-size")
    def _published(sender=None, body=None, headers=None, **_kwargs):
        _append("publish", str(sender), _size(body) + _size(headers or {}))

    @task_postrun.connect(weak=False, dispatch_uid="bench-result-size")
    def _returned(sender=None, task=None, retval=None, **_kwargs):
        if getattr(task, "name", None) == CHECK_GROUP and isinstance(retval, dict):
            _append("result", CHECK_GROUP, _size(retval))


def read_messages(path: Path) -> dict:
    """Tasks sent per name, and the biggest task message and group result."""
    sent: dict[str, int] = defaultdict(int)
    biggest = {"publish": (0, ""), "result": (0, "")}
    if path.is_file():
        for line in path.read_text().splitlines():
            kind, name, size = line.split("\t")
            if kind == "publish":
                sent[name] += 1
            biggest[kind] = max(biggest[kind], (int(size), name))
    return {
        "tasks": sum(sent.values()),
        "tasks_by_name": dict(sent),
        "biggest_message_bytes": biggest["publish"][0],
        "biggest_message_task": biggest["publish"][1],
        "biggest_result_bytes": biggest["result"][0],
    }
