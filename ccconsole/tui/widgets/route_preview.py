"""The routing preview: the shared resolver's decision for one contact, and why.

It renders a :class:`RouteView` (computed by the store in a worker) as literal text: the route, the
explanation, the connections in priority order with their affinities, the lock-in conditions and the
values of ``@contact.urn`` and ``@urns.*``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ccconsole.core import urns as urnlib
from ccconsole.core.lockin import LockInKind
from ccconsole.core.routing import RULE_TEXT
from ccconsole.core.views import RouteView
from ccconsole.tui import safe


def render_route(rv: RouteView, country: str | None, tz: str = "UTC") -> Group:
    """The preview as rich renderables (every user string through the safe helper)."""
    try:
        zone = ZoneInfo(tz)
    except Exception:
        zone = ZoneInfo("UTC")
    out: list[Text] = []
    route, lock = rv.route, rv.lock_in
    head = Text()
    if route.ok:
        assert route.connection is not None and route.channel is not None and route.rule is not None
        head.append("→ ", style="bold")
        head.append_text(safe.text(urnlib.display_identity(route.connection.identity, country), "bold"))
        head.append(" via ")
        head.append_text(safe.text(route.channel.name, "bold"))
        if lock.locked:
            head.append("  ● locked in", style="bold green")
        out.append(head)
        out.append(Text(f"  {RULE_TEXT[route.rule]}", style="dim"))
    else:
        head.append("✗ no route: ", style="bold #ff5f5f")
        head.append_text(safe.text(route.reason or "", wrap=True))
        out.append(head)
    first = rv.contact.connections[0] if rv.contact.connections else None
    if lock.kind in (LockInKind.LOCKED_IN, LockInKind.SINGLE_CHANNEL, LockInKind.STALE) and first is not None:
        line = Text("  ")
        assert first.affinity_channel_id is not None  # the lock-in is judged on its affinity
        name = rv.channel_names.get(first.affinity_channel_id, "?")
        line.append("locked in to " if lock.locked else
                    "stale affinity: " if lock.kind == LockInKind.STALE else "affinity (only channel): ")
        line.append_text(safe.text(name))
        if first.affinity_since:
            line.append(f" since {first.affinity_since.astimezone(zone):%Y-%m-%d %H:%M}")
        message = rv.affinity_messages.get(first.affinity_message_id or -1)
        if message:
            line.append(" (")
            line.append_text(safe.text(f'"{message[1]}"'))
            line.append(")")
        out.append(line)
        if lock.stale_reason:
            out.append(safe.text(f"  ignored by routing: {lock.stale_reason}", "yellow", wrap=True))
    out.append(Text())
    out.append(Text("Why", style="bold underline"))
    if not route.attempts and route.reason:
        out.append(safe.text(f"  {route.reason}"))
    for n, attempt in enumerate(route.attempts, 1):
        line = Text(f" {n}. ")
        line.append_text(safe.text(attempt.connection.identity))
        line.append(": ")
        if attempt.channel:
            line.append("via ", style="green")
            line.append_text(safe.text(attempt.channel.name, "green"))
        else:
            line.append("skipped", style="yellow")
        out.append(line)
        for note in attempt.notes:
            out.append(safe.text(f"    · {note.text}", "dim", wrap=True))
    out.append(Text())
    out.append(Text("Connections, in priority order", style="bold underline"))
    if not rv.contact.connections:
        out.append(Text("  none", style="dim"))
    for n, conn in enumerate(rv.contact.connections, 1):
        line = Text(f" {n} ")
        line.append(f"{conn.scheme:<8} ", style="dim")
        line.append_text(safe.text(urnlib.display_identity(conn.identity, country)))
        if conn.affinity_channel_id:
            line.append("  affinity ", style="dim")
            line.append_text(safe.text(rv.channel_names.get(conn.affinity_channel_id, "?")))
        out.append(line)
    if lock.conditions:
        out.append(Text())
        out.append(Text(f"Lock-in: {lock.kind.value}", style="bold underline"))
        for cond in lock.conditions:
            line = Text("  ✓ " if cond.met else "  ✗ ", style="green" if cond.met else "#ff5f5f")
            line.append_text(safe.text(cond.text))
            out.append(line)
    out.append(Text())
    out.append(Text("Expressions", style="bold underline"))
    line = Text("  @contact.urn  ")
    line.append_text(safe.text(rv.contact_urn or "(empty)"))
    out.append(line)
    for scheme, identity in rv.urns.items():
        line = Text(f"  @urns.{scheme:<9}")
        line.append_text(safe.text(identity))
        out.append(line)
    return Group(*out)


class RoutePreview(VerticalScroll):
    """The pane beside the contacts table; follows the cursor."""

    DEFAULT_CSS = """
    RoutePreview { border: round $primary 60%; padding: 0 1; }
    RoutePreview > Static { width: 1fr; }
    """

    def __init__(self, country: str | None, tz: str = "UTC", id: str | None = None):
        super().__init__(id=id)
        self.country = country
        self.tz = tz
        self.current: RouteView | None = None  # what the pane shows (the what-if starts from it)
        self.border_title = "Route"

    def compose(self):
        yield Static("Move the cursor to a contact.", id="route-body")

    def show(self, rv: RouteView | None) -> None:
        body = self.query_one("#route-body", Static)
        self.current = rv
        if rv is None:
            self.border_title = "Route"
            body.update(safe.content("No contact selected."))
            return
        self.border_title = safe.content(f"Route for {rv.contact.name or '(no name)'}")
        body.update(render_route(rv, self.country, self.tz))

    def show_error(self, text: str) -> None:
        self.current = None
        self.query_one("#route-body", Static).update(safe.content(text))
