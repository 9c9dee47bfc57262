"""Typed access from any screen or widget to the console app and its open workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from textual.app import App

    from ccconsole.app import Workspace
    from ccconsole.tui.app import CCConsole


class UsesWorkspace:
    """Mixed into screens (first among the bases): ``self.console_app`` and ``self.workspace`` typed,
    instead of reaching for untyped attributes of ``self.app``."""

    app: App[Any]

    @property
    def console_app(self) -> CCConsole:
        return cast("CCConsole", self.app)

    @property
    def workspace(self) -> Workspace:
        return self.console_app.workspace


def failure_text(err: BaseException) -> str:
    """One line for whatever a worker met: our errors as worded, a database's translated
    (``ccconsole.errors.translate``), a bad query with its column, anything else named — so every
    worker reports and no screen or dialog is left waiting."""
    from ccconsole.core.query import QueryError
    from ccconsole.errors import translate

    if isinstance(err, QueryError):
        return f"Bad query: {err}"
    translated = translate(err)
    if translated is not None:
        return str(translated)
    return f"Unexpected error ({type(err).__name__}): {err}"
