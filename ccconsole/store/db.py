"""Engines for SQLite (embedded default) and PostgreSQL, and schema upgrades through Alembic."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from ccconsole import errors
from ccconsole.errors import (  # noqa: F401  (re-exported: the store's callers name them db.*)
    SQLITE_BUSY_SECONDS,
    StoreError,
    describe,
    describe_failure,
    is_locked,
    is_race,
    is_unreachable,
)

MIGRATIONS = Path(__file__).with_name("migrations")
WRITE_OPTION = "ccconsole_write"  # execution option: this transaction will write


def normalize_url(url: str) -> str:
    """Accept a bare file path for SQLite and plain ``postgresql://`` (driven by psycopg 3)."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise StoreError(f"Not a database URL: {url}") from err
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            path = Path(database).expanduser()
            if path.is_dir():
                raise StoreError(f"{path} is a directory, not a database file.")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(f"Cannot create the database folder {path.parent}: {err.strerror or err}.") from err
            if read_only:
                url = f"sqlite:///file:{Path(database).expanduser()}?mode=ro&uri=true"
        engine = create_engine(url, connect_args={"timeout": errors.SQLITE_BUSY_SECONDS, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # the driver's own BEGIN would skip SELECTs: we emit ours
            cur = dbapi_conn.cursor()
            if not read_only:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # a write transaction takes the write lock before its first read, so what it checked
            # (who owns a connection, a contact's version) cannot change before it writes
            immediate = conn.get_execution_options().get(WRITE_OPTION)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if parsed.get_backend_name() == "postgresql":
        options = {"connect_timeout": 5}
        if read_only:
            options["options"] = "-c default_transaction_read_only=on"
        return create_engine(url, connect_args=options, pool_pre_ping=True)
    raise StoreError(f"Unsupported database '{parsed.get_backend_name()}': use SQLite or PostgreSQL "
                     "(postgresql+psycopg://user@host/db).")


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is current)."""
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as err:
        raise StoreError(f"Cannot open the database: {describe(err)}") from err
    cfg = _alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if current == head:
        return
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_engine(url: str, *, read_only: bool = False) -> Engine:
    """THE way to open a database: an engine whose schema is current (upgraded unless read-only)."""
    engine = make_engine(url, read_only=read_only)
    try:
        if not read_only:
            upgrade(engine)
            from ccconsole.store.query_sql import ensure_statistics

            ensure_statistics(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


# --- bulk statements straight through the driver ---------------------------------------------------
# Core's per-row parameter handling costs more than SQLite's own work for an insert; the import
# builds each statement once and hands the driver plain tuples.


def _mark(conn) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def insert_many(conn, table, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) with one driver executemany; returns how many.
    Values go through the column types' own bind processors, so they are stored exactly as Core
    stores them (SQLite keeps datetimes as text)."""
    t = getattr(table, "__table__", table)
    dialect = conn.dialect
    processors = [(i, p) for i, c in enumerate(columns)
                  if (p := t.c[c].type.dialect_impl(dialect).bind_processor(dialect))]
    if processors:
        params = []
        memo: dict[int, tuple] = {}  # column -> (last value, processed): bulk rows repeat values (now)
        for row in rows:
            values = list(row)
            for i, process in processors:
                value = values[i]
                last = memo.get(i)
                if last is None or last[0] is not value:
                    last = memo[i] = (value, process(value))
                values[i] = last[1]
            params.append(tuple(values))
    else:
        params = list(rows)
    if not params:
        return 0
    quote = conn.dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(t.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join([_mark(conn)] * len(columns))})")
    conn.exec_driver_sql(sql, params)
    return len(params)


def select_in(conn, sql: str, values: Sequence, *params) -> list:
    """Rows of ``sql`` for ``values``, in parts that stay within SQLite's limit of bound parameters:
    ``{in}`` in ``sql`` becomes the membership test of a part, ``{p}`` the driver's placeholder of
    one of ``params`` (which come before the values)."""
    rows: list = []
    postgres = conn.dialect.name == "postgresql"
    for start in range(0, len(values), 5000):
        part = list(values[start:start + 5000])
        if postgres:
            statement = sql.format(p="%s", **{"in": "= ANY(%s)"})
            args = (*params, part)
        else:
            statement = sql.format(p="?", **{"in": f"IN ({', '.join('?' * len(part))})"})
            args = (*params, *part)
        rows += conn.exec_driver_sql(statement, args).all()
    return rows


def next_ids(conn, table, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table``, for a transaction that then inserts them explicitly.

    SQLite: the ids above the highest, which no one else can take while this transaction holds the
    write lock (``BEGIN IMMEDIATE``). PostgreSQL: ``n`` values of the id sequence."""
    t = getattr(table, "__table__", table)
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        return list(conn.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{t.name}', 'id')) FROM generate_series(1, %s)", (n,)).scalars())
    top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {t.name}").scalar_one()
    return list(range(top + 1, top + 1 + n))


def drop_plain_indexes(conn, tables: Sequence[str]) -> list[str]:
    """SQLite: drop the plain indexes of ``tables`` (not those that enforce a primary key or a
    unique constraint) and return their CREATE statements for :func:`create_indexes`. Building an
    index once, from all the rows, is far quicker than growing it row by row during a bulk load.
    Elsewhere nothing is dropped (PostgreSQL would lock the tables against every reader)."""
    if conn.dialect.name != "sqlite":
        return []
    found = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
        f"({', '.join('?' for _ in tables)}) ORDER BY name", tuple(tables)).all()
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def create_indexes(conn, statements: Sequence[str]) -> None:
    if statements and conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA threads={min(4, os.cpu_count() or 1)}")  # helpers for the sorting
    for sql in statements:
        conn.exec_driver_sql(sql)


def default_url() -> str:
    """``$CCCONSOLE_DB``, else a SQLite file in the XDG data directory."""
    from platformdirs import user_data_dir

    env = os.environ.get("CCCONSOLE_DB")
    if env:
        return env
    return f"sqlite:///{Path(user_data_dir('ccconsole')) / 'ccconsole.db'}"


def demo_url() -> str:
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('ccconsole')) / 'demo.db'}"
