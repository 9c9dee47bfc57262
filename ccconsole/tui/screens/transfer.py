"""Import and export screens: choose a file, preview the import (a dry run), confirm, follow progress.

The work runs in thread workers that post messages; the screens own the state. Cancelling an import
rolls it back entirely (the import is one transaction); cancelling an export leaves no file.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.suggester import Suggester
from textual.widgets import Input, Label, ProgressBar, Static

from ccconsole.core.text import counted
from ccconsole.errors import StoreError
from ccconsole.tui import actions, safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.screens.dialogs import Confirm
from ccconsole.tui.widgets.footer import KeyFooter

SHOWN_ERRORS = 8


class PathSuggester(Suggester):
    """Completes the path typed so far with the first matching file or folder (→ accepts)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        typed = Path(value).expanduser()
        folder, stem = (typed, "") if value.endswith("/") else (typed.parent, typed.name)
        try:
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                           if p.name.startswith(stem) and not p.name.startswith(".") or
                           (stem.startswith(".") and p.name.startswith(stem)))
        except OSError:
            return None
        for name in names:
            if name.rstrip("/") != stem:
                return value + name[len(stem):]
        return None


class Progress(Message):
    def __init__(self, done: int, total: int | None, started: float):
        super().__init__()
        self.done, self.total, self.started = done, total, started


def _rate(done: int, started: float) -> str:
    seconds = max(time.monotonic() - started, 1e-6)
    return f"{done:,} rows · {done / seconds:,.0f} rows/s"


class ImportScreen(UsesWorkspace, Screen):
    """Choose a file; the dry run previews what the import would do; ctrl+s imports it."""

    BINDINGS = actions.bindings("import")
    AUTO_FOCUS = "#import-path"

    class Previewed(Message):
        def __init__(self, path: str, report=None, error: str | None = None):
            super().__init__()
            self.path, self.report, self.error = path, report, error

    class Finished(Message):
        def __init__(self, report=None, error: str | None = None, cancelled: bool = False):
            super().__init__()
            self.report, self.error, self.cancelled = report, error, cancelled

    def __init__(self, path: str = "") -> None:
        super().__init__()
        self.initial = path
        self.preview = None  # the dry run's report for self.previewed_path
        self.previewed_path: str | None = None
        self.running = False  # an import (not a preview) is under way
        self.busy = False
        self._cancel = threading.Event()

    def compose(self) -> ComposeResult:
        yield Static(safe.content(" Import contacts — a RapidPro/TextIt .xlsx or UTF-8 .csv; adds, never removes"),
                     id="title-bar")
        with Vertical(id="import-body"):
            yield Label("File (→ completes, enter previews):")
            yield safe.SafeInput(self.initial, placeholder="~/contacts.xlsx", id="import-path",
                                 suggester=PathSuggester())
            yield Static("", id="import-summary")
            with Horizontal(id="import-progress-row"):
                yield ProgressBar(id="import-progress", show_eta=False)
                yield Label("", id="import-rate", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#import-progress-row").display = False
        self._show(["Type the path of the file and press enter: a dry run shows what would change."])

    def _show(self, lines: list[str]) -> None:
        # each line made literal and visible on its own: the line breaks are ours, not the file's
        self.query_one("#import-summary", Static).update(Content("\n".join(safe.visible(line) for line in lines)))

    # --- preview ------------------------------------------------------------------------------------

    @on(Input.Submitted, "#import-path")
    def _submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if path and not self.busy:
            self.start_preview(path)

    def start_preview(self, path: str) -> None:
        self.preview, self.previewed_path, self.busy = None, None, True
        self._cancel.clear()
        self._show([f"Checking {path} (dry run)…"])
        self._progress_start()
        self._preview(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="import")
    def _preview(self, path: str) -> None:

        started = time.monotonic()
        try:
            report = self.workspace.transfer.import_file(path, dry_run=True, cancelled=self._cancel.is_set,
                                 progress=lambda d, t: self.post_message(Progress(d, t, started)))
        except StoreError as err:
            self.post_message(self.Previewed(path, error=str(err)))
            return
        except Exception as err:  # a database driver's error: one line, never a crash
            self.post_message(self.Previewed(path, error=failure_text(err)))
            return
        self.post_message(self.Previewed(path, report))

    def on_import_screen_previewed(self, message: Previewed) -> None:
        self.busy = False
        self.query_one("#import-progress-row").display = False
        if message.error:
            self._show([message.error, "", "Fix the file (or the path) and press enter again."])
            return
        report = message.report
        self.preview, self.previewed_path = report, message.path
        lines = [f"{report.file} — dry run, nothing changed yet:",
                 f"• {report.rows:,} rows: {report.created:,} would create a contact, "
                 f"{report.updated:,} would update one, {report.unchanged:,} unchanged",
                 f"• {report.errored:,} not matched, {report.skipped:,} skipped (no UUID and no connection)"]
        if report.errors:
            n = report.error_count
            lines.append(f"{n:,} error{'' if n == 1 else 's'} (a row not matched is skipped; else only the item):")
            lines += [f"• {e}" for e in report.errors[:SHOWN_ERRORS]]
            if report.error_count > SHOWN_ERRORS:
                lines.append(f"• … and {report.error_count - SHOWN_ERRORS:,} more")
        lines += ["", "ctrl+s imports it (one transaction: all or nothing) · esc back"]
        self._show(lines)

    # --- import -------------------------------------------------------------------------------------

    def action_run_import(self) -> None:
        if self.busy or self.preview is None:
            self.notify("Preview a file first (enter in the path box).", markup=False)
            return
        path, report = self.previewed_path, self.preview
        question = (f"Import {report.file}? {counted(report.created, 'contact')} created, {report.updated:,} updated, "
                    f"{report.errored:,} rows skipped (not matched).")
        self.app.push_screen(Confirm(question), lambda yes: yes and self._start_import(path))

    def _start_import(self, path: str) -> None:
        self.running = self.busy = True
        self._cancel.clear()
        self._show([f"Importing {path}… (esc cancels: nothing is kept)"])
        self._progress_start()
        self._import(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="import")
    def _import(self, path: str) -> None:
        from ccconsole.app.transfer import ImportCancelled

        started = time.monotonic()
        try:
            report = self.workspace.transfer.import_file(path, cancelled=self._cancel.is_set,
                                 progress=lambda d, t: self.post_message(Progress(d, t, started)))
        except ImportCancelled:
            self.post_message(self.Finished(cancelled=True))
            return
        except StoreError as err:
            self.post_message(self.Finished(error=str(err)))
            return
        except Exception as err:
            self.post_message(self.Finished(error=failure_text(err)))
            return
        self.post_message(self.Finished(report))

    def on_import_screen_finished(self, message: Finished) -> None:
        self.running = self.busy = False
        self.query_one("#import-progress-row").display = False
        self.preview = None
        if message.cancelled:
            self._show(["Import cancelled: everything was rolled back, nothing changed."])
            self.notify("Import cancelled; nothing changed.", markup=False)
        elif message.error:
            self._show([message.error, "Nothing was imported."])
            self.notify(safe.visible(message.error), severity="error", markup=False)
        else:
            r = message.report
            self._show(r.lines()[: SHOWN_ERRORS + 1] + ["", "esc back to the contacts"])
            self.notify(safe.visible(r.lines()[0]), markup=False)

    # --- progress and cancel ------------------------------------------------------------------------

    def _progress_start(self) -> None:
        self.query_one("#import-progress-row").display = True
        bar = self.query_one("#import-progress", ProgressBar)
        bar.update(total=None, progress=0)
        self.query_one("#import-rate", Label).update("")

    def on_progress(self, message: Progress) -> None:
        bar = self.query_one("#import-progress", ProgressBar)
        total = max(message.total or 0, message.done) or None
        bar.update(total=total, progress=message.done)
        self.query_one("#import-rate", Label).update(_rate(message.done, message.started))

    def action_back(self) -> None:
        if self.busy:
            self._cancel.set()
            self._show(["Cancelling… (rolling back)"])
            return
        self.app.pop_screen()

    def check_action(self, action: str, parameters) -> bool | None:
        spec = actions.by_action("import", action)
        return not (spec is not None and spec.mutates and self.console_app.read_only)


class ExportScreen(UsesWorkspace, ModalScreen[str | None]):
    """Export the contacts of the current filter to .xlsx or .csv, with progress; esc cancels."""

    BINDINGS = [("escape", "cancel", "Cancel")]

    class Finished(Message):
        def __init__(self, report=None, error: str | None = None):
            super().__init__()
            self.report, self.error = report, error

    def __init__(self, query: str | None, count: int | None, path: str) -> None:
        super().__init__()
        self.filter_text, self.count, self.initial = query, count, path
        self.busy = False
        self._cancel = threading.Event()

    def compose(self) -> ComposeResult:
        what = (f"the {counted(self.count, 'contact')}" if self.count is not None else "the contacts") + \
            (f" matching /{self.filter_text}" if self.filter_text else "")
        with Vertical(id="export"):
            yield Label(safe.content(f"Export {what}"), id="editor-title")
            yield Label("File (.xlsx, or .csv by extension; enter exports):")
            yield safe.SafeInput(self.initial, id="export-path", suggester=PathSuggester())
            with Horizontal(id="export-progress-row"):
                yield ProgressBar(id="export-progress", show_eta=False)
                yield Label("", id="export-rate", markup=False)
            yield Static("", id="export-status")

    def on_mount(self) -> None:
        self.query_one("#export-progress-row").display = False

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if self.busy or not path:
            return
        if Path(path).expanduser().is_file():
            self.app.push_screen(Confirm(f"Replace the existing file {path}?"),
                                 lambda yes: self._start(path) if yes else None)
            return
        self._start(path)

    def _start(self, path: str) -> None:
        self.busy = True
        self.query_one("#export-progress-row").display = True
        self.query_one("#export-status", Static).update(safe.content("Exporting… (esc cancels)"))
        self._export(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def _export(self, path: str) -> None:

        started = time.monotonic()
        try:
            report = self.workspace.transfer.export_file(path, query=self.filter_text, cancelled=self._cancel.is_set,
                                 progress=lambda d, t: self.post_message(Progress(d, t, started)))
        except StoreError as err:
            self.post_message(self.Finished(error=str(err)))
            return
        except Exception as err:
            self.post_message(self.Finished(error=failure_text(err)))
            return
        self.post_message(self.Finished(report))

    def on_progress(self, message: Progress) -> None:
        self.query_one("#export-progress", ProgressBar).update(total=message.total or None, progress=message.done)
        self.query_one("#export-rate", Label).update(_rate(message.done, message.started))

    def on_export_screen_finished(self, message: Finished) -> None:
        self.busy = False
        if message.error:
            self.query_one("#export-progress-row").display = False
            self.query_one("#export-status", Static).update(safe.content(message.error))
            return
        self.notify(safe.visible(f"Exported {counted(message.report.contacts, 'contact')} to {message.report.file}"),
                    markup=False)
        self.dismiss(message.report.file)

    def action_cancel(self) -> None:
        if self.busy:
            self._cancel.set()
            return
        self.dismiss(None)
