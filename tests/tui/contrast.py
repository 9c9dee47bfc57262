"""What a terminal shows for the console's colours: the segments of a rendered screen, downgraded the
way Rich downgrades them for a 16- or 256-colour terminal, looked up in xterm's default palette, and
their WCAG contrast ratio."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from rich.color import Color, ColorSystem, ColorType
from rich.console import Console
from rich.segment import Segment

# xterm's default palette for the 16 ANSI colours (what `TERM=xterm` over SSH shows by default)
XTERM_16 = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
    (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255),
    (255, 0, 255), (0, 255, 255), (255, 255, 255),
]
DEFAULT_FG, DEFAULT_BG = (229, 229, 229), (0, 0, 0)  # xterm -fg/-bg defaults as most SSH clients set them


def xterm_256(number: int) -> tuple[int, int, int]:
    if number < 16:
        return XTERM_16[number]
    if number < 232:
        n = number - 16
        steps = [0, 95, 135, 175, 215, 255]
        return steps[n // 36], steps[(n // 6) % 6], steps[n % 6]
    grey = 8 + 10 * (number - 232)
    return grey, grey, grey


def shown(color: Color | None, system: ColorSystem, default: tuple[int, int, int]) -> tuple[int, int, int]:
    """The RGB a terminal with ``system`` colours shows for ``color``."""
    if color is None or color.type == ColorType.DEFAULT:
        return default
    low = color.downgrade(system)
    if low.type in (ColorType.STANDARD, ColorType.EIGHT_BIT):
        assert low.number is not None
        return xterm_256(low.number)
    triplet = low.get_truecolor()
    return triplet.red, triplet.green, triplet.blue


def luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def is_text(ch: str) -> bool:
    """Letters, digits, punctuation: not spaces, box drawing, blocks (borders, scroll bars) or marks."""
    return not ch.isspace() and not 0x2500 <= ord(ch) <= 0x259F


@dataclass(frozen=True)
class Pair:
    text: str
    fg: tuple[int, int, int]
    bg: tuple[int, int, int]
    ratio: float


def segments(app) -> Iterator[Segment]:
    """The segments of the screen as drawn (newline segments end each line)."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    yield from console._record_buffer


def pairs(app, system: ColorSystem) -> list[Pair]:
    """Every run of text on the screen with the colours it shows in, at ``system`` colours. On a modal
    only what is inside its dialog: the screens under it are faded on purpose, not what one reads."""
    from textual.screen import ModalScreen

    region = None
    if isinstance(app.screen, ModalScreen) and app.screen.children:
        region = app.screen.children[0].region
    found = []
    x = y = 0
    for seg in segments(app):
        if seg.text == "\n":
            x, y = 0, y + 1
            continue
        start, x = x, x + seg.cell_length
        if seg.control or not seg.style or not any(is_text(c) for c in seg.text):
            continue
        if region is not None and not (region.y <= y < region.bottom and region.x <= start < region.right):
            continue
        style = seg.style
        fg = shown(style.color, system, DEFAULT_FG)
        bg = shown(style.bgcolor, system, DEFAULT_BG)
        if style.reverse:
            fg, bg = bg, fg
        found.append(Pair(seg.text.strip(), fg, bg, contrast(fg, bg)))
    return found
