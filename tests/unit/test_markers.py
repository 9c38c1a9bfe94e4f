"""Every test that starts a server or a tool carries that tool's marker (pyproject.toml), so
`-m "not redis"` or `-m "not hs2"` really leaves out what a machine lacks; and the unit tests
start none of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_MARKERS

TESTS = Path(__file__).resolve().parents[1]
# What a test, or a fixture of its module, writes when it starts the thing the marker names.
STARTS = {
    "redis": ("RedisServer(", "running_cluster(", "SentinelCluster(", 'getfixturevalue("redis_server'),
    "hs2": ("SparkThriftServer(",),
    "chromium": ("dump_dom(",),
    "promtool": ('require_tool("promtool"',),
    "systemd": ('require_tool("systemd-analyze"',),
    "rabbitmq": ("rabbitmqctl",),
}


def marks_in(decorators: list[ast.expr]) -> set[str]:
    """`pytest.mark.NAME` anywhere in the decorators, a pytestmark value or a pytest.param."""
    return {
        node.attr
        for decorator in decorators
        for node in ast.walk(decorator)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "mark"
    }


def started(source: str, node: ast.AST) -> set[str]:
    text = ast.get_source_segment(source, node) or ""
    return {marker for marker, calls in STARTS.items() if any(call in text for call in calls)}


def unmarked(path: Path) -> list[str]:
    """Tests of the module that start something without its marker."""
    source = path.read_text()
    tree = ast.parse(source)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    module_marks = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
            module_marks = marks_in([node.value])
    fixtures = {f.name: f for f in functions if not f.name.startswith("test_")}
    found = []
    for test in (f for f in functions if f.name.startswith("test_")):
        needs, marked = started(source, test), module_marks | marks_in(test.decorator_list)
        for arg in (a.arg for a in test.args.args):
            marked |= {FIXTURE_MARKERS[arg]} if arg in FIXTURE_MARKERS else set()
            if arg in fixtures:  # a fixture of the module: what it starts, and the marks its params carry
                needs |= started(source, fixtures[arg])
                marked |= marks_in(fixtures[arg].decorator_list)
        found += [f"{path.name}::{test.name} starts {m} without @pytest.mark.{m}" for m in sorted(needs - marked)]
    return found


@pytest.mark.parametrize("path", sorted((TESTS / "integration").glob("test_*.py")), ids=lambda p: p.name)
def test_an_integration_test_that_starts_a_server_or_tool_carries_its_marker(path):
    assert unmarked(path) == []


def test_the_check_sees_a_server_started_without_its_marker(tmp_path):
    module = tmp_path / "test_example.py"
    module.write_text(
        "import pytest\n\n"
        "@pytest.fixture\ndef broker():\n    with RedisServer() as r:\n        yield r\n\n"
        "def test_a(broker):\n    pass\n\n"
        "@pytest.mark.redis\ndef test_b(broker):\n    pass\n\n"
        "def test_c(redis_server):\n    pass\n\n"
        "def test_d():\n    dump_dom('http://x')\n"
    )
    assert unmarked(module) == [
        "test_example.py::test_a starts redis without @pytest.mark.redis",
        "test_example.py::test_d starts chromium without @pytest.mark.chromium",
    ]


def test_the_unit_tests_start_no_server_and_no_tool():
    offenders = []
    for path in sorted((TESTS / "unit").glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        tree = ast.parse(path.read_text())
        requested = {a.arg for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) for a in n.args.args}
        offenders += [f"{path.name}: {m}" for m in sorted(started(path.read_text(), tree))]
        offenders += [f"{path.name}: fixture {f}" for f in sorted(requested & FIXTURE_MARKERS.keys())]
    assert offenders == []
