"""Plain data passed between planning, checking, reporting and the Celery layer.

Everything here converts to and from small JSON-able dicts, because group results cross the
broker and the result backend. A group's missing names travel, and are kept by a run until the
reports are written, compressed (`pack_names`): a large day has a million of them, and a run
must neither hold them all as Python strings nor push ~40 bytes per name through Redis.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

# Re-exported: the plan's types live in plan.py, every other module imports them from here.
from mnaas_missing_files.core.namelines import NameLines, as_lines
from mnaas_missing_files.core.plan import FORMAT_VERSION, INFONOVA, REGULAR, Batch, Group, Plan, decode  # noqa: F401

# zlib level 1, not 6: a large day packs a million names at least twice (the group result, the
# memory of listed names); level 1 took half the time for 10 % more bytes.
_LEVEL = 1
# An 8 KB window (not 32 KB) and memLevel 6 (not 8): a compressor's set-up then costs ~25 us
# instead of ~300 us (its buffers no longer need a fresh mapping each time), which the memory
# of listed names pays once per pair (8,000 on the large day: 2.5 s against 0.2 s, measured);
# names repeat within a few lines, so the bytes are the same within 2 %.
_WINDOW_BITS, _MEM_LEVEL = 13, 6


# Version 2 of the packed text, marked by this prefix (not a base64 character): each key's
# names as one text of TXT lines (core/namelines.py), each text followed by a newline, then
# one line of JSON [[key, characters, names], ...] that says where each text ends. The texts
# are not JSON strings: a large day's 38 MB of names would otherwise be escaped (a newline
# each) when packed and unescaped when read. Version 1, a JSON list of names per key, is read
# for the memory of listed names only (state/listed.py): it is on disk where the release
# before this one ran. A group's result lives only as long as its run (broker, result backend,
# the run's record), so only a rolling upgrade in the middle of a run could hand this version
# a version-1 result: it is refused by name (MessageFormatError, like a result of another
# message version: the callback stops with it) rather than a second reader being kept.
_V2 = "2:"


def pack_names(missing: Mapping[str, Sequence[str]]) -> str:
    """key (customer, or day) -> sorted names, as compact text: zlib, base64. Names of one
    day share long prefixes, so this costs ~4 bytes per name instead of ~40."""
    packer = NamesPacker()
    for key, names in missing.items():
        packer.add(key, names)
    return packer.finish()


class NamesPacker:
    """pack_names, one key at a time: the same text, without holding a group's names. A
    large day's names go from the warehouse to this compressor one pair's text at a time."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WINDOW_BITS, _MEM_LEVEL)
        self._parts: list[bytes] = []
        self._index: list[tuple[str, int, int]] = []
        self.customers = 0
        self.names = 0

    def add(self, customer: str, names: Sequence[str]) -> None:
        """One key's names, sorted and each once (NameLines, or a list); each key at most once."""
        lines = as_lines(names)
        self._parts.append(self._zlib.compress(lines.text.encode("utf-8") + b"\n"))
        self._index.append((customer, len(lines.text), len(lines)))
        self.customers += 1
        self.names += len(lines)

    def finish(self) -> str:
        if not self.customers:
            return ""
        index = json.dumps(self._index, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self._parts.append(self._zlib.compress(index) + self._zlib.flush())
        return _V2 + base64.b64encode(b"".join(self._parts)).decode("ascii")


def unpack_names(packed: str, *, version_1: bool = False) -> dict[str, NameLines]:
    """pack_names undone; version 1's form too when `version_1` (the memory of listed names)."""
    if not packed:
        return {}
    if not packed.startswith(_V2) and not version_1:
        raise ValueError("names packed in version 1's form, which only the memory of listed names may hold")
    text = zlib.decompress(base64.b64decode(packed.removeprefix(_V2))).decode("utf-8")
    if not packed.startswith(_V2):
        return {key: NameLines.of(names) for key, names in json.loads(text)}
    body, _, index = text.rpartition("\n")
    found, start = {}, 0
    for key, length, count in json.loads(index):
        found[key] = NameLines(body[start : start + length], count)
        start += length + 1
    return found


def _current_packing(field_name: str, packed: str) -> str:
    """A group result's packed names, refused (ValueError: decode names it) unless current."""
    if not isinstance(packed, str):
        raise ValueError(f"{field_name} is not packed names")
    if packed and not packed.startswith(_V2):
        raise ValueError(f"{field_name} holds names packed by a version before this one (a rolling upgrade mid-run)")
    return packed


@dataclass
class GroupResult:
    """The outcome of checking one group: counts and missing names, or the error.

    The names are held either as `missing` (plain, while the group is at hand) or, once
    `compact()`ed and on the wire, as `packed`; `missing_names()` reads either.
    """

    group_id: str
    ok: bool
    # customer -> [file_received, file_generated]; every customer of the group is present
    counts: dict[str, list[int]] = field(default_factory=dict)
    # customer -> missing customer file names, sorted, each once
    missing: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    attempts: int = 1
    queries: int = 0
    elapsed_s: float = 0.0
    packed: str | None = None  # pack_names(missing), once compacted
    # file_date (ISO) -> customer -> names, sorted: the window's earlier days (contract §8)
    outstanding: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    outstanding_packed: dict[str, str] | None = None  # file_date -> pack_names(...)
    process_has_input: bool | None = None

    def compact(self) -> GroupResult:
        """The same result with its names compressed: what a run keeps until it reports."""
        if self.packed is not None and not self.missing and not self.outstanding:
            return self
        return replace(
            self, missing={}, packed=self._packed(), outstanding={}, outstanding_packed=self._outstanding_packed()
        )

    def _outstanding_packed(self) -> dict[str, str]:
        if self.outstanding_packed is None:
            self.outstanding_packed = {
                day: pack_names(names) for day, names in sorted(self.outstanding.items()) if names
            }
        return self.outstanding_packed

    def outstanding_days(self) -> list[str]:
        """The earlier days with outstanding names, oldest first."""
        return sorted(
            self._outstanding_packed()
            if self.outstanding_packed is not None or not self.outstanding
            else self.outstanding
        )

    def outstanding_names(self, day: str) -> Mapping[str, Sequence[str]]:
        """customer -> names of file_date `day` still missing (one day unpacked at a time)."""
        if self.outstanding_packed is not None:
            return unpack_names(self.outstanding_packed.get(day, ""))
        return self.outstanding.get(day, {})

    def outstanding_packs(self) -> dict[str, str]:
        """file_date -> its packed names (the earlier days with outstanding names)."""
        return self._outstanding_packed()

    def _packed(self) -> str:
        # Packed once: a Celery task both records and returns its result (two to_json calls).
        if self.packed is None:
            self.packed = pack_names(self.missing)
        return self.packed

    def missing_names(self) -> Mapping[str, Sequence[str]]:
        return unpack_names(self.packed) if self.packed is not None else self.missing

    def to_json(self) -> dict:
        return {
            "version": FORMAT_VERSION,
            "group_id": self.group_id,
            "ok": self.ok,
            "counts": self.counts,
            "missing_z": self._packed(),
            "error": self.error,
            "attempts": self.attempts,
            "queries": self.queries,
            "elapsed_s": round(self.elapsed_s, 3),
            "outstanding_z": self._outstanding_packed(),
            "process_has_input": self.process_has_input,
        }

    @classmethod
    def from_json(cls, data: Any) -> GroupResult:
        return decode("a group's result", data, cls._build)

    @classmethod
    def _build(cls, data: dict) -> GroupResult:
        return cls(
            group_id=data["group_id"],
            ok=bool(data["ok"]),
            # interned: each process's group of the same customers parsed its own copy of every
            # name (at 1,000,000 pairs, 900,000 duplicate strings in the callback)
            counts={sys.intern(k): list(v) for k, v in data["counts"].items()},
            packed=_current_packing("missing_z", data["missing_z"]),
            error=data.get("error"),
            attempts=int(data.get("attempts", 1)),
            queries=int(data.get("queries", 0)),
            elapsed_s=float(data.get("elapsed_s", 0.0)),
            outstanding_packed={
                day: _current_packing(f"outstanding_z of {day}", packed)
                for day, packed in dict(data["outstanding_z"]).items()
            },
            process_has_input=data.get("process_has_input"),
        )

    @classmethod
    def failed(cls, group_id: str, error: str, attempts: int = 1) -> GroupResult:
        return cls(group_id=group_id, ok=False, error=error, attempts=attempts)


@dataclass(frozen=True)
class PairRow:
    """One CSV row: a configured process x configured customer of the day.

    `received`, `generated` and `missing` are None when the pair's group failed: unknown is
    not zero, so the CSV leaves those fields empty and the TXT lists none of its names.
    """

    file_date: dt.date
    process: str
    customer_type: str
    customer: str
    received: int | None
    generated: int | None
    missing: Sequence[str] | None  # NameLines from a result; a list where a caller builds rows

    @property
    def known(self) -> bool:
        return self.received is not None

    @property
    def difference(self) -> int | None:
        return kpi_difference(self.received, self.generated)

    @property
    def missing_count(self) -> int | None:
        return None if self.missing is None else len(self.missing)


def kpi_difference(received: int | None, generated: int | None) -> int | None:
    """File Received minus File Generated; unknown (None) when either is."""
    if received is None or generated is None:
        return None
    return received - generated


def iter_rows(plan: Plan, results: Mapping[str, GroupResult]) -> Iterator[PairRow]:
    """Rows in report order: plan order is process, then regular before infonova, then
    customers in configuration order. A group without an ok result yields unknown rows.
    Lazy: only one group's names are unpacked at a time."""
    for group in plan.groups:
        result = results.get(group.group_id)
        names = result.missing_names() if result is not None and result.ok else {}
        for customer in group.customers:
            if result is None or not result.ok:
                yield PairRow(plan.day, group.process, group.customer_type, customer, None, None, None)
                continue
            received, generated = result.counts.get(customer, [0, 0])
            yield PairRow(
                plan.day,
                group.process,
                group.customer_type,
                customer,
                int(received),
                int(generated),
                as_lines(names.get(customer, ())),
            )


class OutstandingRow(NamedTuple):
    """One row of the outstanding report (contract §8): a file of an earlier day of the
    window still without a generated row. A tuple, not a dataclass: a week's backlog can be
    hundreds of thousands of rows, and a tuple is made several times faster."""

    file_date: str
    process: str
    customer_type: str
    customer: str
    name: str
    age_days: int


def iter_outstanding(plan: Plan, results: Mapping[str, GroupResult]) -> Iterator[OutstandingRow]:
    """Oldest file_date first, then the CSV's order, names sorted; a failed group's pairs
    have none (unknown). One pass over the results (the callback reads them from Redis for
    each pass) keeps each group's outstanding names compressed, as they came (~4 bytes a
    name); then one group-day's names are unpacked at a time."""
    packs = []
    for group in plan.groups:
        result = results.get(group.group_id)
        if result is not None and result.ok and result.outstanding_days():
            packs.append((group, result.outstanding_packs()))
    for day in sorted({d for _group, days in packs for d in days}):
        age = (plan.day - dt.date.fromisoformat(day)).days
        for group, days in packs:
            names = unpack_names(days.get(day, ""))
            for customer in group.customers:
                for name in names.get(customer, ()):
                    yield OutstandingRow(day, group.process, group.customer_type, customer, name, age)
