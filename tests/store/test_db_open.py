"""Opening a database (db.open_engine, and the command line on top of it): every problem is one
line a person can act on (a StoreError), never a traceback, and a read-only opening writes nothing.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event, text

from ccconsole.errors import StoreError
from ccconsole.store import db

_cfg = Config()
_cfg.set_main_option("script_location", str(db.MIGRATIONS))
HEAD = ScriptDirectory.from_config(_cfg).get_current_head()
FIRST = "0001"
NEWER = "The database was created by a newer ccconsole (schema ffff_future); upgrade ccconsole to open it."
CCCONSOLE = Path(sys.executable).with_name("ccconsole")


def opening_fails(url: str, *, read_only: bool = False) -> str:
    with pytest.raises(StoreError) as caught:
        db.open_engine(url, read_only=read_only)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def revision(path: Path) -> str | None:
    """The revision in a SQLite file, read with sqlite3 itself (None: no revision table)."""
    with sqlite3.connect(path) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
            return None
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def set_revision(url: str, rev: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :rev"), {"rev": rev})
    engine.dispose()


def migrated_to(url: str, rev: str) -> None:
    """A database at an older revision, as an older ccconsole left it."""
    engine = db.make_engine(url)
    cfg = db._alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, rev)
    engine.dispose()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- a % in a path or URL ---------------------------------------------------------------------------


def test_percent_in_a_bare_path_creates_and_migrates_that_file(tmp_path):
    path = tmp_path / "50%off.db"
    db.open_engine(str(path)).dispose()
    assert path.is_file() and revision(path) == HEAD
    db.open_engine(str(path), read_only=True).dispose()  # and it is current for a read-only opening
    db.open_engine(f"sqlite:///{path}").dispose()  # the URL form names the same file (%of is no escape)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == ["50%off.db"]


def test_percent_escape_in_a_bare_path_stays_literal(tmp_path):
    """In a path, %25 is three characters (in a URL it would mean %); a ? is a character too."""
    for name in ("100%25.db", "what?.db"):
        db.open_engine(str(tmp_path / name)).dispose()
        assert revision(tmp_path / name) == HEAD
        db.open_engine(str(tmp_path / name), read_only=True).dispose()
    assert not (tmp_path / "100%.db").exists() and not (tmp_path / "what").exists()
    db.open_engine(f"sqlite:///{tmp_path}/url%25form.db").dispose()  # in a URL, %25 is a %
    assert revision(tmp_path / "url%form.db") == HEAD


def test_percent_encoded_password_on_postgres(pg_server):
    url = pg_server.create_database().replace("postgres@", "postgres:p%40ss%25@", 1)  # trust: ignored
    engine = db.open_engine(url)
    assert engine.url.password == "p@ss%"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
    engine.dispose()
    db.open_engine(url, read_only=True).dispose()


def test_percent_in_a_postgres_database_name(pg_server):
    name = f"50%off_{uuid.uuid4().hex[:8]}"
    admin = db.make_engine(f"{pg_server.base_url}/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"'.replace("%", "%%"))  # psycopg: %% is a %
    admin.dispose()
    url = f"{pg_server.base_url}/{name.replace('%', '%25')}"
    db.open_engine(url).dispose()
    db.open_engine(url, read_only=True).dispose()


def test_postgres_socket_url(pg_server):
    """?host=/dir: the rendered URL has %2F escapes, which alembic's config used to choke on."""
    name = pg_server.create_database().rsplit("/", 1)[1]
    url = f"postgresql+psycopg://postgres@/{name}?host={pg_server.workdir}&port={pg_server.port}"
    assert "no ccconsole schema yet" in opening_fails(url, read_only=True)
    db.open_engine(url).dispose()
    db.open_engine(url, read_only=True).dispose()


# --- a newer schema -----------------------------------------------------------------------------------


def test_newer_schema_sqlite(tmp_path):
    path = tmp_path / "cc.db"
    db.open_engine(str(path)).dispose()
    set_revision(str(path), "ffff_future")
    assert opening_fails(str(path)) == NEWER
    assert opening_fails(str(path), read_only=True) == NEWER
    with pytest.raises(StoreError, match="newer ccconsole"):  # the old entry points too
        db.upgrade(db.make_engine(str(path)))
    assert revision(path) == "ffff_future"


def test_newer_schema_postgres(pg_server):
    url = pg_server.create_database()
    db.open_engine(url).dispose()
    set_revision(url, "ffff_future")
    assert opening_fails(url) == NEWER
    assert opening_fails(url, read_only=True) == NEWER


# --- not a SQLite database ------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"name,phone\nAlice,+250788383383\n" * 50, os.urandom(8192)],
                         ids=["text", "random"])
def test_not_a_sqlite_database(tmp_path, content):
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    before = digest(path)
    for read_only in (False, True):
        assert opening_fails(str(path), read_only=read_only) == (
            f"{path} is not a SQLite database (file is not a database).")
    assert digest(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["notes.db"]  # no -wal, no -shm


def test_empty_file_is_an_empty_database(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    assert opening_fails(str(path), read_only=True) == (
        f"The database {path} has no ccconsole schema yet; open it once without --read-only to create it.")
    assert path.stat().st_size == 0
    db.open_engine(str(path)).dispose()
    assert revision(path) == HEAD


# --- malformed URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url, message", [
    ("postgresql+psycopg://u@127.0.0.1:notaport/db",
     "Not a database URL: postgresql+psycopg://u@127.0.0.1:notaport/db (port 'notaport' is not a number)."),
    ("postgresql://u:secret@127.0.0.1:54x/db",  # the password is not shown
     "Not a database URL: postgresql+psycopg://u:***@127.0.0.1:54x/db (port '54x' is not a number)."),
    ("postgresql://u@[::1:5432/db",
     "Not a database URL: postgresql+psycopg://u@[::1:5432/db (port ':1:5432' is not a number)."),
    ("", "No database given: use a SQLite file path or postgresql+psycopg://user@host/db."),
    ("   ", "No database given: use a SQLite file path or postgresql+psycopg://user@host/db."),
    ("://", "Not a database URL: :// (use a SQLite file path or postgresql+psycopg://user@host/db)."),
    ("sqlite://host/x.db", "Not a database URL: sqlite://host/x.db (a SQLite URL names no host: "
                           "sqlite:////absolute/path.db, or just the file path)."),
    ("mysql://u@h/db", "Unsupported database 'mysql': use SQLite or PostgreSQL (postgresql+psycopg://user@host/db)."),
    ("postgresql+nodriver://h/db", "Unknown database driver 'postgresql+nodriver' in postgresql+nodriver://h/db "
                                   "(use a SQLite file path or postgresql+psycopg://user@host/db)."),
])
def test_malformed_url(url, message):
    assert opening_fails(url) == message
    assert opening_fails(url, read_only=True) == message


def test_query_port_not_a_number():
    message = opening_fails("postgresql://u@127.0.0.1/db?port=abc")
    assert message.startswith("Not a database URL: postgresql+psycopg://u@127.0.0.1/db?port=abc (")


def test_postgres_not_there():
    message = opening_fails("postgresql://u:secret@127.0.0.1:1/db")
    assert message.startswith("Cannot open the database postgresql+psycopg://u:***@127.0.0.1:1/db: ")
    assert "refused" in message and "secret" not in message


def test_postgres_missing_database(pg_server):
    url = pg_server.create_database() + "_missing"
    assert opening_fails(url).startswith(f"Cannot open the database {url}: ")
    assert 'does not exist' in opening_fails(url, read_only=True)


def test_a_directory(tmp_path):
    assert opening_fails(str(tmp_path)) == f"{tmp_path} is a directory, not a database file."


# --- read-only: never creates, migrates or writes -------------------------------------------------------


def test_read_only_missing_file_creates_nothing(tmp_path):
    path = tmp_path / "new" / "cc.db"
    assert opening_fails(str(path), read_only=True) == f"No database at {path}."
    assert opening_fails(f"sqlite:///{path}", read_only=True) == f"No database at {path}."
    with pytest.raises(StoreError, match="No database at"):
        db.make_engine(str(path), read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_read_only_older_schema_is_not_upgraded(tmp_path):
    path = tmp_path / "old.db"
    migrated_to(str(path), FIRST)
    before = digest(path)
    assert opening_fails(str(path), read_only=True) == (
        f"The database needs an upgrade to schema {HEAD}; open it once without --read-only.")
    assert revision(path) == FIRST and digest(path) == before
    db.open_engine(str(path)).dispose()  # a normal opening upgrades it
    assert revision(path) == HEAD


def test_read_only_never_migrated_database(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    before = digest(path)
    assert opening_fails(str(path), read_only=True) == (
        f"The database {path} has no ccconsole schema yet; open it once without --read-only to create it.")
    assert revision(path) is None and digest(path) == before


def test_read_only_engine_cannot_write(tmp_path):
    path = tmp_path / "cc.db"
    db.open_engine(str(path)).dispose()
    before = digest(path)
    engine = db.open_engine(str(path), read_only=True)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"  # as the writer left it
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
    with pytest.raises(Exception, match="readonly"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'x'"))
    engine.dispose()
    assert digest(path) == before and revision(path) == HEAD


def test_read_only_postgres_empty_database_is_left_alone(pg_server):
    url = pg_server.create_database()
    assert opening_fails(url, read_only=True).endswith(
        "has no ccconsole schema yet; open it once without --read-only to create it.")
    engine = db.make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None
    engine.dispose()


def test_failed_opening_disposes_its_engine(tmp_path, monkeypatch):
    path = tmp_path / "cc.db"
    db.open_engine(str(path)).dispose()
    set_revision(str(path), "ffff_future")
    disposed = []
    make_engine = db.make_engine

    def watched(url, **kw):
        engine = make_engine(url, **kw)
        event.listen(engine, "engine_disposed", lambda e: disposed.append(e))
        return engine

    monkeypatch.setattr(db, "make_engine", watched)
    opening_fails(str(path))
    opening_fails(str(path), read_only=True)
    assert len(disposed) == 2


def test_value_error_while_connecting(tmp_path, monkeypatch):
    """A driver that rejects a connection option with ValueError: one line, the engine disposed."""
    path = tmp_path / "cc.db"
    disposed = []
    make_engine = db.make_engine

    def rejecting(url, **kw):
        engine = make_engine(url, **kw)

        @event.listens_for(engine, "do_connect")
        def _reject(*_args):
            raise ValueError("invalid connection option 'colour'")

        event.listen(engine, "engine_disposed", lambda e: disposed.append(e))
        return engine

    monkeypatch.setattr(db, "make_engine", rejecting)
    assert opening_fails(str(path)) == f"Cannot open the database {path}: invalid connection option 'colour'"
    assert len(disposed) == 1


def test_simultaneous_first_openings(backend_url):
    """Several programs opening a new database at once: one migrates, the others wait and find it
    done. Processes, not threads: alembic keeps its migration context in a module global."""
    script = "import sys; from ccconsole.store import db; db.open_engine(sys.argv[1]).dispose()"
    procs = [subprocess.Popen([sys.executable, "-c", script, backend_url], stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    engine = db.open_engine(backend_url, read_only=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    engine.dispose()


# --- the command line -----------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CCCONSOLE_DB"}
    return subprocess.run([str(CCCONSOLE), *args], input="", capture_output=True, text=True, timeout=120, env=env)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ccconsole: "), lines[0]
    return lines[0].removeprefix("ccconsole: ")


def test_command_line(tmp_path):
    percent = tmp_path / "50%off.db"
    newer = tmp_path / "newer.db"
    db.open_engine(str(newer)).dispose()
    set_revision(str(newer), "ffff_future")
    corrupt = tmp_path / "notes.db"
    corrupt.write_text("not a database\n" * 100)
    missing = tmp_path / "nowhere" / "cc.db"
    calls = {
        "percent": ("workspace", "set", "--name", "Half off", "--db", str(percent)),  # a writing command
        "read_only_cmd_missing": ("route", "tel:+250788383383", "--db", str(missing)),  # a reading one
        "newer": ("channels", "list", "--db", str(newer)),
        "corrupt": ("channels", "list", "--db", str(corrupt)),
        "port": ("channels", "list", "--db", "postgresql+psycopg://u@127.0.0.1:notaport/db"),
        "read_only_missing": ("--read-only", "channels", "list", "--db", str(missing)),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(calls, pool.map(lambda args: cli(*args), calls.values())))

    ok = results["percent"]
    assert ok.returncode == 0 and "Traceback" not in ok.stderr, ok.stderr
    assert revision(percent) == HEAD
    assert one_line_error(results["newer"]) == NEWER
    assert one_line_error(results["corrupt"]) == f"{corrupt} is not a SQLite database (file is not a database)."
    assert one_line_error(results["port"]) == (
        "Not a database URL: postgresql+psycopg://u@127.0.0.1:notaport/db (port 'notaport' is not a number).")
    assert one_line_error(results["read_only_missing"]) == f"No database at {missing}."
    # commands that only read open read-only too: nothing is created or migrated for them
    assert one_line_error(results["read_only_cmd_missing"]) == f"No database at {missing}."
    assert not missing.parent.exists()


def test_the_schema_revisions_read_without_alembic_are_alembics():
    """Opening reads the known and head revisions off the migration files (no Alembic import at
    start-up); they must be exactly what Alembic's own script directory says."""
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS).replace("%", "%%"))
    script = ScriptDirectory.from_config(cfg)
    assert db._schema() == (frozenset(r.revision for r in script.walk_revisions()), frozenset(script.get_heads()))


def test_opening_a_current_database_does_not_import_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'current.db'}"
    db.open_engine(url).dispose()  # created and upgraded: Alembic runs here
    probe = ("import sys; from ccconsole.store import db; db.open_engine(sys.argv[1]).dispose(); "
             "print(sorted(m for m in sys.modules if m == 'alembic' or m.startswith('alembic.')))")
    out = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
