"""The run's one look at the whole day's input (contract §14): the baseline of every configured
process, which processes' KPIs of D are loaded, and the pairs nobody configured.

One query per run (queries.day_input), retried like a group's; the backtest asks the same
query without its received-table part, once per day. If it still fails, the run goes on:
volume is not judged and the not-monitored list is unknown, and the email says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from mnaas_missing_files.checking.check import describe_error, query_policy
from mnaas_missing_files.checking.planning import configured_customers
from mnaas_missing_files.checking.volume import Judgement, KpiHistory, VolumeRules, judge_pair, too_short
from mnaas_missing_files.core.errors import WarehouseError
from mnaas_missing_files.warehouse import queries
from mnaas_missing_files.warehouse.duckdb_engine import Warehouse

log = logging.getLogger(__name__)

# The not-monitored list in the email: the largest first, then "... and N more" (contract §14).
UNMONITORED_SHOWN = 50


@dataclass(frozen=True)
class Unmonitored:
    """A (process, customer) pair with files on D that is not configured."""

    process: str
    customer: str
    received: int

    def to_json(self) -> list:
        return [self.process, self.customer, self.received]


def _day(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


@dataclass
class DayInput:
    """What the day-input query returned, or why it could not be read (`problem`)."""

    day: dt.date
    baseline: list[dt.date] = field(default_factory=list)
    history: KpiHistory = field(default_factory=KpiHistory)
    kpi: dict[tuple[str, str], int] = field(default_factory=dict)  # File Received of D, every pair with a row
    # distinct received files of D, of the pairs not configured without a File Received KPI above 0
    files: dict[tuple[str, str], int] = field(default_factory=dict)
    with_files: set[tuple[str, str]] = field(default_factory=set)  # configured pairs with a received file of D
    kpi_processes: set[str] = field(default_factory=set)  # processes with any KPI row of D
    problem: str | None = None

    @classmethod
    def from_rows(cls, day: dt.date, baseline: Sequence[dt.date], rows: Iterable[tuple]) -> DayInput:
        found = cls(day, list(baseline))
        for part, row_day, process, customer, received in rows:
            count, pair = int(received or 0), (str(process), str(customer))
            if part == "files":
                found.files[pair] = count
            elif part == "listed":
                if count > 0:
                    found.with_files.add(pair)
            elif _day(row_day) == day:
                found.kpi[pair] = count
                found.kpi_processes.add(pair[0])
            else:
                found.history.add(_day(row_day), *pair, count)
        return found

    def kpi_loaded(self, process: str) -> bool:
        """Any KPI row of the process on D, whatever its customer, name or value."""
        return process in self.kpi_processes

    def has_input(self, process: str, customers: Iterable[str]) -> bool:
        """A configured customer received something on D: a File Received KPI above 0 or a
        received file (§7's rule; the backtest has KPIs only)."""
        return any(self.kpi.get((process, c), 0) > 0 or self._received_file(process, c) for c in customers)

    def has_files(self, process: str, customers: Iterable[str]) -> bool:
        return any(self._received_file(process, c) for c in customers)

    def _received_file(self, process: str, customer: str) -> bool:
        return (process, customer) in self.with_files or self.files.get((process, customer), 0) > 0

    def unmonitored(
        self, processes: Iterable[str], customers: Iterable[str], ignore: Iterable[str]
    ) -> list[Unmonitored]:
        """The pairs with files on D that are not configured, largest first, then by name.
        Received is the File Received KPI when above 0, else the distinct received files."""
        configured_processes, configured_customers, left_out = set(processes), set(customers), set(ignore)
        found = []
        for process, customer in set(self.kpi) | set(self.files):
            if process in configured_processes and customer in configured_customers:
                continue
            if {process, customer, f"{process}/{customer}"} & left_out:
                continue
            kpi = self.kpi.get((process, customer), 0)
            received = kpi if kpi > 0 else self.files.get((process, customer), 0)
            if received > 0:
                found.append(Unmonitored(process, customer, received))
        return sorted(found, key=lambda u: (-u.received, u.process, u.customer))


def read_day_input(
    warehouse: Callable[[], Warehouse],
    settings,
    *,
    run_id: str = "-",
    day: dt.date | None = None,
    with_files: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> DayInput:
    """The day-input query of `day` (default the run's), under the group queries' retry
    policy; a DayInput whose `problem` says why when it still failed."""
    day = day or settings.day
    baseline = VolumeRules.of(settings).baseline_days(day)
    regular, infonova, _ = configured_customers(settings)
    received_table = settings.received_table if with_files else None
    sql, params = queries.day_input(
        settings.kpi_table, day, baseline, settings.processes, received_table, regular + infonova
    )
    policy = query_policy(settings)
    attempt = 1
    while True:
        try:
            return DayInput.from_rows(day, baseline, warehouse().query(sql, params))
        except WarehouseError as exc:
            error = describe_error(exc)
            if not policy.retries(exc, attempt):
                log.error("run %s: the day's input (baseline, not monitored) could not be read: %s", run_id, error)
                return DayInput(day, baseline, problem=error)
            delay = policy.delay(attempt)
            log.warning(
                "run %s: reading the day's input, attempt %d of %d failed (%s); retrying in %.1f s",
                run_id,
                attempt,
                policy.attempts,
                error,
                delay,
            )
            sleep(delay)
            attempt += 1


def not_read(day: dt.date, exc: BaseException, run_id: str = "-") -> DayInput:
    """A DayInput for a read that did not end (a stopped run, a bug): the run's outcome must
    not depend on it, so it is judged as unreadable and the email says why."""
    log.error("run %s: the day's input was not read: %s", run_id, describe_error(exc))
    return DayInput(day, problem=describe_error(exc))


class VolumeCheck:
    """The §14 rules over one day: which configured processes are judged at all (`not_judged`
    says why the others are not), each pair's judgement, and how many pairs had a history too
    short."""

    def __init__(
        self,
        rules: VolumeRules,
        found: DayInput | None,
        processes: Sequence[str],
        customers: Sequence[str],
        without_input: Iterable[str] = (),
    ):
        self.rules, self.found = rules, found
        self.too_short = 0
        self.not_judged: dict[str, str] = {}  # process -> why it is not judged on D
        self.kpi_not_loaded: list[str] = []  # received files on D, but no KPI row of D
        self._counted: dict[str, list[dt.date]] = {}
        readable = found is not None and found.problem is None
        self.active = readable and found is not None and rules.judges(found.day)
        if found is None or not readable:
            return
        empty = set(without_input)
        for process in processes:
            if process in empty or not found.has_input(process, customers):
                self.not_judged[process] = "no input"
            elif not found.kpi_loaded(process):
                self.not_judged[process] = "KPI not loaded"
                if found.has_files(process, customers):
                    self.kpi_not_loaded.append(process)

    def judge(self, process: str, customer: str, received: int) -> Judgement:
        if not self.active or self.found is None or process in self.not_judged:
            return Judgement(None, None)
        counted = self._counted.get(process)
        if counted is None:  # the same for every pair of the process
            counted = self._counted[process] = self.found.history.counted_days(process, self.found.baseline)
        judgement = judge_pair(self.rules, self.found.history, counted, process, customer, received)
        self.too_short += too_short(judgement, self.rules)
        return judgement
