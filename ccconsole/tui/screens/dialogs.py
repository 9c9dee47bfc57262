"""Small modal screens: a confirmation whose default is No, and the help screen built from the registry."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from ccconsole.tui import actions, safe
from ccconsole.tui.base import UsesWorkspace


class Confirm(UsesWorkspace, ModalScreen[bool]):
    """Yes / No; "No" has the focus, so enter or esc never destroys anything by accident."""

    BINDINGS = [("escape", "no", "No"), ("n", "no", "No"), ("y", "yes", "Yes")]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No"):
        super().__init__()
        self.question = question
        self.yes_label, self.no_label = yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(safe.content(self.question), id="confirm-text")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.no_label} (n)", id="no", variant="primary")
                yield Button(f"{self.yes_label} (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_no(self) -> None:
        self.dismiss(False)

    def action_yes(self) -> None:
        self.dismiss(True)


class HelpScreen(UsesWorkspace, ModalScreen):
    """Every key, by screen, from the action registry (with the user's remapped keys)."""

    BINDINGS = [("escape,question_mark,q", "close", "Close")]

    def __init__(self, scope: str | None = None):
        super().__init__()
        self.scope = scope  # the registry scope of the screen it was opened on: its keys come first

    def compose(self) -> ComposeResult:
        keymap = getattr(self.app, "keymap", {}) or {}
        table = Table(box=None, show_header=False, padding=(0, 2), expand=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what")
        current = self.scope
        # the keys of the screen under the help first, then those that work everywhere, then the rest
        order = [current] if current in actions.SCOPE_TITLES else []
        order += [s for s in ("app", *actions.SCOPE_TITLES) if s not in order]
        for scope in dict.fromkeys(order):
            title = actions.SCOPE_TITLES[scope] + (" (this screen)" if scope == current else "")
            table.add_row(Text(title, style="bold underline"), "")
            for spec in actions.specs(scope):
                if spec.mutates and self.console_app.read_only:
                    continue
                table.add_row(actions.key_label(keymap.get(spec.id, spec.keys)), spec.description)
            for keys, what in actions.EXTRA_KEYS.get(scope, ()):
                table.add_row(keys, what)
            table.add_row("", "")
        table.add_row(Text("Next via column", style="bold underline"), "")
        table.add_row("●", "locked in to that channel: the priority connection has affinity to it")
        table.add_row("⚠", "the contact's lock-in is stale (to a disabled channel) and ignored by routing;"
                           " the channel shown is where it goes instead")
        table.add_row("", "")
        table.add_row(Text("Lock-ins states", style="bold underline"), "")
        table.add_row("locked in", "all three lock-in conditions hold (the Why column: ✓✓✓)")
        table.add_row("single channel", "affinity to the only channel that sends that type")
        table.add_row("stale", "its channel is disabled, cannot send or does not serve the type")
        table.add_row("not priority", "a usable affinity of a connection that is not the first one")
        with Vertical(id="help"):
            yield Label("Keys — esc closes", id="editor-title")
            with VerticalScroll():
                yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)
