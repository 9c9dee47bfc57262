"""The scriptable commands: each opens the workspace through ``base.opened`` (the one settings
resolution), calls one use case of ``ccconsole.app`` and prints its result (``render``) or JSON."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from ccconsole import settings
from ccconsole.app import Workspace
from ccconsole.app import demo as demo_app
from ccconsole.cli import render
from ccconsole.cli.base import Fail, db_option, echo, emit, handles_errors, json_option, main, opened, resolve
from ccconsole.core import urns as urnlib
from ccconsole.core.lockin import LockInKind
from ccconsole.core.model import RECEIVE, SEND
from ccconsole.core.text import counted, visible

# --- workspace -----------------------------------------------------------------------------------


@main.group()
def workspace() -> None:
    """Show or set the workspace's name, default country and time zone."""


@workspace.command("show")
@db_option
@json_option
@click.pass_context
@handles_errors
def workspace_show(ctx: click.Context, db_url: str | None, as_json: bool) -> None:
    """The workspace of the database."""
    with opened(ctx, db_url, read_only=True) as ws:
        info = ws.info
    emit({"name": info.name, "country": info.country, "timezone": info.timezone}, as_json,
         [render.workspace_line(info)])


@workspace.command("set")
@click.option("--name", default=None)
@click.option("--country", default=None, help="Default country for phone numbers, e.g. RW ('' clears it).")
@click.option("--timezone", "tz", default=None, help="e.g. Africa/Kigali.")
@db_option
@click.pass_context
@handles_errors
def workspace_set(ctx: click.Context, name: str | None, country: str | None, tz: str | None,
                  db_url: str | None) -> None:
    """Change the workspace's settings."""
    with opened(ctx, db_url) as ws:
        info = ws.update(name=name, country=country, timezone_name=tz)
    echo(render.workspace_line(info))


# --- urns ----------------------------------------------------------------------------------------


@main.group()
def urns() -> None:
    """Check and normalize connections."""


@urns.command("check")
@click.argument("values", nargs=-1)
@click.option("--country", default=None, help="Default country for phone numbers, e.g. RW.")
@click.option("--new", "new", is_flag=True, help="Apply the Update Contact rule: new numbers need E.164.")
@db_option
@json_option
def urns_check(values: tuple[str, ...], country: str | None, new: bool, db_url: str | None, as_json: bool) -> None:
    """Normalize each connection (arguments, or one per line on stdin); exit 1 if any is invalid."""
    if not values:  # one per line on stdin; a byte-order mark before the first is not part of it
        values = tuple(line for line in (raw.strip().lstrip("\ufeff") for raw in sys.stdin) if line)
    results, bad = [], 0
    for value in values:
        try:
            urn = urnlib.clean_text(value, country, require_e164=new)
            results.append({"input": value, "identity": urn.identity, "valid": True,
                            "display": urnlib.display(urn, country)})
        except urnlib.URNError as err:
            bad += 1
            results.append({"input": value, "identity": None, "valid": False, "error": str(err)})
    emit(results, as_json, [f"{r['input']}\t{r['identity']}" if r["valid"] else f"{r['input']}\tERROR: {r['error']}"
                            for r in results])
    if bad:
        sys.exit(1)


# --- channels ------------------------------------------------------------------------------------


@main.group()
def channels() -> None:
    """List, add and disable channels."""


@channels.command("list")
@db_option
@json_option
@click.pass_context
@handles_errors
def channels_list(ctx: click.Context, db_url: str | None, as_json: bool) -> None:
    """The workspace's channels, oldest first."""
    with opened(ctx, db_url, read_only=True) as ws:
        chans = ws.channels.list()
    emit([render.channel_dict(c) for c in chans], as_json,
         [render.CHANNEL_HEADER, *(render.channel_line(c) for c in chans)] if chans else ["No channels yet."])


@channels.command("add")
@click.argument("name")
@click.option("--type", "ctype", required=True, help="Channel type, e.g. Twilio, Telegram.")
@click.option("--scheme", "schemes", multiple=True, required=True, help="Connection type it serves (repeat).")
@click.option("--address", default="", help="Its number, handle or address.")
@click.option("--country", default=None, help="Country of a phone channel, e.g. RW.")
@click.option("--prefix", "prefixes", multiple=True, help="Match prefix for phone numbers (repeat).")
@click.option("--role", "roles", multiple=True, type=click.Choice([SEND, RECEIVE]),
              help="send and/or receive (default both).")
@click.option("--allow-international", is_flag=True)
@db_option
@json_option
@click.pass_context
@handles_errors
def channels_add(ctx: click.Context, name: str, ctype: str, schemes: tuple[str, ...], address: str,
                 country: str | None, prefixes: tuple[str, ...], roles: tuple[str, ...], allow_international: bool,
                 db_url: str | None, as_json: bool) -> None:
    """Add a channel."""
    with opened(ctx, db_url) as ws:
        ch = ws.channels.add(name, ctype, schemes, address=address, country=country, match_prefixes=prefixes,
                             roles=roles or (SEND, RECEIVE), allow_international=allow_international)
    emit(render.channel_dict(ch), as_json, [f"Added channel {ch.name} ({ch.uuid})"])


@channels.command("disable")
@click.argument("channel")
@db_option
@click.pass_context
@handles_errors
def channels_disable(ctx: click.Context, channel: str, db_url: str | None) -> None:
    """Disable a channel: routing ignores it and affinities to it become stale."""
    with opened(ctx, db_url) as ws:
        ch = ws.channels.set_active(channel, False)
    echo(f"Disabled channel {ch.name}")


@channels.command("enable")
@click.argument("channel")
@db_option
@click.pass_context
@handles_errors
def channels_enable(ctx: click.Context, channel: str, db_url: str | None) -> None:
    """Enable a disabled channel again."""
    with opened(ctx, db_url) as ws:
        ch = ws.channels.set_active(channel, True)
    echo(f"Enabled channel {ch.name}")


# --- contacts ------------------------------------------------------------------------------------


@main.group()
def contacts() -> None:
    """Add, show, change and delete contacts."""


def _channel_names(ws: Workspace) -> dict[int, str]:
    return {ch.id: ch.name for ch in ws.channels.list()}


def _parse_fields(pairs: tuple[str, ...]) -> dict[str, str]:
    fields = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise Fail(f"--field takes name=value, not '{pair}'.")
        fields[key.strip()] = value
    return fields


@contacts.command("add")
@click.option("--name", default="")
@click.option("--urn", "urns_", multiple=True, help="A connection, e.g. tel:+250788383383 (repeat; first = priority).")
@click.option("--group", "groups", multiple=True)
@click.option("--field", "fields", multiple=True, help="name=value (repeat).")
@click.option("--language", default=None)
@db_option
@json_option
@click.pass_context
@handles_errors
def contacts_add(ctx: click.Context, name: str, urns_: tuple[str, ...], groups: tuple[str, ...],
                 fields: tuple[str, ...], language: str | None, db_url: str | None, as_json: bool) -> None:
    """Create a contact."""
    with opened(ctx, db_url) as ws:
        view = ws.contacts.create(name, urns_, groups=groups, fields=_parse_fields(fields), language=language)
        country, names = ws.info.country, _channel_names(ws)
    emit(view.as_dict(country), as_json, render.contact_lines(view, country, names))


@contacts.command("show")
@click.argument("contact")
@db_option
@json_option
@click.pass_context
@handles_errors
def contacts_show(ctx: click.Context, contact: str, db_url: str | None, as_json: bool) -> None:
    """Show a contact (CONTACT = uuid or a connection such as tel:0788383383)."""
    with opened(ctx, db_url, read_only=True) as ws:
        view = ws.contacts.get(contact)
        if ws.contacts.merged_into(contact) == view.uuid:
            click.echo(visible(f"Contact {contact.strip()} was merged into {view.uuid}."), err=True)
        country, names = ws.info.country, _channel_names(ws)
    emit(view.as_dict(country), as_json, render.contact_lines(view, country, names))


@contacts.command("set-urns")
@click.argument("contact")
@click.argument("urns_", metavar="URN...", nargs=-1, required=True)
@db_option
@json_option
@click.pass_context
@handles_errors
def contacts_set_urns(ctx: click.Context, contact: str, urns_: tuple[str, ...], db_url: str | None,
                      as_json: bool) -> None:
    """Replace the contact's connections with exactly these, in this order (the Contacts API update)."""
    with opened(ctx, db_url) as ws:
        view = ws.contacts.set_urns(contact, list(urns_))
        country, names = ws.info.country, _channel_names(ws)
    emit(view.as_dict(country), as_json, render.contact_lines(view, country, names))


@contacts.command("delete")
@click.argument("contact")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
@click.pass_context
@handles_errors
def contacts_delete(ctx: click.Context, contact: str, yes: bool, db_url: str | None) -> None:
    """Delete a contact; its connections are detached and free for other contacts."""
    with opened(ctx, db_url) as ws:
        view = ws.contacts.get(contact)
        if not yes and not click.confirm(visible(f"Delete {view.name or view.uuid}?"), default=False):
            raise Fail("Not deleted.")
        ws.contacts.delete(view.uuid)
    echo(f"Deleted {view.name or view.uuid}; {len(view.connections)} connection(s) detached.")


# --- lock-ins and history -------------------------------------------------------------------------

KIND_CHOICES = click.Choice(["locked-in", "single-channel", "stale", "not-priority"])


def _selection(ws: Workspace, channel: str | None, kind: str | None, text: str | None,
               contact: str | None) -> dict[str, Any]:
    return dict(channel_id=ws.channels.find(channel).id if channel else None,
                kinds=[LockInKind(kind)] if kind else None, text=text,
                contact_id=ws.contacts.get(contact).id if contact else None)


def _selection_options(f: Any) -> Any:
    for option in reversed([
        click.option("--channel", default=None, help="Only affinities to this channel (name, uuid or id)."),
        click.option("--kind", type=KIND_CHOICES, default=None, help="Only this kind of affinity."),
        click.option("--text", default=None,
                     help='Only contacts matching this query, e.g. "0788 38" or "group = Nurses".'),
        click.option("--contact", default=None, help="Only this contact (uuid, id or connection)."),
    ]):
        f = option(f)
    return f


@main.group("lockins", invoke_without_command=True)
@_selection_options
@click.option("--limit", default=1000, show_default=True, help="At most this many rows.")
@db_option
@json_option
@click.pass_context
@handles_errors
def lockins_cmd(ctx: click.Context, channel: str | None, kind: str | None, text: str | None, contact: str | None,
                limit: int, db_url: str | None, as_json: bool) -> None:
    """Channel affinities: who is locked in to which channel, and why (domain.md section 5)."""
    if ctx.invoked_subcommand is not None:
        return
    with opened(ctx, db_url, read_only=True) as ws:
        found = ws.lockins.rows(limit=limit, **_selection(ws, channel, kind, text, contact))
        names = _channel_names(ws)
        country, zone = ws.info.country, ws.info.timezone
    emit([r.as_dict(names) for r in found], as_json,
         [render.affinity_line(r, names, country, zone) for r in found] or ["No affinities match."])


def _bulk_command(ctx: click.Context, verb: str, target: str | None, channel: str | None, kind: str | None,
                  text: str | None, contact: str | None, yes: bool, db_url: str | None) -> None:
    with opened(ctx, db_url) as ws:
        ids = ws.lockins.connection_ids(**_selection(ws, channel, kind, text, contact))
        if not ids:
            echo("No affinities match: nothing to do.")
            return
        where = f" to {ws.channels.find(target).name}" if target else ""
        if not yes:
            click.confirm(visible(f"{verb.capitalize()} {len(ids):,} affinities{where}?"), abort=True, err=True)
        if target is None:
            result = ws.lockins.clear(ids)
        else:
            result = ws.lockins.move(ids, target)
    echo(f"{'Cleared' if verb == 'clear' else 'Moved'} {result.done:,} affinities{where}"
               + (f"; {result.skipped:,} unchanged." if result.skipped else "."))


@lockins_cmd.command("clear")
@_selection_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
@click.pass_context
@handles_errors
def lockins_clear(ctx: click.Context, channel: str | None, kind: str | None, text: str | None,
                  contact: str | None, yes: bool, db_url: str | None) -> None:
    """Clear the selected affinities (audited); routing then follows the normal rules."""
    _bulk_command(ctx, "clear", None, channel, kind, text, contact, yes, db_url)


@lockins_cmd.command("move")
@click.option("--to", "target", required=True, help="The channel to move the affinities to.")
@_selection_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
@click.pass_context
@handles_errors
def lockins_move(ctx: click.Context, target: str, channel: str | None, kind: str | None, text: str | None,
                 contact: str | None, yes: bool, db_url: str | None) -> None:
    """Move the selected affinities to another channel (audited), e.g. when a number is retired."""
    _bulk_command(ctx, "move", target, channel, kind, text, contact, yes, db_url)


@main.command("history")
@click.argument("contact")
@db_option
@json_option
@click.pass_context
@handles_errors
def history_cmd(ctx: click.Context, contact: str, db_url: str | None, as_json: bool) -> None:
    """A contact's messages and the audited changes to its connections, newest first."""
    with opened(ctx, db_url, read_only=True) as ws:
        found = ws.history.contact(ws.contacts.get(contact).id)
        zone = ws.info.timezone
    emit(asdict(found), as_json, render.history_lines(found, zone))


@main.command("inbound")
@click.option("--channel", required=True, help="Channel name, uuid or id.")
@click.option("--urn", "urn", required=True, help="The sender's connection, e.g. tel:+250788383383.")
@click.option("--text", default="", help="The message text.")
@db_option
@json_option
@click.pass_context
@handles_errors
def inbound(ctx: click.Context, channel: str, urn: str, text: str, db_url: str | None, as_json: bool) -> None:
    """Record an incoming message: its connection moves to the top and the contact locks in."""
    with opened(ctx, db_url) as ws:
        result = ws.messages.receive(channel, urn, text)
        country = ws.info.country
    data = {"contact": result.contact.as_dict(country), "created": result.created,
            "changed": result.changed, "message_id": result.message_id}
    verb = "created" if result.created else ("updated" if result.changed else "unchanged")
    emit(data, as_json, [f"Message {result.message_id} recorded; contact {result.contact.uuid} {verb}."])


@main.command("route")
@click.argument("contact", required=False)
@click.option("--query", "query", default=None,
              help='Preview a send request to the contacts matching QUERY, e.g. "group = Nurses" ("" = all).')
@db_option
@json_option
@click.pass_context
@handles_errors
def route_cmd(ctx: click.Context, contact: str | None, query: str | None, db_url: str | None, as_json: bool) -> None:
    """Where the next message to CONTACT (uuid or connection) goes, and why; or, with --query, how a
    send request to every matching contact splits across channels (nothing is sent)."""
    if (contact is None) == (query is None):
        raise Fail("Give either a CONTACT or --query QUERY.")
    with opened(ctx, db_url, read_only=True) as ws:
        country = ws.info.country
        if query is not None:
            from ccconsole.core.query import canonical, parse

            shown = canonical(parse(query, country))
            result = ws.broadcast.preview(query=query)
            emit({"query": shown, **result.as_dict()}, as_json,
                 [f"Query: {shown or '(all contacts)'}", *result.lines()])
            return
        rv = ws.contacts.route(contact or "")
    emit(rv.as_dict(country), as_json, render.route_lines(rv))


@main.command("audit")
@click.option("--contact", "contact_ref", default=None, help="Only this contact (uuid or connection).")
@click.option("--actor", "who", default=None, help="Only this login name.")
@click.option("--action", default=None, help="Only actions containing this, e.g. update, inbound, channel.")
@click.option("--text", default=None, help="Only events mentioning this (name, number, value).")
@click.option("--limit", default=50, show_default=True, help="How many events, newest first.")
@db_option
@json_option
@click.pass_context
@handles_errors
def audit_cmd(ctx: click.Context, contact_ref: str | None, who: str | None, action: str | None, text: str | None,
              limit: int, db_url: str | None, as_json: bool) -> None:
    """Who changed what and when: the audit log, newest first."""
    with opened(ctx, db_url, read_only=True) as ws:
        contact_id = ws.contacts.get(contact_ref).id if contact_ref else None
        entries = ws.audit.page(contact_id=contact_id, actor=who, action=action, text=text, limit=limit)
        zone = ws.info.timezone
    emit([render.audit_dict(e) for e in entries], as_json, [render.audit_line(e, zone) for e in entries])


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report what would change; change nothing.")
@db_option
@json_option
@click.pass_context
@handles_errors
def import_cmd(ctx: click.Context, file: Path, dry_run: bool, db_url: str | None, as_json: bool) -> None:
    """Import contacts from a RapidPro/TextIt .xlsx or .csv file (adds connections, never removes)."""
    with opened(ctx, db_url) as ws:
        report = ws.transfer.import_file(file, dry_run=dry_run)
    emit(report.as_dict(), as_json, report.lines())


@main.command("export")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--query", default=None,
              help='Only the contacts matching this query (as the console\'s / bar), e.g. "group = Nurses".')
@db_option
@json_option
@click.pass_context
@handles_errors
def export_cmd(ctx: click.Context, file: Path, query: str | None, db_url: str | None, as_json: bool) -> None:
    """Export contacts in RapidPro's format: .xlsx, or .csv by extension."""
    with opened(ctx, db_url, read_only=True) as ws:
        report = ws.transfer.export_file(file, query=query)
    emit(report.as_dict(), as_json, [f"Exported {counted(report.contacts, 'contact')} to {report.file}."])


@main.command("demo")
@click.option("--contacts", "n", default=3000, show_default=True, help="How many contacts.")
@click.option("--seed", default=7, show_default=True)
@click.option("--reset", is_flag=True, help="Delete an existing SQLite demo database first.")
@db_option
@click.pass_context
@handles_errors
def demo(ctx: click.Context, n: int, seed: int, reset: bool, db_url: str | None) -> None:
    """Create a realistic demo workspace (in an empty database)."""
    s = resolve(ctx, db_url)
    url = s.db if s.db_source == "--db" else settings.demo_db()
    if s.read_only:
        raise Fail("Read-only: the demo cannot be built" + (" and nothing was deleted." if reset else "."))
    if reset:
        demo_app.reset(url)
    started = time.perf_counter()
    with demo_app.open_for_demo(url, actor=s.actor) as ws:
        if not demo_app.is_empty(ws):
            raise Fail(demo_app.NOT_EMPTY)
        with click.progressbar(length=n, label="Creating contacts", file=sys.stderr) as bar:
            last = [0]

            def progress(done: int, total: int) -> None:
                bar.update(done - last[0])
                last[0] = done

            summary = demo_app.build(ws, n, seed=seed, progress=progress)
    echo(f"Demo workspace ready at {url}: {summary.contacts:,} contacts, {summary.channels} channels, "
               f"{summary.locked_in:,} locked in, {summary.stale:,} stale affinities "
               f"({time.perf_counter() - started:.1f} s).")
