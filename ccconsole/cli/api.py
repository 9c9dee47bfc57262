"""``ccconsole serve`` (the Contacts API) and ``ccconsole tokens`` (who may call it)."""

from __future__ import annotations

import click

from ccconsole.app.tokens import DEFAULT_RATE, parse_rate
from ccconsole.cli.base import Fail, db_option, echo, emit, handles_errors, json_option, main, opened, resolve
from ccconsole.core.text import visible

# --- tokens ----------------------------------------------------------------------------------------


@main.group()
def tokens() -> None:
    """Contacts API tokens: each belongs to a user name, the actor the audit log records."""


@tokens.command("add")
@click.argument("name")
@db_option
@click.pass_context
@handles_errors
def tokens_add(ctx: click.Context, name: str, db_url: str | None) -> None:
    """Make a token for user NAME and print it (only this once: just its hash is kept)."""
    with opened(ctx, db_url) as ws:
        token, key = ws.tokens.add(name)
    click.echo(key)
    click.echo(f"Token for {visible(token.name)}: keep it now, it cannot be shown again. "
               f"Use it as 'Authorization: Token {key[:4]}…'.", err=True)


@tokens.command("list")
@db_option
@json_option
@click.pass_context
@handles_errors
def tokens_list(ctx: click.Context, db_url: str | None, as_json: bool) -> None:
    """The tokens (their users and dates; never the tokens)."""
    with opened(ctx, db_url, read_only=True) as ws:
        found = ws.tokens.list()
    data = [{"name": t.name, "created_on": t.created_on.isoformat(),
             "revoked_on": t.revoked_on.isoformat() if t.revoked_on else None} for t in found]
    lines = [f"{t.name}\t{t.created_on:%Y-%m-%d %H:%M}\t"
             + (f"revoked {t.revoked_on:%Y-%m-%d %H:%M}" if t.revoked_on else "live") for t in found]
    emit(data, as_json, lines or ["No tokens yet: ccconsole tokens add NAME"])


@tokens.command("revoke")
@click.argument("name")
@db_option
@click.pass_context
@handles_errors
def tokens_revoke(ctx: click.Context, name: str, db_url: str | None) -> None:
    """Revoke the live token of user NAME (requests with it get 403 from now on)."""
    with opened(ctx, db_url) as ws:
        token = ws.tokens.revoke(name)
    echo(f"Revoked the token of {token.name}.")


# --- serve -----------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@db_option
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (they share the database, the throttle too).")
@click.option("--read-only", "serve_read_only", is_flag=True, help="Answer GET requests only; writes get 403.")
@click.option("--throttle-rate", default=DEFAULT_RATE, show_default=True,
              help="Requests per workspace and scope: N/second, N/minute, N/hour or N/day.")
@click.pass_context
@handles_errors
def serve(ctx: click.Context, host: str, port: int, db_url: str | None, workers: int, serve_read_only: bool,
          throttle_rate: str) -> None:
    """Serve the Contacts API (RapidPro's API v2 at /api/v2/) over the workspace."""
    import os

    import uvicorn

    from ccconsole.http.app import Config, create_app

    try:
        parse_rate(throttle_rate)
    except ValueError as err:
        raise Fail(str(err)) from err
    s = resolve(ctx, db_url)
    read_only = s.read_only or serve_read_only
    with opened(ctx, db_url, read_only=read_only) as ws:  # creates / upgrades the schema once, here
        label, name = ws.url, ws.info.name
    config = Config(s.db, read_only, throttle_rate)
    click.echo(f"Serving the Contacts API of {visible(name)} ({visible(label)}) at http://{host}:{port}/api/v2/"
               + (" (read-only)" if read_only else ""), err=True)
    if workers > 1:
        os.environ.update(config.to_env())
        uvicorn.run("ccconsole.http.app:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")
    else:
        uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
