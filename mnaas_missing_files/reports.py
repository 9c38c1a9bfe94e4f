"""The CSV summary and the TXT list of missing customer files (DESIGN 1.3).

Both files are written side by side into hidden temp files and only renamed into place once
both are complete, so readers (and the email) never see a half-written or mismatched pair,
and a failed run leaves the previous day's good reports untouched.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .errors import ReportError
from .model import PairRow

log = logging.getLogger(__name__)

CSV_HEADER = ("file_date,process_name,customer_type,customer_name,file_received,"
              "file_generated,difference,missing_files_listed")
DIR_MODE = 0o750
_WORLD_WRITE = 0o002


@dataclass(frozen=True)
class ReportSummary:
    pairs: int
    known_pairs: int
    unknown_pairs: int
    missing_files: int
    csv_path: Path
    txt_path: Path

    def to_json(self) -> dict:
        return {
            "pairs": self.pairs,
            "known_pairs": self.known_pairs,
            "unknown_pairs": self.unknown_pairs,
            "missing_files": self.missing_files,
            "csv_path": str(self.csv_path),
            "txt_path": str(self.txt_path),
        }


def check_file_mode(mode: int) -> int:
    """A report (or outbox) file mode: permission bits only, never world-writable."""
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
        raise ReportError(f"report file mode {mode!r} is not a permission mode like 0640")
    if mode & _WORLD_WRITE:
        raise ReportError(f"report file mode {mode:04o} is world-writable; refused")
    return mode


def ensure_dir(path: Path, mode: int = DIR_MODE) -> None:
    """Create `path` and its missing parents with exactly `mode` (the umask cannot widen it);
    directories that already exist are left as they are."""
    missing = []
    current = Path(path)
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, mode)
        except FileExistsError:
            if not directory.is_dir():
                raise
            continue  # another process made it first: theirs stands
        os.chmod(directory, mode)


def create_temp_beside(target: Path, mode: int) -> tuple[int, Path]:
    """An exclusive hidden temp file in `target`'s directory (so the rename stays on one
    filesystem), with exactly `mode` whatever the umask."""
    ensure_dir(target.parent)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        _remove_quietly(temp)
        raise
    return fd, temp


def atomic_write_bytes(path: str | os.PathLike, data: bytes, mode: int) -> Path:
    """Write one file atomically (temp + fsync + rename) with exactly `mode`."""
    target = Path(path)
    check_file_mode(mode)
    temp = None
    try:
        fd, temp = create_temp_beside(target, mode)
        with open(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
        temp = None
        _fsync_dir(target.parent)
    finally:
        if temp is not None:
            _remove_quietly(temp)
    return target


def write_reports(rows: Iterable[PairRow], csv_path: str | os.PathLike,
                  txt_path: str | os.PathLike, mode: int) -> ReportSummary:
    """Stream `rows` (in report order) into the CSV and TXT reports, atomically as a pair."""
    check_file_mode(mode)
    csv_target, txt_target = Path(csv_path), Path(txt_path)
    if os.path.abspath(csv_target) == os.path.abspath(txt_target):
        raise ReportError(f"the CSV and TXT reports cannot share one path: {csv_target}")
    temps: list[Path] = []
    stage = f"{csv_target}"
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
        _replace_all([(csv_temp, csv_target), (txt_temp, txt_target)])
        temps.clear()
    except Exception as exc:
        raise ReportError(f"could not write the report {stage}: {exc}; "
                          "the previous reports are unchanged") from exc
    finally:
        for temp in temps:
            _remove_quietly(temp)
    pairs, known, missing = counts
    return ReportSummary(pairs=pairs, known_pairs=known, unknown_pairs=pairs - known,
                         missing_files=missing, csv_path=csv_target, txt_path=txt_target)


def _write_rows(rows: Iterable[PairRow], csv_file: io.TextIOBase,
                txt_file: io.TextIOBase) -> tuple[int, int, int]:
    writer = csv.writer(csv_file, lineterminator="\n")
    csv_file.write(CSV_HEADER + "\n")
    pairs = known = missing_total = 0
    for row in rows:
        pairs += 1
        names = _unique_in_order(row.missing) if row.known and row.missing is not None else None
        if row.known:
            known += 1
        if names is not None:
            missing_total += len(names)
            for name in names:
                txt_file.write(_one_line(name, row))
                txt_file.write("\n")
        writer.writerow([
            _iso(row.file_date), row.process, row.customer_type, row.customer,
            _field(row.received), _field(row.generated), _field(row.difference),
            _field(None if names is None else len(names)),
        ])
    return pairs, known, missing_total


def _unique_in_order(names: Sequence[str]) -> Sequence[str]:
    # Names arrive sorted and unique; only pay for a set when they do not.
    if all(a < b for a, b in zip(names, names[1:])):
        return names
    return list(dict.fromkeys(names))


def _one_line(name: str, row: PairRow) -> str:
    # A newline inside a file name would split it into two TXT lines (two bogus names).
    if "\n" in name or "\r" in name:
        log.warning("missing file name of %s/%s contains a line break; written escaped",
                    row.process, row.customer)
        return name.replace("\r", "\\r").replace("\n", "\\n")
    return name


def _iso(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _field(value: int | None) -> str:
    # Unknown (a failed group) is an empty field, never 0.
    return "" if value is None else str(value)


def _flush_and_sync(handle: io.TextIOBase) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _replace_all(moves: list[tuple[Path, Path]]) -> None:
    """Rename every temp onto its target; if a later rename fails, put the earlier targets
    back as they were, so the CSV and TXT never come from different runs."""
    done: list[tuple[Path, Path | None]] = []
    backups: list[Path] = []
    try:
        for temp, target in moves:
            backup = _hardlink_backup(target)
            if backup is not None:
                backups.append(backup)
            os.replace(temp, target)
            done.append((target, backup))
        for directory in {target.parent for _, target in moves}:
            _fsync_dir(directory)
    except BaseException:
        for target, backup in reversed(done):
            try:
                if backup is not None:
                    os.replace(backup, target)
                else:
                    os.unlink(target)
            except OSError as exc:  # pragma: no cover - a second failure while undoing
                log.error("could not restore the previous report %s: %s", target, exc)
        raise
    finally:
        for backup in backups:
            _remove_quietly(backup)


def _hardlink_backup(target: Path) -> Path | None:
    if not target.is_file() or target.is_symlink():
        return None
    backup = target.with_name(f".{target.name}.{secrets.token_hex(6)}.bak")
    try:
        os.link(target, backup)
    except OSError as exc:
        log.warning("no rollback copy of %s (%s); writing without one", target, exc)
        return None
    return backup


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename is still atomic
    finally:
        os.close(fd)


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove temp file %s: %s", path, exc)
