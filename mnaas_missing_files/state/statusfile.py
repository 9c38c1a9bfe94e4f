"""The job's `KEY=value` status file, shared with the platform's other jobs (contract §4).

Other jobs read it with `grep KEY file | cut -d= -f2` and write it with `sed -i`, so every
line this module does not own is kept byte for byte, in order. Every change is made under an
exclusive `flock` of `<status file>.lock` and lands with temp file + fsync + `os.replace`, so
a reader never sees a half-written file. Those other writers take no lock, so an edit is
replaced only if the file did not change since it was read, and is read back afterwards.

Modes: a status file this module creates gets 0644 — it holds no secret, and the platform's
other jobs (possibly other accounts of the same host) must be able to read it; it is never
world-writable. An existing file keeps its mode (and, where permitted, its owner and group).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path

from mnaas_missing_files.core.errors import FileChanged, JobHeld, StatusFileError
from mnaas_missing_files.core.fsio import atomic_write, atomic_write_if_unchanged, os_error

FLAG = "MNAAS_Daily_ProcessStatusFlag"
PROCESS_NAME = "MNAAS_Daily_ProcessName"
PROCESS_ID = "MNAAS_Script_Process_Id"
JOB_STATUS = "MNAAS_job_status"
RAN_TIME = "MNAAS_job_ran_time"
SDP_CREATED = "MNAAS_email_sdp_created"

OWNED_KEYS = (FLAG, PROCESS_NAME, PROCESS_ID, JOB_STATUS, RAN_TIME, SDP_CREATED)

STATUS_FILE_MODE = 0o644
# Flag values with which a run may start: 0 idle, 1 the previous run failed or never finished.
STARTABLE_FLAGS = ("0", "1")

# Other jobs write the file with `sed -i`, without the lock (contract §13): an edit is redone
# this many times when the file changed under it, and read back this long after it landed.
_EDIT_ATTEMPTS = 20
_READ_BACK_DELAY = 0.002
_FOREIGN_EDIT_WAIT = 1.0
_SED_TEMP = re.compile(r"sed[A-Za-z0-9]{6}")

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# surrogateescape keeps bytes that are not UTF-8 intact through a read/write round trip.
_ENCODING = "utf-8"
_ERRORS = "surrogateescape"


def lock_path(path: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(path)}.lock")


@contextlib.contextmanager
def status_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold the exclusive flock of `<path>.lock`. Not re-entrant: never nest it for one path."""
    target = lock_path(path)
    try:
        fd = os.open(target, os.O_RDWR | os.O_CREAT, STATUS_FILE_MODE)
    except OSError as exc:
        raise StatusFileError(f"cannot open the status lock {target}: {os_error(exc)}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor drops the flock


def _split(line: str) -> tuple[str, str] | None:
    """(key, value) of a `KEY=value` line, None for comments, blanks and other text."""
    body = line.rstrip("\r\n")
    if not body.strip() or body.lstrip().startswith("#") or "=" not in body:
        return None
    key, value = body.split("=", 1)
    key = key.strip()
    return (key, value) if key else None


def _read_lines(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding=_ENCODING, errors=_ERRORS) as handle:
            return handle.read().splitlines(keepends=True)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StatusFileError(f"cannot read the status file {path}: {os_error(exc)}") from exc


def _parse(lines: list[str]) -> dict[str, str]:
    status: dict[str, str] = {}
    for line in lines:
        pair = _split(line)
        if pair and pair[0] not in status:  # the first occurrence wins, as it does for updates
            status[pair[0]] = pair[1]
    return status


def read_status(path: str | os.PathLike) -> dict[str, str]:
    """Every `KEY=value` of the file (first occurrence of a key wins); {} when it is missing."""
    return _parse(_read_lines(Path(path)))


def _check_updates(path: Path, updates: Mapping[str, str]) -> None:
    for key, value in updates.items():
        if not _KEY.match(key):
            raise StatusFileError(f"refusing to write the key {key!r} to the status file {path}")
        if "\n" in str(value) or "\r" in str(value):
            raise StatusFileError(f"refusing to write a multi-line value for {key} to {path}")


def _apply(lines: list[str], updates: Mapping[str, str]) -> list[str]:
    pending = {key: str(value) for key, value in updates.items()}
    result = []
    for line in lines:
        pair = _split(line)
        if pair and pair[0] in pending:
            body = line.rstrip("\r\n")
            ending = line[len(body) :]
            prefix = body[: body.index("=") + 1]  # keeps the key exactly as it was spelled
            line = f"{prefix}{pending.pop(pair[0])}{ending}"
        result.append(line)
    if pending and result and not result[-1].endswith(("\n", "\r")):
        result[-1] += "\n"
    result.extend(f"{key}={value}\n" for key, value in pending.items())
    return result


def _fingerprint(st: os.stat_result | None) -> tuple[int, ...] | None:
    """What changes whenever anyone replaces or rewrites the file: `sed -i` renames a new
    inode over it; an in-place writer changes its size or modification time (ns)."""
    return None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns)


def _current(path: Path) -> tuple[int, ...] | None:
    try:
        return _fingerprint(os.stat(path))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StatusFileError(f"cannot read the status file {path}: {os_error(exc)}") from exc


def _is(seen: tuple[int, ...] | None, old: os.stat_result | None) -> bool:
    return _fingerprint(old) == seen


def _replace_unless_changed(path: Path, updates: Mapping[str, str]) -> tuple[dict[str, str], tuple | None]:
    """Apply `updates` to the file as it is now, and replace it only if nobody changed it
    since it was read (else read it again and redo the edit). Returns the values before the
    edit and the fingerprint of the file written."""
    for attempt in range(_EDIT_ATTEMPTS):
        if attempt:  # it is busy: let a sed in flight land, then edit in one quick step
            _wait_for_foreign_edits(path)
        seen = _current(path)
        lines = _read_lines(path)
        data = "".join(_apply(lines, updates)).encode(_ENCODING, _ERRORS)
        try:
            written = atomic_write_if_unchanged(
                path, data, STATUS_FILE_MODE, partial(_is, seen), sync_first=attempt == 0
            )
            return _parse(lines), _fingerprint(written)
        except FileChanged:
            continue
        except OSError as exc:
            raise StatusFileError(f"cannot write the status file {path}: {os_error(exc)}") from exc
    # Another writer rewrites it faster than we can edit it: write anyway, so the run's own
    # record is not lost, and say that one of their writes may be.
    log.warning(
        "the status file %s changed under every one of %d edits; wrote it anyway "
        "(another job's concurrent update may be lost)",
        path,
        _EDIT_ATTEMPTS,
    )
    lines = _read_lines(path)
    try:
        atomic_write(
            path, "".join(_apply(lines, updates)).encode(_ENCODING, _ERRORS), STATUS_FILE_MODE, keep_existing=True
        )
    except OSError as exc:
        raise StatusFileError(f"cannot write the status file {path}: {os_error(exc)}") from exc
    return _parse(lines), _current(path)


def _wait_for_foreign_edits(path: Path) -> None:
    """Return once no `sed -i` that may have read the file before our rename is still running.

    GNU sed -i creates its temp file (`sedXXXXXX`, beside the file) right after opening the
    input and renames it over the file when done, so while one exists an edit is in flight.
    A short pause first covers the microseconds between its open and its temp file.
    """
    time.sleep(_READ_BACK_DELAY)
    deadline = time.monotonic() + _FOREIGN_EDIT_WAIT
    while _sed_in_flight(path) and time.monotonic() < deadline:
        time.sleep(0.002)


def _sed_in_flight(path: Path) -> bool:
    try:
        names = os.listdir(Path(os.path.realpath(path)).parent)
    except OSError:
        return False
    return any(_SED_TEMP.fullmatch(name) for name in names)


def _update_locked(path: Path, updates: Mapping[str, str]) -> None:
    _check_updates(path, updates)
    pending = dict(updates)
    for _ in range(_EDIT_ATTEMPTS):
        before, written = _replace_unless_changed(path, pending)
        # A `sed -i` that read the file before our rename renames its copy over ours a moment
        # later, undoing our keys (its own change survives). Look again shortly after, and put
        # back what was reverted to the value it had before our edit; a key someone set to a
        # third value was changed on purpose (an operator's hold) and is left as it is.
        _wait_for_foreign_edits(path)
        if _current(path) == written:
            return
        current = _parse(_read_lines(path))
        pending = {
            key: value
            for key, value in pending.items()
            if current.get(key) != value and current.get(key) == before.get(key)
        }
        if not pending:
            return
        log.info("a concurrent writer of the status file %s undid %s; writing them again", path, ", ".join(pending))
    log.warning(
        "the status file %s: %s undone by concurrent writers again and again; giving up", path, ", ".join(pending)
    )


def update_status(path: str | os.PathLike, updates: Mapping[str, str]) -> None:
    """Set `updates` in place (first occurrence of each key), append the absent ones."""
    path = Path(path)
    with status_lock(path):
        _update_locked(path, updates)


def _held_error(path: Path, flag: str) -> JobHeld:
    return JobHeld(
        f"the status file {path} holds the job: {FLAG}={flag!r} (a run starts only when it "
        f"is 0 or 1). An operator set it; to release the job set the flag to 0, e.g. "
        f"sed -i 's/^{FLAG}=.*/{FLAG}=0/' {path}"
    )


def _flag(status: Mapping[str, str]) -> str:
    return status.get(FLAG, "").strip() or "0"  # a missing or empty flag counts as 0


def check_not_held(path: str | os.PathLike) -> dict[str, str]:
    """Raise JobHeld when the flag holds the job; change nothing. Returns the status read."""
    path = Path(path)
    status = read_status(path)
    if _flag(status) not in STARTABLE_FLAGS:
        raise _held_error(path, status[FLAG])
    return status


def begin_run(path: str | os.PathLike, script_name: str, pid: int) -> None:
    """Mark a run in progress (flag 1), or raise JobHeld and leave the file untouched."""
    path = Path(path)
    with status_lock(path):
        status = _parse(_read_lines(path))
        if _flag(status) not in STARTABLE_FLAGS:
            raise _held_error(path, status[FLAG])
        _update_locked(path, {FLAG: "1", PROCESS_NAME: script_name, PROCESS_ID: str(int(pid))})


def record_success(path: str | os.PathLike, ran_time: str) -> None:
    """Flag 0, idle, Success at `ran_time` (YYYY-MM-DD HH:MM:SS); the next failure tickets again."""
    update_status(
        path,
        {FLAG: "0", PROCESS_ID: "0", JOB_STATUS: "Success", RAN_TIME: ran_time, SDP_CREATED: "No"},
    )


def record_failure(path: str | os.PathLike, raise_ticket: Callable[[], None]) -> bool:
    """Record a failure; raise one SDP ticket per failure episode. True if a ticket was raised.

    The failure is written before the ticket is attempted, so a crash while mailing still
    leaves it recorded. `MNAAS_email_sdp_created=Yes` is written only after `raise_ticket`
    returned; when it raises, the flag stays No (the next failure tries again) and the error
    propagates. The flock is held throughout so that two failing runs raise one ticket;
    `raise_ticket` must not touch this status file itself.
    """
    path = Path(path)
    with status_lock(path):
        ticket_due = _parse(_read_lines(path)).get(SDP_CREATED, "").strip() != "Yes"
        failure = {FLAG: "1", PROCESS_ID: "0", JOB_STATUS: "Failure"}
        _update_locked(path, {**failure, SDP_CREATED: "No"} if ticket_due else failure)
        if not ticket_due:
            return False
        raise_ticket()
        _update_locked(path, {SDP_CREATED: "Yes"})
        return True


def raise_ticket_once(path: str | os.PathLike, raise_ticket: Callable[[], None]) -> bool:
    """The SDP ticket by the episode rule of §4, without marking a run's outcome (a missed
    deadline is not a run): raised only while MNAAS_email_sdp_created is not Yes, which it
    then becomes, so a failing run of the same episode raises no second one. True if raised."""
    path = Path(path)
    with status_lock(path):
        if _parse(_read_lines(path)).get(SDP_CREATED, "").strip() == "Yes":
            return False
        raise_ticket()
        _update_locked(path, {SDP_CREATED: "Yes"})
        return True
