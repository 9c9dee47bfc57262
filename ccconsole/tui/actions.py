"""One registry of user actions: it generates the key bindings, the footer, the command palette and
the ``?`` help screen, and users remap keys by action id in the config file."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True, slots=True)
class ActionSpec:
    id: str  # stable id, used in the config file's [keys] table
    scope: str  # "app", "contacts", "editor", "channels", "help"
    keys: str  # default keys, comma separated
    action: str  # the Textual action it runs on its screen (or on the app for scope "app")
    description: str  # short, for the footer and the help screen
    footer: bool = True
    palette: str | None = None  # title in the command palette (None: not offered there)
    mutates: bool = False  # hidden and disabled in read-only mode
    priority: bool = False
    opens_input: bool = False  # the keys typed right after it belong to the input it opens (type-ahead)
    rank: int = 5  # footer order: lower first; what does not fit at the terminal's width is left out


ACTIONS: tuple[ActionSpec, ...] = (
    # the whole app
    ActionSpec("app.help", "app", "question_mark,f1", "help", "Help", palette="Help: every key", rank=1),
    ActionSpec("app.quit", "app", "ctrl+q", "quit", "Quit", palette="Quit ccconsole", priority=True, rank=6),
    ActionSpec("app.channels", "app", "C", "channels", "Channels", palette="Show channels", rank=2),
    ActionSpec("app.contacts", "app", "H", "contacts", "Home", palette="Home: the contacts screen", rank=2),
    ActionSpec("app.lockins", "app", "L", "lockins", "Lock-ins",
               palette="Show lock-ins: contacts locked in to each channel", rank=2),
    ActionSpec("app.audit", "app", "A", "audit", "Audit log",
               palette="Audit log of the workspace (who changed what)", rank=2),
    ActionSpec("app.problems", "app", "P", "problems", "Problems",
               palette="Problems: local numbers, duplicates, unreachable contacts… and their fixes", rank=1),
    # the contacts screen
    ActionSpec("contacts.filter", "contacts", "slash", "filter", "Filter", palette="Filter contacts",
               opens_input=True, rank=0),
    ActionSpec("contacts.clear", "contacts", "escape", "clear_filter", "Clear filter", footer=False,
               palette="Clear the filter"),
    ActionSpec("contacts.edit", "contacts", "e,enter", "edit", "Edit",
               palette="Update Contact (edit the highlighted contact)", mutates=True, opens_input=True, rank=0),
    ActionSpec("contacts.new", "contacts", "n", "new_contact", "New", palette="New contact", mutates=True,
               opens_input=True, rank=3),
    ActionSpec("contacts.delete", "contacts", "d", "delete_contact", "Delete",
               palette="Delete the highlighted contact (asks first; default No)", mutates=True, rank=5),
    ActionSpec("contacts.preview", "contacts", "p", "toggle_preview", "Preview",
               palette="Show or hide the routing preview", rank=4),
    ActionSpec("contacts.history", "contacts", "h", "history", "History",
               palette="History of the highlighted contact: messages and connection changes", rank=3),
    ActionSpec("contacts.whatif", "contacts", "w", "what_if", "What if", footer=False,
               palette="What if the highlighted contact wrote in on a connection through a channel"),
    ActionSpec("contacts.refresh", "contacts", "r", "refresh", "Refresh", footer=False, palette="Reload contacts"),
    ActionSpec("contacts.mark", "contacts", "space", "mark", "Mark", footer=False,
               palette="Mark or unmark the highlighted contact (for a broadcast preview)"),
    ActionSpec("contacts.unmark", "contacts", "u", "unmark_all", "Unmark all", footer=False,
               palette="Unmark every contact"),
    ActionSpec("contacts.broadcast", "contacts", "b", "broadcast", "Broadcast",
               palette="Broadcast preview: how a send to the marked contacts (or the filter) splits", rank=3),
    ActionSpec("contacts.audit", "contacts", "a", "audit_contact", "Audit", footer=False,
               palette="Audit log of the highlighted contact: who changed what and when"),
    ActionSpec("contacts.import", "contacts", "i", "import_file", "Import", footer=False,
               palette="Import contacts from a RapidPro .xlsx or .csv file", mutates=True, opens_input=True),
    ActionSpec("contacts.export", "contacts", "x", "export", "Export", footer=False,
               palette="Export the contacts of the current filter (.xlsx or .csv)", mutates=True, opens_input=True),
    ActionSpec("contacts.top", "contacts", "g,home", "first", "First", footer=False),
    ActionSpec("contacts.bottom", "contacts", "G,end", "last", "Last", footer=False),
    ActionSpec("contacts.down", "contacts", "j,down", "down", "Down", footer=False),
    ActionSpec("contacts.up", "contacts", "k,up", "up", "Up", footer=False),
    ActionSpec("contacts.pagedown", "contacts", "pagedown,ctrl+f", "page_down", "Page down", footer=False),
    ActionSpec("contacts.pageup", "contacts", "pageup,ctrl+b", "page_up", "Page up", footer=False),
    # the Update Contact modal
    ActionSpec("editor.save", "editor", "ctrl+s", "save", "Save", palette=None, mutates=True, priority=True, rank=0),
    ActionSpec("editor.cancel", "editor", "escape", "cancel", "Cancel", priority=True, rank=0),
    ActionSpec("editor.promote", "editor", "alt+up,ctrl+t", "promote", "Promote focused"),
    ActionSpec("editor.remove", "editor", "alt+delete,ctrl+r", "remove", "Remove focused"),
    ActionSpec("editor.history", "editor", "f2", "history", "History"),
    ActionSpec("editor.reload", "editor", "ctrl+l", "reload", "Reload (keeps your edits)", footer=False),
    ActionSpec("editor.audit", "editor", "f3,ctrl+o", "audit_contact", "Audit log", footer=False),
    # the import screen
    ActionSpec("import.run", "import", "ctrl+s", "run_import", "Import", mutates=True, priority=True, rank=0),
    ActionSpec("import.back", "import", "escape", "back", "Back / cancel", priority=True, rank=0),
    # the channels screen
    ActionSpec("channels.add", "channels", "a", "add", "Add channel", palette="Add a channel", mutates=True,
               opens_input=True, rank=0),
    ActionSpec("channels.toggle", "channels", "d", "toggle_active", "Disable/enable",
               palette="Disable or enable the highlighted channel", mutates=True, rank=0),
    ActionSpec("channels.back", "channels", "escape", "back", "Back", rank=3),
    # the lock-ins screen
    ActionSpec("lockins.filter", "lockins", "slash", "filter", "Filter",
               palette="Filter lock-ins by name or connection", opens_input=True, rank=0),
    ActionSpec("lockins.mark", "lockins", "space", "mark", "Mark",
               palette="Mark or unmark the highlighted affinity", rank=3),
    ActionSpec("lockins.clear", "lockins", "c", "clear", "Clear",
               palette="Clear affinities (marked, highlighted or all listed)", mutates=True, rank=0),
    ActionSpec("lockins.move", "lockins", "m", "move", "Move to…",
               palette="Move affinities to another channel (marked, highlighted or all listed)", mutates=True, rank=0),
    ActionSpec("lockins.history", "lockins", "h", "history", "History",
               palette="History of the highlighted contact", rank=3),
    ActionSpec("lockins.locked", "lockins", "1", "kind(0)", "Locked in", footer=False),
    ActionSpec("lockins.single", "lockins", "2", "kind(1)", "Single channel", footer=False),
    ActionSpec("lockins.stale", "lockins", "3", "kind(2)", "Stale", footer=False),
    ActionSpec("lockins.dormant", "lockins", "4", "kind(3)", "Not priority", footer=False),
    ActionSpec("lockins.all", "lockins", "5", "kind(4)", "All kinds", footer=False),
    ActionSpec("lockins.back", "lockins", "escape", "back", "Back", rank=3),
    # a contact's history
    ActionSpec("history.back", "history", "escape,q", "back", "Back", rank=0),
    # the audit log
    ActionSpec("audit.filter", "audit", "slash", "filter", "Filter", opens_input=True, rank=0),
    ActionSpec("audit.clear", "audit", "c", "clear_filters", "Clear filters", rank=3),
    ActionSpec("audit.top", "audit", "g", "first", "Newest", footer=False),
    ActionSpec("audit.bottom", "audit", "G", "last", "Oldest loaded (loads more)", footer=False),
    ActionSpec("audit.undo", "audit", "u", "undo", "Undo", mutates=True,
               palette="Undo the highlighted merge or re-normalization", rank=2),
    ActionSpec("audit.back", "audit", "escape", "back", "Back", rank=3),
    # the problems screen and the contacts of one problem
    ActionSpec("problems.open", "problems", "enter", "open", "List contacts", rank=0),
    ActionSpec("problems.renormalize", "problems", "R", "renormalize", "Re-normalize", mutates=True,
               palette="Re-normalize every local number (dry run first)", rank=1),
    ActionSpec("problems.back", "problems", "escape", "back", "Back", rank=3),
    ActionSpec("problem.edit", "problem", "e,enter", "edit", "Edit", mutates=True, opens_input=True,
               palette="Update Contact (edit the highlighted contact)", rank=0),
    ActionSpec("problem.mark", "problem", "space", "mark", "Mark", palette="Mark or unmark the highlighted contact",
               rank=1),
    ActionSpec("problem.merge", "problem", "m", "merge", "Merge", mutates=True,
               palette="Merge the marked contacts, or the highlighted duplicate with its partner", rank=0),
    ActionSpec("problem.renormalize", "problem", "R", "renormalize", "Re-normalize", mutates=True,
               palette="Re-normalize every local number (dry run first)", rank=2),
    ActionSpec("problem.back", "problem", "escape", "back", "Back", rank=3),
)

SCOPE_TITLES = {
    "app": "Everywhere",
    "contacts": "Contacts",
    "editor": "Update Contact",
    "channels": "Channels",
    "lockins": "Lock-ins",
    "history": "History",
    "audit": "Audit log",
    "import": "Import",
    "problems": "Problems",
    "problem": "Contacts of a problem",
}


# keys that belong to Textual's widgets rather than to an action of ours: the help screen lists them too
EXTRA_KEYS: dict[str, list[tuple[str, str]]] = {
    "app": [("ctrl+p", "Command palette: search every action"),
            ("tab / shift+tab", "Next / previous field or pane")],
    "import": [("→", "Complete the path (at its end)"), ("enter", "Preview: a dry run of the import")],
    "editor": [("tab / shift+tab", "Next / previous field")],
    "lockins": [("tab", "Between the channels (they filter the list) and the list")],
    "audit": [("tab", "From the text filter to the actor and action filters")],
}


def scope_of(screen: object) -> str | None:
    """The registry scope of a screen, read off its bindings' ids (``contacts.filter`` → ``contacts``)."""
    for binding in getattr(screen, "BINDINGS", ()):
        binding_id = getattr(binding, "id", None)
        if binding_id and "." in binding_id:
            return binding_id.partition(".")[0]
    return None


def specs(scope: str) -> list[ActionSpec]:
    return [a for a in ACTIONS if a.scope == scope]


def bindings(scope: str) -> list[BindingType]:
    """The Textual bindings of a scope, each with the action's id so a keymap can remap it."""
    return [Binding(a.keys, a.action, a.description, show=a.footer, id=a.id, priority=a.priority)
            for a in specs(scope)]


def opens_input(binding_id: str | None) -> bool:
    """Does the action with this binding id open a text input (whose keys must not run commands)?"""
    return binding_id is not None and any(a.id == binding_id and a.opens_input for a in ACTIONS)


def rank(binding_id: str | None) -> int:
    """The footer rank of a binding (bindings that are not ours, such as Textual's, come last)."""
    spec = next((a for a in ACTIONS if a.id == binding_id), None)
    return spec.rank if spec is not None else 9


def by_action(scope: str, action: str) -> ActionSpec | None:
    return next((a for a in specs(scope) if a.action == action), None)


def refused_in_read_only(scope: str, key: str, keymap: dict[str, str] | None = None) -> ActionSpec | None:
    """The action that changes data bound to ``key`` in ``scope`` (with the user's keymap): in a
    read-only console its binding is off, and the screen says why instead of doing nothing."""
    keymap = keymap or {}
    for spec in specs(scope):
        keys = keymap.get(spec.id, spec.keys)
        if spec.mutates and key in [k.strip() for k in keys.split(",")]:
            return spec
    return None


def key_label(keys: str) -> str:
    """``question_mark,f1`` → ``? / f1`` for the help screen."""
    names = {"question_mark": "?", "slash": "/", "pagedown": "PgDn", "pageup": "PgUp", "escape": "esc",
             "enter": "enter", "down": "↓", "up": "↑", "alt+up": "alt+↑", "space": "space",
             "alt+delete": "alt+del"}
    return " / ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))
