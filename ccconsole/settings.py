"""One settings resolution for the console and every subcommand: :func:`resolve`.

The database, highest first (the first one given wins; an empty string counts as not given):

1. ``--db URL``          the ``db`` argument                                   db_source ``"--db"``
2. ``--demo``            ``sqlite:///<XDG data dir>/ccconsole/demo.db``         db_source ``"--demo"``
3. ``$CCCONSOLE_DB``     the environment                                       db_source ``"CCCONSOLE_DB"``
4. ``db = …``            the config file                                       db_source ``"config file"``
5. the default           ``sqlite:///<XDG data dir>/ccconsole/ccconsole.db``    db_source ``"default"``

``--demo`` beats ``$CCCONSOLE_DB`` because it is an explicit choice on the command line, while the
environment variable is ambient (set once in a profile and forgotten). ``--db`` together with
``--demo`` means "the demo workspace in that database": ``db`` is the ``--db`` value and ``demo`` is
True. A leading ``~`` is expanded in every database path (a bare path or ``sqlite:///~/…``), using
``$HOME`` from the given environment; other URLs are returned as given.

The other settings, highest first:

- actor: ``--actor``, the config file's ``actor``, ``$SUDO_USER``, ``$USER``, the login name
  (:func:`getpass.getuser`), else ``"unknown"``.
- read_only: ``--read-only`` OR the config file's ``read_only = true`` (either one is enough).
- mouse: the config file's ``mouse`` (default true) AND NOT ``--no-mouse`` (either one turns it off).
- keys: the config file's ``[keys]`` table.

The XDG directories are read when :func:`resolve` is called, from the given environment: an absolute
``$XDG_CONFIG_HOME`` / ``$XDG_DATA_HOME`` there is used directly, otherwise platformdirs decides
(``~/.config`` and ``~/.local/share`` on Linux).

The config file is ``<XDG config dir>/ccconsole/config.toml`` (a missing file is fine)::

    db = "postgresql+psycopg://staff@db.internal/ccconsole"
    actor = "jane"
    mouse = true
    read_only = false

    [keys]            # remap any action by its id (see the ? help screen)
    "contacts.edit" = "e,enter"

A broken config file (not UTF-8, bad TOML, an unknown setting, a value of the wrong type) raises
:class:`ValueError` with one line that names the file and what is wrong.
"""

from __future__ import annotations

import getpass
import os
import posixpath
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

APP = "ccconsole"

DB_FLAG, DEMO, ENV, CONFIG, DEFAULT = "--db", "--demo", "CCCONSOLE_DB", "config file", "default"


@dataclass(frozen=True)
class Settings:
    db: str  # the final database URL or SQLite path, never None
    db_source: str  # "--db", "CCCONSOLE_DB", "config file", "--demo" or "default"
    demo: bool  # the demo workspace was asked for (--demo)
    actor: str  # the name recorded in the audit log
    read_only: bool
    mouse: bool
    keys: dict[str, str]  # action id -> keys, from the config file's [keys]
    config_file: Path  # the path that was read (may not exist)


@dataclass(frozen=True)
class FileSettings:
    """What the config file says; None where it says nothing."""

    db: str | None = None
    actor: str | None = None
    mouse: bool | None = None
    read_only: bool | None = None
    keys: dict[str, str] = field(default_factory=dict)


# --- directories ---------------------------------------------------------------------------------


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _xdg(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name) or ""
    return value if posixpath.isabs(value) else None  # the XDG spec: relative values are ignored


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    base = _xdg(_env(environ), "XDG_CONFIG_HOME")
    return Path(base) / APP if base else Path(user_config_dir(APP))


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    base = _xdg(_env(environ), "XDG_DATA_HOME")
    return Path(base) / APP if base else Path(user_data_dir(APP))


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / "config.toml"


def default_db(environ: Mapping[str, str] | None = None) -> str:
    return f"sqlite:///{data_dir(environ) / 'ccconsole.db'}"


def demo_db(environ: Mapping[str, str] | None = None) -> str:
    return f"sqlite:///{data_dir(environ) / 'demo.db'}"


# --- small rules ---------------------------------------------------------------------------------


def _given(value: str | None) -> str | None:
    """An empty (or blank) string counts as not given."""
    return value if value and value.strip() else None


def _expand_home(path: str, environ: Mapping[str, str]) -> str:
    """``~`` and ``~/…`` use ``$HOME`` from ``environ``; ``~user/…`` asks the system."""
    home = _given(environ.get("HOME"))
    if home and path == "~":
        return home
    if home and path.startswith("~/"):
        return home.rstrip("/") + path[1:]
    return os.path.expanduser(path)


_SQLITE_URL = re.compile(r"^(sqlite(?:\+\w+)?:///)(~.*)$")


def expand_db(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Expand a leading ``~`` in a bare SQLite path or a ``sqlite:///~/…`` URL; other URLs as given."""
    environ = _env(environ)
    if "://" not in value:
        return _expand_home(value, environ)
    match = _SQLITE_URL.match(value)
    if match:
        return match.group(1) + _expand_home(match.group(2), environ)
    return value


def default_actor(environ: Mapping[str, str] | None = None) -> str:
    """``$SUDO_USER``, else ``$USER``, else the login name, else ``"unknown"``."""
    environ = _env(environ)
    name = _given(environ.get("SUDO_USER")) or _given(environ.get("USER"))
    if name:
        return name
    try:
        name = getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (containers): KeyError, OSError
        name = None
    return _given(name) or "unknown"


# --- the config file -----------------------------------------------------------------------------

_KNOWN = ("actor", "db", "keys", "mouse", "read_only")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _flatten_keys(table: dict, prefix: str, path: Path) -> dict[str, str]:
    """``[keys]`` maps action ids to keys; ``contacts.edit = "e"`` (unquoted) nests, so flatten it."""
    out: dict[str, str] = {}
    for name, value in table.items():
        action = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(_flatten_keys(value, f"{action}.", path))
        elif isinstance(value, str):
            out[action] = value
        else:
            raise ValueError(f'{path}: keys."{action}" must be a string like "e,enter"')
    return out


def read_config(path: Path) -> FileSettings:
    """Read and check the config file; a missing one says nothing. Broken: one-line ValueError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return FileSettings()
    except OSError as err:
        raise ValueError(f"{path}: cannot read the config file ({err.strerror or err})") from err
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})") from err
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML: {_one_line(err)}") from err

    unknown = sorted(set(data) - set(_KNOWN))
    if unknown:
        raise ValueError(f"{path}: unknown setting {', '.join(map(repr, unknown))} "
                         f"(known: {', '.join(_KNOWN)})")
    for name in ("db", "actor"):
        if name in data and not isinstance(data[name], str):
            raise ValueError(f"{path}: {name} must be a string")
    for name in ("mouse", "read_only"):
        if name in data and not isinstance(data[name], bool):
            raise ValueError(f"{path}: {name} must be true or false")
    if "keys" in data and not isinstance(data["keys"], dict):
        raise ValueError(f'{path}: keys must be a table ([keys] with lines like "contacts.edit" = "e")')
    return FileSettings(
        db=data.get("db"),
        actor=data.get("actor"),
        mouse=data.get("mouse"),
        read_only=data.get("read_only"),
        keys=_flatten_keys(data.get("keys", {}), "", path),
    )


# --- the one resolution --------------------------------------------------------------------------


def resolve(*, db: str | None = None, demo: bool = False, actor: str | None = None, read_only: bool = False,
            no_mouse: bool = False, environ: Mapping[str, str] | None = None,
            config: Path | None = None) -> Settings:
    """The settings for this run: the command-line values given here, the environment, the config file.

    ``config`` defaults to :func:`config_path` and ``environ`` to ``os.environ``. See the module
    docstring for the order. Raises ValueError (one line) when the config file is broken.
    """
    environ = _env(environ)
    path = config if config is not None else config_path(environ)
    file = read_config(path)

    if given := _given(db):
        url, source = expand_db(given, environ), DB_FLAG
    elif demo:
        url, source = demo_db(environ), DEMO
    elif given := _given(environ.get("CCCONSOLE_DB")):
        url, source = expand_db(given, environ), ENV
    elif given := _given(file.db):
        url, source = expand_db(given, environ), CONFIG
    else:
        url, source = default_db(environ), DEFAULT

    return Settings(
        db=url,
        db_source=source,
        demo=bool(demo),
        actor=_given(actor) or _given(file.actor) or default_actor(environ),
        read_only=bool(read_only) or bool(file.read_only),
        mouse=(file.mouse is not False) and not no_mouse,
        keys=dict(file.keys),
        config_file=path,
    )


def load(path: Path | None = None) -> Settings:
    """Deprecated: ``resolve(config=path)`` with nothing from the command line (kept for old callers)."""
    return resolve(config=path)
