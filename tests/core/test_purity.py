"""ccconsole.core is pure Python: no Textual, no SQL, no I/O (architecture.md, "Dependencies point one way")."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ccconsole.core

CORE = Path(ccconsole.core.__file__).parent
SOURCES = sorted(CORE.rglob("*.py"))
MODULES = sorted("ccconsole.core." + p.stem for p in SOURCES if p.stem != "__init__")

FORBIDDEN_PACKAGES = {
    "textual", "rich", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "psycopg2", "sqlite3", "click",
    "openpyxl", "socket", "subprocess", "asyncio", "http", "urllib", "requests", "shutil", "tempfile",
    "ccconsole.store", "ccconsole.tui", "ccconsole.cli", "ccconsole.app", "ccconsole.files", "ccconsole.http",
}
FORBIDDEN_CALLS = ("open(", "sqlite3", "socket", "subprocess", "print(", "input(", "os.environ")
ALLOWED_THIRD_PARTY = {"phonenumbers", "lark"}  # lark: the query parser (pure Python)


def test_core_has_the_expected_modules():
    assert {"ccconsole.core.urns", "ccconsole.core.model", "ccconsole.core.routing", "ccconsole.core.lockin",
            "ccconsole.core.lists", "ccconsole.core.query", "ccconsole.core.problems"} <= set(MODULES)


def test_importing_the_core_loads_no_ui_or_database_package():
    code = (
        "import sys\n"
        f"import {', '.join(MODULES)}\n"
        "bad = {'textual', 'rich', 'sqlalchemy', 'sqlmodel', 'alembic', 'psycopg', 'sqlite3', 'click'}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in bad)\n"
        "assert not loaded, loaded\n"
        "local = sorted(m for m in sys.modules\n"
        "               if m.startswith(('ccconsole.store', 'ccconsole.tui', 'ccconsole.cli')))\n"
        "assert not local, local\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=CORE.parent.parent, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def imported_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.add("ccconsole.core." + (node.module or ""))
            else:
                names.add(node.module or "")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            names.add("__import__")
    return names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_forbidden_imports(path):
    names = imported_names(ast.parse(path.read_text(encoding="utf-8")))
    assert "__import__" not in names
    assert "importlib" not in {n.split(".")[0] for n in names}
    for name in names:
        for bad in FORBIDDEN_PACKAGES:
            assert name != bad and not name.startswith(bad + "."), f"{path.name} imports {name}"
        top = name.split(".")[0]
        if top not in {"ccconsole", "__future__"} and top not in sys.stdlib_module_names:
            assert top in ALLOWED_THIRD_PARTY, f"{path.name} imports third-party {name}"
        if top == "ccconsole":
            assert name.startswith("ccconsole.core"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_io_in_the_core(path):
    text = path.read_text(encoding="utf-8")
    for bad in FORBIDDEN_CALLS:
        assert bad not in text, f"{path.name} contains {bad!r}"
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in {"read_text", "write_text", "read_bytes", "write_bytes", "open",
                                          "connect", "execute", "system", "popen"}, (
                f"{path.name}:{node.lineno} calls .{node.func.attr}()")
