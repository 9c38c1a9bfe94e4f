"""Deterministic warehouse data for the demo, the tests and the benchmark (contract §2 tables).

For each day, process and customer, a number of received feed files; each received
(file, customer) pair gets a generated customer file unless it is picked as missing. KPI rows
are consistent with that (File Received = distinct received files, File Generated = generated
ones), sometimes split over two rows to exercise the summing. Some received rows are duplicated
and some rows belong to processes and customers that the configuration does not list.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DDL = (
    "CREATE SCHEMA IF NOT EXISTS mnaas",
    "CREATE TABLE IF NOT EXISTS mnaas.kpi_measurement (kpi_date VARCHAR, process_name VARCHAR, "
    "customer_name VARCHAR, kpi_name VARCHAR, kpi_value BIGINT)",
    "CREATE TABLE IF NOT EXISTS mnaas.telena_file_record_count (file_date VARCHAR, process_name VARCHAR, "
    "customer_name VARCHAR, filename VARCHAR, record_count BIGINT)",
    "CREATE TABLE IF NOT EXISTS mnaas.customers_files_records_count (file_date VARCHAR, process_name VARCHAR, "
    "customer_name VARCHAR, source_filename VARCHAR, customer_filename VARCHAR, record_count BIGINT)",
)

TABLES = ("mnaas.kpi_measurement", "mnaas.telena_file_record_count", "mnaas.customers_files_records_count")


@dataclass
class DataSpec:
    days: list[dt.date]
    processes: list[str]
    customers: list[str]  # every customer that gets data (configured or not)
    files_per_pair: int = 30
    missing_fraction: float = 0.01
    duplicate_fraction: float = 0.02
    extra_processes: list[str] = field(default_factory=lambda: ["cdr_unbilled"])
    extra_customers: list[str] = field(default_factory=lambda: ["Unlisted_Customer"])
    seed: int = 20261124


@dataclass
class Rows:
    kpi: list[tuple] = field(default_factory=list)
    received: list[tuple] = field(default_factory=list)
    generated: list[tuple] = field(default_factory=list)


def generate(spec: DataSpec) -> Rows:
    rows = Rows()
    for day in spec.days:
        rng = random.Random(f"{spec.seed}-{day.isoformat()}")
        for process in spec.processes + spec.extra_processes:
            for customer in spec.customers + spec.extra_customers:
                _pair(rows, rng, spec, day, process, customer)
    return rows


def _pair(rows: Rows, rng: random.Random, spec: DataSpec, day: dt.date, process: str, customer: str) -> None:
    date = day.isoformat()
    count = max(1, spec.files_per_pair + rng.randint(-spec.files_per_pair // 4, spec.files_per_pair // 4))
    generated = 0
    for n in range(count):
        filename = f"{process.upper()}_{day:%Y%m%d}_{n:05d}.dat"
        records = rng.randint(10, 5000)
        rows.received.append((date, process, customer, filename, records))
        if rng.random() < spec.duplicate_fraction:
            rows.received.append((date, process, customer, filename, records))
        if rng.random() < spec.missing_fraction:
            continue
        generated += 1
        rows.generated.append((date, process, customer, filename, f"{customer}_{filename}", records))
    if rng.random() < 0.2:  # split a KPI over two rows: the check must sum them
        first = count // 2
        rows.kpi.append((date, process, customer, "File Received", first))
        rows.kpi.append((date, process, customer, "File Received", count - first))
    else:
        rows.kpi.append((date, process, customer, "File Received", count))
    rows.kpi.append((date, process, customer, "File Generated", generated))
    rows.kpi.append((date, process, customer, "Records Processed", count * 1000))


def write_duckdb(path: Path, rows: Rows, *, replace: bool = True) -> None:
    """Create (or replace) a DuckDB warehouse file holding `rows`; loads through CSV for speed."""
    import duckdb

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if replace:
        for stale in (path, Path(f"{path}.wal")):
            stale.unlink(missing_ok=True)
    conn = duckdb.connect(str(path))
    try:
        for statement in DDL:
            conn.execute(statement)
        with tempfile.TemporaryDirectory() as tmp:
            for table, data in zip(TABLES, (rows.kpi, rows.received, rows.generated)):
                load_csv(conn, table, data, Path(tmp) / f"{table}.csv")
    finally:
        conn.close()


def load_csv(conn, table: str, data: Iterable[tuple], scratch: Path) -> None:
    with open(scratch, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(data)
    columns = [r[0] for r in conn.execute(f"DESCRIBE {table}").fetchall()]
    types = {r[0]: r[1] for r in conn.execute(f"DESCRIBE {table}").fetchall()}
    spec = ", ".join(f"'{c}': '{types[c]}'" for c in columns)
    conn.execute(f"INSERT INTO {table} SELECT * FROM read_csv(?, header=false, columns={{{spec}}})", [str(scratch)])


def history_for_demo(
    rows: Rows, day: dt.date, *, empty_process: str, late_fraction: float = 0.6, seed: int = 20261124
) -> tuple[Rows, Rows]:
    """The demo's warehouse as the run of the day before saw it, and as the run of `day` sees
    it (contract §7, §8): between the two, most missing files of the earlier days were
    generated late (recovered) and the rest never arrive (outstanding); `empty_process`
    received nothing on `day` (no input); the first pair of `day` with a missing file has a
    File Generated KPI that counts it as generated (a mismatch)."""
    d = day.isoformat()
    before = Rows(
        kpi=[r for r in rows.kpi if not (r[0] == d and r[1] == empty_process)],
        received=[r for r in rows.received if not (r[0] == d and r[1] == empty_process)],
        generated=[r for r in rows.generated if not (r[0] == d and r[1] == empty_process)],
    )
    generated = {(r[0], r[1], r[2], r[3]) for r in before.generated}
    missing_today = sorted(
        {(r[1], r[2]) for r in before.received if r[0] == d and (r[0], r[1], r[2], r[3]) not in generated}
    )
    if missing_today:
        process, customer = missing_today[0]
        before.kpi = [
            (k[0], k[1], k[2], k[3], k[4] + 1)
            if (k[0], k[1], k[2], k[3]) == (d, process, customer, "File Generated")
            else k
            for k in before.kpi
        ]
    rng = random.Random(f"{seed}-late")
    late = [
        (r[0], r[1], r[2], r[3], f"{r[2]}_{r[3]}", r[4])
        for r in dict.fromkeys(before.received)
        if r[0] < d and (r[0], r[1], r[2], r[3]) not in generated and rng.random() < late_fraction
    ]
    return before, Rows(kpi=before.kpi, received=before.received, generated=before.generated + late)


def quiet_feeds(rows: Rows, day: dt.date, *, silent_customer: str, low_pair: tuple[str, str], kept: int) -> Rows:
    """Expected input for the demo (contract §14): on `day`, `silent_customer` received nothing
    at all (its feed stopped), and `low_pair` (process, customer) only its first `kept` files,
    its KPIs counting just those."""
    d = day.isoformat()

    def stays(r: tuple, filename: str | None = None) -> bool:
        if r[0] != d:
            return True
        if r[2] == silent_customer:
            return False
        return (r[1], r[2]) != low_pair or filename is None or int(filename.rsplit("_", 1)[1].split(".")[0]) < kept

    received = [r for r in rows.received if stays(r, r[3])]
    generated = [r for r in rows.generated if stays(r, r[3])]
    kpi = [r for r in rows.kpi if stays(r) and not (r[0] == d and (r[1], r[2]) == low_pair)]
    process, customer = low_pair
    kpi.append((d, process, customer, "File Received", len({r[3] for r in received if r[:3] == (d, *low_pair)})))
    kpi.append((d, process, customer, "File Generated", sum(1 for r in generated if r[:3] == (d, *low_pair))))
    return Rows(kpi=kpi, received=received, generated=generated)
