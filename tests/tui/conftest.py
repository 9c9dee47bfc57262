"""Fixtures of the console tests: a small hand-made workspace per test, a demo database per module.

``CCCONSOLE_TEST_BACKEND=postgres`` puts them on the test run's PostgreSQL instead of SQLite
(scripts/test.sh runs every console test and the command line a second time that way); ``ws_any``
runs a test on both backends always.
"""

from __future__ import annotations

import os

import pytest

from tests.tui.helpers import demo_workspace, small_workspace


def on_postgres() -> bool:
    return os.environ.get("CCCONSOLE_TEST_BACKEND") == "postgres"


def _url(request, folder, name: str) -> str:
    if on_postgres():
        return request.getfixturevalue("pg_server").create_database()
    return f"sqlite:///{folder / name}"


@pytest.fixture
def ws(request, tmp_path):
    return small_workspace(_url(request, tmp_path, "small.db"))


@pytest.fixture(params=["sqlite", "postgres"])
def ws_any(request, tmp_path):
    if request.param == "sqlite":
        return small_workspace(f"sqlite:///{tmp_path / 'small.db'}")
    return small_workspace(request.getfixturevalue("pg_server").create_database())


@pytest.fixture(scope="module")
def demo_url(request, tmp_path_factory):
    return demo_workspace(_url(request, tmp_path_factory.mktemp("demo"), "demo.db"))


@pytest.fixture(scope="module")
def dirty_demo_url(request, tmp_path_factory):
    """The demo with its dirt: the cleanup workbench's snapshots."""
    return demo_workspace(_url(request, tmp_path_factory.mktemp("dirty"), "dirty.db"), dirt=True)
