"""`compare LEGACY_DIR PRODUCT_DIR` (contract §16): per day identical, only in one, or what
differs; exit 0 only when every compared day is identical."""

import pytest

from mnaas_missing_files.cli.main import main

HEADER = (
    "file_date,process_name,customer_type,customer_name,file_received,file_generated,difference,missing_files_listed"
)
ROWS = [
    "2026-11-20,traffic,regular,eLUX,10,8,2,2",
    "2026-11-20,traffic,regular,Sky Roam,5,5,0,0",
    "2026-11-20,traffic,infonova,INFONOVA_VF,3,3,0,0",
]
NAMES = ["eLUX_f1.csv", "eLUX_f2.csv"]


def write_day(directory, day, rows=ROWS, names=NAMES, header=HEADER, line_end="\n"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"Missing_Customer_Files_Report_{day}.csv").write_text(
        line_end.join([header, *rows]) + line_end, newline=""
    )
    (directory / f"Missing_Customer_Files_{day}.txt").write_text("".join(n + line_end for n in names), newline="")


def compare(capsys, *args):
    code = main(["compare", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_identical_files_whatever_quoting_order_and_line_ends(tmp_path, capsys):
    legacy, product = tmp_path / "legacy", tmp_path / "product"
    # The legacy job: CRLF, quoted fields, rows and names in another order, other files beside.
    quoted = [",".join(f'"{v}"' for v in row.split(",")) for row in reversed(ROWS)]
    write_day(legacy, "2026-11-20", rows=quoted, names=['"eLUX_f2.csv"', "eLUX_f1.csv"], line_end="\r\n")
    (legacy / "query_output.txt").write_text("anything\n")
    write_day(product, "2026-11-20")
    (product / "Missing_Customer_Files_Outstanding_2026-11-20.csv").write_text("not compared\n")
    code, out, _ = compare(capsys, legacy, product)
    assert out == ["2026-11-20 identical", "compared 1 day(s) from 2026-11-20 to 2026-11-20: 1 identical"]
    assert code == 0


@pytest.mark.parametrize(
    "legacy_day, product_day, details",
    [
        (  # a count difference: the pair and the counts
            {},
            {"rows": [ROWS[0], "2026-11-20,traffic,regular,Sky Roam,5,4,1,0", ROWS[2]]},
            ["  pair traffic/regular/Sky Roam: file_generated 5 vs 4, difference 0 vs 1 (legacy vs product)"],
        ),
        (  # a name and a pair only in one side
            {"names": [*NAMES, "eLUX_f3.csv"]},
            {"rows": ROWS[:2], "names": [*NAMES, "Sky Roam_x.csv"]},
            [
                "  pair traffic/infonova/INFONOVA_VF only in legacy",
                "  1 name(s) only in legacy: eLUX_f3.csv",
                "  1 name(s) only in product: Sky Roam_x.csv",
            ],
        ),
    ],
)
def test_what_differs_is_named(tmp_path, capsys, legacy_day, product_day, details):
    legacy, product = tmp_path / "legacy", tmp_path / "product"
    write_day(legacy, "2026-11-20", **legacy_day)
    write_day(product, "2026-11-20", **product_day)
    code, out, _ = compare(capsys, legacy, product)
    assert out == [
        "2026-11-20 differs",
        *details,
        "compared 1 day(s) from 2026-11-20 to 2026-11-20: 1 differs",
    ]
    assert code == 1


def test_a_day_only_in_one_side_and_the_range(tmp_path, capsys):
    legacy, product = tmp_path / "legacy", tmp_path / "product"
    for day in ("2026-11-19", "2026-11-20", "2026-11-21"):
        write_day(legacy, day)
    write_day(product, "2026-11-20")
    write_day(product, "2026-11-22")
    code, out, _ = compare(capsys, legacy, product)
    assert out == [
        "2026-11-19 only in legacy",
        "2026-11-20 identical",
        "2026-11-21 only in legacy",
        "2026-11-22 only in product",
        "compared 4 day(s) from 2026-11-19 to 2026-11-22: 1 identical, 3 only in one",
    ]
    assert code == 1
    code, out, _ = compare(capsys, legacy, product, "--from", "2026-11-20", "--to", "2026-11-20")
    assert (code, out[0]) == (0, "2026-11-20 identical")


def test_a_csv_without_the_columns_makes_the_day_differ(tmp_path, capsys):
    legacy, product = tmp_path / "legacy", tmp_path / "product"
    write_day(legacy, "2026-11-20", header=HEADER.replace("customer_type", "type"))
    write_day(product, "2026-11-20")
    code, out, _ = compare(capsys, legacy, product)
    assert out[:2] == [
        "2026-11-20 differs",
        f"  legacy CSV unreadable: {legacy}/Missing_Customer_Files_Report_2026-11-20.csv has no column customer_type",
    ]
    assert code == 1


def test_no_day_to_compare_is_exit_1_and_a_missing_directory_exit_2(tmp_path, capsys):
    (tmp_path / "legacy").mkdir()
    write_day(tmp_path / "product", "2026-11-20")
    code, out, err = compare(capsys, tmp_path / "legacy", tmp_path / "product", "--from", "2026-12-01")
    assert (code, out) == (1, [])
    assert "nothing compared" in err
    code, out, err = compare(capsys, tmp_path / "legacy", tmp_path / "typo")
    assert code == 2
    assert f"the product directory {tmp_path / 'typo'} does not exist" in err


@pytest.mark.parametrize("cut", [1, 25])
def test_many_names_are_counted_beyond_the_shown_ones(tmp_path, capsys, cut):
    legacy, product = tmp_path / "legacy", tmp_path / "product"
    extra = [f"eLUX_x{i:02d}.csv" for i in range(cut)]
    write_day(legacy, "2026-11-20", names=NAMES + extra)
    write_day(product, "2026-11-20")
    _, out, _ = compare(capsys, legacy, product)
    line = out[1]
    assert line.startswith(f"  {cut} name(s) only in legacy: eLUX_x00.csv")
    assert line.endswith(f"… and {cut - 20} more") == (cut > 20)
