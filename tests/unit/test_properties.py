"""The legacy properties reader: bash meaning for the subset the real files use, nothing run.

Expected values are worked out by hand from bash's rules (checked against bash where it
helps); the date ones from the fixed clock and run day below.
"""

from __future__ import annotations

import datetime
import pathlib
import shutil

import pytest

from mnaas_missing_files.config import properties
from mnaas_missing_files.config import shellwords as _shellwords
from mnaas_missing_files.config.properties import Properties, parse_properties
from mnaas_missing_files.core.errors import ConfigError
from tests.helpers.jobconfig import EXAMPLES

pytestmark = pytest.mark.timeout(20)  # a lexer bug tends to loop forever

RUN_DAY = datetime.date(2026, 11, 24)
# The real clock is a week after the run day, as in a backfill: -d forms must not use it.
NOW = datetime.datetime(2026, 12, 1, 6, 30, 4)


def parse(path, environ=None, run_day=RUN_DAY, now=NOW) -> Properties:
    return parse_properties(path, environ=environ or {}, run_day=run_day, now=now)


def write(directory: pathlib.Path, text: str, name: str = "job.properties") -> pathlib.Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def values_of(tmp_path, text, **kwargs) -> dict:
    return parse(write(tmp_path, text), **kwargs).values


def error_of(tmp_path, text, **kwargs) -> tuple[ConfigError, pathlib.Path]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        parse(path, **kwargs)
    return caught.value, path


@pytest.fixture
def examples(tmp_path) -> pathlib.Path:
    """The example job file and the common file it sources, with the production path rewritten."""
    shutil.copy(EXAMPLES / "MNAAS_CommonProperties.properties", tmp_path)
    job = tmp_path / "MNAAS_Missing_Customer_Files.properties"
    lines = (EXAMPLES / job.name).read_text().splitlines(keepends=True)
    common = "/app/hadoop_users/MNAAS/MNAAS_Property_Files/MNAAS_CommonProperties.properties"
    assert lines[1] == f". {common}\n"
    lines[1] = f". {tmp_path / 'MNAAS_CommonProperties.properties'}\n"
    job.write_text("".join(lines))
    return job


# --- the example files -------------------------------------------------------------------


def test_example_files_parse_to_the_production_values(examples):
    result = parse(examples)
    conf = "/app/hadoop_users/MNAAS/MNAASConfigFiles"
    v = result.values
    assert v["MNAASConfPath"] == conf
    assert v["query_output1"] == (f"{conf}/Missing_Customer_Files/Missing_Customer_Files_2026-11-24.txt")
    assert v["missing_files_report"] == (f"{conf}/Missing_Customer_Files/Missing_Customer_Files_Report_2026-11-24.csv")
    assert v["MNAAS_Missing_Customer_Files_logpath"] == (
        "/app/hadoop_users/MNAAS/MNAASCronFiles/Logs/MNAAS_Missing_Customer_Files.log_2026-12-01"
    )
    assert v["MNAAS_Missing_Customer_Files_ProcessStatusFilename"] == (
        f"{conf}/MNAAS_Missing_Customer_Files_ProcessStatusFile"
    )
    assert v["MOVE_DEV_TEAM"] == "move-dev@example.com,move-ops@example.com"
    assert v["cc_List"] == "move-lead@example.com"
    assert v["IMPALAD_JDBC_PORT"] == "21050"
    assert v["process_list"] == ["traffic", "actives", "activations", "tolling"]
    assert v["customer_names"] == ["eLUX", "MyRep", "JLR", "Uber_soft_SIM", "Sky Roam"]
    assert v["infonova_customer_names"] == ["INFONOVA_CHT", "INFONOVA_VF"]
    assert result.warnings == []
    common = examples.parent / "MNAAS_CommonProperties.properties"
    assert result.files == [str(examples), str(common)]
    assert result.origins["MNAASConfPath"] == f"{common}:3"
    assert result.origins["query_output1"] == f"{examples}:8"
    assert result.origins["customer_names"] == f"{examples}:15"


def test_example_report_names_follow_the_run_day_in_a_backfill(examples):
    v = parse(examples, run_day=datetime.date(2026, 11, 20)).values
    assert v["query_output1"].endswith("/Missing_Customer_Files_2026-11-20.txt")
    assert v["missing_files_report"].endswith("_Report_2026-11-20.csv")
    assert v["MNAAS_Missing_Customer_Files_logpath"].endswith(".log_2026-12-01")


# --- date substitutions ------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("$(date +%F)", "2026-12-01"),
        ("$(date +_%F)", "_2026-12-01"),
        ("$(date +%Y%m%d%H%M%S)", "20261201063004"),
        ("$(date +%T)", "06:30:04"),
        ("$(date +%j)", "335"),
        ("$(date +%b)", "Dec"),
        ("$(date +%%Y)", "%Y"),
        ("$(date +'%Y/%m/%d')", "2026/12/01"),
        ("\"$(date '+%d %b %Y')\"", "01 Dec 2026"),
        ("$(date -d yesterday +%F)", "2026-11-24"),
        ("$(date -d yesterday +%F\\ %T)", None),  # a backslash inside $(...) is refused
        ("$(date -d 'yesterday' +%Y%m%d)", "20261124"),
        ("$(date -d '1 day ago' +%F)", "2026-11-24"),
        ("$(date -d '2 days ago' +%F)", "2026-11-23"),
        ('$(date -d "3 days ago" +%F)', "2026-11-22"),
        ('$(date -d "-2 days" +%F)', "2026-11-23"),
        ("$(date -d '-1 day' +%F)", "2026-11-24"),
        ("$(date --date=yesterday +%F)", "2026-11-24"),
        ("$(date --date='2 days ago' +%F)", "2026-11-23"),
        ("$(date --date yesterday +%F)", "2026-11-24"),
        ("$(date +%F -d yesterday)", "2026-11-24"),
        ("$(date -d yesterday +%F_%H%M)", "2026-11-24_0630"),
    ],
)
def test_date_substitutions(tmp_path, expression, expected):
    if expected is None:
        error, path = error_of(tmp_path, f"A={expression}\n")
        assert error.where == f"{path}:1"
        return
    assert values_of(tmp_path, f"A={expression}\n")["A"] == expected


def test_date_counts_back_across_a_year_boundary(tmp_path):
    text = "A=$(date -d '2 days ago' +%F)\nB=$(date -d yesterday +%F)\n"
    v = values_of(tmp_path, text, run_day=datetime.date(2026, 1, 1))
    assert v == {"A": "2025-12-31", "B": "2026-01-01"}


def test_epoch_seconds_use_the_clock_and_the_run_day(tmp_path):
    # 08:30:04 at UTC+2 is 06:30:04 UTC, whatever zone the test machine is in.
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    now = datetime.datetime(2026, 11, 25, 8, 30, 4, tzinfo=plus_two)
    v = values_of(tmp_path, "A=$(date +%s)\nB=$(date -d yesterday +%s)\n", now=now)
    # 2026-11-25 is day 20782 after 1970-01-01; 06:30:04 is 23404 s into it.
    assert v == {"A": str(20782 * 86400 + 23404), "B": str(20781 * 86400 + 23404)}


# --- nothing is ever executed ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "A=$(touch x)\n",
        "A=`touch x`\n",
        'A="`touch x`"\n',
        'A="prefix $(touch x) suffix"\n',
        "A=$(date; touch x)\n",
        "A=$(date +%F && touch x)\n",
        'A=$(date -d "$(touch x)" +%F)\n',
        "A=$(date -d tomorrow +%F)\n",
        "A=$(date)\n",
        "A=$((1+2))\n",
        "A=(one $(touch x))\n",
        ". $(touch x)\n",
    ],
)
def test_other_command_substitutions_are_refused_without_running(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    error, path = error_of(tmp_path, "# first line\n" + text)
    assert error.where == f"{path}:2"
    assert not (tmp_path / "x").exists()


def test_the_reader_has_no_way_to_run_anything():
    for module in (properties, _shellwords):
        source = pathlib.Path(module.__file__).read_text()
        for forbidden in ("subprocess", "os.system", "popen", "eval(", "exec(", "import os.sp"):
            assert forbidden not in source.lower(), (module.__name__, forbidden)


# --- syntax ------------------------------------------------------------------------------


def test_quotes_comments_escapes_and_export(tmp_path):
    text = "\n".join(
        [
            "# a full-line comment",
            "   # an indented one",
            "PLAIN=value # trailing comment",
            "HASH=x#y",
            'QUOTED_HASH="a # b"',
            "SINGLE='$PLAIN and ${PLAIN} stay'",
            'DOUBLE="$PLAIN and ${PLAIN}!"',
            r'ESCAPED="cost \$5, \"quoted\", back\\slash, \n kept"',
            r"UNQUOTED_ESCAPE=\$PLAIN",
            "EMPTY=",
            "EMPTY_COMMENT= # nothing",
            "EMPTY_QUOTES=''",
            "MIXED=a'b c'\"d $PLAIN\"e",
            "LONELY_DOLLAR=cost$",
            'LONELY_QUOTED="a$ $"',
            "export EXPORTED=yes",
            'export  SPACED="two words"',
            "export PLAIN",
            "CONTINUED=ab\\",
            "cd",
            "",
        ]
    )
    v = values_of(tmp_path, text)
    assert v == {
        "PLAIN": "value",
        "HASH": "x#y",
        "QUOTED_HASH": "a # b",
        "SINGLE": "$PLAIN and ${PLAIN} stay",
        "DOUBLE": "value and value!",
        "ESCAPED": 'cost $5, "quoted", back\\slash, \\n kept',
        "UNQUOTED_ESCAPE": "$PLAIN",
        "EMPTY": "",
        "EMPTY_COMMENT": "",
        "EMPTY_QUOTES": "",
        "MIXED": "ab cd valuee",
        "LONELY_DOLLAR": "cost$",
        "LONELY_QUOTED": "a$ $",
        "EXPORTED": "yes",
        "SPACED": "two words",
        "CONTINUED": "abcd",
    }


def test_windows_line_endings_do_not_leak_into_values(tmp_path):
    assert values_of(tmp_path, "A=x\r\nB=(p q)\r\n") == {"A": "x", "B": ["p", "q"]}


# --- expansion ---------------------------------------------------------------------------


def test_expansion_from_earlier_keys_then_the_environment(tmp_path):
    text = "\n".join(
        [
            "BASE=/data",
            "FROM_KEY=$BASE/in",
            "BRACED=${BASE}_x",
            "FROM_ENV=$HOME/cfg",
            "SHADOW=$BASE",  # a key beats an environment variable of the same name
            "",
        ]
    )
    v = values_of(tmp_path, text, environ={"HOME": "/home/op", "BASE": "/env"})
    assert v["FROM_KEY"] == "/data/in"
    assert v["BRACED"] == "/data_x"
    assert v["FROM_ENV"] == "/home/op/cfg"
    assert v["SHADOW"] == "/data"


def test_environment_is_used_until_a_key_defines_the_name(tmp_path):
    v = values_of(tmp_path, "A=$X\nX=file\nB=$X\n", environ={"X": "env"})
    assert v == {"A": "env", "X": "file", "B": "file"}


def test_undefined_variable_expands_empty_with_a_warning(tmp_path):
    path = write(tmp_path, '# header\nA=$NOPE/x\nB="${ALSO_NOPE}y"\n')
    result = parse(path)
    assert result.values == {"A": "/x", "B": "y"}
    assert result.warnings == [f"undefined variable NOPE at {path}:2", f"undefined variable ALSO_NOPE at {path}:3"]


def test_a_later_definition_does_not_reach_back(tmp_path):
    path = write(tmp_path, "A=$B\nB=x\n")
    result = parse(path)
    assert result.values == {"A": "", "B": "x"}
    assert result.warnings == [f"undefined variable B at {path}:1"]


def test_array_references_follow_bash(tmp_path):
    text = "\n".join(
        [
            'arr=(first "second two" third)',
            "PLAIN=$arr",
            "BRACED=${arr}",
            "ZERO=${arr[0]}",
            "ONE=${arr[1]}",
            "BEYOND=${arr[9]}",
            "ALL=${arr[@]}",
            'STAR="${arr[*]}"',
            "empty=()",
            "FROM_EMPTY=x${empty}y",
            "SCALAR=s",
            "SCALAR_ALL=${SCALAR[@]}",
            "SCALAR_ONE=${SCALAR[1]}",
            "",
        ]
    )
    result = parse(write(tmp_path, text))
    v = result.values
    assert v["PLAIN"] == "first"
    assert v["BRACED"] == "first"
    assert v["ZERO"] == "first"
    assert v["ONE"] == "second two"
    assert v["BEYOND"] == ""
    assert v["ALL"] == "first second two third"
    assert v["STAR"] == "first second two third"
    assert v["empty"] == []
    assert v["FROM_EMPTY"] == "xy"
    assert v["SCALAR_ALL"] == "s"
    assert v["SCALAR_ONE"] == ""
    assert result.warnings == []


def test_arrays_with_quotes_comments_lines_and_expansion(tmp_path):
    text = "\n".join(
        [
            'WHO="Sky Roam"',
            "list=(  # opening comment",
            "    eLUX 'My Rep'   # trailing comment",
            '    "$WHO" $WHO',
            "    pre_${WHO}",
            "    '' \"\" $UNSET",
            "    a\\ b",
            ")",
            'copy=("${list[@]}")',
            "split=(${list[1]})",
            "one=(x)# a comment may touch the closing paren",
            "",
        ]
    )
    result = parse(write(tmp_path, text))
    v = result.values
    # bash: unquoted $WHO splits into two words; an unset unquoted $UNSET yields none.
    assert v["list"] == ["eLUX", "My Rep", "Sky Roam", "Sky", "Roam", "pre_Sky", "Roam", "", "", "a b"]
    assert v["copy"] == v["list"]
    assert v["split"] == ["My", "Rep"]
    assert v["one"] == ["x"]
    assert result.origins["list"].endswith(":2")
    assert len(result.warnings) == 1 and "UNSET" in result.warnings[0]


def test_scalar_assignment_to_an_array_replaces_its_first_element(tmp_path):
    assert values_of(tmp_path, "a=(x y)\na=z\n") == {"a": ["z", "y"]}


def test_origins_record_the_last_assignment(tmp_path):
    path = write(tmp_path, "A=1\n\nA=2\n")
    result = parse(path)
    assert result.values["A"] == "2"
    assert result.origins["A"] == f"{path}:3"


# --- sourcing ----------------------------------------------------------------------------


def test_relative_source_is_relative_to_the_sourcing_file(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    (conf / "shared").mkdir(parents=True)
    write(conf / "shared", "COMMON=yes\nWHERE=shared\n", "common.properties")
    write(conf / "shared", "DEEP=yes\n", "deep.properties")
    write(conf / "shared", "source deep.properties # sourced from shared/\n", "middle.properties")
    job = write(conf, '. shared/common.properties\nsource "$DIR/middle.properties"\nWHERE=job\n')
    monkeypatch.chdir(tmp_path)  # a different cwd must not matter
    result = parse(job, environ={"DIR": str(conf / "shared")})
    assert result.values == {"COMMON": "yes", "WHERE": "job", "DEEP": "yes"}
    assert result.files == [
        str(job),
        str(conf / "shared/common.properties"),
        str(conf / "shared/middle.properties"),
        str(conf / "shared/deep.properties"),
    ]
    assert result.origins["DEEP"] == f"{conf / 'shared/deep.properties'}:1"


def test_sourcing_the_same_file_twice_is_not_a_cycle(tmp_path):
    write(tmp_path, "N=1\n", "common.properties")
    job = write(tmp_path, ". common.properties\n. common.properties\n")
    assert parse(job).files == [str(job)] + [str(tmp_path / "common.properties")] * 2


def test_missing_sourced_file_names_it_and_the_line(tmp_path):
    error, path = error_of(tmp_path, "A=1\n. $A/nowhere.properties\n")
    assert error.where == f"{path}:2"
    assert "1/nowhere.properties" in str(error)
    assert str(tmp_path) in str(error)  # resolved against the sourcing file's directory


def test_sourcing_cycle_is_detected(tmp_path):
    write(tmp_path, "B=1\n. job.properties\n", "b.properties")
    error, path = error_of(tmp_path, "A=1\n. b.properties\n")
    assert "cycle" in str(error)
    assert error.where == f"{tmp_path / 'b.properties'}:2"


def test_a_file_sourcing_itself_is_a_cycle(tmp_path):
    error, path = error_of(tmp_path, "source ./job.properties\n")
    assert "cycle" in str(error) and error.where == f"{path}:1"


def test_missing_top_level_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        parse(tmp_path / "absent.properties")


# --- errors name file:line (and never values) --------------------------------------------


@pytest.mark.parametrize(
    "text, line, key, words",
    [
        ("A=1\nB='open\nstill open\n", 2, "B", "unterminated single quote"),
        ('A=1\n\nB="open $A\n', 3, "B", "unterminated double quote"),
        ("A=1\nlist=(a b\n  c\n", 2, "list", "unterminated array"),
        ("A=1\nif [ -f x ]; then\n", 2, None, "'if' is not an assignment"),
        ("echo hello\n", 1, None, "'echo' is not an assignment"),
        ("A=1\nsetup() {\n  B=2\n}\n", 2, None, "'setup' is not an assignment"),
        ("A=one two\n", 1, "A", "unquoted space"),
        ("A= two\n", 1, "A", "unquoted space"),
        ("1A=x\n", 1, None, "invalid key name '1A'"),
        ("my-key=x\n", 1, None, "invalid key name 'my-key'"),
        ("export my-key=x\n", 1, None, "invalid key name 'my-key'"),
        ("KEY = x\n", 1, None, "no spaces are allowed around '='"),
        ("A+=x\n", 1, None, "'+=' is not supported"),
        ("A=x; B=y\n", 1, "A", "unsupported shell syntax ';'"),
        ("A=x | y\n", 1, "A", "unsupported shell syntax '|'"),
        ("A=${B:-default}\n", 1, "A", "unsupported expansion ${B...}"),
        ("A=${B\n", 1, "A", "unterminated ${"),
        ("A=${B\nC=}\n", 1, "A", "unterminated ${"),
        ("A=$1\n", 1, "A", "special parameter $1"),
        ("A=$'x'\n", 1, "A", "quoting is not supported"),
        ("A=(a (b))\n", 1, "A", "unexpected '('"),
        ("A=(a b)c\n", 1, "A", "unexpected text after the array"),
        ("A=$(date +%F\n", 1, "A", "unterminated $("),
        (". one.properties two\n", 1, None, "exactly one file name"),
        ("export -p\n", 1, None, "not an assignment"),
    ],
)
def test_errors_name_the_place(tmp_path, text, line, key, words):
    error, path = error_of(tmp_path, text)
    assert error.where == f"{path}:{line}"
    assert error.key == key
    assert words in str(error)
    assert f"{path}:{line}" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        "MNAAS_SMTP_URL = smtp://ops:s3cret@mail:25\n",
        "PASSWORD=s3cret more\n",
        "smtp://ops:s3cret@mail:25\n",
        "A=$(printf s3cret)\n",
    ],
)
def test_errors_do_not_repeat_values(tmp_path, text):
    error, _ = error_of(tmp_path, text)
    assert "s3cret" not in str(error)
