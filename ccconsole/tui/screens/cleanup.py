"""The cleanup workbench (domain.md section 8): the problems with their counts, the contacts of one
problem with the reason beside each, re-normalizing local numbers, and merging duplicates.

Every answer comes from ``ws.cleanup`` in a worker; the screens only show it and ask."""

from __future__ import annotations

import threading

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Label, ProgressBar, Static

from ccconsole.app.cleanup import MergeResult, ProblemRow, RenormalizePlan
from ccconsole.core import problems as rules
from ccconsole.core.combine import KEEP, OTHER
from ccconsole.tui import actions, safe
from ccconsole.tui.base import UsesWorkspace, failure_text
from ccconsole.tui.widgets.footer import KeyFooter

PAGE = 200

MEANING = {  # what the problem means and how to fix it, short enough for 80 columns
    "local_number": ("stored without its country code", "R re-normalize"),
    "invalid_connection": ("fails its type's rules", "e edit"),
    "bad_number": ("not a valid number", "e edit"),
    "duplicate": ("same address as another contact", "m merge"),
    "unreachable": ("no channel can send to it", "e edit, C"),
    "no_connection": ("no connection at all", "e edit"),
    "stale_affinity": ("locked in to a disabled channel", "L lock-ins"),
}


class ProblemsScreen(UsesWorkspace, Screen):
    """Each problem with how many contacts have it; enter lists them."""

    BINDINGS = actions.bindings("problems")
    top_level = "problems"  # the app action that leads here (tui.app.top_level)
    AUTO_FOCUS = "DataTable"

    class Loaded(Message):
        def __init__(self, counts: dict[str, int], error: str | None = None):
            super().__init__()
            self.counts, self.error = counts, error

    def compose(self) -> ComposeResult:
        yield Static(safe.content(" Problems — found when contacts are written; enter lists them"), id="title-bar")
        yield DataTable(id="problems", cursor_type="row", zebra_stripes=True)
        yield Static(safe.content(" Counting…"), id="problems-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Problem", width=18)
        table.add_column("Contacts", width=9)
        table.add_column("Means", width=31)
        table.add_column("Fix", width=14)
        self.refresh_data()

    def refresh_data(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="problems")
    def _load(self) -> None:
        try:
            counts = self.workspace.cleanup.counts()
        except Exception as err:
            self.post_message(self.Loaded({}, failure_text(err)))
            return
        self.post_message(self.Loaded(counts))

    def on_problems_screen_loaded(self, message: Loaded) -> None:
        if message.error:
            self.notify(safe.visible(message.error), severity="error", markup=False)
            return
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for name, n in message.counts.items():
            means, fix = MEANING[name]
            table.add_row(safe.text(name.replace("_", " "), "bold" if n else ""),
                          safe.text(f"{n:,}" if n else "—"), safe.text(means), safe.text(fix), key=name)
        table.move_cursor(row=min(keep, table.row_count - 1))
        total = sum(message.counts.values())
        self.query_one("#problems-note", Static).update(safe.content(
            f" {total:,} problems in all. A contact can have several." if total else " No problems: all clean."))

    def _current(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowSelected)
    def _selected(self) -> None:  # enter on the table
        self.action_open()

    def action_open(self) -> None:
        name = self._current()
        if name is not None:
            self.app.push_screen(ProblemContactsScreen(name))

    def action_renormalize(self) -> None:
        self.app.push_screen(Renormalize(), lambda done: self.refresh_data() if done else None)

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters) -> bool | None:
        spec = actions.by_action("problems", action)
        if spec is not None and spec.mutates and self.console_app.read_only:
            return False
        return True


class ProblemContactsScreen(UsesWorkspace, Screen):
    """The contacts with one problem, the reason beside each: edit, mark, merge, re-normalize."""

    BINDINGS = actions.bindings("problem")
    AUTO_FOCUS = "DataTable"
    DEFAULT_CSS = "#problem-note { height: auto; max-height: 5; border-top: solid $primary; }"

    class Loaded(Message):
        def __init__(self, rows: list[ProblemRow], append: bool, error: str | None = None):
            super().__init__()
            self.rows, self.append, self.error = rows, append, error

    def __init__(self, problem: str):
        super().__init__()
        self.problem = problem
        self.rows: dict[int, ProblemRow] = {}
        self.marked: list[int] = []
        self.exhausted = False

    def compose(self) -> ComposeResult:
        yield Static(safe.content(f" Problem: {self.problem.replace('_', ' ')}"), id="title-bar")
        yield DataTable(id="problem-contacts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="problem-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column(" ", key="mark", width=1)
        table.add_column("Name", key="name", width=16)
        table.add_column("Connection", key="urn", width=17)
        table.add_column("Reason", key="reason")  # in full below, for the highlighted row
        self.refresh_data()

    def refresh_data(self) -> None:
        self._load(0, len(self.rows) or PAGE, False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="problem-contacts")
    def _load(self, after: int, limit: int, append: bool) -> None:
        try:
            rows = self.workspace.cleanup.listed(self.problem, after=after, limit=max(limit, PAGE))
        except Exception as err:
            self.post_message(self.Loaded([], append, failure_text(err)))
            return
        self.post_message(self.Loaded(rows, append))

    def on_problem_contacts_screen_loaded(self, message: Loaded) -> None:
        if message.error:
            self.notify(safe.visible(message.error), severity="error", markup=False)
            return
        table = self.query_one(DataTable)
        keep = table.cursor_row
        if not message.append:
            table.clear()
            self.rows = {}
        self.exhausted = len(message.rows) < PAGE
        for row in message.rows:
            self.rows[row.contact.id] = row
            table.add_row(*self._cells(row), key=str(row.contact.id))
        self.marked = [m for m in self.marked if m in self.rows]
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        self._note()

    def _cells(self, row: ProblemRow):
        return (safe.text("●" if row.contact.id in self.marked else " ", "bold"),
                safe.text(row.contact.name or "(no name)"), safe.text(row.contact.priority_identity or "—"),
                safe.text(row.reason))

    def _note(self) -> None:
        n = len(self.rows)
        shown = f"{n:,}{'' if self.exhausted else '+'} contact{'' if n == 1 else 's'}"
        marked = f" · {len(self.marked)} marked (m merges them)" if self.marked else ""
        hint = " · m merges it with its partner" if self.problem == "duplicate" and not self.marked else ""
        row = self._current()
        reason = [f" {row.contact.name or '(no name)'}: {row.reason}"] if row is not None else []
        self.query_one("#problem-note", Static).update(safe.lines([f" {shown}{marked}{hint}", *reason]))

    def _current(self) -> ProblemRow | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(int(str(key)))

    @on(DataTable.RowHighlighted)
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        self._note()
        table = self.query_one(DataTable)
        if not self.exhausted and event.cursor_row >= table.row_count - 5 and self.rows:
            self._load(max(self.rows), PAGE, True)

    def action_mark(self) -> None:
        row = self._current()
        if row is None:
            return
        cid = row.contact.id
        if cid in self.marked:
            self.marked.remove(cid)
        else:
            self.marked.append(cid)
        table = self.query_one(DataTable)
        table.update_cell(str(cid), "mark", self._cells(row)[0])
        table.action_cursor_down()
        self._note()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:  # enter on the table
        if not self.console_app.read_only:
            self.action_edit()

    def action_edit(self) -> None:
        row = self._current()
        if row is None:
            return
        from ccconsole.tui.screens.editor import ContactEditor

        self.app.push_screen(ContactEditor(row.contact.id), lambda _: self.refresh_data())

    def action_merge(self) -> None:
        if len(self.marked) >= 2:
            ids = list(self.marked)
        else:
            row = self._current()
            if row is None:
                return
            if row.other_id is None:
                self.notify("Mark two or more contacts (space) to merge them, or use m on a duplicate.",
                            severity="warning")
                return
            ids = [row.contact.id, row.other_id]

        def done(merged: bool | None) -> None:
            if merged:
                self.marked.clear()
                self.refresh_data()

        self.app.push_screen(MergePreview(ids), done)

    def action_renormalize(self) -> None:
        self.app.push_screen(Renormalize(), lambda done: self.refresh_data() if done else None)

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters) -> bool | None:
        spec = actions.by_action("problem", action)
        if spec is not None and spec.mutates and self.console_app.read_only:
            return False
        return True


CLASH_COLUMNS = ("Value", "Kept contact", "Other", "Takes")


class MergePreview(UsesWorkspace, ModalScreen[bool]):
    """What merging these contacts gives, side by side, before anything is written: the survivor
    (the oldest by default; ``s`` swaps), the resulting connections, each clashing value with both
    sides (enter or space on it picks the other side), groups and messages. ``y`` merges."""

    BINDINGS = [("escape,n", "cancel", "Cancel"), ("y,ctrl+s", "merge", "Merge"), ("s", "swap", "Swap survivor"),
                ("space,enter", "pick", "Pick value")]
    DEFAULT_CSS = """
    #merge { width: 100%; max-width: 110; height: 100%; max-height: 40; border: thick $accent;
             background: $surface; padding: 0 1; }
    #merge-body { height: 1fr; }
    #merge-clashes { height: auto; max-height: 8; }
    #merge-buttons { height: auto; align-horizontal: right; }
    #merge-buttons Button { margin-left: 1; min-width: 12; }
    """

    class Previewed(Message):
        def __init__(self, result: MergeResult | None, error: str | None = None):
            super().__init__()
            self.result, self.error = result, error

    class Merged(Message):
        def __init__(self, result: MergeResult | None, error: str | None = None):
            super().__init__()
            self.result, self.error = result, error

    def __init__(self, contact_ids: list[int]):
        super().__init__()
        self.ids = list(contact_ids)
        self.keep: int | None = None  # chosen once the preview knows which is older
        self.picks: dict[str, str] = {}
        self.result: MergeResult | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="merge"):
            yield Label("Merge contacts — nothing is changed until you press y", id="editor-title")
            with VerticalScroll(id="merge-body"):
                yield Static(safe.content("Working out the merge…"), id="merge-sides")
                yield Label("Values that differ (enter/space picks the other side):", id="merge-clash-title")
                yield DataTable(id="merge-clashes", cursor_type="row")
                yield Static("", id="merge-result")
            with Horizontal(id="merge-buttons"):
                yield Button("Cancel (esc)", id="merge-cancel", variant="primary")
                yield Button("Swap (s)", id="merge-swap")
                yield Button("Merge (y)", id="merge-go", variant="error")

    def on_mount(self) -> None:
        self.query_one("#merge-clashes", DataTable).add_columns(*CLASH_COLUMNS)
        self._preview()

    @work(thread=True, exclusive=True, exit_on_error=False, group="merge-preview")
    def _preview(self) -> None:
        try:
            ws = self.workspace
            if self.keep is None:
                views = [ws.contacts.get(cid) for cid in self.ids]
                self.keep = min(views, key=lambda v: (v.created_on, v.id)).id
            others = [cid for cid in self.ids if cid != self.keep]
            result = ws.cleanup.merge(self.keep, others, picks=self.picks, dry_run=True)
        except Exception as err:
            self.post_message(self.Previewed(None, failure_text(err)))
            return
        self.post_message(self.Previewed(result))

    def on_merge_preview_previewed(self, message: Previewed) -> None:
        if message.error or message.result is None:
            self.result = None
            self.query_one("#merge-sides", Static).update(safe.content(f"⚠ {message.error}"))
            return
        self.result = r = message.result
        keep_before = {**r.versions}
        s = r.survivor
        lines = [f"Keeps:  {s.name or '(no name)'}  {s.uuid}  (v{keep_before.get(s.id, s.version)})"]
        for step in r.steps:
            o = step.other
            lines.append(f"Merges: {o.name or '(no name)'}  {o.uuid}  ({step.messages} messages; "
                         f"its UUID will lead to the kept contact)")
            lines += [f"        drops {b} — the same address as {a}" for b, a in step.plan.dropped]
        self.query_one("#merge-sides", Static).update(safe.lines(lines))
        table = self.query_one("#merge-clashes", DataTable)
        row = table.cursor_row
        rows = [(clash.attr, (safe.text(clash.attr), safe.text(clash.keep), safe.text(clash.other),
                              safe.text("other" if step.plan.values.get(clash.attr) == clash.other else "kept",
                                        "bold")))
                for step in r.steps for clash in step.plan.clashes]
        # the columns get their widths here: sized when idle (DataTable's own way), a header drawn
        # before that could stay at the labels' widths over wider rows
        table.clear(columns=True)
        for n, label in enumerate(CLASH_COLUMNS):
            table.add_column(label, width=max([len(label)] + [cells[n].cell_len for _, cells in rows]))
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        self.query_one("#merge-clash-title", Label).display = table.row_count > 0
        table.display = table.row_count > 0
        result = ["Result:"]
        result += [f"  {i}. {c.identity}" for i, c in enumerate(s.connections, 1)]
        result.append("  groups: " + (", ".join(s.groups) or "—"))
        result += [f"  {k}: {v}" for k, v in s.fields]
        result.append(f"  messages: {r.keep_messages} · language: {s.language or '—'} · status: {s.status}")
        self.query_one("#merge-result", Static).update(safe.lines(result))

    @on(DataTable.RowSelected)
    def _selected(self) -> None:  # enter on a clash
        self.action_pick()

    def action_pick(self) -> None:
        table = self.query_one("#merge-clashes", DataTable)
        if self.result is None or table.row_count == 0:
            return
        attr = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        self.picks[attr] = KEEP if self.picks.get(attr) == OTHER else OTHER
        self._preview()

    @on(Button.Pressed, "#merge-swap")
    def action_swap(self) -> None:
        if self.result is None or len(self.ids) != 2:
            if len(self.ids) != 2:
                self.notify("Swap works on two contacts; pick the one to keep by marking it first.")
            return
        self.keep = next(cid for cid in self.ids if cid != self.keep)
        self.picks.clear()
        self._preview()

    @on(Button.Pressed, "#merge-cancel")
    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(False)

    @on(Button.Pressed, "#merge-go")
    def action_merge(self) -> None:
        if self.result is None or self.busy or self.keep is None:
            return
        self.busy = True
        self._merge(self.keep, [cid for cid in self.ids if cid != self.keep], dict(self.picks),
                    dict(self.result.versions))

    @work(thread=True, exclusive=True, exit_on_error=False, group="merge-run")
    def _merge(self, keep: int, others: list[int], picks: dict[str, str], versions: dict[int, int]) -> None:
        try:
            result = self.workspace.cleanup.merge(keep, others, picks=picks, expected=versions)
        except Exception as err:
            self.post_message(self.Merged(None, failure_text(err)))
            return
        self.post_message(self.Merged(result))

    def on_merge_preview_merged(self, message: Merged) -> None:
        self.busy = False
        if message.error or message.result is None:
            self.notify(safe.visible(message.error or "The merge failed."), severity="error", markup=False)
            self._preview()  # show what is true now
            return
        s = message.result.survivor
        self.notify(safe.visible(f"Merged into {s.name or s.uuid}. Undo: audit log (A), u on the event."),
                    markup=False)
        self.dismiss(True)


class Renormalize(UsesWorkspace, ModalScreen[bool]):
    """Re-normalize local numbers: the dry run first (counts per outcome, the first examples), then
    apply with progress and Cancel. Returns True when something changed."""

    BINDINGS = [("escape", "cancel", "Cancel / stop"), ("a", "apply", "Apply")]
    AUTO_FOCUS = "#renorm-cancel"
    DEFAULT_CSS = """
    #renorm { width: 80; max-width: 100%; height: auto; max-height: 100%; border: thick $accent;
              background: $surface; padding: 0 1; }
    #renorm-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    #renorm-buttons Button { margin-left: 1; }
    """

    class Planned(Message):
        def __init__(self, plan: RenormalizePlan | None, error: str | None = None):
            super().__init__()
            self.plan, self.error = plan, error

    class Progress(Message):
        def __init__(self, done: int, total: int):
            super().__init__()
            self.done, self.total = done, total

    class Finished(Message):
        def __init__(self, text: str, changed: bool, error: bool = False):
            super().__init__()
            self.text, self.changed, self.error = text, changed, error

    def __init__(self) -> None:
        super().__init__()
        self.plan: RenormalizePlan | None = None
        self.running = False
        self.stop = threading.Event()

    def compose(self) -> ComposeResult:
        with Vertical(id="renorm"):
            yield Label("Re-normalize local numbers (dry run first)", id="editor-title")
            yield Static(safe.content("Looking at every local number…"), id="renorm-plan")
            yield ProgressBar(id="renorm-progress", show_eta=False)
            with Horizontal(id="renorm-buttons"):
                yield Button("Cancel (esc)", id="renorm-cancel", variant="primary")
                yield Button("Apply (a)", id="renorm-apply", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False
        self._plan()

    @work(thread=True, exclusive=True, exit_on_error=False, group="renorm-plan")
    def _plan(self) -> None:
        try:
            plan = self.workspace.cleanup.renormalize_plan()
        except Exception as err:
            self.post_message(self.Planned(None, failure_text(err)))
            return
        self.post_message(self.Planned(plan))

    def on_renormalize_planned(self, message: Planned) -> None:
        shown = self.query_one("#renorm-plan", Static)
        if message.error or message.plan is None:
            shown.update(safe.content(f"⚠ {message.error}"))
            return
        self.plan = plan = message.plan
        if not plan.fixes:
            shown.update(safe.content("No local numbers: nothing to do."))
            return
        lines = []
        for outcome in rules.Outcome:
            n = plan.counts[outcome.value]
            lines.append(f"{n:>7,}  {rules.OUTCOME_TEXT[outcome]}")
            lines += [f"          e.g. {f.old} → {f.new} ({f.contact_name or 'no name'})"
                      for f in plan.examples(outcome, 2)]
        n = len(plan.contacts)
        lines.append(f"Apply (a) changes {n:,} contact{'' if n == 1 else 's'}: each audited, undo from the audit log.")
        shown.update(safe.lines(lines))
        self.query_one("#renorm-apply", Button).disabled = not plan.contacts or self.console_app.read_only

    @on(Button.Pressed, "#renorm-apply")
    def action_apply(self) -> None:
        if self.running or self.plan is None or self.query_one("#renorm-apply", Button).disabled:
            return
        self.running = True
        self.query_one("#renorm-apply", Button).disabled = True
        self.query_one("#renorm-cancel", Button).label = "Stop (esc)"
        bar = self.query_one(ProgressBar)
        bar.display = True
        bar.update(total=max(1, len(self.plan.contacts)), progress=0)
        self._run()

    @work(thread=True, exclusive=True, exit_on_error=False, group="renorm-run")
    def _run(self) -> None:
        try:
            result = self.workspace.cleanup.renormalize(
                progress=lambda done, total: self.post_message(self.Progress(done, total)),
                cancelled=self.stop.is_set)
        except Exception as err:
            self.post_message(self.Finished(failure_text(err), True, error=True))
            return
        how = "Stopped after" if result.cancelled else "Re-normalized"
        undo = f" Undo: event {result.event_id} in the audit log." if result.event_id else ""
        self.post_message(self.Finished(f"{how} {result.contacts:,} contacts.{undo}", result.contacts > 0))

    def on_renormalize_progress(self, message: Progress) -> None:
        self.query_one(ProgressBar).update(total=max(1, message.total), progress=message.done)

    def on_renormalize_finished(self, message: Finished) -> None:
        self.running = False
        self.notify(safe.visible(message.text), severity="error" if message.error else "information", markup=False)
        self.dismiss(message.changed)

    @on(Button.Pressed, "#renorm-cancel")
    def action_cancel(self) -> None:
        if self.running:
            self.stop.set()  # the chunk in hand finishes (whole contacts only), then it stops
            return
        self.dismiss(False)

