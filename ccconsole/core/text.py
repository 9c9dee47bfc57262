"""Text from users is hostile wherever it reaches a terminal: one rule for making it visible.

Names, field values, group names, message texts, imported cells and actors may hold ESC sequences
(retitle or clear the terminal), other C0/C1 controls, bidi overrides and zero-width marks. Every
front end shows such text through :func:`visible` (the console's tables, labels and toasts, the command
line's text output) or, where each character must keep its place (a text input with a cursor),
:func:`visible_in_place`. Stored data is never changed: only what is shown.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_C0 = {i: chr(0x2400 + i) for i in range(0x20)}  # ␀ … ␟ (ESC shows as ␛, a newline as ␊)
_C0[0x7F] = "\u2421"  # ␡
_OTHER = re.compile("[\u0080-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def visible(value: object) -> str:
    """``value`` as text with C0/C1 controls, bidi overrides and zero-width marks made visible: control
    characters as their Unicode pictures (␛), the others as ``<U+202E>``."""
    text = "" if value is None else str(value)
    text = text.translate(_C0)
    return _OTHER.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def visible_in_place(value: str) -> str:
    """:func:`visible` one character for one character (the same length, so a cursor keeps its
    place): controls as their pictures, the other invisible marks as U+FFFD."""
    return _OTHER.sub(REPLACEMENT, value.translate(_C0))


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 contact``, ``2 contacts``, ``1,000 contacts``: a count with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def when(value: datetime, zone: str) -> str:
    """A moment in the workspace's time zone, with the zone's label (``2026-04-04 10:45 CAT``): every
    time the console and the command line show is written this way."""
    try:
        tz: tzinfo = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
