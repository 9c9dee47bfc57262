"""Check boxes and radio buttons whose state shows in the glyph, not only in its colour.

Textual draws ``X`` (or ``●``) in both states and tells them apart by colour alone: at 16 colours over
SSH, or for a colour-blind user, a ticked and an unticked box look alike. These draw the mark only
when on.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class MarkedCheckbox(Checkbox):
    @property
    def _button(self) -> Content:
        inner = self.BUTTON_INNER
        self.BUTTON_INNER = "X" if self.value else " "
        try:
            return super()._button
        finally:
            self.BUTTON_INNER = inner


class MarkedRadioButton(RadioButton):
    @property
    def _button(self) -> Content:
        inner = self.BUTTON_INNER
        self.BUTTON_INNER = "●" if self.value else " "
        try:
            return super()._button
        finally:
            self.BUTTON_INNER = inner
