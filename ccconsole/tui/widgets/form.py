"""Form pieces shared by the dialogs: a field's error line, and the connection and custom-field rows of
Update Contact."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Label

from ccconsole.tui import safe


class ErrorLine(Label):
    """A field's message line: hidden while there is nothing to say."""

    DEFAULT_CSS = "ErrorLine { color: $error; padding-left: 9; display: none; }"

    def show(self, text: str | None) -> None:
        self.update(safe.content(f"⚠ {text}") if text else "")
        self.display = bool(text)


@dataclass
class Item:
    """One connection being edited: its type, the text typed, and the stored identity it came from."""

    scheme: str
    value: str
    original: str | None = None
    affinity: int | None = None


class ConnectionRow(Horizontal):
    """Index, type, editable value, promote and remove buttons, and an error line under it."""

    def __init__(self, index: int, item: Item, country: str | None):
        super().__init__(classes="conn-row")
        self.index = index
        self.item = item
        self.country = country

    def compose(self) -> ComposeResult:
        yield Label(f"{self.index + 1:>2}", classes="conn-index", markup=False)
        yield Label(safe.content(self.item.scheme), classes="conn-scheme")
        yield safe.SafeInput(self.item.value, id=f"conn-{self.index}", classes="conn-value", compact=True)
        yield Button("↑", id=f"up-{self.index}", classes="conn-up", disabled=self.index == 0, compact=True,
                     tooltip="Promote: move this connection one place up (alt+↑)")
        yield Button("✕", id=f"rm-{self.index}", classes="conn-rm", compact=True,
                     tooltip="Remove this connection (alt+del)")


class FieldRow(Horizontal):
    """A custom field of the workspace: its name (user text, shown literally) and its value."""

    def __init__(self, index: int, name: str, value: str):
        super().__init__(classes="fv-row")
        self.index = index
        self.field_name = name
        self.value = value

    def compose(self) -> ComposeResult:
        yield Label(safe.content(self.field_name), classes="fv-label")
        yield safe.SafeInput(self.value, id=f"field-{self.index}", classes="fv-value", compact=True,
                             placeholder="(not set)")
