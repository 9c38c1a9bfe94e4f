"""Every Redis key the product writes is listed in cluster.keys.LAYOUT, with its type and TTL;
each key function's output matches a listed pattern."""

from __future__ import annotations

import datetime as dt
import re

from mnaas_missing_files.cluster import keys
from mnaas_missing_files.state.redislock import lock_key

DAY = dt.date(2026, 11, 24)
JOB = lock_key("MNAAS_Daily_Missing_Files", "/var/mnaas/status/daily.status")


def _matches_a_listed_pattern(key: str) -> list[str]:
    found = []
    for entry in keys.LAYOUT:
        parts = re.split(r"(<[a-z_ ]+>)", entry.pattern)
        regex = "".join(
            r"[^:]+:[0-9a-f]{12}" if part == "<job>" else r"[^:]+" if part.startswith("<") else re.escape(part)
            for part in parts
        )
        if re.fullmatch(regex, key):
            found.append(entry.pattern)
    return found


def test_every_key_the_code_makes_matches_exactly_one_listed_pattern():
    made = [
        JOB,
        f"{JOB}:last",
        keys.run_key("20261124-abcd1234"),
        keys.run_part_key("20261124-abcd1234", "failed"),
        keys.run_part_key("20261124-abcd1234", "done"),
        keys.run_part_key("20261124-abcd1234", "active"),
        keys.run_part_key("20261124-abcd1234", "sent"),
        keys.run_part_key("20261124-abcd1234", "plan"),
        keys.run_part_key("20261124-abcd1234", "finalizer"),
        keys.plan_batch_key("20261124-abcd1234", 3),
        keys.result_key("20261124-abcd1234", "traffic/regular/1"),
        keys.open_key(JOB),
        keys.scheduled_key(JOB, DAY),
        keys.tick_key(JOB, DAY),
        keys.deadline_key(JOB, DAY),
        keys.deliveries_key("0b6e-task", 0),
    ]
    unmatched = {key: found for key in made if len(found := _matches_a_listed_pattern(key)) != 1}
    assert unmatched == {}
    assert len(keys.LAYOUT) == len(made)  # and nothing listed that the code does not make


def test_the_job_s_keys_are_named_by_the_lock_key_s_job_part():
    digest = JOB.rsplit(":", 1)[-1]
    assert JOB == f"mnaas-missing-files:lock:MNAAS_Daily_Missing_Files:{digest}"
    assert keys.open_key(JOB) == f"mnaas-missing-files:open:MNAAS_Daily_Missing_Files:{digest}"
    assert (
        keys.scheduled_key(JOB, DAY) == f"mnaas-missing-files:scheduled:MNAAS_Daily_Missing_Files:{digest}:2026-11-24"
    )


def test_every_listed_key_says_its_type_ttl_and_meaning():
    for entry in keys.LAYOUT:
        assert entry.kind in {"string", "hash", "set"}, entry
        assert entry.ttl and entry.meaning, entry
        assert entry.pattern.startswith("mnaas-missing-files:"), entry


def test_claims_outlive_the_catch_up_window():
    assert keys.claim_ttl(0) == keys.claim_ttl(3) == 8 * 24 * 3600  # a late tick's day at least
    assert keys.claim_ttl(10) == 12 * 24 * 3600  # K + 2 days


def test_no_module_but_the_keys_module_and_the_lock_spells_a_redis_key():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [*root.joinpath("mnaas_missing_files").rglob("*.py"), *root.joinpath("tasks").rglob("*.py")]
    spelled = sorted(
        str(path.relative_to(root))
        for path in sources
        if re.search(r"mnaas-missing-files:|\{PREFIX\}:", path.read_text(encoding="utf-8"))
    )
    assert spelled == ["mnaas_missing_files/cluster/keys.py", "mnaas_missing_files/state/redislock.py"]
