"""The shared status file: in-place updates, the start rule, SDP tickets, concurrent writers."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
from pathlib import Path

import pytest

from mnaas_missing_files.core.errors import JobHeld, StatusFileError
from mnaas_missing_files.state import statusfile
from mnaas_missing_files.state.statusfile import (
    OWNED_KEYS,
    begin_run,
    check_not_held,
    read_status,
    record_failure,
    record_success,
    update_status,
)

# The shipped example of the legacy status file, byte for byte.
LEGACY = (
    b"# process status file, shared with the platform's other jobs\n"
    b"MNAAS_Daily_ProcessStatusFlag=0\n"
    b"MNAAS_Daily_ProcessName=MNAAS_Missing_Customer_Files.sh\n"
    b"MNAAS_Script_Process_Id=0\n"
    b"MNAAS_job_status=Success\n"
    b"MNAAS_job_ran_time=2026-11-24 06:30:04\n"
    b"MNAAS_email_sdp_created=No\n"
    b"MOVE_Delay_Email_sent=No\n"
)


@pytest.fixture
def status(tmp_path: Path) -> Path:
    path = tmp_path / "MNAAS_Missing_Customer_Files_ProcessStatusFile"
    path.write_bytes(LEGACY)
    return path


def test_owned_keys_are_the_six_of_the_contract_in_order():
    assert OWNED_KEYS == (
        "MNAAS_Daily_ProcessStatusFlag",
        "MNAAS_Daily_ProcessName",
        "MNAAS_Script_Process_Id",
        "MNAAS_job_status",
        "MNAAS_job_ran_time",
        "MNAAS_email_sdp_created",
    )


def test_read_status_takes_everything_after_the_first_equals(tmp_path):
    path = tmp_path / "s"
    path.write_bytes(b"# A=comment\n\nA=1\nB=x=y\n  \nnot a pair\nC=\nA=2\n")
    assert read_status(path) == {"A": "1", "B": "x=y", "C": ""}


def test_read_status_of_a_missing_file_is_empty(tmp_path):
    assert read_status(tmp_path / "absent") == {}


def test_update_replaces_in_place_and_keeps_every_other_byte(status):
    update_status(status, {"MNAAS_job_status": "Failure", "MNAAS_Daily_ProcessStatusFlag": "1"})
    assert status.read_bytes() == LEGACY.replace(b"ProcessStatusFlag=0", b"ProcessStatusFlag=1").replace(
        b"job_status=Success", b"job_status=Failure"
    )


def test_update_keeps_odd_lines_crlf_duplicates_and_non_utf8(tmp_path):
    path = tmp_path / "s"
    original = (
        b"OTHER=\xff\xfe raw\r\n"
        b"MNAAS_job_status=Success\r\n"
        b"   # indented comment\n"
        b"MNAAS_job_status=second copy\n"
        b"no equals sign here"
    )
    path.write_bytes(original)
    update_status(path, {"MNAAS_job_status": "Failure", "NEW_KEY": "v"})
    assert path.read_bytes() == (
        b"OTHER=\xff\xfe raw\r\n"
        b"MNAAS_job_status=Failure\r\n"
        b"   # indented comment\n"
        b"MNAAS_job_status=second copy\n"
        b"no equals sign here\n"
        b"NEW_KEY=v\n"
    )


def test_update_creates_a_missing_file_readable_but_not_world_writable(tmp_path):
    path = tmp_path / "new_status"
    update_status(path, {"MNAAS_job_status": "Success"})
    assert path.read_bytes() == b"MNAAS_job_status=Success\n"
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & stat.S_IWOTH == 0
    assert mode & 0o600 == 0o600


def test_update_keeps_the_mode_of_an_existing_file(status):
    os.chmod(status, 0o660)
    update_status(status, {"MNAAS_job_status": "Failure"})
    assert stat.S_IMODE(status.stat().st_mode) == 0o660


def test_update_follows_a_symlink_and_keeps_it(status, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(status)
    update_status(link, {"MNAAS_job_status": "Failure"})
    assert link.is_symlink()
    assert read_status(status)["MNAAS_job_status"] == "Failure"


def test_update_refuses_a_value_that_would_add_a_line(status):
    with pytest.raises(StatusFileError):
        update_status(status, {"MNAAS_job_status": "Success\nMNAAS_Daily_ProcessStatusFlag=0"})
    assert status.read_bytes() == LEGACY


def test_io_error_names_the_path(tmp_path):
    missing_dir = tmp_path / "no" / "such" / "dir" / "status"
    with pytest.raises(StatusFileError, match=str(missing_dir)):
        update_status(missing_dir, {"MNAAS_job_status": "Success"})


def test_no_temp_files_are_left_behind(status):
    update_status(status, {"MNAAS_job_status": "Failure"})
    assert sorted(p.name for p in status.parent.iterdir()) == [status.name, status.name + ".lock"]


@pytest.mark.parametrize("flag", ["0", "1"])
def test_begin_run_starts_from_flag_0_or_1(status, flag):
    update_status(status, {"MNAAS_Daily_ProcessStatusFlag": flag})
    begin_run(status, "MNAAS_Missing_Customer_Files.sh", 4242)
    values = read_status(status)
    assert values["MNAAS_Daily_ProcessStatusFlag"] == "1"
    assert values["MNAAS_Script_Process_Id"] == "4242"
    assert values["MNAAS_Daily_ProcessName"] == "MNAAS_Missing_Customer_Files.sh"
    assert values["MOVE_Delay_Email_sent"] == "No"


def test_begin_run_creates_a_missing_file(tmp_path):
    path = tmp_path / "status"
    begin_run(path, "job.sh", 7)
    assert path.read_bytes() == (
        b"MNAAS_Daily_ProcessStatusFlag=1\nMNAAS_Daily_ProcessName=job.sh\nMNAAS_Script_Process_Id=7\n"
    )


def test_begin_run_treats_a_missing_flag_as_0(tmp_path):
    path = tmp_path / "status"
    path.write_bytes(b"OTHER=1\n")
    begin_run(path, "job.sh", 7)
    assert read_status(path)["MNAAS_Daily_ProcessStatusFlag"] == "1"


@pytest.mark.parametrize("flag", ["2", "HOLD", "01"])
def test_a_held_flag_refuses_and_changes_nothing(status, flag):
    held = LEGACY.replace(b"ProcessStatusFlag=0", b"ProcessStatusFlag=" + flag.encode())
    status.write_bytes(held)
    with pytest.raises(JobHeld) as info:
        begin_run(status, "job.sh", 99)
    message = str(info.value)
    assert str(status) in message and repr(flag) in message and "to 0" in message
    assert info.value.exit_code == 4
    assert status.read_bytes() == held
    with pytest.raises(JobHeld):
        check_not_held(status)
    assert status.read_bytes() == held


def test_check_not_held_passes_for_a_startable_flag_without_writing(status):
    before = status.stat().st_mtime_ns
    check_not_held(status)
    check_not_held(status.parent / "absent")
    assert status.stat().st_mtime_ns == before
    assert not (status.parent / "absent").exists()


def test_success_resets_everything_the_contract_names(status):
    begin_run(status, "MNAAS_Missing_Customer_Files.sh", 555)
    record_success(status, "2026-11-25 06:30:09")
    assert status.read_bytes() == LEGACY.replace(b"2026-11-24 06:30:04", b"2026-11-25 06:30:09")


def test_one_ticket_per_failure_episode(status):
    tickets = []
    assert record_failure(status, lambda: tickets.append(1)) is True
    after_first = read_status(status)
    assert after_first["MNAAS_Daily_ProcessStatusFlag"] == "1"
    assert after_first["MNAAS_Script_Process_Id"] == "0"
    assert after_first["MNAAS_job_status"] == "Failure"
    assert after_first["MNAAS_email_sdp_created"] == "Yes"
    assert after_first["MNAAS_job_ran_time"] == "2026-11-24 06:30:04"  # success only

    assert record_failure(status, lambda: tickets.append(2)) is False
    assert tickets == [1]

    record_success(status, "2026-11-26 06:30:00")
    assert read_status(status)["MNAAS_email_sdp_created"] == "No"
    assert record_failure(status, lambda: tickets.append(3)) is True
    assert tickets == [1, 3]


def test_a_failed_ticket_still_records_the_failure_and_retries_next_time(status):
    def broken_mail():
        raise ConnectionRefusedError("smtp down")

    with pytest.raises(ConnectionRefusedError):
        record_failure(status, broken_mail)
    values = read_status(status)
    assert values["MNAAS_job_status"] == "Failure"
    assert values["MNAAS_Daily_ProcessStatusFlag"] == "1"
    assert values["MNAAS_email_sdp_created"] == "No"

    tickets = []
    assert record_failure(status, lambda: tickets.append("sent")) is True
    assert tickets == ["sent"]
    assert read_status(status)["MNAAS_email_sdp_created"] == "Yes"


def test_the_failure_is_on_disk_before_the_ticket_is_sent(status):
    seen = {}
    record_failure(status, lambda: seen.update(read_status(status)))
    assert seen["MNAAS_job_status"] == "Failure"
    assert seen["MNAAS_email_sdp_created"] == "No"


# --- many real processes at once -----------------------------------------------------------

WRITERS = 8
ROUNDS = 60
FOREIGN = [
    "# process status file, shared with the platform's other jobs\n",
    "MOVE_Delay_Email_sent=No\n",
    "# a trailing comment = with an equals sign\n",
]


def _writer(path: str, index: int) -> None:
    for round_ in range(ROUNDS):
        update_status(path, {f"WRITER_{index}": str(round_), "MNAAS_job_status": f"w{index}"})


def _reader(path: str, stop, failures) -> None:
    keys = [f"WRITER_{i}" for i in range(WRITERS)] + ["MNAAS_job_status"]
    reads = 0
    while not stop.is_set() or reads == 0:
        text = Path(path).read_text()
        reads += 1
        lines = text.splitlines(keepends=True)
        for foreign in FOREIGN:
            if lines.count(foreign) != 1:
                failures.put(f"foreign line lost: {foreign!r} in {text!r}")
                return
        names = [line.split("=", 1)[0] for line in lines if not line.startswith("#")]
        for key in keys:
            if names.count(key) != 1:
                failures.put(f"{key} appears {names.count(key)} times in {text!r}")
                return
    failures.put(f"ok {reads}")


def test_concurrent_writers_and_a_reader_never_see_a_broken_file(tmp_path):
    path = tmp_path / "status"
    seed = [FOREIGN[0], "MNAAS_job_status=start\n"]
    seed += [f"WRITER_{i}=init\n" for i in range(WRITERS)]
    seed += FOREIGN[1:]
    path.write_text("".join(seed))

    ctx = multiprocessing.get_context("spawn")
    stop, failures = ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(str(path), stop, failures))
    reader.start()
    writers = [ctx.Process(target=_writer, args=(str(path), i)) for i in range(WRITERS)]
    for proc in writers:
        proc.start()
    for proc in writers:
        proc.join(60)
        assert proc.exitcode == 0
    stop.set()
    reader.join(30)
    verdict = failures.get(timeout=5)
    assert verdict.startswith("ok "), verdict

    final = read_status(path)
    for i in range(WRITERS):
        assert final[f"WRITER_{i}"] == str(ROUNDS - 1)
    assert final["MNAAS_job_status"] in {f"w{i}" for i in range(WRITERS)}
    lines = path.read_text().splitlines(keepends=True)
    assert lines[0] == FOREIGN[0] and lines[-2:] == FOREIGN[1:]
    assert len(lines) == 1 + 1 + WRITERS + 2


def test_the_lock_file_sits_next_to_the_status_file(status):
    assert statusfile.lock_path(status) == Path(str(status) + ".lock")


# --- other jobs write the file with `sed -i`, without the lock (contract §13) -------------


def _sed(path: Path, script: str) -> None:
    subprocess.run(["sed", "-i", script, str(path)], check=True)


def test_an_edit_is_redone_when_sed_changed_the_file_after_it_was_read(status, monkeypatch):
    real_read = statusfile._read_lines
    calls = []

    def read_then_sed(path):
        lines = real_read(path)
        if not calls:  # another job's sed -i lands between our read and our rename
            _sed(path, "s/^MOVE_Delay_Email_sent=.*/MOVE_Delay_Email_sent=Yes/")
        calls.append(1)
        return lines

    monkeypatch.setattr(statusfile, "_read_lines", read_then_sed)
    update_status(status, {"MNAAS_job_status": "Failure"})
    after = read_status(status)
    assert after["MOVE_Delay_Email_sent"] == "Yes"  # theirs kept
    assert after["MNAAS_job_status"] == "Failure"  # ours written
    assert len(calls) >= 2


def _stale_sed_after_our_write(monkeypatch, stale: bytes) -> None:
    """Just after our rename, a sed -i that read the file before it renames its copy in."""
    real_wait = statusfile._wait_for_foreign_edits
    done = []

    def stale_rename(path):
        if not done:
            done.append(1)
            temp = path.with_name("sedAbc123")
            temp.write_bytes(stale)
            os.replace(temp, path)
        real_wait(path)

    monkeypatch.setattr(statusfile, "_wait_for_foreign_edits", stale_rename)


def test_own_keys_undone_by_a_sed_that_read_before_our_write_are_written_again(status, monkeypatch):
    stale = LEGACY.replace(b"MOVE_Delay_Email_sent=No", b"MOVE_Delay_Email_sent=Yes")
    _stale_sed_after_our_write(monkeypatch, stale)
    begin_run(status, "MNAAS_Missing_Customer_Files.sh", 4242)
    after = read_status(status)
    assert after["MOVE_Delay_Email_sent"] == "Yes"  # theirs kept
    assert (after["MNAAS_Daily_ProcessStatusFlag"], after["MNAAS_Script_Process_Id"]) == ("1", "4242")


def test_a_key_someone_set_on_purpose_after_our_write_is_left_alone(status, monkeypatch):
    # An operator's hold (a third value, neither ours nor the one before) is not "undone".
    stale = LEGACY.replace(b"MNAAS_Daily_ProcessStatusFlag=0", b"MNAAS_Daily_ProcessStatusFlag=HOLD")
    _stale_sed_after_our_write(monkeypatch, stale)
    begin_run(status, "MNAAS_Missing_Customer_Files.sh", 4242)
    after = read_status(status)
    assert after["MNAAS_Daily_ProcessStatusFlag"] == "HOLD"
    assert after["MNAAS_Script_Process_Id"] == "4242"  # reverted to its old value: put back
