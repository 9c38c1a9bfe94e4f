"""Whether the process a lock holder or a history entry names is gone (contract §13).

Only a `run` on this host can be judged: its record says `executor: local`, the host is
ours, and the kernel can tell whether the pid still lives. A submitted run's records name a
client or a worker that may well have exited while the run goes on elsewhere: those are
never judged here (the lock's TTL and the sweeper take care of them).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

LOCAL = "local"  # the `executor` of a run checked by `run` on one machine


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _started_at(pid: int) -> float | None:
    """When process `pid` started (Unix seconds), from /proc; None where it cannot be told."""
    boot = _boot_time()
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if boot is None or len(fields) < 20:
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def pid_is_gone(pid: int, since: float | None = None) -> bool:
    """True when no process `pid` runs, or the one that does started after `since` (a reused
    pid: not the process that took the lock)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    if since is None:
        return False
    started = _started_at(pid)
    return started is not None and started > since + 1.0  # clock ticks: allow a second


def dead_local_run(record: Mapping[str, Any] | None, *, since_key: str = "acquired") -> bool:
    """Whether `record` (a lock holder or a history entry) is a `run` of this host whose
    process is gone."""
    if not record or record.get("executor") != LOCAL or record.get("host") != socket.gethostname():
        return False
    try:
        pid = int(record["pid"])
    except (KeyError, TypeError, ValueError):
        return False
    if pid <= 0 or pid == os.getpid():
        return False
    since = record.get(since_key)
    return pid_is_gone(pid, since if isinstance(since, (int, float)) else None)
