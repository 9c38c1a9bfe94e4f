"""Plain data passed between planning, checking, reporting and the Celery layer.

Everything here converts to and from small JSON-able dicts, because group results cross the
broker and the result backend.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

REGULAR = "regular"
INFONOVA = "infonova"
CUSTOMER_TYPES = (REGULAR, INFONOVA)


@dataclass(frozen=True)
class Group:
    """One query task: one process, one customer type, up to MNAAS_GROUP_SIZE customers."""

    group_id: str  # e.g. "traffic/regular/1"; stable within a plan, readable in Flower
    process: str
    customer_type: str
    customers: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "group_id": self.group_id,
            "process": self.process,
            "customer_type": self.customer_type,
            "customers": list(self.customers),
        }

    @classmethod
    def from_json(cls, data: dict) -> "Group":
        return cls(
            group_id=data["group_id"],
            process=data["process"],
            customer_type=data["customer_type"],
            customers=tuple(data["customers"]),
        )


@dataclass
class Plan:
    """What one run checks: the day, its id and its groups, in report order."""

    run_id: str
    day: dt.date
    groups: list[Group]
    dry_run: bool = False
    trigger: str = "run"  # run | submit | schedule | backfill

    def to_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "day": self.day.isoformat(),
            "groups": [g.to_json() for g in self.groups],
            "dry_run": self.dry_run,
            "trigger": self.trigger,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Plan":
        return cls(
            run_id=data["run_id"],
            day=dt.date.fromisoformat(data["day"]),
            groups=[Group.from_json(g) for g in data["groups"]],
            dry_run=bool(data.get("dry_run", False)),
            trigger=data.get("trigger", "run"),
        )


@dataclass
class GroupResult:
    """The outcome of checking one group: counts and missing names, or the error."""

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

    def to_json(self) -> dict:
        return {
            "group_id": self.group_id,
            "ok": self.ok,
            "counts": self.counts,
            "missing": self.missing,
            "error": self.error,
            "attempts": self.attempts,
            "queries": self.queries,
            "elapsed_s": round(self.elapsed_s, 3),
        }

    @classmethod
    def from_json(cls, data: dict) -> "GroupResult":
        return cls(
            group_id=data["group_id"],
            ok=bool(data["ok"]),
            counts={k: list(v) for k, v in (data.get("counts") or {}).items()},
            missing={k: list(v) for k, v in (data.get("missing") or {}).items()},
            error=data.get("error"),
            attempts=int(data.get("attempts", 1)),
            queries=int(data.get("queries", 0)),
            elapsed_s=float(data.get("elapsed_s", 0.0)),
        )

    @classmethod
    def failed(cls, group_id: str, error: str, attempts: int = 1) -> "GroupResult":
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
    missing: list[str] | None

    @property
    def known(self) -> bool:
        return self.received is not None

    @property
    def difference(self) -> int | None:
        if self.received is None or self.generated is None:
            return None
        return self.received - self.generated

    @property
    def missing_count(self) -> int | None:
        return None if self.missing is None else len(self.missing)


def build_rows(plan: Plan, results: dict[str, GroupResult]) -> list[PairRow]:
    """Rows in report order: plan order is process, then regular before infonova, then
    customers in configuration order. A group without an ok result yields unknown rows."""
    rows: list[PairRow] = []
    for group in plan.groups:
        result = results.get(group.group_id)
        for customer in group.customers:
            if result is None or not result.ok:
                rows.append(PairRow(plan.day, group.process, group.customer_type, customer,
                                    None, None, None))
                continue
            received, generated = result.counts.get(customer, [0, 0])
            rows.append(PairRow(plan.day, group.process, group.customer_type, customer,
                                int(received), int(generated),
                                list(result.missing.get(customer, []))))
    return rows
