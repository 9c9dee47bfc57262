"""``ccconsole.files`` reads and writes .csv/.xlsx files and nothing else: importing it loads no
database code (a reader process starts quickly, and the package stays out of the persistence layer)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_files_package_imports_no_database_code():
    probe = ("import json, sys; import ccconsole.files.sheets, ccconsole.files.writers; "
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('ccconsole', 'sqlalchemy', 'sqlmodel', "
             "'psycopg', 'alembic', 'sqlite3')))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    loaded = json.loads(out.stdout)
    assert "ccconsole.files.sheets" in loaded and "ccconsole.files.writers" in loaded
    # beside the core, only the top-level error types and the worker processes' pipe
    assert [m for m in loaded if not m.startswith(("ccconsole.files", "ccconsole.core"))] == \
        ["ccconsole", "ccconsole.errors", "ccconsole.frames"]
