"""`doctor`'s question to the cluster: which workers consume each of the product's queues.
Apart from the other checks because it is the one that needs Celery."""

from __future__ import annotations

from mnaas_missing_files.config.settings import Settings


def queue_consumers(settings: Settings, timeout: float) -> dict[str, set[str]]:
    """Queue name -> the workers that answered a broadcast within `timeout` seconds and
    consume it. Read-only: a ping over the broker's control channel, no task is sent."""
    import celeryconfig
    from tasks.client import celery_client

    app = celery_client(settings)
    try:
        answers = app.control.inspect(timeout=timeout).active_queues() or {}
    finally:
        app.close()
    consumers: dict[str, set[str]] = {celeryconfig.CONTROL_QUEUE: set(), celeryconfig.GROUPS_QUEUE: set()}
    for worker, queues in answers.items():
        for queue in queues or ():
            consumers.setdefault(queue.get("name", "?"), set()).add(worker)
    return {name: consumers[name] for name in (celeryconfig.CONTROL_QUEUE, celeryconfig.GROUPS_QUEUE)}
