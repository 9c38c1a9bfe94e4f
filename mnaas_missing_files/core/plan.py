"""What a run checks: its groups (query tasks) and their parts (report units).

A **batch** is one group task: a set of processes x a slice of the configured customers
(regular ones, then InfONova ones: a slice may hold both), checked with one KPI query and one
missing-files query whatever its size. Planning sizes a run to about as many batches as there
are workers, each naming at most MNAAS_GROUP_SIZE customers (the warehouse's IN-list).

Its results are kept per **group** (`Group`): the batch's customers of one process and one
customer type, with a stable id `process/type/n`. The reports, verdicts and the run state are
per group, in report order; a batch is only how the warehouse is asked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mnaas_missing_files.core.errors import MessageFormatError
from mnaas_missing_files.core.states import Trigger

# The format of a plan and of the batch a group task carries. A stored plan or a message
# without `version` is of version 1 (the first that shipped, and the only one); any other
# version is refused by name rather than half read.
FORMAT_VERSION = 1

T = TypeVar("T")

REGULAR = "regular"
INFONOVA = "infonova"


@dataclass(frozen=True)
class Group:
    """The customers of one process and customer type within one batch."""

    group_id: str  # e.g. "traffic/regular/1"; stable within a plan, readable in logs
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
    def from_json(cls, data: dict) -> Group:
        return cls(
            group_id=data["group_id"],
            process=data["process"],
            customer_type=data["customer_type"],
            customers=tuple(data["customers"]),
        )


@dataclass(frozen=True)
class Batch:
    """One group task: `processes` x (`regular` + `infonova`) customers. `numbers` are the
    part numbers its regular and InfONova customers have in their groups' ids."""

    batch_id: str  # e.g. "3/8": the third of the run's eight group tasks
    processes: tuple[str, ...]
    regular: tuple[str, ...] = ()
    infonova: tuple[str, ...] = ()
    numbers: tuple[int, int] = (1, 1)

    @property
    def customers(self) -> tuple[str, ...]:
        return self.regular + self.infonova

    def groups(self) -> list[Group]:
        """Its groups: per process (in its order), regular before InfONova."""
        return [
            Group(f"{process}/{kind}/{number}", process, kind, customers)
            for process in self.processes
            for kind, customers, number in (
                (REGULAR, self.regular, self.numbers[0]),
                (INFONOVA, self.infonova, self.numbers[1]),
            )
            if customers
        ]

    def describe(self) -> str:
        """For operators (logs, Flower): the processes and the first and last customer."""
        customers = self.customers
        span = customers[0] if len(customers) == 1 else f"{customers[0]} … {customers[-1]}"
        procs = self.processes[0] if len(self.processes) == 1 else f"{self.processes[0]} … {self.processes[-1]}"
        return f"{len(self.processes)} process(es) ({procs}) x {len(customers)} customer(s) ({span})"

    def to_json(self) -> dict:
        return {
            "version": FORMAT_VERSION,
            "batch_id": self.batch_id,
            "processes": list(self.processes),
            "regular": list(self.regular),
            "infonova": list(self.infonova),
            "numbers": list(self.numbers),
        }

    @classmethod
    def from_json(cls, data: Any) -> Batch:
        return decode("a group task's batch", data, cls._build)

    @classmethod
    def _build(cls, data: dict) -> Batch:
        regular, infonova = tuple(data.get("regular") or ()), tuple(data.get("infonova") or ())
        numbers = data.get("numbers") or (1, 1)
        return cls(data["batch_id"], tuple(data["processes"]), regular, infonova, (int(numbers[0]), int(numbers[1])))


def groups_in_report_order(batches: list[Batch]) -> list[Group]:
    """Process order (the first batch's, then any others'), regular before InfONova, then the
    batches' order: the CSV's order (contract §3)."""
    processes: dict[str, None] = {}
    for batch in batches:
        processes.update(dict.fromkeys(batch.processes))
    by_key: dict[tuple[str, str], list[Group]] = {}
    for batch in batches:
        for group in batch.groups():
            by_key.setdefault((group.process, group.customer_type), []).append(group)
    return [g for p in processes for kind in (REGULAR, INFONOVA) for g in by_key.get((p, kind), [])]


def accept_version(what: str, version: Any) -> None:
    """Refuse, naming it, a message or record of a format version this version does not read."""
    if version != FORMAT_VERSION:
        raise MessageFormatError(f"{what} is of format version {version!r}; this version reads {FORMAT_VERSION} only")


def parse_trigger(what: str, value: Any) -> Trigger:
    """A message's trigger, or a MessageFormatError naming the ones there are."""
    try:
        return Trigger(value)
    except ValueError:
        known = ", ".join(t.value for t in Trigger)
        raise MessageFormatError(f"{what} names an unknown trigger {value!r} (one of {known})") from None


def decode(what: str, data: Any, build: Callable[[dict], T]) -> T:
    """`build(data)` for data of one kind (`what`, for the error): a version other than
    FORMAT_VERSION, a missing field or a value of the wrong shape is a MessageFormatError
    naming what was read, never a half-read record."""
    if not isinstance(data, dict):
        raise MessageFormatError(f"{what}: expected a JSON object, got {type(data).__name__}")
    accept_version(what, data.get("version", FORMAT_VERSION))
    try:
        return build(data)
    except KeyError as exc:
        raise MessageFormatError(f"{what} has no {exc.args[0]!r} field") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise MessageFormatError(f"{what} is malformed: {exc}") from None


@dataclass
class Plan:
    """What one run checks: the day, its id, its batches and their groups in report order
    (the groups follow from the batches when not given)."""

    run_id: str
    day: dt.date
    groups: list[Group] = field(default_factory=list)
    dry_run: bool = False
    trigger: Trigger = Trigger.RUN
    batches: list[Batch] = field(default_factory=list)
    # Shadow mode (contract §16): the directory the run writes in instead of the job's own
    # paths, decided where the run was started and carried to the control worker.
    shadow_dir: str | None = None

    def __post_init__(self) -> None:
        self.trigger = Trigger(self.trigger)
        if not self.groups:
            self.groups = groups_in_report_order(self.batches)

    def to_json(self) -> dict:
        # The batches only: each customer once, the groups follow from them.
        return {
            "version": FORMAT_VERSION,
            "run_id": self.run_id,
            "day": self.day.isoformat(),
            "batches": [b.to_json() for b in self.batches],
            "dry_run": self.dry_run,
            "trigger": self.trigger,
            **({"shadow_dir": self.shadow_dir} if self.shadow_dir else {}),
        }

    @classmethod
    def from_json(cls, data: Any) -> Plan:
        return decode("a run's plan", data, cls._build)

    @classmethod
    def _build(cls, data: dict) -> Plan:
        return cls(
            run_id=data["run_id"],
            day=dt.date.fromisoformat(data["day"]),
            batches=[Batch.from_json(b) for b in data["batches"]],
            dry_run=bool(data.get("dry_run", False)),
            trigger=parse_trigger("a run's plan", data.get("trigger", Trigger.RUN)),
            shadow_dir=data.get("shadow_dir") or None,
        )
