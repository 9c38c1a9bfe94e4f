"""Shadow mode's pure parts (contract §16): every path a run writes moves into the shadow
directory, a real directory is refused, and the directory travels in the plan."""

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from mnaas_missing_files.cli.doctor_checks import writable
from mnaas_missing_files.config.options import OPTIONS
from mnaas_missing_files.core.errors import ConfigError
from mnaas_missing_files.core.plan import Batch, Plan
from mnaas_missing_files.run.shadow import shadowed
from tests.helpers.settings import settings_for_tests

# Path settings a run reads but never writes; every other one must move into the shadow.
READ_ONLY_PATHS = {"conf_path", "shadow_dir"}


def real_settings(tmp_path):
    return settings_for_tests(
        conf_path=tmp_path / "conf",
        log_path=tmp_path / "logs" / "job.log_2026-11-25",
        status_file=tmp_path / "conf" / "status",
        csv_path=tmp_path / "reports" / "custom.csv",
        metrics_file=tmp_path / "metrics" / "job.prom",
        smtp_url="smtp://relay.example.net:25",
    )


def test_every_path_a_run_writes_moves_into_the_shadow(tmp_path):
    shadow_dir = tmp_path / "shadow"
    shadow = shadowed(real_settings(tmp_path), shadow_dir)
    path_attrs = {o.attr for o in OPTIONS if o.kind == "path"} - READ_ONLY_PATHS
    assert {"csv_path", "txt_path", "outstanding_path", "log_path", "status_file", "outbox_dir"} <= path_attrs
    for attr in path_attrs:
        value = getattr(shadow, attr)
        assert value is None or Path(value).is_relative_to(shadow_dir), attr
    assert shadow.csv_path == shadow_dir / "Missing_Customer_Files_Report_2026-11-24.csv"  # the default name
    assert shadow.txt_path == shadow_dir / "Missing_Customer_Files_2026-11-24.txt"
    assert shadow.outstanding_path == shadow_dir / "Missing_Customer_Files_Outstanding_2026-11-24.csv"
    assert shadow.log_path == shadow_dir / "job.log_2026-11-25"
    assert shadow.status_file == shadow_dir / "status"
    assert shadow.metrics_file == shadow_dir / "job.prom"
    assert shadow.smtp_url is None  # never sent
    assert shadow.shadow_dir == shadow_dir


@pytest.mark.parametrize("where", ["conf", "reports", "logs", "metrics"])
def test_a_directory_where_real_files_are_written_is_refused(tmp_path, where):
    with pytest.raises(ConfigError, match="a shadow run must write elsewhere") as caught:
        shadowed(real_settings(tmp_path), tmp_path / where)
    assert caught.value.exit_code == 2


def test_the_shadow_directory_travels_in_the_plan():
    plan = Plan(run_id="r1", day=dt.date(2026, 11, 24), batches=[Batch("1/1", ("traffic",), ("eLUX",))])
    assert "shadow_dir" not in plan.to_json()  # a normal run's message is unchanged
    shadow = dataclasses.replace(plan, shadow_dir="/var/lib/shadow")
    assert Plan.from_json(shadow.to_json()).shadow_dir == "/var/lib/shadow"
    assert Plan.from_json(plan.to_json()).shadow_dir is None


def test_a_path_that_does_not_exist_yet_is_writable_when_its_nearest_ancestor_is(tmp_path):
    assert writable(tmp_path / "a" / "b" / "c", directory=True) is None
    (tmp_path / "file").write_text("")
    assert writable(tmp_path / "file", directory=False) is None
    assert writable(tmp_path / "file", directory=True) == f"{tmp_path / 'file'} is not a directory"
    assert writable(tmp_path / "file" / "x", directory=True) == (
        f"{tmp_path / 'file'} (on the way to {tmp_path / 'file' / 'x'}) is not a directory"
    )
