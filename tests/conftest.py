"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest

from tests.helpers.redisproc import RedisServer


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
