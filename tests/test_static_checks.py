"""The linter and the type checker run with the tests: ``ruff check .`` and ``mypy`` (both configured in
pyproject.toml) must report nothing. They run from the repository root, with the tools installed beside
the interpreter running the tests (the ``test`` extras pin them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).with_name(name)
    if not tool.exists():
        pytest.fail(f"{tool} is missing: install the test extras (pip install -e '.[test]')")
    return subprocess.run([str(tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, f"ruff check . failed:\n{result.stdout}{result.stderr}"


def test_mypy_finds_nothing():
    result = run_tool("mypy")
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}{result.stderr}"
