"""All SQL of the product, in one place.

One SQL text serves DuckDB and Impala (HiveServer2): `?` placeholders (qmark), constructs both
dialects share. Configuration values reach SQL only as bound parameters; table names cannot
be bound, so they are validated identifiers (see options.py, kind "table").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

# A group task asks for a set of processes x a set of customers (core/plan.py: a batch), so
# one query answers every pair of both: the rows say which pair they are.
_KPI_SQL = """
SELECT process_name, customer_name,
       SUM(CASE WHEN kpi_name = 'File Received' THEN kpi_value ELSE 0 END) AS file_received,
       SUM(CASE WHEN kpi_name = 'File Generated' THEN kpi_value ELSE 0 END) AS file_generated
FROM {kpi_table}
WHERE kpi_date = ?
  AND process_name IN ({process_marks})
  AND kpi_name IN ('File Received', 'File Generated')
  AND customer_name IN ({customer_marks})
GROUP BY process_name, customer_name
"""

# A received (file, customer) pair is missing when no generated row exists for the same day,
# process, customer and source file. DISTINCT: the received table may repeat a pair.
# The generated side repeats the group's filters (days, process, customers) so that the engine
# builds its anti-join over the group's rows only, not over the whole day's generated files:
# on a large day that is 6x faster in DuckDB and a fraction of the memory, and it lets Impala
# prune the generated table's date partitions without relying on runtime filters.
# One query covers the whole lookback window D-L .. D (contract §8): a date range, never one
# query per day, and file_date comes back so each name is filed under its own day. With L = 0
# the range is the single day D. ORDER BY: the names of one pair and day arrive together, so
# the check packs them as they stream in (checking/check.py) instead of holding them all.
_MISSING_ANTI_JOIN = """
SELECT DISTINCT r.process_name, r.file_date, r.customer_name, r.filename
FROM {received_table} r
WHERE r.file_date BETWEEN ? AND ?
  AND r.process_name IN ({process_marks})
  AND r.customer_name IN ({customer_marks})
  AND r.filename IS NOT NULL
  AND NOT EXISTS (
      SELECT 1
      FROM {generated_table} g
      WHERE g.file_date BETWEEN ? AND ?
        AND g.process_name IN ({process_marks})
        AND g.customer_name IN ({customer_marks})
        AND g.file_date = r.file_date
        AND g.process_name = r.process_name
        AND g.customer_name = r.customer_name
        AND g.source_filename = r.filename
  )
"""
_MISSING_SQL = "{anti_join}ORDER BY process_name, file_date, customer_name, filename\n"

# The missing files of a batch with each pair-day's file names made into one text by the
# engine (DuckDB's dialect: Impala's group_concat has no ORDER BY): one row per process,
# file_date and customer, with its count and its file names, sorted (code point order, as
# Python sorts), each once, escaped as the TXT writes them (core/namelines.py), one a line;
# the check puts `<customer><delimiter>` before each line. A large day's million names then
# never pass through Python one by one. The same rule as _MISSING_ANTI_JOIN, written as
# DuckDB's ANTI JOIN of the group's received and generated rows: a hash join, where the
# correlated NOT EXISTS made DuckDB first collect the distinct outer rows. Measured on the
# large day: a third of the time; joining file names rather than whole names took 10 % less
# memory than those (186 MB against 210 MB for the four batches) and half the time again.
# A pair-day's names are sorted as one list (LIST_SORT of its raw names, then each escaped),
# not by an ordered STRING_AGG, which sorts the whole batch's rows: 20 % faster, 20 MB less.
_MISSING_LINES_SQL = """
SELECT process_name, file_date, customer_name, COUNT(*) AS names,
       ARRAY_TO_STRING(
           [REPLACE(REPLACE(REPLACE(name, '\\', '\\\\'), CHR(10), '\\n'), CHR(13), '\\r')
            FOR name IN LIST_SORT(LIST(filename))],
           CHR(10)
       ) AS filename_lines
FROM (
    SELECT DISTINCT r.process_name, r.file_date, r.customer_name, r.filename
    FROM (
        SELECT process_name, file_date, customer_name, filename
        FROM {received_table}
        WHERE file_date BETWEEN ? AND ?
          AND process_name IN ({process_marks})
          AND customer_name IN ({customer_marks})
          AND filename IS NOT NULL
    ) r
    ANTI JOIN (
        SELECT process_name, file_date, customer_name, source_filename
        FROM {generated_table}
        WHERE file_date BETWEEN ? AND ?
          AND process_name IN ({process_marks})
          AND customer_name IN ({customer_marks})
    ) g
      ON g.file_date = r.file_date
     AND g.process_name = r.process_name
     AND g.customer_name = r.customer_name
     AND g.source_filename = r.filename
) missing
GROUP BY process_name, file_date, customer_name
"""
_LINES_ORDER = "ORDER BY process_name, file_date, customer_name\n"
# A large batch is asked as the UNION ALL of slices of its customers, each slice's DISTINCT and
# lists over at most this many pairs (processes x customers): DuckDB runs them one after
# another and frees each slice's tables before the next (duckdb_memory.py returns them), so
# one statement holds a slice's names at a time. Measured on the large day (2,000 pairs a
# batch, 250,000 names, a machine under load): the statement's peak 70-79 MB whole in 0.25 s,
# 50-60 MB in two slices in 0.27 s, 48-51 MB in four in 0.31 s.
_LINES_SLICE_PAIRS = 1000

# Whether a process received anything on D for any configured customer (contract §7): asked
# at most once per process and day, and only when its first group found no input at all
# (see checking/check.py). LIMIT 1 inside: the engine stops at the first row.
_ANY_RECEIVED_SQL = """
SELECT COUNT(*) FROM (
    SELECT 1 AS one
    FROM {received_table}
    WHERE file_date = ?
      AND process_name = ?
      AND customer_name IN ({customer_marks})
    LIMIT 1
) probe
"""

# Expected input (contract §14), once per run, never per group, pair or day. The KPI part: every
# process's and customer's File Received of D (the processes nobody configured are found here,
# and a process's KPI load shows as any row of it on D), and the configured processes' rows of
# the baseline days (a day counts for a process when it has any row on it, whichever customer,
# so no customer filter). A small result: one row per day, process and customer.
_DAY_INPUT_SQL = """
SELECT 'kpi' AS part, kpi_date, process_name, customer_name,
       SUM(CASE WHEN kpi_name = 'File Received' THEN kpi_value ELSE 0 END) AS received
FROM {kpi_table}
WHERE kpi_date IN ({day_marks})
  AND (kpi_date = ? OR process_name IN ({process_marks}))
GROUP BY kpi_date, process_name, customer_name
"""

# The received part (`run` only). A configured pair needs only whether it received a file on D
# (§7's input, "KPI not loaded"): part `listed`, its named rows counted, a cheap aggregate. The
# not-monitored list shows a pair's File Received KPI when above 0, else its distinct files: so
# those are counted (part `files`) only for the pairs nobody configured that have no such KPI.
# On the large day COUNT(DISTINCT) over all 1.2 million received rows held 230 MB more than
# this. The pairs nobody configured are the complement of processes x customers, in two
# branches that each test one column against its list (one OR across both columns made DuckDB
# test each row against every customer, 50x slower); IS NULL keeps the rows without a name.
_DAY_FILES_SQL = """
UNION ALL
SELECT 'listed' AS part, file_date, process_name, customer_name, COUNT(filename) AS received
FROM {received_table}
WHERE file_date = ?
  AND process_name IN ({process_marks})
  AND customer_name IN ({customer_marks})
GROUP BY file_date, process_name, customer_name
UNION ALL
SELECT 'files' AS part, r.file_date, r.process_name, r.customer_name, COUNT(DISTINCT r.filename) AS received
FROM (
    SELECT file_date, process_name, customer_name, filename
    FROM {received_table}
    WHERE file_date = ?
      AND (process_name IS NULL OR process_name NOT IN ({process_marks}))
    UNION ALL
    SELECT file_date, process_name, customer_name, filename
    FROM {received_table}
    WHERE file_date = ?
      AND process_name IN ({process_marks})
      AND (customer_name IS NULL OR customer_name NOT IN ({customer_marks}))
) r
LEFT JOIN (
    SELECT process_name, customer_name
    FROM {kpi_table}
    WHERE kpi_date = ? AND kpi_name = 'File Received'
    GROUP BY process_name, customer_name
    HAVING SUM(kpi_value) > 0
) k
  ON k.process_name = r.process_name AND k.customer_name = r.customer_name
WHERE k.process_name IS NULL
GROUP BY r.file_date, r.process_name, r.customer_name
"""


def _marks(count: int, what: str = "customer") -> str:
    if count < 1:
        raise ValueError(f"a query needs at least one {what}")
    return ", ".join("?" for _ in range(count))


def _listed(processes: Sequence[str]) -> None:
    if isinstance(processes, str):  # a str is a Sequence[str] too: one name, not its letters
        raise TypeError("processes must be a list of names, not one string")


def kpi_counts(kpi_table: str, day: dt.date, processes: Sequence[str], customers: Sequence[str]) -> tuple[str, list]:
    """Per (process, customer) of the day: summed File Received and File Generated KPIs."""
    _listed(processes)
    sql = _KPI_SQL.format(
        kpi_table=kpi_table, process_marks=_marks(len(processes), "process"), customer_marks=_marks(len(customers))
    )
    return sql, [day.isoformat(), *processes, *customers]


def missing_files(
    received_table: str,
    generated_table: str,
    day: dt.date,
    processes: Sequence[str],
    customers: Sequence[str],
    first_day: dt.date | None = None,
) -> tuple[str, list]:
    """Distinct (process, file_date, customer, received filename) of the days first_day .. day
    (default: day alone) with no generated customer file of the same file_date, in that order."""
    anti_join, params = _anti_join(received_table, generated_table, day, processes, customers, first_day)
    return _MISSING_SQL.format(anti_join=anti_join), params


def _anti_join(
    received_table: str,
    generated_table: str,
    day: dt.date,
    processes: Sequence[str],
    customers: Sequence[str],
    first_day: dt.date | None,
) -> tuple[str, list]:
    _listed(processes)
    first = first_day or day
    if first > day:
        raise ValueError(f"the window's first day {first} is after its last day {day}")
    sql = _MISSING_ANTI_JOIN.format(
        received_table=received_table,
        generated_table=generated_table,
        process_marks=_marks(len(processes), "process"),
        customer_marks=_marks(len(customers)),
    )
    group = [first.isoformat(), day.isoformat(), *processes, *customers]
    return sql, group + group


def any_received(received_table: str, day: dt.date, process: str, customers: Sequence[str]) -> tuple[str, list]:
    """One row, one count: 1 when the process has a received row of `day` for any of
    `customers`, else 0."""
    sql = _ANY_RECEIVED_SQL.format(received_table=received_table, customer_marks=_marks(len(customers)))
    return sql, [day.isoformat(), process, *customers]


def day_input(
    kpi_table: str,
    day: dt.date,
    baseline: Sequence[dt.date],
    processes: Sequence[str],
    received_table: str | None = None,
    customers: Sequence[str] = (),
) -> tuple[str, list]:
    """Rows (part, day, process, customer, received): part `kpi` for D (every process) and the
    `baseline` days (`processes` only); unless `received_table` is None (the backtest reads KPIs
    only), part `listed` (received file rows of D of `processes` x `customers`, by pair) and
    part `files` (distinct received files of D of every other pair whose File Received KPI of D
    is not above 0)."""
    _listed(processes)
    days = [day, *baseline]
    process_marks = _marks(len(processes), "process")
    sql = _DAY_INPUT_SQL.format(kpi_table=kpi_table, day_marks=_marks(len(days), "day"), process_marks=process_marks)
    params = [d.isoformat() for d in days] + [day.isoformat(), *processes]
    if received_table is not None:
        sql += _DAY_FILES_SQL.format(
            kpi_table=kpi_table,
            received_table=received_table,
            process_marks=process_marks,
            customer_marks=_marks(len(customers)),
        )
        d, pairs = day.isoformat(), [day.isoformat(), *processes, *customers]
        params += [*pairs, d, *processes, *pairs, d]  # listed; files: two branches, then the KPI
    return sql, params


# What `doctor` asks (contract §16): each table answers with the columns the run's queries
# read (no row is fetched), and the KPI table has rows for recent days.
KPI_COLUMNS = ("kpi_date", "process_name", "customer_name", "kpi_name", "kpi_value")
RECEIVED_COLUMNS = ("file_date", "process_name", "customer_name", "filename")
GENERATED_COLUMNS = ("file_date", "process_name", "customer_name", "source_filename")


def connection_probe() -> tuple[str, list]:
    """The cheapest statement every engine answers: does the connection work at all?"""
    return "SELECT 1", []


def columns_probe(table: str, columns: Sequence[str] = ()) -> tuple[str, list]:
    """No rows: an error when the table, or one of `columns` (none: only the table), is not there."""
    return f"SELECT {', '.join(columns) or '1'} FROM {table} WHERE 1 = 0", []


def kpi_rows_between(kpi_table: str, first: dt.date, last: dt.date) -> tuple[str, list]:
    """One row, one count: the KPI rows of the days first .. last."""
    return f"SELECT COUNT(*) FROM {kpi_table} WHERE kpi_date BETWEEN ? AND ?", [first.isoformat(), last.isoformat()]


def missing_name_lines(
    received_table: str,
    generated_table: str,
    day: dt.date,
    processes: Sequence[str],
    customers: Sequence[str],
    first_day: dt.date | None = None,
) -> tuple[str, list]:
    """missing_files' rule, one row per (process, file_date, customer), in that order: the count
    of its missing files and their file names as TXT lines (escaped, sorted, newline separated).
    DuckDB's dialect."""
    _listed(processes)
    size = max(1, _LINES_SLICE_PAIRS // max(1, len(processes)))
    slices = [customers[start : start + size] for start in range(0, len(customers), size)] or [customers]
    branches, params = [], []
    for slice_ in slices:
        _anti, slice_params = _anti_join(received_table, generated_table, day, processes, slice_, first_day)
        branches.append(
            _MISSING_LINES_SQL.format(
                received_table=received_table,
                generated_table=generated_table,
                process_marks=_marks(len(processes), "process"),
                customer_marks=_marks(len(slice_)),
            )
        )
        params += slice_params
    if len(branches) == 1:
        return branches[0] + _LINES_ORDER, params
    union = "UNION ALL".join(f"(\n{branch})\n" for branch in branches)
    return f"SELECT * FROM (\n{union}) sliced\n{_LINES_ORDER}", params
