"""Typed settings, in this order (later wins): defaults, the config file, the environment, the command line.

The config file is ``$XDG_CONFIG_HOME/ccconsole/config.toml``::

    db = "postgresql+psycopg://staff@db.internal/ccconsole"
    actor = "jane"
    mouse = true

    [keys]            # remap any action by its id (see the ? help screen)
    "contacts.edit" = "e,enter"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_config_dir


@dataclass(frozen=True)
class Settings:
    db: str | None = None
    actor: str | None = None
    mouse: bool = True
    read_only: bool = False
    keys: dict[str, str] = field(default_factory=dict)


def config_path() -> Path:
    return Path(user_config_dir("ccconsole")) / "config.toml"


def load(path: Path | None = None) -> Settings:
    """Read the config file (missing is fine; a broken one raises ValueError with the reason)."""
    path = path or config_path()
    data: dict = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: {err}") from err
    keys = {str(k): str(v) for k, v in (data.get("keys") or {}).items()}
    return Settings(
        db=os.environ.get("CCCONSOLE_DB") or data.get("db"),
        actor=data.get("actor"),
        mouse=bool(data.get("mouse", True)),
        read_only=bool(data.get("read_only", False)),
        keys=keys,
    )
