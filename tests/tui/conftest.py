"""Fixtures of the console tests: a small hand-made workspace per test, a demo database per module."""

from __future__ import annotations

import pytest

from tests.tui.helpers import demo_workspace, small_workspace


@pytest.fixture
def ws(tmp_path):
    return small_workspace(f"sqlite:///{tmp_path / 'small.db'}")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    return demo_workspace(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
