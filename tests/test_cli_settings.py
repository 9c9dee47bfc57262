"""One settings resolution for the console and every command, through the real entry point: the
config file's ``db``, ``CCCONSOLE_DB``, ``--db``, ``--demo`` and ``--read-only`` mean the same to every
subcommand; read-only never removes, rewrites or migrates anything."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from ccconsole.app import open_workspace
from ccconsole.store import db
from tests.test_cli import as_json, ok, user_error

CCCONSOLE = Path(sys.executable).with_name("ccconsole")


def run(home: Path, *args: str, env: dict[str, str] | None = None):
    environ = {k: v for k, v in os.environ.items() if k not in ("CCCONSOLE_DB", "XDG_CONFIG_HOME", "XDG_DATA_HOME")}
    environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    environ.update(env or {})
    return subprocess.run([str(CCCONSOLE), *args], input="", capture_output=True, text=True, timeout=180,
                          env=environ)


def workspace_db(path: Path, name: str) -> str:
    url = f"sqlite:///{path}"
    open_workspace(url, actor="setup", workspace_name=name, country="RW").close()
    return url


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def home(tmp_path):
    (tmp_path / "config" / "ccconsole").mkdir(parents=True)
    return tmp_path


def write_config(home: Path, body: str) -> None:
    (home / "config" / "ccconsole" / "config.toml").write_text(body, encoding="utf-8")


def names(result) -> list[str]:
    return [c["name"] for c in as_json(result)]


def test_every_command_takes_the_database_in_the_same_order(home):
    """--db, then CCCONSOLE_DB, then the config file's db, then the default file — for a writing
    command and a reading one alike (the config's db used to be ignored by subcommands)."""
    cfg, env, flag = (workspace_db(home / f"{n}.db", n) for n in ("cfg", "env", "flag"))
    write_config(home, f'db = "{cfg}"\nactor = "from-config"\n')
    add = ("contacts", "add", "--name", "Jane", "--urn", "tel:+250788383383", "--json")
    ok(run(home, *add))
    assert as_json(run(home, "workspace", "show", "--json"))["name"] == "cfg"
    ok(run(home, *add[:3], "Env", "--json", env={"CCCONSOLE_DB": env}))
    assert as_json(run(home, "workspace", "show", "--json", env={"CCCONSOLE_DB": env}))["name"] == "env"
    ok(run(home, "--db", flag, *add[:3], "Flag", "--json", env={"CCCONSOLE_DB": env}))  # --db wins
    ok(run(home, *add[:3], "Flag2", "--json", "--db", flag, env={"CCCONSOLE_DB": env}))  # after the command too
    with open_workspace(cfg) as ws:
        assert [c.name for c in ws.browse.page()] == ["Jane"]
        assert ws.audit.page(limit=1)[0].actor == "from-config"  # the config's actor, for commands too
    with open_workspace(env) as ws:
        assert [c.name for c in ws.browse.page()] == ["Env"]
    with open_workspace(flag) as ws:
        assert [c.name for c in ws.browse.page()] == ["Flag", "Flag2"]
    # --actor beats the config's actor
    ok(run(home, "--actor", "jane-doe", "contacts", "add", "--name", "Kim"))
    with open_workspace(cfg) as ws:
        assert ws.audit.page(limit=1)[0].actor == "jane-doe"


def test_demo_flag_means_the_demo_workspace_for_commands_too(home):
    """`ccconsole --demo channels list` used to print nothing: it now lists the demo's channels
    (creating the demo on first use, as the console does)."""
    result = run(home, "--demo", "channels", "list", "--json")
    assert "Creating the demo workspace" in result.stderr
    assert {"MTN Rwanda", "Airtel Rwanda"} <= set(names(result))
    assert (home / "data" / "ccconsole" / "demo.db").exists()
    assert not (home / "data" / "ccconsole" / "ccconsole.db").exists()  # the default file untouched
    again = run(home, "--demo", "route", "--query", "", "--json")
    assert as_json(again)["total"] > 0 and "Creating" not in again.stderr


def test_a_broken_config_file_is_one_line_for_every_command(home):
    write_config(home, "db = 5\n")
    for args in (("channels", "list"), ("contacts", "add", "--name", "x"), ("route", "--query", "")):
        line = user_error(run(home, *args))
        assert "config.toml" in line and "db" in line


def test_read_only_demo_reset_deletes_nothing(home):
    path = home / "keep.db"
    workspace_db(path, "Keep")
    before = digest(path)
    line = user_error(run(home, "--read-only", "demo", "--reset", "--db", str(path)))
    assert "Read-only" in line and "nothing was deleted" in line
    assert path.exists() and digest(path) == before


def _one_schema_back(path: Path) -> None:
    """Downgrade the database one migration (an older ccconsole's database)."""
    from alembic import command

    engine = create_engine(f"sqlite:///{path}")
    cfg = db._alembic_config(engine)
    with engine.begin() as c:
        cfg.attributes["connection"] = c
        command.downgrade(cfg, "-1")
    engine.dispose()


def test_reading_commands_never_migrate_or_write(home):
    """route, audit, contacts show, history, lockins, channels list and export open the database
    read-only: an older schema is reported (nothing migrated), a current one is read and left as it was."""
    path = home / "old.db"
    url = workspace_db(path, "Old")
    with open_workspace(url) as ws:
        ws.contacts.create("Jane", ["tel:+250788383383"])
    reading = [("route", "tel:+250788383383"), ("audit",), ("contacts", "show", "tel:+250788383383"),
               ("history", "tel:+250788383383"), ("lockins",), ("channels", "list"),
               ("export", str(home / "out.csv"))]
    for args in reading:
        ok(run(home, *args, "--db", str(path)))
    _one_schema_back(path)
    for wal in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        wal.unlink(missing_ok=True)
    before = digest(path)
    for args in reading[:-1]:
        line = user_error(run(home, *args, "--db", str(path)))
        assert "needs an upgrade" in line and "without --read-only" in line, line
    assert digest(path) == before  # not migrated, not written
    ok(run(home, "contacts", "add", "--name", "Kim", "--db", str(path)))  # a writing command upgrades it
    ok(run(home, "route", "tel:+250788383383", "--db", str(path)))
