"""`compare LEGACY_DIR PRODUCT_DIR`: the legacy job's reports beside the product's, day by day
(contract §16), for the week the two run side by side before the switch.

Only each day's CSV and TXT (their §3 default names, directly in each directory) are read. The
CSV's rows are keyed by process, customer type and customer and read by header name; the TXT
is a set of names, so quoting, order and line ends do not matter. No configuration needed.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnaas_missing_files.config.options import csv_name, txt_name
from mnaas_missing_files.core.errors import UsageError

KEY_COLUMNS = ("process_name", "customer_type", "customer_name")
COUNT_COLUMNS = ("file_received", "file_generated", "difference", "missing_files_listed")
NAMES_SHOWN = 20  # names listed per side and day; the rest are counted
_DAY_IN_NAME = re.compile(r"Missing_Customer_Files_(?:Report_)?(\d{4}-\d{2}-\d{2})\.(?:csv|txt)")

Pair = tuple[str, str, str]


class Unreadable(Exception):
    """A report that cannot be compared (not UTF-8, not a CSV, or without the §3 columns)."""


@dataclass
class DayComparison:
    day: dt.date
    verdict: str  # identical | differs | only in legacy | only in product
    problems: list[str] = field(default_factory=list)  # one line each: what differs

    def lines(self) -> Iterator[str]:
        yield f"{self.day} {self.verdict}"
        for problem in self.problems:
            yield f"  {problem}"


def report_days(directory: Path) -> set[dt.date]:
    """The days with a CSV or TXT report directly in `directory`."""
    days = set()
    for path in directory.iterdir():
        found = _DAY_IN_NAME.fullmatch(path.name)
        if found and path.is_file():
            try:
                days.add(dt.date.fromisoformat(found.group(1)))
            except ValueError:
                continue  # a name that only looks like a day's report
    return days


def compare_dirs(
    legacy: Path, product: Path, first: dt.date | None = None, last: dt.date | None = None
) -> list[DayComparison]:
    """Every day with a report in either directory (within first .. last), oldest first."""
    for side, directory in (("legacy", legacy), ("product", product)):
        if not directory.is_dir():
            raise UsageError(f"the {side} directory {directory} does not exist or is not a directory")
    legacy_days, product_days = report_days(legacy), report_days(product)
    days = sorted(
        d for d in legacy_days | product_days if (first is None or d >= first) and (last is None or d <= last)
    )
    return [
        compare_day(legacy, product, d)
        if d in legacy_days and d in product_days
        else DayComparison(d, "only in legacy" if d in legacy_days else "only in product")
        for d in days
    ]


def compare_day(legacy: Path, product: Path, day: dt.date) -> DayComparison:
    problems: list[str] = []
    for name, reader, compare in ((csv_name, read_csv, _compare_pairs), (txt_name, read_names, _compare_names)):
        sides: list[Any] = []  # the two sides' reports, of the reader's type
        unreadable: list[str] = []
        for side, directory in (("legacy", legacy), ("product", product)):
            try:
                sides.append(reader(directory / name(day)))
            except Unreadable as exc:
                kind = "CSV" if name is csv_name else "TXT"
                unreadable.append(f"{side} {kind} unreadable: {exc}")
        problems += unreadable or compare(*sides)
    return DayComparison(day, "differs" if problems else "identical", problems)


def _compare_pairs(old: dict[Pair, tuple[str, ...]], new: dict[Pair, tuple[str, ...]]) -> list[str]:
    problems = []
    for pair in list(old) + [p for p in new if p not in old]:
        if pair not in new or pair not in old:
            problems.append(f"pair {'/'.join(pair)} only in {'legacy' if pair in old else 'product'}")
        elif old[pair] != new[pair]:
            changes = ", ".join(
                f"{column} {a or '(empty)'} vs {b or '(empty)'}"
                for column, a, b in zip(COUNT_COLUMNS, old[pair], new[pair])
                if a != b
            )
            problems.append(f"pair {'/'.join(pair)}: {changes} (legacy vs product)")
    return problems


def read_csv(path: Path) -> dict[Pair, tuple[str, ...]]:
    """The CSV's counts per pair, read by header name."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in KEY_COLUMNS + COUNT_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise Unreadable(f"{path} has no column {', '.join(missing)}")
            process, kind, customer = KEY_COLUMNS
            return {
                (_cell(row, process), _cell(row, kind), _cell(row, customer)): tuple(
                    _cell(row, c) for c in COUNT_COLUMNS
                )
                for row in reader
            }
    except FileNotFoundError:
        raise Unreadable(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise Unreadable(f"{path}: {exc}") from None


def _cell(row: dict, column: str) -> str:
    return (row.get(column) or "").strip()  # a short row's missing cells read as empty


def _compare_names(old: set[str], new: set[str]) -> list[str]:
    problems = []
    for side, mine, theirs in (("legacy", old, new), ("product", new, old)):
        only = sorted(mine - theirs)
        if only:
            shown = ", ".join(only[:NAMES_SHOWN]) + (
                f", … and {len(only) - NAMES_SHOWN} more" if len(only) > NAMES_SHOWN else ""
            )
            problems.append(f"{len(only)} name(s) only in {side}: {shown}")
    return problems


def read_names(path: Path) -> set[str]:
    """The TXT's names: one a line, surrounding quotes and blanks dropped, empty lines ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Unreadable(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{path}: {exc}") from None
    names = set()
    for line in text.splitlines():
        name = line.strip()
        if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
            name = name[1:-1]
        if name:
            names.add(name)
    return names


def summary(days: list[DayComparison]) -> str:
    counts: dict[str, int] = {}
    for comparison in days:
        verdict = "only in one" if comparison.verdict.startswith("only in") else comparison.verdict
        counts[verdict] = counts.get(verdict, 0) + 1
    parts = ", ".join(f"{counts[v]} {v}" for v in ("identical", "differs", "only in one") if counts.get(v))
    return f"compared {len(days)} day(s) from {days[0].day} to {days[-1].day}: {parts}"
