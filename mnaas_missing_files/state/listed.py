"""The memory of listed names (contract §8): for each day, the names the latest run covering
that day listed for it (missing on its own day, or outstanding), so the next run knows which
listed files were generated since and reports each as recovered once.

`<status file>.listed.json`, beside the status file (the control host's disk), replaced
atomically under the status file's lock, mode 0640:

    {"format": 2, "newest_day": "YYYY-MM-DD",
     "pairs": {"<process>\\t<customer>": "2:<base64 of zlib of the pair's names>"}}

where the names are core/model.py's pack_names of {file_date: names}: each day's TXT lines of
the pair (core/namelines.py) and a JSON index of where each day's lines end. Format 1 (a JSON
list of names per day, no `2:`) is still read.

One compressed entry per pair (about 4 bytes a name), unpacked one pair at a time, so a large
day's million names are never all Python strings at once. Days older than the newest
remembered day minus MNAAS_LOOKBACK_DAYS are dropped: it holds at most L + 1 days, and is
never a copy of the warehouse (only names that were listed).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from mnaas_missing_files.core.errors import StatusFileError
from mnaas_missing_files.core.fsio import atomic_write
from mnaas_missing_files.core.model import pack_names, unpack_names
from mnaas_missing_files.state.statusfile import status_lock

log = logging.getLogger(__name__)

FORMAT = 2
READABLE_FORMATS = (1, FORMAT)  # format 1's entries are read by unpack_names too
MEMORY_MODE = 0o640

DayNames = dict[str, Sequence[str]]  # file_date (ISO) -> names (NameLines once unpacked)


def memory_path(status_file: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(status_file)}.listed.json")


def _key(process: str, customer: str) -> str:
    return f"{process}\t{customer}"


class ListedMemory:
    """The memory as read at a run's start; `put` changes it in this object only, `save`
    writes it (a dry run never saves)."""

    def __init__(
        self,
        status_file: str | os.PathLike,
        pairs: dict[str, str] | None = None,
        newest: dt.date | None = None,
        problem: str | None = None,
    ):
        self.status_file = status_file
        self.path = memory_path(status_file)
        self._pairs = pairs or {}
        self.newest = newest
        self.problem = problem  # why it could not be read; nothing is then recovered
        self._oldest_put: dict[str, str] = {}  # key -> its oldest day, for the entries `put` wrote

    @classmethod
    def load(cls, status_file: str | os.PathLike) -> ListedMemory:
        path = memory_path(status_file)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(status_file)
        except OSError as exc:
            return cls._unreadable(status_file, exc.strerror or str(exc))
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("format") not in READABLE_FORMATS:
                raise ValueError(f"not a format {FORMAT} memory")
            pairs = data["pairs"]
            if not isinstance(pairs, dict) or not all(isinstance(v, str) for v in pairs.values()):
                raise ValueError("its pairs are not compressed name lists")
            newest = dt.date.fromisoformat(data["newest_day"]) if data.get("newest_day") else None
        except (ValueError, KeyError, TypeError) as exc:
            return cls._unreadable(status_file, str(exc))
        return cls(status_file, pairs, newest)

    @classmethod
    def _unreadable(cls, status_file: str | os.PathLike, why: str) -> ListedMemory:
        problem = (
            f"the memory of listed files {memory_path(status_file)} cannot be read ({why}); no file is "
            "reported recovered by this run, and it is rewritten from this run's listing"
        )
        log.warning("%s", problem)
        return cls(status_file, problem=problem)

    def days_of(self, process: str, customer: str) -> DayNames:
        packed = self._pairs.get(_key(process, customer))
        if not packed:
            return {}
        try:
            return {**unpack_names(packed, version_1=True)}
        except (ValueError, TypeError) as exc:  # one damaged entry costs only its pair
            log.warning(
                "memory of listed files: the entry of %s/%s cannot be read (%s); nothing is reported recovered for it",
                process,
                customer,
                exc,
            )
            return {}

    def put(self, process: str, customer: str, days: DayNames) -> None:
        kept = {d: names for d, names in sorted(days.items()) if names}
        key = _key(process, customer)
        if kept:
            self._pairs[key] = pack_names(kept)
            self._oldest_put[key] = min(kept)
        else:
            self._pairs.pop(key, None)
            self._oldest_put.pop(key, None)

    def save(self, day: dt.date, lookback_days: int, mode: int = MEMORY_MODE) -> Path:
        """Drop the days older than the newest remembered day minus L, then replace the file."""
        newest = max(day, self.newest) if self.newest else day
        oldest_kept = (newest - dt.timedelta(days=lookback_days)).isoformat()
        for key in list(self._pairs):
            if self._oldest_put.get(key, "") >= oldest_kept:
                continue  # written by this run, nothing in it to drop: not unpacked again
            process, _, customer = key.partition("\t")
            days = self.days_of(process, customer)
            if any(d < oldest_kept for d in days):
                self.put(process, customer, {d: n for d, n in days.items() if d >= oldest_kept})
        payload = {"format": FORMAT, "newest_day": newest.isoformat(), "pairs": self._pairs}
        data = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
        try:
            with status_lock(self.status_file):
                atomic_write(self.path, data, mode)
        except OSError as exc:
            raise StatusFileError(
                f"cannot write the memory of listed files {self.path}: {exc.strerror or exc}"
            ) from exc
        self.newest = newest
        return self.path
