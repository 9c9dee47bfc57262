"""The application layer: the use cases every front end (console, command line, API) goes through.

Front ends import ``ccconsole.app`` (with ``ccconsole.core``, ``ccconsole.settings`` and
``ccconsole.errors``) and never ``ccconsole.store``; see ``workspace.py`` for the unit of work.
``Workspace`` and ``open_workspace`` load (with SQLAlchemy) on first use, so that a module of this
package that needs neither, such as ``start``, can be imported without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace, open_workspace

__all__ = ["Workspace", "open_workspace"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ccconsole.app import workspace

        return getattr(workspace, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
