"""Engines for SQLite (embedded default) and PostgreSQL, and schema upgrades through Alembic."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from sqlalchemy import URL, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.util import asbool
from sqlmodel import Session

from ccconsole import errors
from ccconsole.errors import StoreError, describe, is_locked
from ccconsole.store import revisions
from ccconsole.store.revisions import MIGRATIONS, known_revisions
from ccconsole.store.startup import normalize_url

_schema = known_revisions  # (every revision this code knows, the heads): tests/store checks it against Alembic

if TYPE_CHECKING:
    from alembic.config import Config

WRITE_OPTION = "ccconsole_write"  # execution option: this transaction will write
MIGRATION_LOCK = 7_263_110_042  # PostgreSQL advisory lock: one ccconsole at a time upgrades a schema
URL_HINT = "use a SQLite file path or postgresql+psycopg://user@host/db"
# the SQL function of core.query.fold, the case rule of every case-insensitive search: on SQLite core's
# own function registered on each connection (an index of contact names is built on it: migration
# 0004), on PostgreSQL an SQL function generated from it (store.query_sql.postgres_fold_function)
FOLD_FUNCTION = "ccconsole_fold"
NUMBER_KEY_FUNCTION = "ccconsole_number_key"  # SQLite: core.query.number_key (PostgreSQL casts to numeric)


def register_sqlite_functions(dbapi_conn) -> None:
    """Give a SQLite connection ccconsole's SQL functions. Deterministic: an index may use them (and a
    program that writes contacts without them fails with 'unknown function: ccconsole_fold()')."""
    from ccconsole.core.query import fold, number_key  # the parser's modules load with the first connection

    def sqlite_fold(value):
        return fold(value) if isinstance(value, str) else value  # NULL stays NULL; a blob is no text

    def sqlite_number_key(value):
        return number_key(value) if isinstance(value, str) else None

    dbapi_conn.create_function(FOLD_FUNCTION, 1, sqlite_fold, deterministic=True)
    dbapi_conn.create_function(NUMBER_KEY_FUNCTION, 1, sqlite_number_key, deterministic=True)


def _hide_password(url: str) -> str:
    """``url`` as text for a message, its password (if any) replaced by ``***``."""
    return re.sub(r"^([\w+]+://[^:/@]*:)[^@]*@", r"\1***@", url)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as err:
        raise StoreError(f"Not a database URL: {_hide_password(url)} ({URL_HINT}).") from err
    except ValueError as err:  # the port is not a number: make_url does int(port)
        found = re.search(r"int\(\) with base 10: (.*)$", str(err))
        why = f"port {found.group(1)} is not a number" if found else describe(err)
        raise StoreError(f"Not a database URL: {_hide_password(url)} ({why}).") from err


def _create(url: URL, shown: str, **kw) -> Engine:
    """``create_engine`` with its complaints about the URL as one line."""
    try:
        return create_engine(url, **kw)
    except NoSuchModuleError as err:
        raise StoreError(f"Unknown database driver '{url.drivername}' in {shown} ({URL_HINT}).") from err
    except ImportError as err:
        raise StoreError(f"The driver for '{url.drivername}' is not installed ({describe(err)}); "
                         f"{URL_HINT}.") from err
    except (ArgumentError, ValueError, TypeError) as err:
        raise StoreError(f"Not a database URL: {shown} ({describe(err)}).") from err


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return True  # cannot tell (no permission): let SQLite say what is wrong


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    Nothing is connected yet. ``read_only``: the engine never writes (SQLite opens the file in
    read-only mode and never creates it; PostgreSQL transactions are read-only)."""
    if not url or not url.strip():
        raise StoreError(f"No database given: {URL_HINT}.")
    url = normalize_url(url)
    parsed = _parse(url)
    shown = _hide_password(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.username or parsed.password or parsed.host or parsed.port:
            raise StoreError(f"Not a database URL: {shown} (a SQLite URL names no host: "
                             "sqlite:////absolute/path.db, or just the file path).")
        database = parsed.database or ""
        uri_form = asbool(parsed.query.get("uri", False))  # sqlite:///file:...?uri=true: SQLite's own URI
        target = parsed
        if database and database != ":memory:" and not uri_form:
            path = Path(database).expanduser()
            if path.is_dir():
                raise StoreError(f"{path} is a directory, not a database file.")
            if read_only:
                if not _exists(path):
                    raise StoreError(f"No database at {path}.")
                # SQLite's URI form is the way to ask for read-only; the path is %-escaped in it
                query = {k: v for k, v in parsed.query.items() if k != "uri"}
                target = URL.create("sqlite", database="file:" + quote(str(path), safe="/"),
                                    query={**query, "mode": "ro", "uri": "true"})
            else:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as err:
                    raise StoreError(f"Cannot create the database folder {path.parent}: "
                                     f"{err.strerror or err}.") from err
                target = parsed.set(database=str(path))
        elif uri_form and read_only:
            target = parsed.update_query_dict({"mode": "ro"})
        engine = _create(target, shown, connect_args={"timeout": errors.SQLITE_BUSY_SECONDS,
                                                      "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # the driver's own BEGIN would skip SELECTs: we emit ours
            register_sqlite_functions(dbapi_conn)
            cur = dbapi_conn.cursor()
            if not read_only:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")  # these two set the connection, not the file
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # a write transaction takes the write lock before its first read, so what it checked
            # (who owns a connection, a contact's version) cannot change before it writes
            immediate = conn.get_execution_options().get(WRITE_OPTION)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if backend == "postgresql":
        options: dict[str, int | str] = {"connect_timeout": 5}
        if read_only:
            options["options"] = "-c default_transaction_read_only=on"
        return _create(parsed, shown, connect_args=options, pool_pre_ping=True)
    raise StoreError(f"Unsupported database '{backend}': use SQLite or PostgreSQL "
                     "(postgresql+psycopg://user@host/db).")


# --- schema: which revision a database has, upgrades --------------------------------------------


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic loads only when a schema is created or upgraded

    cfg = Config()
    # Config is a ConfigParser with %-interpolation: a literal % is written %%
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def _stored_heads(conn) -> set[str]:
    """The revisions recorded in ``alembic_version`` (none when the table is missing); plain SQL."""
    if not inspect(conn).has_table("alembic_version"):
        return set()
    return {row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}


def _where(engine: Engine) -> str:
    """The database for a message: a SQLite file's path, else the URL without its password."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database.startswith("file:") and asbool(url.query.get("uri", False)):
            return unquote(database.removeprefix("file:").split("?", 1)[0])
        return database if database and database != ":memory:" else "in memory"
    return url.render_as_string(hide_password=True)


def _schema_state(conn) -> str:
    """``current``, ``older`` or ``empty`` (no ccconsole schema); StoreError for a newer one.
    Only reads: the revision table is not created when missing."""
    heads = _stored_heads(conn)
    found = revisions.state(heads)
    if found == "newer":
        raise StoreError(f"The database was created by a newer ccconsole (schema "
                         f"{', '.join(revisions.unknown(heads))}); upgrade ccconsole to open it.")
    return found


def _failure(engine: Engine, err: Exception) -> StoreError:
    """A database error met while opening ``engine`` as one line."""
    if isinstance(err, StoreError):
        return err
    orig = getattr(err, "orig", None) or err
    if engine.url.get_backend_name() == "sqlite":
        code = getattr(orig, "sqlite_errorname", "")
        if code == "SQLITE_NOTADB":
            return StoreError(f"{_where(engine)} is not a SQLite database ({describe(err)}).")
        if code == "SQLITE_CORRUPT":
            return StoreError(f"{_where(engine)} is a damaged SQLite database ({describe(err)}).")
    if is_locked(err):
        return StoreError(f"The database is locked by another program (waited {errors.SQLITE_BUSY_SECONDS:g} s). "
                          "Try again in a moment.")
    return StoreError(f"Cannot open the database {_where(engine)}: {describe(err)}")


_OPEN_ERRORS = (DBAPIError, ArgumentError, ValueError)  # DBAPIError: OperationalError, DatabaseError, ...


def check_schema(engine: Engine) -> None:
    """Read-only opening: the database must already have this code's newest schema.

    Reads the revision and nothing else (no upgrade, no revision table created); StoreError when
    the schema is missing, older or newer than this code's, or the database cannot be read."""
    try:
        with engine.connect() as conn:
            state = _schema_state(conn)
    except _OPEN_ERRORS as err:
        raise _failure(engine, err) from err
    if state == "empty":
        raise StoreError(f"The database {_where(engine)} has no ccconsole schema yet; "
                         "open it once without --read-only to create it.")
    if state == "older":
        _, newest = _schema()
        raise StoreError(f"The database needs an upgrade to schema {', '.join(sorted(newest))}; "
                         "open it once without --read-only.")


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is current).

    StoreError (one line) when the database cannot be opened, is not a database, or has a schema
    newer than this code knows."""
    try:
        with engine.connect() as conn:
            if _schema_state(conn) == "current":
                return
        postgres = engine.url.get_backend_name() == "postgresql"
        # SQLite: BEGIN IMMEDIATE takes the write lock first; PostgreSQL: an advisory lock. Either way
        # a second ccconsole upgrading at the same moment waits, then finds the schema current.
        writer = engine if postgres else engine.execution_options(**{WRITE_OPTION: True})
        with writer.begin() as conn:
            if postgres:
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            if _schema_state(conn) == "current":
                return
            from alembic import command

            cfg = _alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except _OPEN_ERRORS as err:
        raise _failure(engine, err) from err


def open_engine(url: str, *, read_only: bool = False) -> Engine:
    """The one way to open a database: an engine whose schema is current.

    Not ``read_only``: creates (SQLite) and upgrades the schema as needed. ``read_only``: writes
    nothing and only checks the schema (:func:`check_schema`). Every problem is a StoreError with
    one line for a person; the engine is disposed when opening fails."""
    engine = make_engine(url, read_only=read_only)
    try:
        if read_only:
            check_schema(engine)
        else:
            upgrade(engine)
            from ccconsole.store.query_sql import ensure_statistics

            ensure_statistics(engine)
    except _OPEN_ERRORS as err:
        engine.dispose()
        raise _failure(engine, err) from err
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
        params: list[Sequence] = []
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


class Rows:
    """The rows of a statement :func:`run` sent (the few ways of reading them the callers use)."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any):
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def all(self) -> list:
        return self._cursor.fetchall() if self._cursor.description is not None else []

    def __iter__(self) -> Iterator:
        return iter(self.all())

    def first(self) -> Any:
        row = self._cursor.fetchone()
        self._cursor.close()
        return row

    def scalar(self) -> Any:
        row = self.first()
        return row[0] if row is not None else None

    def scalar_one(self) -> Any:
        rows = self.all()
        if len(rows) != 1:
            raise StoreError(f"Expected one row, got {len(rows)}.")
        return rows[0][0]

    def scalars(self) -> list:
        return [r[0] for r in self.all()]


def _driver(conn) -> tuple[Any, Any]:
    """(the DBAPI connection of ``conn``'s transaction, its dialect); ``conn``: a Connection or a Session."""
    if isinstance(conn, Session):
        conn = conn.connection()
    return conn.connection.dbapi_connection, conn.dialect


def _execute(conn, sql: str, params: Any, many: bool) -> Any:
    """One statement on the driver's own cursor, inside ``conn``'s transaction; the driver's errors
    come out as SQLAlchemy's (so ``errors.translate`` reads them as it reads every other)."""
    raw, dialect = _driver(conn)
    if dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
    except dialect.loaded_dbapi.Error as err:
        cursor.close()
        raise DBAPIError.instance(sql, params, err, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from err
    return cursor


def run(conn, sql: str, params: Sequence = ()) -> Rows:
    """``sql`` straight through the driver, ``?`` its placeholders (``%s`` on PostgreSQL), inside the
    transaction of ``conn`` (a Connection or a Session; a Session's pending ORM writes are NOT flushed
    first). For the statements of every write (one request's update): SQLAlchemy's statement
    building, ORM and result layers cost ten times the database's own work for such statements."""
    return Rows(_execute(conn, sql, tuple(params), False))


def run_many(conn, sql: str, params: Sequence[Sequence]) -> None:
    """:func:`run` once for each parameter row (the driver's executemany)."""
    rows = [tuple(p) for p in params]
    if rows:
        _execute(conn, sql, rows, True).close()


def marks(conn, values: Sequence) -> tuple[str, tuple]:
    """``(sql, params)`` testing membership of ``values`` (at most a few hundred) after a column:
    ``IN (?, ?)`` on SQLite, ``= ANY(?)`` with one list on PostgreSQL (for :func:`run`)."""
    if conn.dialect.name == "postgresql":
        return "= ANY(?)", (list(values),)
    return f"IN ({', '.join('?' * len(values))})", tuple(values)


def stamp(conn, value: datetime | None) -> Any:
    """A datetime as a driver-level parameter stores it: SQLite keeps SQLAlchemy's text form (naive,
    the UTC wall time), PostgreSQL takes the datetime."""
    dialect = conn.get_bind().dialect if isinstance(conn, Session) else conn.dialect
    if value is None or dialect.name != "sqlite":
        return value
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def read_time(value: Any) -> datetime | None:
    """A datetime column read through the driver (SQLite: its stored text), aware (UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def select_in(conn, sql: str, values: Sequence, *params) -> list:
    """Rows of ``sql`` for ``values``, in parts that stay within SQLite's limit of bound parameters:
    ``{in}`` in ``sql`` becomes the membership test of a part, ``{p}`` the driver's placeholder of
    one of ``params`` (which come before the values)."""
    rows: list = []
    postgres = conn.dialect.name == "postgresql"
    for start in range(0, len(values), 5000):
        part = list(values[start:start + 5000])
        if postgres:
            statement = sql.format(p="?", **{"in": "= ANY(?)"})
            args = (*params, part)
        else:
            statement = sql.format(p="?", **{"in": f"IN ({', '.join('?' * len(part))})"})
            args = (*params, *part)
        rows += run(conn, statement, args).all()
    return rows


def execute_in(conn, sql: str, values: Sequence, *params) -> None:
    """:func:`select_in` for a statement that returns no rows (a DELETE, an UPDATE)."""
    postgres = conn.dialect.name == "postgresql"
    for start in range(0, len(values), 5000):
        part = list(values[start:start + 5000])
        if postgres:
            run(conn, sql.format(p="?", **{"in": "= ANY(?)"}), (*params, part)).all()
        else:
            run(conn, sql.format(p="?", **{"in": f"IN ({', '.join('?' * len(part))})"}), (*params, *part)).all()


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


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL or path (None: not a SQLite file, e.g. PostgreSQL or memory)."""
    try:
        parsed = make_url(normalize_url(url))
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser()
