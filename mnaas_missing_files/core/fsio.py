"""The one way this product replaces a file: hidden temp file beside the target, fsync, rename,
directory fsync. Reports, the outbox, the status file, the run history and the metrics all
use it, so a reader only ever sees the old file or the whole new one.

Raises OSError; each caller turns it into its own named error with the path in it (and
FileChanged when a caller's precondition failed).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from mnaas_missing_files.core.errors import FileChanged

log = logging.getLogger(__name__)

DIR_MODE = 0o750


def os_error(exc: OSError) -> str:
    """An OSError in operators' words with its errno name, e.g. `Read-only file system
    (EROFS)`: what every "cannot write <path>" message says after the path."""
    name = errno.errorcode.get(exc.errno or 0)
    text = exc.strerror or str(exc)
    return f"{text} ({name})" if name else text


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
        remove_quietly(temp)
        raise
    return fd, temp


def atomic_write(path: str | os.PathLike, data: bytes, mode: int, *, keep_existing: bool = False) -> Path:
    """Replace `path` with `data` atomically and return the path written.

    `mode` is the new file's mode. With `keep_existing` (a file other jobs share), an existing
    file keeps its mode and, where permitted, its owner, and a symlink is followed so the link
    itself stays in place.
    """
    return _atomic(path, data, mode, keep_existing, None, True)[0]


def atomic_write_if_unchanged(
    path: str | os.PathLike,
    data: bytes,
    mode: int,
    unchanged: Callable[[os.stat_result | None], bool],
    *,
    sync_first: bool = True,
) -> os.stat_result:
    """Like atomic_write(keep_existing=True), for a file that other programs rewrite without
    any lock: replace it only if the file actually replaced passes `unchanged` (given its
    stat, None when there was none), else leave it as it was and raise FileChanged. Returns
    the stat of the file written, so the caller can tell later whether it is still there.

    Where the kernel allows, the new file is swapped in with renameat2(RENAME_EXCHANGE) and
    the file it displaced is checked afterwards (and swapped back if it fails), so a writer
    that renamed its copy in just before ours is always seen; elsewhere the check comes
    just before the rename, leaving a window of microseconds.

    `sync_first=False` (for a retry when the file keeps changing) syncs the new content only
    once it is in place: the edit then takes a millisecond, not a disk flush, and can land
    between two writes of a busy writer; a power cut in that millisecond may lose it, as
    it may any `sed -i` edit at any time.
    """
    return _atomic(path, data, mode, True, unchanged, sync_first)[1]


def _atomic(
    path: str | os.PathLike,
    data: bytes,
    mode: int,
    keep_existing: bool,
    unchanged: Callable[[os.stat_result | None], bool] | None,
    sync_first: bool,
) -> tuple[Path, os.stat_result]:
    target, temp = _write_temp(path, data, mode, keep_existing, sync_first)
    leftover: Path | None = temp
    try:
        written = os.stat(temp)
        if unchanged is None:
            os.replace(temp, target)
        elif _exchange(temp, target):
            if not unchanged(_stat_or_none(temp)):
                _exchange(temp, target)  # put theirs back; ours was live for microseconds
                raise FileChanged(f"{target} changed while it was being rewritten")
            remove_quietly(temp)
        else:
            if not unchanged(_stat_or_none(target)):
                raise FileChanged(f"{target} changed while it was being rewritten")
            os.replace(temp, target)
        leftover = None
        if not sync_first:
            _fsync_file(target)
        fsync_dir(target.parent)
    finally:
        if leftover is not None:
            remove_quietly(leftover)
    return target, written


def _write_temp(
    path: str | os.PathLike, data: bytes, mode: int, keep_existing: bool, sync: bool = True
) -> tuple[Path, Path]:
    """(target, temp): `data` fsynced in a temp file beside the target, with the mode (and,
    with `keep_existing`, the owner) the target should end up with."""
    target = Path(os.path.realpath(path)) if keep_existing else Path(path)
    old = None
    if keep_existing:
        with contextlib.suppress(FileNotFoundError):
            old = target.stat()
    fd, temp = create_temp_beside(target, stat.S_IMODE(old.st_mode) if old else mode)
    try:
        with open(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if old and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):
                    os.fchown(handle.fileno(), old.st_uid, old.st_gid)
            if sync:
                os.fsync(handle.fileno())
    except BaseException:
        remove_quietly(temp)
        raise
    return target, temp


def _fsync_file(path: Path) -> None:
    with contextlib.suppress(OSError):  # in place already; a failed flush loses nothing more
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_libc: ctypes.CDLL | None | bool = None  # None: not looked up yet; False: not available


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directory entries atomically; False where the kernel, the C library or the
    filesystem cannot (then nothing happened), or when `b` does not exist."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.renameat2  # noqa: B018 - glibc < 2.28 lacks it
        except (OSError, AttributeError):
            _libc = False
    if not isinstance(_libc, ctypes.CDLL):
        return False
    result = _libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOENT, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), os.fspath(b))


def replace_all(moves: list[tuple[Path, Path]]) -> None:
    """Rename every temp onto its target; if a later rename fails, put the earlier targets
    back as they were, so files that belong together never come from different runs."""
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
            fsync_dir(directory)
    except BaseException:
        for target, backup in reversed(done):
            try:
                if backup is not None:
                    os.replace(backup, target)
                else:
                    os.unlink(target)
            except OSError as exc:  # pragma: no cover - a second failure while undoing
                log.error("could not restore the previous file %s: %s", target, exc)
        raise
    finally:
        for backup in backups:
            remove_quietly(backup)


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


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse fsync on a directory
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove temp file %s: %s", path, exc)
