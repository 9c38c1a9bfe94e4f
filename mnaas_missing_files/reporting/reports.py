"""The CSV summary, the TXT list of missing customer files (contract §3) and the outstanding
report (contract §8).

All three are written side by side into hidden temp files and only renamed into place once
all are complete, so readers (and the email) never see a half-written or mismatched set,
and a failed run leaves the previous day's good reports untouched.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mnaas_missing_files.core.errors import ReportError
from mnaas_missing_files.core.fsio import create_temp_beside, os_error, remove_quietly, replace_all
from mnaas_missing_files.core.model import OutstandingRow, PairRow
from mnaas_missing_files.core.namelines import NameLines

log = logging.getLogger(__name__)

CSV_HEADER = (
    "file_date,process_name,customer_type,customer_name,file_received,file_generated,difference,missing_files_listed"
)
OUTSTANDING_HEADER = "file_date,process_name,customer_type,customer_name,customer_filename,age_days"
_WORLD_WRITE = 0o002


@dataclass(frozen=True)
class ReportSummary:
    pairs: int
    known_pairs: int
    unknown_pairs: int
    missing_files: int
    csv_path: Path
    txt_path: Path
    outstanding_path: Path | None = None  # None: MNAAS_LOOKBACK_DAYS=0, not written
    outstanding_files: int = 0

    def to_json(self) -> dict:
        return {
            "pairs": self.pairs,
            "known_pairs": self.known_pairs,
            "unknown_pairs": self.unknown_pairs,
            "missing_files": self.missing_files,
            "csv_path": str(self.csv_path),
            "txt_path": str(self.txt_path),
            "outstanding_path": str(self.outstanding_path) if self.outstanding_path else None,
            "outstanding_files": self.outstanding_files,
        }


def check_file_mode(mode: int) -> int:
    """A report (or outbox) file mode: permission bits only, never world-writable."""
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
        raise ReportError(f"report file mode {mode!r} is not a permission mode like 0640")
    if mode & _WORLD_WRITE:
        raise ReportError(f"report file mode {mode:04o} is world-writable; refused")
    return mode


DRY_RUN_DIR = "dry-run"


def dry_run_path(path: str | os.PathLike) -> Path:
    """Where a dry run writes a report: a `dry-run/` subdirectory of the real report's
    directory, same file name (contract §15), so the day's real reports stay byte-identical."""
    path = Path(path)
    return path.parent / DRY_RUN_DIR / path.name


def write_reports(
    rows: Iterable[PairRow],
    csv_path: str | os.PathLike,
    txt_path: str | os.PathLike,
    mode: int,
    *,
    outstanding: tuple[str | os.PathLike, Iterable[OutstandingRow]] | None = None,
    stale_outstanding: str | os.PathLike | None = None,
) -> ReportSummary:
    """Stream `rows` (in report order) into the CSV and TXT reports and, when given,
    `outstanding` = (path, rows) into the outstanding report: atomically, all or none.
    `stale_outstanding` (with L = 0) is an outstanding report of an earlier run for the day,
    removed once the new reports are in place: it no longer belongs with them."""
    check_file_mode(mode)
    csv_target, txt_target = Path(csv_path), Path(txt_path)
    out_target = Path(outstanding[0]) if outstanding else None
    targets = [t for t in (csv_target, txt_target, out_target) if t is not None]
    if len({os.path.abspath(t) for t in targets}) < len(targets):
        raise ReportError("the reports cannot share a path: " + ", ".join(map(str, targets)))
    temps: list[Path] = []
    stage = f"{csv_target}"
    outstanding_count = 0
    try:
        csv_fd, csv_temp = create_temp_beside(csv_target, mode)
        temps.append(csv_temp)
        csv_file = open(csv_fd, "w", encoding="utf-8", newline="")
        with csv_file:
            stage = f"{txt_target}"
            txt_fd, txt_temp = create_temp_beside(txt_target, mode)
            temps.append(txt_temp)
            with open(txt_fd, "w", encoding="utf-8", newline="") as txt_file:
                stage = f"{csv_target} and {txt_target}"
                counts = _write_rows(rows, csv_file, txt_file)
                _flush_and_sync(txt_file)
            _flush_and_sync(csv_file)
        moves = [(csv_temp, csv_target), (txt_temp, txt_target)]
        if outstanding and out_target is not None:
            stage = f"{out_target}"
            out_fd, out_temp = create_temp_beside(out_target, mode)
            temps.append(out_temp)
            with open(out_fd, "w", encoding="utf-8", newline="") as out_file:
                outstanding_count = _write_outstanding(outstanding[1], out_file)
                _flush_and_sync(out_file)
            moves.append((out_temp, out_target))
        stage = ", ".join(str(t) for _, t in moves)
        replace_all(moves)
        temps.clear()
    except Exception as exc:
        detail = os_error(exc) if isinstance(exc, OSError) else exc
        raise ReportError(f"could not write the report {stage}: {detail}; the previous reports are unchanged") from exc
    finally:
        for temp in temps:
            remove_quietly(temp)
    if stale_outstanding is not None and Path(stale_outstanding).is_file():
        remove_quietly(Path(stale_outstanding))
    pairs, known, missing = counts
    return ReportSummary(
        pairs=pairs,
        known_pairs=known,
        unknown_pairs=pairs - known,
        missing_files=missing,
        csv_path=csv_target,
        txt_path=txt_target,
        outstanding_path=out_target,
        outstanding_files=outstanding_count,
    )


def _write_outstanding(rows: Iterable[OutstandingRow], out_file: io.TextIOBase) -> int:
    writer = csv.writer(out_file, lineterminator="\n")
    out_file.write(OUTSTANDING_HEADER + "\n")
    count = 0
    for row in rows:
        writer.writerow(row)  # its fields are the header's columns, in order
        count += 1
    return count


def _write_rows(rows: Iterable[PairRow], csv_file: io.TextIOBase, txt_file: io.TextIOBase) -> tuple[int, int, int]:
    writer = csv.writer(csv_file, lineterminator="\n")
    csv_file.write(CSV_HEADER + "\n")
    pairs = known = missing_total = 0
    for row in rows:
        pairs += 1
        names = _unique_lines(row.missing) if row.known and row.missing is not None else None
        if row.known:
            known += 1
        if names:
            missing_total += len(names)
            _write_names(txt_file, names, row)
        writer.writerow(
            [
                _iso(row.file_date),
                row.process,
                row.customer_type,
                row.customer,
                _field(row.received),
                _field(row.generated),
                _field(row.difference),
                _field(None if names is None else len(names)),
            ]
        )
    return pairs, known, missing_total


def _write_names(txt_file: io.TextIOBase, names: NameLines, row: PairRow) -> None:
    """A pair's names, one per line, in one write: their lines are the TXT's already (a
    large day's million names, written one by one, cost a second)."""
    if names.escaped and any("\n" in name or "\r" in name for name in names):
        log.warning("missing file name of %s/%s contains a line break; written escaped", row.process, row.customer)
    txt_file.write(names.text)
    txt_file.write("\n")


def _unique_lines(names: Sequence[str]) -> NameLines:
    # Names from a result are sorted and unique already (NameLines); a caller's list is made
    # so, keeping its order, and only pays for a set when it is not.
    if isinstance(names, NameLines):
        return names
    if any(a >= b for a, b in zip(names, names[1:])):
        names = list(dict.fromkeys(names))
    return NameLines.of(names)


def _iso(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _field(value: int | None) -> str:
    # Unknown (a failed group) is an empty field, never 0.
    return "" if value is None else str(value)


def _flush_and_sync(handle: io.TextIOBase) -> None:
    handle.flush()
    os.fsync(handle.fileno())
