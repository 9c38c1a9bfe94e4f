"""The manual stays true: the configuration page is what the settings table generates, every
link and anchor resolves, the Redis layout is the code's, and the README stays short."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from mnaas_missing_files.cluster import deadline_pass
from mnaas_missing_files.cluster.jobkeys import claim_scheduled_day, count_delivery, pending_tick
from mnaas_missing_files.cluster.keys import LAYOUT
from mnaas_missing_files.cluster.runstate import RedisJournal, RunState
from mnaas_missing_files.config.docs import page
from mnaas_missing_files.core import errors
from mnaas_missing_files.core.model import GroupResult
from mnaas_missing_files.state.redislock import RedisRunLock, lock_key
from tests.helpers.settings import settings_for_tests

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted([README, ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The text without its fenced code blocks, where `#` lines and brackets are code."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", prose(path.read_text()), re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")  # GitHub numbers a repeated heading
    return found


def tracked_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(listed.splitlines())


# -- the configuration page --------------------------------------------------------------------


def test_the_configuration_page_is_what_the_settings_table_generates():
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == page(), "docs/configuration.md is stale: run `make docs` and commit it"


def test_the_configuration_page_names_every_key_check_config_prints(tmp_path):
    printed = [key for key, *_ in settings_for_tests(conf_path=tmp_path).describe()]
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert [key for key in printed if f"\n| `{key}` |" not in text] == []
    assert {"MNAASConfPath", "process_list", "MOVE_DEV_TEAM", "MNAAS_WAREHOUSE_URL"} <= set(printed)


def test_a_setting_s_row_shows_its_type_default_and_escapes_the_table_bar():
    rows = {line.split(" | ")[0][3:-1]: line for line in page().splitlines() if line.startswith("| `")}
    assert rows["MNAAS_GROUP_SIZE"].startswith("| `MNAAS_GROUP_SIZE` | file or environment (environment wins) |")
    assert " | integer ≥ 1 | `1000` | " in rows["MNAAS_GROUP_SIZE"]
    assert " | properties file | text | required | " in rows["MNAAS_Missing_Customer_Files_Scriptname"]
    assert " | `fail` or `warn` | `fail` | " in rows["MNAAS_EMPTY_INPUT"]
    assert " | octal mode | `0640` | " in rows["MNAAS_REPORT_MODE"]
    assert " | derived (see meaning) | " in rows["MNAAS_LOCK_URL"]
    assert "NOSASL\\|PLAIN" in rows["MNAAS_WAREHOUSE_URL"]  # a bare | would split the row
    assert {len(re.split(r"(?<!\\)\|", row)) for row in rows.values()} == {7}  # 5 cells between bars


# -- the README and the links --------------------------------------------------------------------


def test_the_readme_is_short_and_documents_every_exit_code():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    for code in (errors.EXIT_OK, errors.EXIT_FAILED, errors.EXIT_CONFIG, errors.EXIT_LOCKED, errors.EXIT_HELD):
        assert f"\n| {code} | " in text


def test_the_readme_maps_every_page_of_the_manual():
    text = README.read_text()
    assert [p.name for p in (ROOT / "docs").glob("*.md") if f"](docs/{p.name})" not in text] == []


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_to_a_tracked_file_and_heading(path):
    tracked, broken = tracked_files(), []
    for target in LINK.findall(prose(path.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto: are not checked (no network)
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        relative = linked.relative_to(ROOT).as_posix() if linked.is_relative_to(ROOT) else str(linked)
        if relative not in tracked:
            broken.append(f"{target}: {relative} is not a tracked file")
        elif anchor and anchor not in anchors(linked):
            broken.append(f"{target}: no heading of {relative} has the anchor #{anchor}")
    assert broken == []


def test_the_link_check_sees_a_missing_file_and_a_wrong_anchor():
    text = "[a](docs/operations.md#no-such-heading) [b](docs/nowhere.md) [c](#the-two-commands)\n"
    found = LINK.findall(prose(text + "```\n[d](not/a/link.md)\n```\n"))
    assert found == ["docs/operations.md#no-such-heading", "docs/nowhere.md", "#the-two-commands"]
    assert "no-such-heading" not in anchors(ROOT / "docs" / "operations.md")
    assert "docs/nowhere.md" not in tracked_files()
    assert "the-two-commands" in anchors(README)


@pytest.mark.parametrize(
    "heading, anchor",
    [
        ("Flower: a view of the run", "flower-a-view-of-the-run"),
        ("Celery settings (celeryconfig.py)", "celery-settings-celeryconfigpy"),
        ("Warehouse connection (`MNAAS_WAREHOUSE_URL`)", "warehouse-connection-mnaas_warehouse_url"),
        ("The run's lifecycle", "the-runs-lifecycle"),
        ("A held lock (exit 3)", "a-held-lock-exit-3"),
    ],
)
def test_anchors_follow_github_s_heading_slugs(heading, anchor):
    assert slug(heading) == anchor


def test_the_design_page_names_every_package_and_top_level_directory():
    layout = (ROOT / "docs" / "design.md").read_text().split("## The code's layout", 1)[1]
    packages = sorted(p.parent.name for p in (ROOT / "mnaas_missing_files").glob("*/__init__.py"))
    assert [name for name in packages if f"  {name}/ " not in layout] == []
    for directory in ("workers/", "tasks/", "docs/contract.md", "examples/", "tests/unit/", "bench/"):
        assert f"\n{directory}" in layout and (ROOT / directory).exists(), directory


def test_nothing_in_the_repository_names_a_path_outside_it():
    offenders = []
    for name in tracked_files():
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if "../" + "shared" in text or "shared/" + "examples" in text:
            offenders.append(name)
    assert offenders == []


# -- the Redis layout ------------------------------------------------------------------------------

RUN, GROUP, DAY, TASK = "20261124-0a1b2c3d", "traffic/regular/1", dt.date(2026, 11, 24), "6f1c-task"


class KeyRecorder:
    """Stands in for a Redis client and remembers every key the code names: the first argument
    of each command (or its list), and a script's `keys`. Answers as an empty Redis would."""

    def __init__(self):
        self.keys: set[str] = set()

    def __getattr__(self, command):
        def call(*args, **kwargs):
            named = kwargs.get("keys") or (args[0] if args and isinstance(args[0], list) else args[:1])
            self.keys.update(k for k in named if isinstance(k, str) and k.startswith("mnaas-missing-files:"))
            if command in ("pipeline", "register_script"):
                return self if command == "pipeline" else call
            return {"execute": [1, True], "set": True}.get(command)

        return call


def keys_the_code_builds(tmp_path, monkeypatch) -> set[str]:
    settings = settings_for_tests(conf_path=tmp_path)
    job = lock_key(settings.script_name, settings.status_file)
    redis = KeyRecorder()
    state = RunState(redis, RUN)
    state.create(day=DAY, trigger="submit", dry_run=False, total=1, job=job)
    state.save_plan({"run_id": RUN, "batches": [{"batch_id": "1/1"}]})
    state.group_started("1/1")
    state.claim_finalizer("task-1 4242", ttl=60)
    state.group_done(GroupResult(group_id=GROUP, ok=False, error="refused"))
    RedisJournal(redis).mark_sent(RUN, "report")
    claim_scheduled_day(redis, job, DAY, RUN)
    pending_tick(redis, job, DAY, ttl=60, mark=True)
    count_delivery(redis, TASK, 0)
    for name, value in {
        "overdue_day": lambda s: DAY,
        "succeeded": lambda entries, day: False,
        "history_entries": lambda path: [],
        "state_client": lambda s: redis,
        "send_deadline_alert": lambda s, day: "sent",
        "write_metrics_quietly": lambda s, outcome: None,
    }.items():
        monkeypatch.setattr(deadline_pass, name, value)
    deadline_pass.check_deadline(settings)
    lock = RedisRunLock("redis://127.0.0.1:9/0", job, 60)  # connects on first use only
    patterns = {
        key.replace(job.removeprefix("mnaas-missing-files:lock:"), "<job>")
        .replace(RUN, "<run_id>")
        .replace(GROUP, "<group id>")
        .replace(DAY.isoformat(), "<day>")
        .replace(f"{TASK}:0", "<task id>:<retries>")
        .replace(":plan:0", ":plan:<n>")
        for key in redis.keys | {lock.key, lock.last_key}
    }
    return patterns


def test_the_design_page_s_redis_layout_is_the_keys_the_code_builds(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "design.md").read_text()
    table = text.split("## The Redis layout", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(mnaas-missing-files:[^`]+)` \|", table, re.M))
    assert listed == keys_the_code_builds(tmp_path, monkeypatch)
    assert listed == {key.pattern for key in LAYOUT}  # and the keys module's own list
