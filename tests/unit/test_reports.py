"""The CSV/TXT reports: exact content, file modes, and all-or-nothing replacement."""

from __future__ import annotations

import datetime as dt
import os
import stat
import tracemalloc

import pytest

from mnaas_missing_files.core.errors import ReportError
from mnaas_missing_files.core.model import PairRow
from mnaas_missing_files.reporting.reports import CSV_HEADER, ReportSummary, write_reports

DAY = dt.date(2026, 11, 24)
ACME = 'Acme, "Big" Co'
TELEPHONIE = "Téléphonie Ünited"


def pair(process, ctype, customer, received, generated, missing):
    return PairRow(DAY, process, ctype, customer, received, generated, missing)


MIXED_ROWS = [
    pair("traffic", "regular", "eLUX", 5, 3, ["eLUX_a.cdr", "eLUX_b.cdr"]),
    pair("traffic", "regular", ACME, 2, 2, []),
    pair("traffic", "infonova", "INFONOVA_CHT", 4, 3, ["INFONOVA_CHT_x.cdr"]),
    pair("traffic", "infonova", "INFONOVA_VF", 0, 1, []),
    pair("actives", "regular", "eLUX", None, None, None),  # its group failed
    pair("actives", "regular", ACME, None, None, None),
    pair("actives", "infonova", TELEPHONIE, 1, 0, [f"{TELEPHONIE}_é.cdr"]),
]

# Worked out by hand from MIXED_ROWS: difference = received - generated, unknown -> empty.
MIXED_CSV = (
    "file_date,process_name,customer_type,customer_name,file_received,file_generated,"
    "difference,missing_files_listed\n"
    "2026-11-24,traffic,regular,eLUX,5,3,2,2\n"
    '2026-11-24,traffic,regular,"Acme, ""Big"" Co",2,2,0,0\n'
    "2026-11-24,traffic,infonova,INFONOVA_CHT,4,3,1,1\n"
    "2026-11-24,traffic,infonova,INFONOVA_VF,0,1,-1,0\n"
    "2026-11-24,actives,regular,eLUX,,,,\n"
    '2026-11-24,actives,regular,"Acme, ""Big"" Co",,,,\n'
    "2026-11-24,actives,infonova,Téléphonie Ünited,1,0,1,1\n"
).encode()
MIXED_TXT = ("eLUX_a.cdr\neLUX_b.cdr\nINFONOVA_CHT_x.cdr\nTéléphonie Ünited_é.cdr\n").encode()


@pytest.fixture
def umask():
    previous = os.umask(0o022)
    os.umask(previous)

    def set_umask(value):
        os.umask(value)

    yield set_umask
    os.umask(previous)


def paths(tmp_path):
    return tmp_path / "reports" / "r.csv", tmp_path / "reports" / "r.txt"


def test_header_is_the_contract_header():
    assert CSV_HEADER == (
        "file_date,process_name,customer_type,customer_name,file_received,"
        "file_generated,difference,missing_files_listed"
    )


def test_mixed_case_csv_and_txt_exactly(tmp_path):
    csv_path, txt_path = paths(tmp_path)
    summary = write_reports(iter(MIXED_ROWS), csv_path, txt_path, 0o640)
    assert csv_path.read_bytes() == MIXED_CSV
    assert txt_path.read_bytes() == MIXED_TXT
    assert summary == ReportSummary(
        pairs=7, known_pairs=5, unknown_pairs=2, missing_files=4, csv_path=csv_path, txt_path=txt_path
    )


def test_no_rows_gives_header_only_and_empty_txt(tmp_path):
    csv_path, txt_path = paths(tmp_path)
    summary = write_reports([], csv_path, txt_path, 0o640)
    assert csv_path.read_bytes() == (CSV_HEADER + "\n").encode()
    assert txt_path.read_bytes() == b""
    assert (summary.pairs, summary.missing_files) == (0, 0)


def test_txt_keeps_row_order_and_lists_each_name_once_per_pair(tmp_path):
    csv_path, txt_path = paths(tmp_path)
    rows = [
        pair("p1", "regular", "Zed", 3, 0, ["Zed_c", "Zed_a", "Zed_c"]),  # not sorted, a dup
        pair("p1", "regular", "Amy", 1, 0, ["Amy_b"]),
        pair("p2", "regular", "Zed", 1, 0, ["Zed_c"]),  # same name, other pair: listed again
    ]
    summary = write_reports(rows, csv_path, txt_path, 0o600)
    assert txt_path.read_text("utf-8") == "Zed_c\nZed_a\nAmy_b\nZed_c\n"
    assert csv_path.read_text("utf-8").splitlines()[1] == "2026-11-24,p1,regular,Zed,3,0,3,2"
    assert summary.missing_files == 4


def test_txt_escapes_line_breaks_and_backslashes_unambiguously(tmp_path):
    # A real newline, a literal backslash-n, a CR and a lone backslash: four distinct names
    # that must give four distinct lines (written out by hand, byte for byte).
    names = ["eLUX_a\nb", "eLUX_a\\nb", "eLUX_c\rd", "eLUX_e\\"]
    csv_path, txt_path = paths(tmp_path)
    write_reports([pair("p1", "regular", "eLUX", 4, 0, names)], csv_path, txt_path, 0o640)
    assert txt_path.read_bytes() == b"eLUX_a\\nb\neLUX_a\\\\nb\neLUX_c\\rd\neLUX_e\\\\\n"
    assert len(set(txt_path.read_bytes().splitlines())) == 4


@pytest.mark.parametrize("mask", [0o000, 0o077])
@pytest.mark.parametrize("mode", [0o640, 0o600])
def test_file_mode_is_exact_whatever_the_umask(tmp_path, umask, mode, mask):
    csv_path, txt_path = paths(tmp_path)
    umask(mask)
    write_reports(MIXED_ROWS, csv_path, txt_path, mode)
    assert stat.S_IMODE(csv_path.stat().st_mode) == mode
    assert stat.S_IMODE(txt_path.stat().st_mode) == mode
    assert stat.S_IMODE(csv_path.parent.stat().st_mode) == 0o750


def test_missing_parent_directories_are_created_0750(tmp_path, umask):
    umask(0o077)
    csv_path = tmp_path / "a" / "b" / "r.csv"
    txt_path = tmp_path / "c" / "r.txt"
    write_reports(MIXED_ROWS, csv_path, txt_path, 0o640)
    for directory in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "c"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o750


@pytest.mark.parametrize("mode", [0o666, 0o642, 0o602, 0o4640, -1, "0640"])
def test_world_writable_or_bogus_mode_is_refused(tmp_path, mode):
    csv_path, txt_path = paths(tmp_path)
    with pytest.raises(ReportError):
        write_reports(MIXED_ROWS, csv_path, txt_path, mode)
    assert not csv_path.parent.exists()


def test_same_path_for_both_reports_is_refused(tmp_path):
    csv_path, _ = paths(tmp_path)
    with pytest.raises(ReportError, match="share"):
        write_reports(MIXED_ROWS, csv_path, csv_path, 0o640)


def previous_reports(tmp_path):
    csv_path, txt_path = paths(tmp_path)
    write_reports([pair("old", "regular", "Old", 1, 0, ["Old_1"])], csv_path, txt_path, 0o640)
    return csv_path, txt_path, csv_path.read_bytes(), txt_path.read_bytes()


def test_rows_failing_midway_leave_previous_reports_and_no_temps(tmp_path):
    csv_path, txt_path, old_csv, old_txt = previous_reports(tmp_path)

    def rows_then_boom():
        yield MIXED_ROWS[0]
        yield MIXED_ROWS[1]
        raise RuntimeError("warehouse went away")

    with pytest.raises(ReportError) as caught:
        write_reports(rows_then_boom(), csv_path, txt_path, 0o640)
    assert str(csv_path) in str(caught.value) and "warehouse went away" in str(caught.value)
    assert csv_path.read_bytes() == old_csv
    assert txt_path.read_bytes() == old_txt
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["r.csv", "r.txt"]


def test_txt_directory_unusable_leaves_previous_csv_and_no_temps(tmp_path):
    csv_path, _, old_csv, _ = previous_reports(tmp_path)
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where a directory should be")
    txt_path = blocker / "r.txt"
    with pytest.raises(ReportError) as caught:
        write_reports(MIXED_ROWS, csv_path, txt_path, 0o640)
    assert str(txt_path) in str(caught.value)
    assert csv_path.read_bytes() == old_csv
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["r.csv", "r.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_txt_directory_not_writable_leaves_previous_csv(tmp_path):
    csv_path, _, old_csv, _ = previous_reports(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(ReportError, match="locked"):
            write_reports(MIXED_ROWS, csv_path, locked / "r.txt", 0o640)
    finally:
        locked.chmod(0o700)
    assert csv_path.read_bytes() == old_csv
    assert list(locked.iterdir()) == []


def test_failed_second_rename_puts_the_first_report_back(tmp_path):
    csv_path, txt_path, old_csv, _ = previous_reports(tmp_path)
    txt_path.unlink()
    txt_path.mkdir()  # the TXT rename onto a directory fails after the CSV rename succeeded
    with pytest.raises(ReportError, match="r.txt"):
        write_reports(MIXED_ROWS, csv_path, txt_path, 0o640)
    assert csv_path.read_bytes() == old_csv
    assert stat.S_IMODE(csv_path.stat().st_mode) == 0o640
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["r.csv", "r.txt"]
    assert list(txt_path.iterdir()) == []


def test_failed_second_rename_without_previous_csv_leaves_no_csv(tmp_path):
    csv_path, txt_path = paths(tmp_path)
    txt_path.mkdir(parents=True)
    with pytest.raises(ReportError):
        write_reports(MIXED_ROWS, csv_path, txt_path, 0o640)
    assert not csv_path.exists()
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["r.txt"]


def test_rows_are_streamed_not_built_in_memory(tmp_path):
    csv_path, txt_path = paths(tmp_path)
    names = [f"Customer_file_{i:08d}.cdr" for i in range(2000)]  # shared: input costs nothing

    def rows():
        for i in range(150):
            yield pair("traffic", "regular", f"C{i}", 2000, 0, names)

    tracemalloc.start()
    try:
        summary = write_reports(rows(), csv_path, txt_path, 0o640)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.missing_files == 300_000
    assert txt_path.stat().st_size == 300_000 * (len(names[0]) + 1)
    assert peak < 1_000_000, f"peak {peak} bytes for a {txt_path.stat().st_size} byte report"
