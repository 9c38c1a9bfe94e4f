"""A synthetic warehouse for the scale model (`make bench PROFILE=scale`): no cluster, no data
on disk, yet the product's own SQL gets realistic answers at a realistic cost.

It implements the Warehouse protocol (`query(sql, params) -> rows`, `close()`) and answers
the product's two queries from what they bind and select, not from stored rows:
- the scope of a query is every combination of the days, processes and customers bound to
  it (bound values are recognised by their form: ISO dates, the model's process names, its
  customer names; anything else bound is not a filter of the model);
- the columns it returns are named by the SELECT list (`customer_name`, `process_name`,
  `file_date`/`kpi_date`, `filename`, `file_received`, `file_generated`); one with
  `file_received` is the KPI aggregate, grouped by its other columns, anything else lists
  missing files. A column it cannot answer is an error naming it, so a change to the SQL
  cannot silently make the model answer something else.

The day: every pair (process p, customer c) receives `files` files; file n of day d is missing
when (7c + 3p + d + n) % period == 0, so each pair misses at most one file per period and the
day's totals are known in closed form (`expected_missing`).

The cost, per query: `base_s` (an Impala's planning and admission) plus `per_row_s` for each
received row in its scope (the scan), each query holding one of `slots` admission slots shared by every
thread of the process (the simulated workers are threads of one worker process); a group's
queries sent together (`query_many`) run side by side, for the longest one's cost. More
concurrent queries than slots wait, which is where adding workers stops paying.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from mnaas_missing_files.core.errors import WarehouseError

MODEL_ENV = "BENCH_SYNTHETIC"  # "processes,regular,infonova,files,period,base_s,per_row_s,slots"
REGULAR_PREFIX = "Cust_"
INFONOVA_PREFIX = "INFONOVA_"
PROCESS_NAMES = ("traffic", "actives", "activations", "tolling", "sms", "data", "voice", "roaming", "esim", "iot")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SELECT = re.compile(r"SELECT\s+(?:DISTINCT\s+)?(.*?)\s+FROM\s", re.S | re.I)
_KEYS = {"customer_name", "process_name", "file_date", "kpi_date", "filename"}
_KPIS = {"file_received", "file_generated"}
_DAY_INPUT = re.compile(r"SELECT\s+'kpi'\s+AS\s+part", re.I)


@dataclass(frozen=True)
class DayModel:
    processes: int
    regular: int
    infonova: int
    files: int = 24
    period: int = 997
    base_s: float = 0.25
    per_row_s: float = 25e-9
    slots: int = 16

    def to_env(self) -> str:
        return ",".join(
            str(v)
            for v in (
                self.processes,
                self.regular,
                self.infonova,
                self.files,
                self.period,
                self.base_s,
                self.per_row_s,
                self.slots,
            )
        )

    @classmethod
    def from_env(cls, text: str) -> DayModel:
        p, r, i, f, period, base, per_row, slots = text.split(",")
        return cls(int(p), int(r), int(i), int(f), int(period), float(base), float(per_row), int(slots))

    def process_names(self) -> list[str]:
        if self.processes > len(PROCESS_NAMES):
            raise ValueError(f"the model names at most {len(PROCESS_NAMES)} processes")
        return list(PROCESS_NAMES[: self.processes])

    def customer_names(self) -> tuple[list[str], list[str]]:
        return (
            [f"{REGULAR_PREFIX}{n:06d}" for n in range(self.regular)],
            [f"{INFONOVA_PREFIX}{n:05d}" for n in range(self.infonova)],
        )

    def customer_index(self, name: str) -> int | None:
        """The customer's place in the day (regular first), or None: not a model customer."""
        for prefix, offset, count in (
            (REGULAR_PREFIX, 0, self.regular),
            (INFONOVA_PREFIX, self.regular, self.infonova),
        ):
            if name.startswith(prefix) and name[len(prefix) :].isdigit():
                n = int(name[len(prefix) :])
                return offset + n if n < count else None
        return None

    def missing_file(self, p: int, c: int, day: dt.date) -> int | None:
        """The number of the pair's missing file of `day`, or None (at most one per period)."""
        n = -(7 * c + 3 * p + day.toordinal()) % self.period
        return n if n < self.files else None

    def filename(self, process: str, day: dt.date, n: int) -> str:
        return f"{process.upper()}_{day:%Y%m%d}_{n:05d}.dat"


class Admission:
    """The warehouse's admission slots: `hold(n, seconds)` waits until n slots are free at
    once (n queries of one group sent together), holds them, then frees them."""

    def __init__(self, slots: int):
        self.free = slots
        self.changed = threading.Condition()

    def hold(self, n: int, seconds: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.free >= n)
            self.free -= n
        try:
            time.sleep(seconds)
        finally:
            with self.changed:
                self.free += n
                self.changed.notify_all()


_admissions: dict[int, Admission] = {}
_admissions_lock = threading.Lock()


def _admission(slots: int) -> Admission:
    with _admissions_lock:
        return _admissions.setdefault(slots, Admission(slots))


class SyntheticWarehouse:
    def __init__(self, model: DayModel):
        self.model = model
        self.processes = {name: i for i, name in enumerate(model.process_names())}

    def query(self, sql: str, params: Sequence) -> list[tuple]:
        return self.query_many([(sql, params)])[0]

    def query_many(self, statements: Sequence[tuple[str, Sequence]]) -> list[list[tuple]]:
        """Statements sent together run side by side: each holds a slot, for the longest's cost."""
        answers, costs = [], []
        for sql, params in statements:
            rows, cost = self._answer(sql, params)
            answers.append(rows)
            costs.append(cost)
        _admission(self.model.slots).hold(len(statements), max(costs, default=0.0))
        return answers

    def _answer(self, sql: str, params: Sequence) -> tuple[list[tuple], float]:
        if _DAY_INPUT.search(sql):
            # The run's day-input query (contract §14): the model has no KPI history and no
            # unconfigured pair, so it answers nothing (volume is not judged) for one query's cost.
            return [], self.model.base_s
        days, processes, customers = self._scope(params)
        columns = _columns(sql)
        rows = (
            self._kpi(columns, days, processes, customers)
            if _KPIS & set(columns)
            else self._missing(columns, days, processes, customers)
        )
        if "ORDER BY" in sql.upper():
            rows.sort()
        cost = self.model.base_s + self.model.per_row_s * self.model.files * len(days) * len(processes) * len(customers)
        return rows, cost

    def close(self) -> None:
        pass

    def _scope(self, params: Sequence) -> tuple[list[dt.date], list[tuple[int, str]], list[tuple[int, str]]]:
        days: dict[dt.date, None] = {}
        processes: dict[tuple[int, str], None] = {}
        customers: dict[tuple[int, str], None] = {}
        for value in params:
            if not isinstance(value, str):
                continue
            if _DATE.match(value):
                days[dt.date.fromisoformat(value)] = None
            elif value in self.processes:
                processes[(self.processes[value], value)] = None
            elif (c := self.model.customer_index(value)) is not None:
                customers[(c, value)] = None
        if len(days) == 2:  # a date range (BETWEEN ? AND ?): every day of it
            first, last = sorted(days)
            days = {first + dt.timedelta(n): None for n in range((last - first).days + 1)}
        return sorted(days), list(processes), list(customers)

    def _kpi(self, columns, days, processes, customers) -> list[tuple]:
        rows = []
        files = self.model.files
        for day in days:
            for p, process in processes:
                for c, customer in customers:
                    missing = self.model.missing_file(p, c, day) is not None
                    values = {
                        "customer_name": customer,
                        "process_name": process,
                        "kpi_date": day.isoformat(),
                        "file_date": day.isoformat(),
                        "file_received": files,
                        "file_generated": files - missing,
                    }
                    rows.append(tuple(values[col] for col in columns))
        return rows

    def _missing(self, columns, days, processes, customers) -> list[tuple]:
        rows = []
        for day in days:
            for p, process in processes:
                for c, customer in customers:
                    n = self.model.missing_file(p, c, day)
                    if n is None:
                        continue
                    values = {
                        "customer_name": customer,
                        "process_name": process,
                        "file_date": day.isoformat(),
                        "filename": self.model.filename(process, day, n),
                    }
                    rows.append(tuple(values[col] for col in columns))
        return rows


def _columns(sql: str) -> list[str]:
    match = _SELECT.search(sql)
    if not match:
        raise WarehouseError("synthetic warehouse: no SELECT list in the query")
    names, depth, item = [], 0, ""
    for ch in match.group(1) + ",":
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            names.append(re.split(r"\s+AS\s+|\.", item.strip(), flags=re.I)[-1].strip().lower())
            item = ""
        else:
            item += ch
    unknown = [n for n in names if n not in _KEYS | _KPIS]
    if unknown:
        raise WarehouseError(f"synthetic warehouse: cannot answer column(s) {', '.join(unknown)}")
    return names


def expected_reports(model: DayModel, day: dt.date, lookback: int) -> tuple[bytes, bytes, bytes]:
    """The day's CSV, TXT and outstanding report worked out from the model alone (contract §3
    and §8: format and order), to compare the product's reports with. In the model a missing
    file stays missing, so each earlier day of the window lists its own as outstanding."""
    regular, infonova = model.customer_names()
    csv, txt = _day_reports(model, day, regular, infonova)
    outstanding = ["file_date,process_name,customer_type,customer_name,customer_filename,age_days"]
    for age in range(lookback, 0, -1):  # oldest file_date first
        earlier = day - dt.timedelta(days=age)
        for p, process in enumerate(model.process_names()):
            for offset, kind, names in ((0, "regular", regular), (model.regular, "infonova", infonova)):
                for i, customer in enumerate(names):
                    n = model.missing_file(p, offset + i, earlier)
                    if n is not None:
                        outstanding.append(
                            f"{earlier},{process},{kind},{customer},"
                            f"{customer}_{model.filename(process, earlier, n)},{age}"
                        )
    return csv, txt, ("\n".join(outstanding) + "\n").encode()


def _day_reports(model: DayModel, day: dt.date, regular: list[str], infonova: list[str]) -> tuple[bytes, bytes]:
    csv = [
        "file_date,process_name,customer_type,customer_name,file_received,file_generated,"
        "difference,missing_files_listed"
    ]
    txt = []
    for p, process in enumerate(model.process_names()):
        for offset, kind, names in ((0, "regular", regular), (model.regular, "infonova", infonova)):
            for i, customer in enumerate(names):
                n = model.missing_file(p, offset + i, day)
                gone = 0 if n is None else 1
                csv.append(f"{day},{process},{kind},{customer},{model.files},{model.files - gone},{gone},{gone}")
                if n is not None:
                    txt.append(f"{customer}_{model.filename(process, day, n)}")
    return ("\n".join(csv) + "\n").encode(), ("\n".join(txt) + "\n" if txt else "").encode()


def install(model: DayModel | None = None) -> None:
    """Serve every warehouse this process opens from the model (named by BENCH_SYNTHETIC)."""
    from bench import latency

    text = os.environ.get(MODEL_ENV)
    if model is None and not text:
        return
    latency.install(lambda _url: SyntheticWarehouse(model or DayModel.from_env(text or "")))
