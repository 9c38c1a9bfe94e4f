"""Expected reports worked out in plain Python from the rows loaded into the warehouse,
independently of the product's SQL and report writer."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict

HEADER = [
    "file_date",
    "process_name",
    "customer_type",
    "customer_name",
    "file_received",
    "file_generated",
    "difference",
    "missing_files_listed",
]


def expected_reports(
    rows, day: dt.date, processes, customers, infonova, delimiter="_", unknown: set[tuple[str, str]] = frozenset()
) -> tuple[str, str]:
    """(csv_text, txt_text) for `day`; pairs in `unknown` (process, customer) have failed."""
    d = day.isoformat()
    kpi = defaultdict(lambda: [0, 0])
    for kpi_date, process, customer, name, value in rows.kpi:
        if kpi_date == d and name in ("File Received", "File Generated"):
            kpi[(process, customer)][0 if name == "File Received" else 1] += value
    generated = {(p, c, f) for fd, p, c, f, _cf, _n in rows.generated if fd == d}
    missing = defaultdict(set)
    for fd, p, c, f, _n in rows.received:
        if fd == d and (p, c, f) not in generated:
            missing[(p, c)].add(f"{c}{delimiter}{f}")
    out, names = io.StringIO(), []
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for process in processes:
        for ctype, group in (("regular", customers), ("infonova", infonova)):
            for customer in group:
                if (process, customer) in unknown:
                    writer.writerow([d, process, ctype, customer, "", "", "", ""])
                    continue
                received, gen = kpi[(process, customer)]
                pair_missing = sorted(missing[(process, customer)])
                writer.writerow([d, process, ctype, customer, received, gen, received - gen, len(pair_missing)])
                names.extend(pair_missing)
    return out.getvalue(), "".join(n + "\n" for n in names)


OUTSTANDING_HEADER = "file_date,process_name,customer_type,customer_name,customer_filename,age_days\n"


def expected_outstanding(
    rows,
    day: dt.date,
    lookback: int,
    processes,
    customers,
    infonova,
    delimiter="_",
    unknown: set[tuple[str, str]] = frozenset(),
) -> str:
    """The outstanding report's text for `day` (contract §8), from the rows themselves:
    received files of D-L .. D-1 with no generated row of their own file_date; oldest
    file_date first, then the CSV's order, names sorted."""
    first = (day - dt.timedelta(days=lookback)).isoformat()
    last = (day - dt.timedelta(days=1)).isoformat()
    generated = {(fd, p, c, f) for fd, p, c, f, _cf, _n in rows.generated}
    missing = defaultdict(set)
    for fd, p, c, f, _n in rows.received:
        if first <= fd <= last and (fd, p, c, f) not in generated:
            missing[(fd, p, c)].add(f"{c}{delimiter}{f}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write(OUTSTANDING_HEADER)
    for fd in sorted({k[0] for k in missing}):
        age = (day - dt.date.fromisoformat(fd)).days
        for process in processes:
            for ctype, group in (("regular", customers), ("infonova", infonova)):
                for customer in group:
                    if (process, customer) in unknown:
                        continue
                    for name in sorted(missing[(fd, process, customer)]):
                        writer.writerow([fd, process, ctype, customer, name, age])
    return out.getvalue()
