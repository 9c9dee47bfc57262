"""The command line: the console by default, plus scriptable subcommands over the same store.

Every command takes ``--db URL`` (default: ``$CCCONSOLE_DB``, else a SQLite file in the XDG data
directory); commands that print data take ``--json``. Mistakes exit non-zero with one line on stderr.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

import click

from ccconsole.core import urns as urnlib
from ccconsole.core.query import QueryError
from ccconsole.core.model import RECEIVE, SEND
from ccconsole.store import db
from ccconsole.store.errors import StoreError, ValidationFailed
from ccconsole.store.services import Store


class Fail(click.ClickException):
    """A user mistake: printed as one line, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"ccconsole: {self.format_message()}", err=True)


def _db_option(f):
    return click.option("--db", "db_url", envvar="CCCONSOLE_DB", default=None,
                        help="Database URL or SQLite path (env CCCONSOLE_DB).")(f)


def _json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


def _open(ctx: click.Context, db_url: str | None, **kw) -> Store:
    url = db_url or ctx.find_root().params.get("db_url") or db.default_url()
    actor = ctx.find_root().params.get("actor")
    if ctx.find_root().params.get("read_only"):  # `ccconsole --read-only COMMAND`: the session cannot write
        kw["read_only"] = True
    try:
        return Store.open(url, actor=actor, **kw)
    except StoreError as err:
        raise Fail(str(err)) from err


def handles_errors(f):
    """Turn store and validation errors into one clear line, never a traceback."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except ValidationFailed as err:
            raise Fail("; ".join(f"{k}: {v}" if k else v for k, v in err.errors.items())) from err
        except (StoreError, urnlib.URNError) as err:
            raise Fail(str(err)) from err
        except QueryError as err:
            raise Fail(f"Bad query: {err}") from err
        except Exception as err:  # database drivers raise many kinds; show one line
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(err, SQLAlchemyError):
                raise Fail(f"Database error: {db.describe(err)}") from err
            raise

    return wrapper


def _emit(data, as_json: bool, lines) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        for line in lines:
            click.echo(line)


@click.group(invoke_without_command=True)
@_db_option
@click.option("--demo", is_flag=True, help="Open the demo workspace (created on first use).")
@click.option("--actor", default=None, help="Name recorded in the audit log (default: $SUDO_USER or $USER).")
@click.option("--read-only", is_flag=True, help="Open the console without any way to change data.")
@click.option("--no-mouse", is_flag=True, help="Do not capture the mouse.")
@click.version_option(package_name="ccconsole")
@click.pass_context
def main(ctx: click.Context, db_url, demo, actor, read_only, no_mouse) -> None:
    """ccconsole: the contacts of a CommunityConnect workspace, from the keyboard.

    With no command, opens the console.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ccconsole import settings as settings_mod
    from ccconsole.tui.app import run_console

    try:
        settings = settings_mod.load()
    except ValueError as err:
        raise Fail(f"Cannot read the config file: {err}") from err
    url = db_url or (db.demo_url() if demo else settings.db or db.default_url())
    try:
        if demo:
            ensure_demo(url)
        run_console(url, actor=actor or settings.actor, read_only=read_only or settings.read_only,
                    mouse=settings.mouse and not no_mouse, keymap=settings.keys)
    except StoreError as err:
        raise Fail(str(err)) from err


def ensure_demo(url: str, contacts: int = 3000) -> None:
    """Create the demo workspace at ``url`` unless it already has contacts."""
    store = Store.open(url, workspace_name="Kigali Health", country="RW")
    try:
        if store.count() == 0 and not store.channels():
            from ccconsole.store.demo import build_demo

            click.echo(f"Creating the demo workspace ({contacts:,} contacts)…", err=True)
            build_demo(store, contacts)
    finally:
        store.close()


# --- workspace -----------------------------------------------------------------------------------


@main.group()
def workspace() -> None:
    """Show or set the workspace's name, default country and time zone."""


def _workspace_lines(ws) -> list[str]:
    return [f"{ws.name}  country: {ws.country or '(none)'}  time zone: {ws.timezone}"]


@workspace.command("show")
@_db_option
@_json_option
@click.pass_context
@handles_errors
def workspace_show(ctx, db_url, as_json) -> None:
    """The workspace of the database."""
    ws = _open(ctx, db_url).workspace
    _emit({"name": ws.name, "country": ws.country, "timezone": ws.timezone}, as_json, _workspace_lines(ws))


@workspace.command("set")
@click.option("--name", default=None)
@click.option("--country", default=None, help="Default country for phone numbers, e.g. RW ('' clears it).")
@click.option("--timezone", "tz", default=None, help="e.g. Africa/Kigali.")
@_db_option
@click.pass_context
@handles_errors
def workspace_set(ctx, name, country, tz, db_url) -> None:
    """Change the workspace's settings."""
    ws = _open(ctx, db_url).update_workspace(name=name, country=country, timezone_name=tz)
    click.echo(_workspace_lines(ws)[0])


# --- urns ----------------------------------------------------------------------------------------


@main.group()
def urns() -> None:
    """Check and normalize connections."""


@urns.command("check")
@click.argument("values", nargs=-1)
@click.option("--country", default=None, help="Default country for phone numbers, e.g. RW.")
@click.option("--new", "new", is_flag=True, help="Apply the Update Contact rule: new numbers need E.164.")
@_db_option
@_json_option
def urns_check(values, country, new, db_url, as_json) -> None:
    """Normalize each connection (arguments, or one per line on stdin); exit 1 if any is invalid."""
    if not values:
        values = [line for line in (raw.strip() for raw in sys.stdin) if line]
    results, bad = [], 0
    for value in values:
        try:
            urn = urnlib.clean_text(value, country, require_e164=new)
            results.append({"input": value, "identity": urn.identity, "valid": True,
                            "display": urnlib.display(urn, country)})
        except urnlib.URNError as err:
            bad += 1
            results.append({"input": value, "identity": None, "valid": False, "error": str(err)})
    _emit(results, as_json, [f"{r['input']}\t{r['identity']}" if r["valid"] else f"{r['input']}\tERROR: {r['error']}"
                             for r in results])
    if bad:
        sys.exit(1)


# --- channels ------------------------------------------------------------------------------------


def _channel_dict(ch, locked: int | None = None) -> dict:
    return {"uuid": ch.uuid, "name": ch.name, "type": ch.type, "address": ch.address, "schemes": list(ch.schemes),
            "roles": sorted(ch.roles), "country": ch.country, "match_prefixes": list(ch.match_prefixes),
            "allow_international": ch.allow_international, "active": ch.active,
            "created_on": ch.created_on.isoformat() if ch.created_on else None}


@main.group()
def channels() -> None:
    """List, add and disable channels."""


@channels.command("list")
@_db_option
@_json_option
@click.pass_context
@handles_errors
def channels_list(ctx, db_url, as_json) -> None:
    """The workspace's channels, oldest first."""
    store = _open(ctx, db_url)
    chans = store.channels()
    _emit([_channel_dict(c) for c in chans], as_json,
          [f"{c.name}\t{c.type}\t{','.join(c.schemes)}\t{c.address}\t{c.country or '-'}\t"
           f"{'active' if c.active else 'disabled'}" for c in chans])


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
@_db_option
@_json_option
@click.pass_context
@handles_errors
def channels_add(ctx, name, ctype, schemes, address, country, prefixes, roles, allow_international, db_url,
                 as_json) -> None:
    """Add a channel."""
    store = _open(ctx, db_url)
    ch = store.add_channel(name, ctype, schemes, address=address, country=country, match_prefixes=prefixes,
                           roles=roles or (SEND, RECEIVE), allow_international=allow_international)
    _emit(_channel_dict(ch), as_json, [f"Added channel {ch.name} ({ch.uuid})"])


@channels.command("disable")
@click.argument("channel")
@_db_option
@click.pass_context
@handles_errors
def channels_disable(ctx, channel, db_url) -> None:
    """Disable a channel: routing ignores it and affinities to it become stale."""
    ch = _open(ctx, db_url).set_channel_active(channel, False)
    click.echo(f"Disabled channel {ch.name}")


@channels.command("enable")
@click.argument("channel")
@_db_option
@click.pass_context
@handles_errors
def channels_enable(ctx, channel, db_url) -> None:
    """Enable a disabled channel again."""
    ch = _open(ctx, db_url).set_channel_active(channel, True)
    click.echo(f"Enabled channel {ch.name}")


# --- contacts ------------------------------------------------------------------------------------


@main.group()
def contacts() -> None:
    """Add, show, change and delete contacts."""


def _contact_lines(view, country) -> list[str]:
    lines = [f"{view.name or '(no name)'}  {view.uuid}  {view.status}  v{view.version}"]
    for i, c in enumerate(view.connections, 1):
        aff = f"  affinity #{c.affinity_channel_id}" if c.affinity_channel_id else ""
        lines.append(f"  {i} {c.identity}  ({urnlib.display_identity(c.identity, country)}){aff}")
    if view.groups:
        lines.append("  groups: " + ", ".join(view.groups))
    for k, v in view.fields:
        lines.append(f"  {k}: {v}")
    return lines


def _parse_fields(pairs) -> dict[str, str]:
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
@_db_option
@_json_option
@click.pass_context
@handles_errors
def contacts_add(ctx, name, urns_, groups, fields, language, db_url, as_json) -> None:
    """Create a contact."""
    store = _open(ctx, db_url)
    view = store.create_contact(name, urns_, groups=groups, fields=_parse_fields(fields), language=language)
    _emit(view.as_dict(store.workspace.country), as_json, _contact_lines(view, store.workspace.country))


@contacts.command("show")
@click.argument("contact")
@_db_option
@_json_option
@click.pass_context
@handles_errors
def contacts_show(ctx, contact, db_url, as_json) -> None:
    """Show a contact (CONTACT = uuid or a connection such as tel:0788383383)."""
    store = _open(ctx, db_url)
    view = store.get_contact(contact)
    _emit(view.as_dict(store.workspace.country), as_json, _contact_lines(view, store.workspace.country))


@contacts.command("set-urns")
@click.argument("contact")
@click.argument("urns_", metavar="URN...", nargs=-1, required=True)
@_db_option
@_json_option
@click.pass_context
@handles_errors
def contacts_set_urns(ctx, contact, urns_, db_url, as_json) -> None:
    """Replace the contact's connections with exactly these, in this order (the Contacts API update)."""
    store = _open(ctx, db_url)
    view = store.set_urns(contact, list(urns_))
    _emit(view.as_dict(store.workspace.country), as_json, _contact_lines(view, store.workspace.country))


@contacts.command("delete")
@click.argument("contact")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_db_option
@click.pass_context
@handles_errors
def contacts_delete(ctx, contact, yes, db_url) -> None:
    """Delete a contact; its connections are detached and free for other contacts."""
    store = _open(ctx, db_url)
    view = store.get_contact(contact)
    if not yes and not click.confirm(f"Delete {view.name or view.uuid}?", default=False):
        raise Fail("Not deleted.")
    store.delete_contact(view.uuid)
    click.echo(f"Deleted {view.name or view.uuid}; {len(view.connections)} connection(s) detached.")


# --- messages and routing ------------------------------------------------------------------------


# --- lock-ins and history -------------------------------------------------------------------------

KIND_CHOICES = click.Choice(["locked-in", "single-channel", "stale", "not-priority"])


def _selection(store: Store, channel: str | None, kind: str | None, text: str | None, contact: str | None) -> dict:
    from ccconsole.core.lockin import LockInKind

    return dict(channel_id=store.find_channel(channel).id if channel else None,
                kinds=[LockInKind(kind)] if kind else None, text=text,
                contact_id=store.get_contact(contact).id if contact else None)


def _selection_options(f):
    for option in reversed([
        click.option("--channel", default=None, help="Only affinities to this channel (name, uuid or id)."),
        click.option("--kind", type=KIND_CHOICES, default=None, help="Only this kind of affinity."),
        click.option("--text", default=None, help='Only contacts matching this query, e.g. "0788 38" or "group = Nurses".'),
        click.option("--contact", default=None, help="Only this contact (uuid, id or connection)."),
    ]):
        f = option(f)
    return f


@main.group("lockins", invoke_without_command=True)
@_selection_options
@click.option("--limit", default=1000, show_default=True, help="At most this many rows.")
@_db_option
@_json_option
@click.pass_context
@handles_errors
def lockins_cmd(ctx, channel, kind, text, contact, limit, db_url, as_json) -> None:
    """Channel affinities: who is locked in to which channel, and why (domain.md section 5)."""
    if ctx.invoked_subcommand is not None:
        return
    from ccconsole.core.lockin import KIND_TEXT
    from ccconsole.store import lockins

    store = _open(ctx, db_url, read_only=True)
    try:
        found = lockins.rows(store, limit=limit, **_selection(store, channel, kind, text, contact))
        names = {ch.id: ch.name for ch in store.channels()}
        country = store.workspace.country
    finally:
        store.close()
    _emit([r.as_dict(names) for r in found], as_json, [
        f"{names.get(r.channel_id, '?'):<20} {KIND_TEXT[r.kind]:<15} "
        f"{''.join('✓' if c.met else '✗' for c in r.state.conditions)}  "
        f"{urnlib.display_identity(r.identity, country):<20} {r.contact_name or '(no name)'}"
        + (f"  since {r.since:%Y-%m-%d %H:%M}" if r.since else "")
        + (f'  "{r.message_text}"' if r.message_text is not None else "")
        for r in found] or ["No affinities match."])


def _bulk_command(ctx, verb: str, target: str | None, channel, kind, text, contact, yes, db_url) -> None:
    from ccconsole.store import lockins

    store = _open(ctx, db_url)
    try:
        ids = lockins.connection_ids(store, **_selection(store, channel, kind, text, contact))
        if not ids:
            click.echo("No affinities match: nothing to do.")
            return
        where = f" to {store.find_channel(target).name}" if target else ""
        if not yes:
            click.confirm(f"{verb.capitalize()} {len(ids):,} affinities{where}?", abort=True, err=True)
        if verb == "clear":
            result = lockins.clear(store, ids)
        else:
            result = lockins.move(store, ids, target)
    finally:
        store.close()
    click.echo(f"{'Cleared' if verb == 'clear' else 'Moved'} {result.done:,} affinities{where}"
               + (f"; {result.skipped:,} unchanged." if result.skipped else "."))


@lockins_cmd.command("clear")
@_selection_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_db_option
@click.pass_context
@handles_errors
def lockins_clear(ctx, channel, kind, text, contact, yes, db_url) -> None:
    """Clear the selected affinities (audited); routing then follows the normal rules."""
    _bulk_command(ctx, "clear", None, channel, kind, text, contact, yes, db_url)


@lockins_cmd.command("move")
@click.option("--to", "target", required=True, help="The channel to move the affinities to.")
@_selection_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_db_option
@click.pass_context
@handles_errors
def lockins_move(ctx, target, channel, kind, text, contact, yes, db_url) -> None:
    """Move the selected affinities to another channel (audited), e.g. when a number is retired."""
    _bulk_command(ctx, "move", target, channel, kind, text, contact, yes, db_url)


@main.command("history")
@click.argument("contact")
@_db_option
@_json_option
@click.pass_context
@handles_errors
def history_cmd(ctx, contact, db_url, as_json) -> None:
    """A contact's messages and the audited changes to its connections, newest first."""
    from dataclasses import asdict

    from ccconsole.store import history

    store = _open(ctx, db_url, read_only=True)
    try:
        found = history.contact_history(store, store.get_contact(contact).id)
    finally:
        store.close()
    lines = ["Messages"] + [f"  {m.when:%Y-%m-%d %H:%M} {'←' if m.direction == 'in' else '→'} "
                            f"{m.channel:<16} {m.identity:<24} {m.text}" for m in found.messages]
    lines += ["Connection changes"] + [f"  {c.when:%Y-%m-%d %H:%M} {c.actor:<12} {c.action:<16} {line}"
                                      for c in found.changes for line in c.lines]
    _emit(asdict(found), as_json, lines)


@main.command("inbound")
@click.option("--channel", required=True, help="Channel name, uuid or id.")
@click.option("--urn", "urn", required=True, help="The sender's connection, e.g. tel:+250788383383.")
@click.option("--text", default="", help="The message text.")
@_db_option
@_json_option
@click.pass_context
@handles_errors
def inbound(ctx, channel, urn, text, db_url, as_json) -> None:
    """Record an incoming message: its connection moves to the top and the contact locks in."""
    store = _open(ctx, db_url)
    result = store.inbound(channel, urn, text)
    data = {"contact": result.contact.as_dict(store.workspace.country), "created": result.created,
            "changed": result.changed, "message_id": result.message_id}
    verb = "created" if result.created else ("updated" if result.changed else "unchanged")
    _emit(data, as_json, [f"Message {result.message_id} recorded; contact {result.contact.uuid} {verb}."])


@main.command("route")
@click.argument("contact", required=False)
@click.option("--query", "query", default=None,
              help='Preview a send request to the contacts matching QUERY, e.g. "group = Nurses" ("" = all).')
@_db_option
@_json_option
@click.pass_context
@handles_errors
def route_cmd(ctx, contact, query, db_url, as_json) -> None:
    """Where the next message to CONTACT (uuid or connection) goes, and why; or, with --query, how a
    send request to every matching contact splits across channels (nothing is sent)."""
    if (contact is None) == (query is None):
        raise Fail("Give either a CONTACT or --query QUERY.")
    store = _open(ctx, db_url)
    if query is not None:
        from ccconsole.core.query import canonical, parse
        from ccconsole.store.broadcast import preview

        shown = canonical(parse(query, store.workspace.country))
        result = preview(store, query=query)
        _emit({"query": shown, **result.as_dict()}, as_json,
              [f"Query: {shown or '(all contacts)'}", *result.lines()])
        return
    rv = store.route_contact(contact)
    lines = [f"{rv.contact.name or '(no name)'} ({rv.contact.uuid})", *rv.route.explain(),
             f"lock-in: {rv.lock_in.kind.value}"
             + (f" to {rv.lock_in.channel.name}" if rv.lock_in.channel else ""),
             *(f"  {'✓' if c.met else '✗'} {c.text}" for c in rv.lock_in.conditions),
             f"@contact.urn = {rv.contact_urn or ''}",
             *(f"@urns.{k} = {v}" for k, v in rv.urns.items())]
    _emit(rv.as_dict(store.workspace.country), as_json, lines)


@main.command("audit")
@click.option("--contact", "contact_ref", default=None, help="Only this contact (uuid or connection).")
@click.option("--actor", "who", default=None, help="Only this login name.")
@click.option("--action", default=None, help="Only actions containing this, e.g. update, inbound, channel.")
@click.option("--text", default=None, help="Only events mentioning this (name, number, value).")
@click.option("--limit", default=50, show_default=True, help="How many events, newest first.")
@_db_option
@_json_option
@click.pass_context
@handles_errors
def audit_cmd(ctx, contact_ref, who, action, text, limit, db_url, as_json) -> None:
    """Who changed what and when: the audit log, newest first."""
    from ccconsole.store import audit

    store = _open(ctx, db_url)
    contact_id = store.get_contact(contact_ref).id if contact_ref else None
    entries = audit.page(store, contact_id=contact_id, actor=who, action=action, text=text, limit=limit)
    data = [{"id": e.id, "when": e.created_on.isoformat(), "actor": e.actor, "action": e.action,
             "subject": e.subject, "contact_id": e.contact_id, "channel_id": e.channel_id,
             "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in e.changes],
             "summary": e.summary} for e in entries]
    _emit(data, as_json, [f"{e.created_on:%Y-%m-%d %H:%M:%S} {e.actor}\t{e.action}\t{e.subject}\t{e.summary}"
                          for e in entries])


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report what would change; change nothing.")
@_db_option
@_json_option
@click.pass_context
@handles_errors
def import_cmd(ctx, file, dry_run, db_url, as_json) -> None:
    """Import contacts from a RapidPro/TextIt .xlsx or .csv file (adds connections, never removes)."""
    from ccconsole.store.importer import import_file

    report = import_file(_open(ctx, db_url), file, dry_run=dry_run)
    _emit(report.as_dict(), as_json, report.lines())


@main.command("export")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--query", default=None, help='Only the contacts matching this query (as the console\'s / bar), e.g. "group = Nurses".')
@_db_option
@_json_option
@click.pass_context
@handles_errors
def export_cmd(ctx, file, query, db_url, as_json) -> None:
    """Export contacts in RapidPro's format: .xlsx, or .csv by extension."""
    from ccconsole.store.exporter import export_file

    report = export_file(_open(ctx, db_url), file, query=query)
    _emit(report.as_dict(), as_json, [f"Exported {report.contacts:,} contacts to {report.file}."])


@main.command("demo")
@click.option("--contacts", "n", default=3000, show_default=True, help="How many contacts.")
@click.option("--seed", default=7, show_default=True)
@click.option("--reset", is_flag=True, help="Delete an existing SQLite demo database first.")
@_db_option
@click.pass_context
@handles_errors
def demo(ctx, n, seed, reset, db_url) -> None:
    """Create a realistic demo workspace (in an empty database)."""
    from ccconsole.store.demo import build_demo

    url = db.normalize_url(db_url or ctx.find_root().params.get("db_url") or db.demo_url())
    if reset and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    store = _open(ctx, url, workspace_name="Kigali Health", country="RW")
    if store.count() or store.channels():
        raise Fail("That database already has a workspace with data; use --reset (SQLite) or another --db.")
    started = time.perf_counter()
    with click.progressbar(length=n, label="Creating contacts", file=sys.stderr) as bar:
        last = [0]

        def progress(done, total):
            bar.update(done - last[0])
            last[0] = done

        summary = build_demo(store, n, seed=seed, progress=progress)
    click.echo(f"Demo workspace ready at {url}: {summary.contacts:,} contacts, {summary.channels} channels, "
               f"{summary.locked_in:,} locked in, {summary.stale:,} stale affinities "
               f"({time.perf_counter() - started:.1f} s).")


if __name__ == "__main__":  # pragma: no cover
    main()
