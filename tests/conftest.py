"""Fixtures shared by every test package, and the markers their servers give a test."""

from __future__ import annotations

import pytest

from tests.helpers.redisproc import RedisServer

# A test that uses one of these fixtures, directly or through another fixture, starts that
# server: it gets the marker, so `-m "not redis"` leaves it out (markers: pyproject.toml).
FIXTURE_MARKERS = {
    "redis_server": "redis",
    "redis_server_session": "redis",
    "cluster": "redis",  # tests/helpers/celerycluster.py: redis-server and worker processes
    "hs2_servers": "hs2",  # tests/integration/test_impala.py: the Spark Thrift Servers
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in sorted(set(getattr(item, "fixturenames", ())) & FIXTURE_MARKERS.keys()):
            item.add_marker(FIXTURE_MARKERS[fixture])


@pytest.fixture
def redis_server():
    """A fresh redis-server of its own, for tests that stop, restart or fill it."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server_session():
    """One redis-server for the session; tests must use their own keys or db and not stop it."""
    with RedisServer() as server:
        yield server
