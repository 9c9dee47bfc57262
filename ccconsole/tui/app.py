"""The Textual app: thin. It holds the open workspace (``ccconsole.app``) and the screens; every rule
lives in core, every use case in app.

Start-up: on a SQLite file whose schema is current, :func:`run_console` shows the default view's first
page read with the standard library (``ccconsole.app.start``) and opens the workspace in a thread right
after that first paint; keys typed meanwhile wait for it (``tui.typeahead``), workers that need it wait
in their threads (:attr:`CCConsole.workspace`). Screens other than the contacts screen are imported when
first opened."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen

from ccconsole.app import start
from ccconsole.core.views import ContactRow, WorkspaceInfo
from ccconsole.errors import StoreError
from ccconsole.tui import actions
from ccconsole.tui.live import LiveRefresh
from ccconsole.tui.screens.contacts import ContactsScreen
from ccconsole.tui.typeahead import TypeAhead
from ccconsole.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from ccconsole.app import Workspace

# a source checkout's stylesheet (styles/ beside the package) wins over the installed ccconsole.styles, so
# code run from a checkout (PYTHONPATH, a git worktree) never pairs with another checkout's styles
_CHECKOUT_CSS = Path(__file__).resolve().parents[2] / "styles" / "ccconsole.tcss"


def _installed_css() -> str:
    from importlib.resources import files  # (only when installed: it costs start-up time)

    return str(files("ccconsole.styles").joinpath("ccconsole.tcss"))


CSS_FILE = str(_CHECKOUT_CSS) if _CHECKOUT_CSS.exists() else _installed_css()


class CCConsole(TypeAhead, LiveRefresh, App):
    CSS_PATH = CSS_FILE
    TITLE = "ccconsole"
    BINDINGS = actions.bindings("app")
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, workspace: Workspace | None = None, *, db_label: str, read_only: bool = False,
                 keymap: dict[str, str] | None = None, opening: Callable[[], Workspace] | None = None,
                 first_page: start.FirstPage | None = None):
        """Either an open ``workspace``, or ``opening`` (opens it, in a thread once the first page is on
        screen) with the ``first_page`` to show until then."""
        super().__init__()
        if workspace is None and (opening is None or first_page is None):
            raise ValueError("CCConsole needs a workspace, or a way of opening one and the first page")
        self._workspace = workspace
        self._opening = opening
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        self._first_page = first_page
        self.db_label = db_label
        self.read_only = read_only or (workspace is not None and workspace.read_only)
        self.keymap = dict(keymap or {})
        # quick start: the footer's keys and the opening of the workspace wait for the first rows to
        # reach the terminal (each would otherwise be work done before that first frame)
        self.footer_ready = workspace is not None
        self._rows_shown = workspace is not None
        if workspace is not None:
            self._opened.set()

    class DataChanged(Message):
        """The workspace's change sequence moved: someone (maybe another process) wrote."""

    class WorkspaceOpened(Message):
        """The workspace opened in the background is ready (or failed to open: ``error``); ``differs``:
        it is not the one the first page was read from (another workspace, an older change sequence)."""

        def __init__(self, error: BaseException | None = None, differs: bool = False):
            super().__init__()
            self.error, self.differs = error, differs

    # --- the workspace ---------------------------------------------------------------------------

    @property
    def workspace(self) -> Workspace:
        """The open workspace. While it is still opening, a worker asking for it waits for it here."""
        if self._workspace is None:
            self._opened.wait()
            if self._workspace is None:
                raise self._open_error or StoreError("The workspace could not be opened.")
        return self._workspace

    @property
    def workspace_ready(self) -> bool:
        return self._workspace is not None

    def waiting_for_workspace(self) -> bool:
        return self._workspace is None  # (if opening fails, the app exits: held keys never run)

    @property
    def info(self) -> WorkspaceInfo:
        """The workspace's name, country and zone: known before it is open (from the first page)."""
        if self._workspace is not None:
            return self._workspace.info
        assert self._first_page is not None  # see __init__
        return self._first_page.info

    def first_rows(self) -> list[ContactRow] | None:
        """While the workspace is opening, the rows of the first page read at start-up (the contacts
        table shows them instead of fetching them)."""
        return self._first_page.rows if self._first_page is not None and self._workspace is None else None

    def _display(self, screen: Screen, renderable) -> None:
        """Textual's (pinned exactly): a frame goes to the terminal. The first one with the contacts
        table drawn sets off what waited for it."""
        shown = renderable is not None and not self._batch_count
        super()._display(screen, renderable)
        if shown and not self._rows_shown and getattr(screen, "rows_painted", lambda: False)():
            self._rows_shown = True
            self.call_later(self._after_first_rows)

    def _after_first_rows(self) -> None:
        """The first rows are on screen (or a second has passed without them): open the workspace in
        the background and show the footer's keys."""
        self._rows_shown = True
        self.open_in_background()
        if not self.footer_ready:
            self.footer_ready = True
            for footer in self.screen.query(KeyFooter):
                footer.refresh(recompose=True)

    def open_in_background(self) -> None:
        """Open the workspace in a thread of its own (workers waiting for it must not hold up the one
        that opens it)."""
        if self._opening is None:
            return
        opening, self._opening = self._opening, None
        threading.Thread(target=self._open, args=(opening,), name="ccconsole-open", daemon=True).start()

    def _open(self, opening: Callable[[], Workspace]) -> None:
        try:
            workspace = opening()
        except BaseException as err:
            self._open_error = err
            self._opened.set()
            self.post_message(self.WorkspaceOpened(err))
            return
        first = self._first_page
        try:  # (a later change sequence is the watchers' business: start_watching)
            differs = first is not None and (workspace.info != first.info or workspace.change_seq() < first.change_seq)
        except Exception:
            differs = True
        self._workspace = workspace
        self._opened.set()
        if not self.post_message(self.WorkspaceOpened(differs=differs)):  # the app is closing already
            workspace.close()

    async def on_ccconsole_workspace_opened(self, message: WorkspaceOpened) -> None:
        if message.error is not None:
            self.exit(return_code=1)  # run_console reports the error
            return
        self.read_only = self.read_only or self.workspace.read_only
        seen = self._first_page.change_seq if self._first_page is not None else None
        self._first_page = None
        self.start_watching(seen)  # a change since the first page was read reloads the screens
        if message.differs:  # the file was replaced meanwhile: what is on screen is not its data
            self.post_message(self.DataChanged())
        await self.release_keys()

    # --- screens ---------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self.push_screen(ContactsScreen())
        if self._workspace is not None:
            self.start_watching()
        else:
            self.set_timer(1.0, self._after_first_rows)  # in case no frame ever shows the table

    @on(DataChanged)
    def _data_changed(self) -> None:
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_data", None)
            if refresh is not None:
                refresh()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers every registered action of the current screen and the app."""
        from ccconsole.tui.screens.audit import AuditScreen
        from ccconsole.tui.screens.channels import ChannelsScreen
        from ccconsole.tui.screens.cleanup import ProblemContactsScreen, ProblemsScreen
        from ccconsole.tui.screens.history import HistoryScreen
        from ccconsole.tui.screens.lockins import LockInsScreen

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
        from ccconsole.tui.screens.dialogs import HelpScreen

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
        from ccconsole.tui.screens.channels import ChannelsScreen

        self._go_to(lambda s: isinstance(s, ChannelsScreen), ChannelsScreen)

    def action_audit(self) -> None:
        from ccconsole.tui.screens.audit import AuditScreen

        self._go_to(lambda s: isinstance(s, AuditScreen) and s.contact_id is None, AuditScreen)

    def action_problems(self) -> None:
        from ccconsole.tui.screens.cleanup import ProblemsScreen

        self._go_to(lambda s: isinstance(s, ProblemsScreen), ProblemsScreen)

    def action_lockins(self) -> None:
        from ccconsole.tui.screens.lockins import LockInsScreen

        self._go_to(lambda s: isinstance(s, LockInsScreen), LockInsScreen)

    def action_contacts(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("contacts", "channels", "lockins", "problems", "audit") and top_level(self.screen) == action:
            return False  # already there: the key leaves the footer
        spec = actions.by_action("app", action)
        if spec is not None and spec.mutates and self.read_only:
            return False
        return True

    def on_unmount(self) -> None:
        if self._workspace is not None:
            self._workspace.close()


def top_level(screen: Screen) -> str | None:
    """Which top-level screen ``screen`` is (the app action that opens it: ``contacts``, ``channels``,
    ``lockins``, ``problems``, ``audit`` for the workspace's audit log), None for any other. Read off
    the screen, so that this module need not import every screen to know."""
    return getattr(screen, "top_level", None)


def make_app(url: str, *, actor: str | None = None, read_only: bool = False, label: str | None = None,
             keymap: dict[str, str] | None = None, quick_start: bool = False) -> CCConsole:
    """The app on the database at ``url`` (upgraded on open): shared by the command line and the tests.

    ``quick_start``: when the database allows it (``ccconsole.app.start.first_page``), the app shows the
    first page at once and opens the workspace in the background; otherwise it is opened here first."""
    def opening() -> Workspace:
        from ccconsole.app import open_workspace  # SQLAlchemy loads here

        return open_workspace(url, actor=actor, read_only=read_only)

    db_label = label or start.database_label(url)
    first = start.first_page(url) if quick_start else None
    if first is not None:
        return CCConsole(db_label=db_label, read_only=read_only, keymap=keymap, first_page=first, opening=opening)
    workspace = opening()
    return CCConsole(workspace, db_label=db_label, read_only=read_only, keymap=keymap)


def run_console(url: str, *, actor: str | None = None, read_only: bool = False, mouse: bool = True,
                keymap: dict[str, str] | None = None) -> None:
    app = make_app(url, actor=actor, read_only=read_only, keymap=keymap, quick_start=True)
    app.run(mouse=mouse)
    if app._open_error is not None:  # opened in the background and failed: reported as opening first would
        raise app._open_error
