"""The footer: the current screen's keys, most important first, only as many as fit whole.

Textual's footer lists the bindings in the order of the focus chain and cuts the last one that does not
fit (at 80 columns "? Hel" and no C, L or A). This one orders them by the registry's ``rank`` (ties in
registry order) and leaves out the least important ones that would not fit; ``?`` lists them all.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from ccconsole.tui import actions

PALETTE_WIDTH = 14  # "▏^p palette " docked on the right


def item_width(key_display: str, description: str) -> int:
    """Columns one compact footer key takes: the key, a space, the description and a one column gap."""
    return len(key_display) + (1 + len(description) if description else 0) + 1


class KeyFooter(Footer):
    def __init__(self) -> None:
        super().__init__(compact=True)
        self._width = 0

    def compose(self) -> ComposeResult:
        if not self._bindings_ready or not getattr(self.app, "footer_ready", True):
            return  # (at start-up the keys follow the first rows: tui.app)
        active = self.screen.active_bindings
        seen: set[str] = set()
        found: list[tuple[int, int, Binding, bool, str]] = []
        for n, (_node, binding, enabled, tooltip) in enumerate(active.values()):
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            found.append((actions.rank(binding.id), n, binding, enabled, tooltip))
        room = (self.app.size.width or 80) - 1
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                room -= PALETTE_WIDTH
        for _rank, _n, binding, enabled, tooltip in sorted(found, key=lambda item: item[:2]):
            shown = self.app.get_key_display(binding)
            width = item_width(shown, binding.description)
            if width > room:
                continue  # a less important key would be cut: leave it out (? lists it)
            room -= width
            yield FooterKey(binding.key, shown, binding.description, binding.action, disabled=not enabled,
                            tooltip=tooltip).data_bind(compact=Footer.compact)
        if palette is not None:
            _node, binding, enabled, tooltip = palette
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            classes="-command-palette", disabled=not enabled,
                            tooltip=binding.tooltip or binding.description)

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            if self._bindings_ready:
                self.call_after_refresh(self.recompose)
