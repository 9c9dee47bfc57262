"""The one way user text reaches the screen: literally, with control characters made visible.

Names, field values, group names, imported cells and database errors are hostile: ``[/]`` breaks
markup, ``[@click=app.quit]x`` runs an action, ESC sequences and bidi overrides scramble the terminal.
Everything shown goes through :func:`visible` and is wrapped in rich ``Text`` or Textual ``Content``,
neither of which parses markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.widgets import Input

from ccconsole.core.text import visible, visible_in_place

__all__ = ["SafeInput", "content", "lines", "text", "visible"]

def text(value: object, style: str = "", wrap: bool = False) -> Text:
    """A rich Text (table cells, renderables): literal, never markup; one line unless ``wrap``."""
    if wrap:
        return Text(visible(value), style=style)
    return Text(visible(value), style=style, no_wrap=True, overflow="ellipsis")


def content(value: object) -> Content:
    """Textual Content (labels, statics, toasts): literal, never markup."""
    return Content(visible(value))


def lines(values) -> Content:
    """Several lines of Content: each made visible (a newline *inside* a value shows as ␊), joined by
    real line breaks."""
    return Content("\n").join(content(v) for v in values)


class SafeInput(Input):
    """A text input that shows its value with control characters made visible, one for one (the
    value itself, what is saved, stays exactly as stored or typed): a stored name holding
    ``ESC ] 0 ; … BEL`` shows as ``␛]0;…␇`` instead of retitling the terminal."""

    @property
    def _value(self) -> Text:
        if self.password:
            return super()._value
        shown = Text(visible_in_place(self.value), no_wrap=True, overflow="ignore", end="")
        return self.highlighter(shown) if self.highlighter is not None else shown
