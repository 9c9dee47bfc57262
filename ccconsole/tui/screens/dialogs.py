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

    def compose(self) -> ComposeResult:
        keymap = getattr(self.app, "keymap", {}) or {}
        table = Table(box=None, show_header=False, padding=(0, 2), expand=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what")
        for scope, title in actions.SCOPE_TITLES.items():
            table.add_row(Text(title, style="bold underline"), "")
            for spec in actions.specs(scope):
                if spec.mutates and self.console_app.read_only:
                    continue
                table.add_row(actions.key_label(keymap.get(spec.id, spec.keys)), spec.description)
            table.add_row("", "")
        table.add_row(Text("Next via column", style="bold underline"), "")
        table.add_row("●", "locked in to that channel: the priority connection's affinity (domain §5)")
        table.add_row("stale", "the affinity points at a disabled channel and is ignored by routing")
        table.add_row("", "")
        table.add_row(Text("Lock-ins states", style="bold underline"), "")
        table.add_row("locked in", "all three conditions of domain §5 hold (the §5 column: ✓✓✓)")
        table.add_row("single channel", "affinity to the only channel that sends that type")
        table.add_row("stale", "its channel is disabled, cannot send or does not serve the type")
        table.add_row("not priority", "a usable affinity of a connection that is not the first one")
        with Vertical(id="help"):
            yield Label("Keys — esc closes", id="editor-title")
            with VerticalScroll():
                yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)
