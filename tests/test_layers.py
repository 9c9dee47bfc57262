"""Dependencies point one way (architecture.md): ``tui | cli | http -> app -> store -> core``.

Front ends import ``ccconsole.app``, ``ccconsole.core``, ``ccconsole.settings`` and ``ccconsole.errors``,
never ``ccconsole.store``; ``store`` never imports ``app`` or a front end; ``app`` never imports Textual,
click or a web framework. Every import is checked, including those inside functions, and a fresh
interpreter proves what importing the application layer actually loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ccconsole

PACKAGE = Path(ccconsole.__file__).parent
FRONT_ENDS = ("ccconsole.tui", "ccconsole.cli", "ccconsole.http")
UI_LIBRARIES = ("textual", "rich", "click", "starlette", "uvicorn")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's own package
                here = module_name(path).split(".")
                if path.name != "__init__.py":
                    here = here[:-1]
                base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def sources(package: str) -> list[Path]:
    root = PACKAGE.joinpath(*package.split(".")[1:])
    return sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]


def offenders(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for package in packages:
        for path in sources(package):
            if not path.exists():
                continue
            for name in sorted(imports_of(path)):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    bad.append(f"{module_name(path)} imports {name}")
    return bad


def test_the_layers_exist():
    for package in ("ccconsole.app", "ccconsole.store", "ccconsole.core", "ccconsole.tui", "ccconsole.cli"):
        assert sources(package), package
    assert (PACKAGE / "settings.py").exists() and (PACKAGE / "errors.py").exists()


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_front_ends_never_import_the_store(front_end):
    assert offenders((front_end,), ("ccconsole.store",)) == []


def test_front_ends_do_not_import_each_other():
    assert offenders(("ccconsole.app", "ccconsole.store", "ccconsole.core", "ccconsole.settings",
                      "ccconsole.errors"), FRONT_ENDS) == []
    assert offenders(("ccconsole.http",), ("ccconsole.tui",)) == []


def test_the_store_never_imports_the_application_layer():
    assert offenders(("ccconsole.store",), ("ccconsole.app", *FRONT_ENDS)) == []


def test_the_application_layer_imports_no_ui_or_web_framework():
    assert offenders(("ccconsole.app", "ccconsole.store", "ccconsole.settings", "ccconsole.errors"),
                     UI_LIBRARIES) == []


def test_settings_and_errors_stand_alone():
    """The two modules every layer may import depend on no layer themselves."""
    assert offenders(("ccconsole.settings", "ccconsole.errors"),
                     ("ccconsole.app", "ccconsole.store", "ccconsole.core", *FRONT_ENDS)) == []


def test_the_checker_sees_an_offending_import(tmp_path):
    """The test above can fail: a front-end file that reaches into the store is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ccconsole.store import db\n    import textual.app\n", encoding="utf-8")
    assert {"ccconsole.store", "ccconsole.store.db", "textual.app"} <= imports_of(bad)


def test_importing_every_use_case_loads_no_ui_library():
    code = (
        "import sys, pkgutil, importlib, ccconsole.app\n"
        "for m in pkgutil.iter_modules(ccconsole.app.__path__):\n"
        "    importlib.import_module('ccconsole.app.' + m.name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {set(UI_LIBRARIES)!r})\n"
        "bad += sorted(m for m in sys.modules if m.startswith(('ccconsole.tui', 'ccconsole.cli', 'ccconsole.http')))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_console_starts_without_the_database_libraries(tmp_path):
    """Start-up (issue 15): the command line, the console and the first page read at start-up load no
    SQLAlchemy, SQLModel, Alembic or query parser (they load in the background once rows are on screen)."""
    from tests.store_helpers import rw_store

    url = f"sqlite:///{tmp_path / 'start.db'}"
    ws = rw_store(url)
    ws.contacts.create("Jane", ["tel:+250788383383"])
    ws.close()
    code = (
        "import sys\n"
        "import ccconsole.cli, ccconsole.tui.app\n"
        "from ccconsole.app import start\n"
        f"page = start.first_page({url!r})\n"
        "assert page is not None and [r.name for r in page.rows] == ['Jane'], page\n"
        "heavy = ('sqlalchemy', 'sqlmodel', 'alembic', 'lark', 'pydantic', 'ccconsole.app.workspace',\n"
        "         'ccconsole.cli.commands', 'ccconsole.tui.screens.editor')\n"
        "bad = sorted(m for m in sys.modules if m.startswith(heavy))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
