"""Type-ahead: the keys typed right after a key that opens an input go to that input.

Textual hands each key to the focused widget as soon as it arrives, and a binding runs only when the
key has bubbled back up; focusing the new input (or mounting the screen that holds it) happens later
still. So a burst such as ``/jane doe`` (a paste, keys queued on a laggy SSH link) used to reach the
screen underneath: ``j`` moved the cursor, ``a`` opened an audit log, space marked a contact.

The app therefore looks at each key as it arrives: when the binding it resolves to opens an input
(``ActionSpec.opens_input``, or the command palette), the keys after it are held back until a text
input has the focus, then replayed in order, exactly as if they had been typed slowly. If nothing
opens (no contact under the cursor, a refused action) they are released after a short grace period.

At start-up the console may show its first page while the workspace is still opening
(``tui.app``): every key and paste that arrives meanwhile is held the same way and replayed, in order,
once it is open (a key that quits is the exception: it acts at once).
"""

from __future__ import annotations

import sys
import time

from textual import events
from textual.timer import Timer
from textual.widgets import Input
from textual.worker import WorkerState

from ccconsole.tui import actions

GRACE = 0.3  # seconds: nothing changed (no new screen, no new focus), so the key opened nothing
PATIENCE = 3.0  # seconds: the longest keys are held for an input that is slow to appear

PALETTE_ACTIONS = {"command_palette", "app.command_palette"}
QUIT_ACTIONS = {"quit", "app.quit", "help_quit", "app.help_quit"}


class TypeAhead:
    """Mixed into the App (before ``App``): holds and replays the keys that follow an input-opening key."""

    _held: list[events.Event] | None = None
    _held_since = 0.0
    _held_screen: object = None
    _held_focus: object = None
    _held_timer: Timer | None = None
    _held_for_workspace = False

    def waiting_for_workspace(self) -> bool:
        """The workspace is still opening (the app says; keys wait for it)."""
        return False

    def _text_input_focused(self) -> bool:
        focused = self.focused  # type: ignore[attr-defined]
        if isinstance(focused, Input):
            return True
        # a TextArea, if its module is loaded at all (importing it costs start-up time for nothing)
        text_area = sys.modules.get("textual.widgets._text_area")
        return text_area is not None and isinstance(focused, text_area.TextArea)

    def _binding(self, key: str):
        """The binding ``key`` would run now, if any."""
        screen = self.screen  # type: ignore[attr-defined]
        for _namespace, bindings in screen._modal_binding_chain:
            found = bindings.key_to_bindings.get(key)
            if found:
                return found[0]
        return None

    def key_opens_input(self, key: str) -> bool:
        """Would ``key``, arriving now, run an action that opens a text input?"""
        if self._text_input_focused():
            return False  # the input takes the key itself
        binding = self._binding(key)
        return binding is not None and (actions.opens_input(binding.id) or binding.action in PALETTE_ACTIONS)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            quits = isinstance(event, events.Key) and getattr(self._binding(event.key), "action", None) in QUIT_ACTIONS
            if self._held is not None and not (quits and self._held_for_workspace):
                self._held.append(event)
                return
            if self.waiting_for_workspace() and not quits:
                self._hold(for_workspace=True)
                assert self._held is not None
                self._held.append(event)
                return
            if isinstance(event, events.Key) and self.key_opens_input(event.key):
                self._hold()
        await super().on_event(event)  # type: ignore[misc]

    def _hold(self, *, for_workspace: bool = False) -> None:
        self._held_for_workspace = for_workspace
        self._held = []
        self._held_since = time.monotonic()
        self._held_screen = self.screen  # type: ignore[attr-defined]
        self._held_focus = self.focused  # type: ignore[attr-defined]
        self._held_timer = self.set_interval(0.02, self._check_held)  # type: ignore[attr-defined]

    async def _check_held(self) -> None:
        if self._held_for_workspace:
            if not self.waiting_for_workspace():
                await self.release_keys()
            return
        waited = time.monotonic() - self._held_since
        unchanged = self.screen is self._held_screen and self.focused is self._held_focus  # type: ignore[attr-defined]
        ready = self._text_input_focused() and self._new_screen_settled()
        if ready or (unchanged and waited > GRACE) or waited > PATIENCE:
            await self.release_keys()

    def _new_screen_settled(self) -> bool:
        """A screen opened by the key has finished loading: none of its workers runs and no message
        waits for it (the Update Contact modal focuses its name box, then fills it when the contact loads;
        keys released in between would be overwritten)."""
        screen = self.screen  # type: ignore[attr-defined]
        if screen is self._held_screen:
            return True
        busy = any(w.node is screen and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                   for w in self.workers)  # type: ignore[attr-defined]
        return not busy and screen._message_queue.empty()

    async def release_keys(self) -> None:
        """Replay the held keys in order (one of them may start a new hold for the rest)."""
        held, self._held = self._held or [], None
        self._held_for_workspace = False
        if self._held_timer is not None:
            self._held_timer.stop()
            self._held_timer = None
        for event in held:
            if self._held is not None:
                self._held.append(event)
            else:
                await self.on_event(event)
