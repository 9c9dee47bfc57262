"""The application layer: the use cases every front end (console, command line, API) goes through.

Front ends import ``ccconsole.app`` (with ``ccconsole.core``, ``ccconsole.settings`` and
``ccconsole.errors``) and never ``ccconsole.store``; see ``workspace.py`` for the unit of work.
"""

from ccconsole.app.workspace import Workspace, open_workspace

__all__ = ["Workspace", "open_workspace"]
