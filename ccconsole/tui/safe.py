"""The one way user text reaches the screen: literally, with control characters made visible.

Names, field values, group names, imported cells and database errors are hostile: ``[/]`` breaks
markup, ``[@click=app.quit]x`` runs an action, ESC sequences and bidi overrides scramble the terminal.
Everything shown goes through :func:`visible` and is wrapped in rich ``Text`` or Textual ``Content``,
neither of which parses markup.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual.content import Content

_C0 = {i: chr(0x2400 + i) for i in range(0x20)}  # ␀ … ␟ (ESC shows as ␛)
_C0[0x7F] = "\u2421"  # ␡
_OTHER = re.compile("[\u0080-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def visible(value: object) -> str:
    """``value`` as text with C0/C1 controls, bidi overrides and zero-width marks made visible."""
    text = "" if value is None else str(value)
    text = text.translate(_C0)
    return _OTHER.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


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
