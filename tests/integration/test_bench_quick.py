"""`make bench` keeps working: the quick profile, every way, real worker processes.

Timings are not asserted (this machine is shared); what must hold on any machine is: every
way writes reports byte-identical to the legacy-shaped baseline, and `run` and `submit` issue
two queries per group task, as many tasks as their workers (MNAAS_GROUP_SIZE permitting),
never one per customer, process or customer type.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.harness import run_profile
from bench.profiles import PROFILES
from bench.report import report

pytestmark = [pytest.mark.redis, pytest.mark.slow]

# The quick profile is one group with the product's grouping; this test asks for two (what
# the fan-out needs) with MNAAS_GROUP_SIZE=4.
QUICK = dataclasses.replace(PROFILES["quick"], group_size=4)
# By hand: 8 customers, at most 4 per group task (MNAAS_GROUP_SIZE), each task every process:
# at least 2 tasks; and at least 500 customers a task where the cap allows
# (MNAAS_MIN_GROUP_CUSTOMERS' default), so no more: `run`'s 4 workers, submit_w1 and submit_w2
# all get 2 tasks. The baseline asks twice per pair: 2 x 2 processes x 8 customers.
GROUPS = {"run": 2, "run_l0": 2, "submit_w1": 2, "submit_w2": 2}
PAIRS = 16


def test_quick_profile_every_way_identical_and_two_queries_per_group(tmp_path):
    assert (QUICK.groups, QUICK.pairs) == (GROUPS["run"], PAIRS)
    doc = run_profile("quick", workdir=tmp_path, write_results=False, group_size=QUICK.group_size)
    ways = doc["ways"]
    assert set(ways) == {"baseline", "run", "submit_w1", "submit_w2", "run_l0"}, doc["notes"]
    for name, way in ways.items():
        assert set(way) >= {"wall_s", "queries", "peak_rss_mb", "result_bytes", "identical"}
        assert way["identical"] is True, name
        assert way["exit_code"] == 0, name
        assert way["peak_rss_mb"] > 10, name  # measured, not a placeholder
    assert ways["baseline"]["queries"] == 2 * PAIRS
    for name in ("run", "submit_w1", "submit_w2", "run_l0"):
        # the window costs no query more; + 1: the run's day-input query (contract §14)
        assert ways[name]["queries"] == 2 * GROUPS[name] + 1, name
    # 7 days of history: their never-generated files are outstanding, in the same report
    # for `run` and `submit` (compared by `identical`), and none with L = 0
    assert doc["shape"]["outstanding_files"] > 0
    run_out = tmp_path / "run" / "conf" / "Missing_Customer_Files" / "Missing_Customer_Files_Outstanding_2026-11-24.csv"
    assert run_out.read_text().count("\n") == doc["shape"]["outstanding_files"] + 1
    assert not (tmp_path / "run_l0" / "conf" / "Missing_Customer_Files" / run_out.name).exists()
    for name in ("submit_w1", "submit_w2"):
        assert ways[name]["result_bytes"] > 0, name  # the results did cross the backend
    assert ways["run"]["result_bytes"] == 0
    # The reports really list missing files (an empty day would be identical trivially).
    txt = tmp_path / "baseline" / "conf" / "Missing_Customer_Files" / "Missing_Customer_Files_2026-11-24.txt"
    assert txt.read_text().count("\n") == doc["shape"]["missing_files"] > 0
    json.dumps(doc)  # the results file's content
    assert "reports identical to the baseline: True" in report(doc)
