"""Which schema revisions this code knows, read off the migration files without importing Alembic or
SQLAlchemy: opening a database whose schema is current needs neither (``store.db`` checks with a
SQLAlchemy connection, ``store.startup`` with the standard library's sqlite3)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")

_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


@lru_cache(maxsize=1)
def known_revisions() -> tuple[frozenset[str], frozenset[str]]:
    """(every revision this code knows, the head revisions), read off the migration files' ``revision``
    and ``down_revision`` lines (Alembic costs ~0.3 s of a start-up). tests/store checks this against
    Alembic's own answer."""
    known: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        if revision is None:
            continue
        known.add(revision.group(1))
        down = _DOWN.search(source)
        if down is not None:
            parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return frozenset(known), frozenset(known - parents)


def state(stored: Iterable[str]) -> str:
    """The schema a database has, from the revisions stored in its ``alembic_version`` table:
    ``current``, ``older``, ``empty`` (none stored) or ``newer`` (a revision this code does not know)."""
    heads = set(stored)
    known, newest = known_revisions()
    if any(h not in known for h in heads):
        return "newer"
    if not heads:
        return "empty"
    return "current" if heads == newest else "older"


def unknown(stored: Iterable[str]) -> list[str]:
    """The stored revisions this code does not know (a newer ccconsole's), sorted."""
    known, _ = known_revisions()
    return sorted(h for h in stored if h not in known)
