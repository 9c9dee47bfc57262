"""The Textual app: thin. It holds the open workspace (``ccconsole.app``) and the screens; every rule
lives in core, every use case in app."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

from textual import on
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen

from ccconsole.app import Workspace, open_workspace
from ccconsole.app.workspace import database_label
from ccconsole.tui import actions
from ccconsole.tui.live import LiveRefresh
from ccconsole.tui.screens.audit import AuditScreen
from ccconsole.tui.screens.channels import ChannelsScreen
from ccconsole.tui.screens.cleanup import ProblemContactsScreen, ProblemsScreen
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.screens.dialogs import HelpScreen
from ccconsole.tui.screens.history import HistoryScreen
from ccconsole.tui.screens.lockins import LockInsScreen
from ccconsole.tui.typeahead import TypeAhead

# a source checkout's stylesheet (styles/ beside the package) wins over the installed ccconsole.styles, so
# code run from a checkout (PYTHONPATH, a git worktree) never pairs with another checkout's styles
_CHECKOUT_CSS = Path(__file__).resolve().parents[2] / "styles" / "ccconsole.tcss"
CSS_FILE = str(_CHECKOUT_CSS) if _CHECKOUT_CSS.exists() else str(files("ccconsole.styles").joinpath("ccconsole.tcss"))


class CCConsole(TypeAhead, LiveRefresh, App):
    CSS_PATH = CSS_FILE
    TITLE = "ccconsole"
    BINDINGS = actions.bindings("app")
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, workspace: Workspace, *, db_label: str, read_only: bool = False,
                 keymap: dict[str, str] | None = None):
        super().__init__()
        self.workspace = workspace
        self.db_label = db_label
        self.read_only = read_only or workspace.read_only
        self.keymap = dict(keymap or {})

    class DataChanged(Message):
        """The workspace's change sequence moved: someone (maybe another process) wrote."""

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self.push_screen(ContactsScreen())
        self.start_watching()

    @on(DataChanged)
    def _data_changed(self) -> None:
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_data", None)
            if refresh is not None:
                refresh()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers every registered action of the current screen and the app."""
        scope = {ContactsScreen: "contacts", ChannelsScreen: "channels", LockInsScreen: "lockins",
                 HistoryScreen: "history", AuditScreen: "audit", ProblemsScreen: "problems",
                 ProblemContactsScreen: "problem"}.get(type(screen))
        for spec in actions.ACTIONS:
            if spec.palette is None or spec.scope not in ("app", scope):
                continue
            if spec.mutates and self.read_only:
                continue
            target = self if spec.scope == "app" else screen
            yield SystemCommand(spec.palette, f"{spec.description} ({actions.key_label(spec.keys)})",
                                lambda t=target, a=spec.action: t.run_action(a))
        yield SystemCommand("Theme", "Change the colour theme", self.action_change_theme)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(actions.scope_of(self.screen)))

    def _go_to(self, is_it, make) -> None:
        """Switch to a top-level screen without stacking: back to it when it is already open (it keeps
        its state), else home and then the new screen on top of home, so ``esc`` always leads home."""
        if is_it(self.screen):
            return
        found = next((i for i, s in enumerate(self.screen_stack) if i >= 2 and is_it(s)), None)
        keep = found + 1 if found is not None else 2
        while len(self.screen_stack) > keep:
            self.pop_screen()
        if found is None:
            self.push_screen(make())

    def action_channels(self) -> None:
        self._go_to(lambda s: isinstance(s, ChannelsScreen), ChannelsScreen)

    def action_audit(self) -> None:
        self._go_to(lambda s: isinstance(s, AuditScreen) and s.contact_id is None, AuditScreen)

    def action_problems(self) -> None:
        self._go_to(lambda s: isinstance(s, ProblemsScreen), ProblemsScreen)

    def action_lockins(self) -> None:
        self._go_to(lambda s: isinstance(s, LockInsScreen), LockInsScreen)

    def action_contacts(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def check_action(self, action: str, parameters) -> bool | None:
        here = {"contacts": ContactsScreen, "channels": ChannelsScreen, "lockins": LockInsScreen,
                "problems": ProblemsScreen}.get(action)
        if here is not None and isinstance(self.screen, here) or (
                action == "audit" and isinstance(self.screen, AuditScreen) and self.screen.contact_id is None):
            return False  # already there: the key leaves the footer
        spec = actions.by_action("app", action)
        if spec is not None and spec.mutates and self.read_only:
            return False
        return True

    def on_unmount(self) -> None:
        self.workspace.close()


def make_app(url: str, *, actor: str | None = None, read_only: bool = False, label: str | None = None,
             keymap: dict[str, str] | None = None) -> CCConsole:
    """The app on the database at ``url`` (upgraded on open): shared by the command line and the tests."""
    workspace = open_workspace(url, actor=actor, read_only=read_only)
    return CCConsole(workspace, db_label=label or database_label(url), read_only=read_only, keymap=keymap)


def run_console(url: str, *, actor: str | None = None, read_only: bool = False, mouse: bool = True,
                keymap: dict[str, str] | None = None) -> None:
    make_app(url, actor=actor, read_only=read_only, keymap=keymap).run(mouse=mouse)
