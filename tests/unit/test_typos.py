"""A typo in the job's file never passes (contract §16): exit 2 naming file:line and the key
it resembles; a bash local far from every key is still accepted."""

import datetime as dt
import itertools
import os
import re
import subprocess
import sys

import pytest

from mnaas_missing_files.config.options import OPTIONS
from mnaas_missing_files.config.settings import load_settings
from mnaas_missing_files.config.typos import EXAMPLE_KEYS, distance, known_keys, stray_environment
from mnaas_missing_files.core.errors import ConfigError, ConfigTypo
from tests.helpers.jobconfig import EXAMPLES, make_job

DAY = dt.date(2026, 11, 24)

# The only known keys that are within distance 2 of each other (contract §16): a slip from
# one to the other cannot be caught.
NEAR_PAIRS = {
    frozenset({"query_output", "query_output1"}),
    frozenset({"MNAAS_LOCK_TTL", "MNAAS_LOCK_URL"}),
    frozenset({"SDP_ticket_cc_email", "SDP_ticket_to_email"}),
}

# Settings other issues of this stage add: none may land near a known key either.
COMING_SETTINGS = (
    "MNAAS_KERBEROS_KEYTAB",
    "MNAAS_KERBEROS_PRINCIPAL",
    "MNAAS_BASELINE_WEEKS",
    "MNAAS_SILENT_MIN_DAYS",
    "MNAAS_LOW_INPUT_RATIO",
    "MNAAS_LOW_INPUT_MIN_FILES",
    "MNAAS_QUIET_DAYS",
    "MNAAS_VOLUME_IGNORE",
    "MNAAS_UNMONITORED_IGNORE",
)


def job_with(tmp_path, *lines: str, replace: tuple[str, str] | None = None):
    """The example job with `lines` appended; returns it and the first appended line's number."""
    job = make_job(tmp_path)
    text = job.config.read_text()
    if replace:
        text = text.replace(*replace)
    first = len(text.splitlines()) + 1
    job.config.write_text(text + "".join(line + "\n" for line in lines))
    return job, first


def typo_lines(job) -> list[str]:
    with pytest.raises(ConfigTypo) as caught:
        load_settings(job.config, day=DAY, environ={})
    assert caught.value.exit_code == 2
    return caught.value.problems


@pytest.mark.parametrize(
    "line, key, suggestion",
    [
        ('custmer_names=(eLUX "Sky Roam")', "custmer_names", "customer_names"),  # a legacy key, one letter out
        ("proces_list=(traffic)", "proces_list", "process_list"),
        ("MNAAS_WAREHOSE_URL=duckdb:///x.duckdb", "MNAAS_WAREHOSE_URL", "MNAAS_WAREHOUSE_URL"),
        ("MNAAS_LOOKBAK_DAYS=3", "MNAAS_LOOKBAK_DAYS", "MNAAS_LOOKBACK_DAYS"),
        ("mnaas_lookback_days=3", "mnaas_lookback_days", "MNAAS_LOOKBACK_DAYS"),  # case only
        ("Customer_Names=(eLUX)", "Customer_Names", "customer_names"),
        ("dbnam=mnaas", "dbnam", "dbname"),  # a key only the example files set
    ],
)
def test_a_near_miss_is_exit_2_naming_line_and_known_key(tmp_path, line, key, suggestion):
    job, number = job_with(tmp_path, line)
    assert typo_lines(job) == [f"{job.config}:{number}: unknown key {key}; did you mean {suggestion}?"]


def test_an_unknown_setting_near_nothing_is_exit_2(tmp_path):
    job, number = job_with(tmp_path, "MNAAS_FROBNICATE_EVERYTHING=1")
    assert typo_lines(job) == [f"{job.config}:{number}: unknown key MNAAS_FROBNICATE_EVERYTHING (no such setting)"]


def test_equally_near_keys_are_all_named_in_the_tables_order(tmp_path):
    # MNAAS_LOCK_TL is one insertion from MNAAS_LOCK_TTL and two edits from MNAAS_LOCK_URL:
    # the nearest first. MNAAS_LOCK_TRL is one substitution from each: the settings table
    # has MNAAS_LOCK_URL before MNAAS_LOCK_TTL.
    job, number = job_with(tmp_path, "MNAAS_LOCK_TL=60", "MNAAS_LOCK_TRL=60")
    assert typo_lines(job) == [
        f"{job.config}:{number}: unknown key MNAAS_LOCK_TL; did you mean MNAAS_LOCK_TTL or MNAAS_LOCK_URL?",
        f"{job.config}:{number + 1}: unknown key MNAAS_LOCK_TRL; did you mean MNAAS_LOCK_URL or MNAAS_LOCK_TTL?",
    ]


def test_every_typo_of_the_file_is_reported_before_the_missing_key(tmp_path):
    # customer_names itself is gone: the typo's message, not "required setting missing".
    job, number = job_with(
        tmp_path,
        "MNAAS_GROUP_SIZ=10",
        replace=("\ncustomer_names=(", "\ncustmer_names=("),
    )
    line_of_customers = next(
        i for i, text in enumerate(job.config.read_text().splitlines(), 1) if text.startswith("custmer_names")
    )
    assert typo_lines(job) == [
        f"{job.config}:{line_of_customers}: unknown key custmer_names; did you mean customer_names?",
        f"{job.config}:{number}: unknown key MNAAS_GROUP_SIZ; did you mean MNAAS_GROUP_SIZE?",
    ]


def test_a_bash_local_far_from_every_key_is_accepted(tmp_path, duckdb_url):
    job, _ = job_with(
        tmp_path, "archive_dir=/tmp/archive", "today_stamp=$(date +%F)", f"MNAAS_WAREHOUSE_URL={duckdb_url}"
    )
    settings = load_settings(job.config, day=DAY, environ={})
    assert settings.customers == ("eLUX", "MyRep", "JLR", "Uber_soft_SIM", "Sky Roam")


def test_local_keys_lets_a_local_that_looks_like_a_key_pass(tmp_path, duckdb_url):
    job, number = job_with(tmp_path, "query_output2=/tmp/q2.txt", f"MNAAS_WAREHOUSE_URL={duckdb_url}")
    assert typo_lines(job) == [
        f"{job.config}:{number}: unknown key query_output2; did you mean query_output1 or query_output?"
    ]
    job.config.write_text(job.config.read_text() + "MNAAS_LOCAL_KEYS=(query_output2)\n")
    load_settings(job.config, day=DAY, environ={})
    job.config.write_text(job.config.read_text().replace("MNAAS_LOCAL_KEYS=(query_output2)\n", ""))
    load_settings(job.config, day=DAY, environ={"MNAAS_LOCAL_KEYS": "query_output2"})


def test_a_sourced_common_file_is_not_checked(tmp_path, duckdb_url):
    job, _ = job_with(tmp_path, f"MNAAS_WAREHOUSE_URL={duckdb_url}")
    job.common.write_text(job.common.read_text() + "custmer_names=(x)\nMNAAS_OTHER_JOBS_THING=1\n")
    load_settings(job.config, day=DAY, environ={})


def test_customer_names_is_required_but_may_be_empty_beside_infonova(tmp_path, duckdb_url):
    job, _ = job_with(
        tmp_path, f"MNAAS_WAREHOUSE_URL={duckdb_url}", replace=("\ncustomer_names=(", "\n#customer_names=(")
    )
    with pytest.raises(ConfigError, match="required setting customer_names"):
        load_settings(job.config, day=DAY, environ={})
    job.config.write_text(job.config.read_text() + "customer_names=()\n")
    assert load_settings(job.config, day=DAY, environ={}).infonova_customers == ("INFONOVA_CHT", "INFONOVA_VF")


def test_check_config_exits_2_with_the_typo_on_stderr(tmp_path):
    job, number = job_with(tmp_path, "custmer_names=(eLUX)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    done = subprocess.run(
        [sys.executable, "-m", "mnaas_missing_files.cli.main", "check-config", "--config", str(job.config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"\n{job.config}:{number}: unknown key custmer_names; did you mean customer_names?\n" in done.stderr
    assert done.stdout == ""


def test_a_stray_mnaas_variable_of_the_environment_is_a_warning():
    warnings = stray_environment(
        {"MNAAS_LOOKBAK_DAYS": "3", "MNAAS_CONFIG": "/x", "MNAAS_WORKER_NAME": "w", "PATH": "/"}
    )
    assert warnings == [
        "environment variable MNAAS_LOOKBAK_DAYS is not a setting of this product and is ignored "
        "(did you mean MNAAS_LOOKBACK_DAYS?)"
    ]


def test_no_two_known_keys_are_near_but_the_three_named_pairs():
    keys = tuple(dict.fromkeys(known_keys() + COMING_SETTINGS))  # once each, also once they landed
    near = {frozenset({a, b}) for a, b in itertools.combinations(keys, 2) if distance(a.casefold(), b.casefold()) <= 2}
    assert near == NEAR_PAIRS


def test_the_example_keys_are_what_the_example_files_set():
    assigned = set()
    for name in ("MNAAS_CommonProperties.properties", "MNAAS_Missing_Customer_Files.properties"):
        assigned |= set(re.findall(r"(?m)^(?:export\s+)?([A-Za-z_]\w*)=", (EXAMPLES / name).read_text()))
    settings = {o.key for o in OPTIONS}
    assert set(EXAMPLE_KEYS) == assigned - settings


@pytest.mark.parametrize(
    "a, b, expected",
    [("", "abc", 3), ("kitten", "sitting", 3), ("customer_names", "custmer_names", 1), ("flaw", "lawn", 2)],
)
def test_levenshtein_distance(a, b, expected):
    assert distance(a, b) == expected == distance(b, a)


@pytest.fixture
def duckdb_url(tmp_path):
    import duckdb

    path = tmp_path / "wh.duckdb"
    duckdb.connect(str(path)).close()
    return f"duckdb:///{path}"


def test_doctor_names_every_typo_on_a_fail_line_and_exits_2(tmp_path):
    import io

    from mnaas_missing_files.cli.doctor import run_doctor

    job, number = job_with(tmp_path, "custmer_names=(eLUX)", "MNAAS_NO_SUCH_THING=1")
    out = io.StringIO()
    assert run_doctor(str(job.config), out=out) == 2
    assert out.getvalue().splitlines() == [
        f"FAIL configuration: {job.config}:{number}: unknown key custmer_names; did you mean customer_names?; "
        "fix it (check-config shows every setting)",
        f"FAIL configuration: {job.config}:{number + 1}: unknown key MNAAS_NO_SUCH_THING (no such setting); "
        "fix it (check-config shows every setting)",
    ]
