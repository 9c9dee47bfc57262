"""The command line's frame: the root group, the options every command shares, opening the
workspace through the one settings resolution, and mistakes as one line (never a traceback).

The console is the default command and starts on every ``ccconsole``: this module loads only what it
needs (click, the settings). The subcommands' modules load when a subcommand is looked up
(:class:`Commands`), the application layer when a command opens the workspace."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ccconsole import settings as settings_mod
from ccconsole.core.text import visible
from ccconsole.errors import StoreError, ValidationFailed, translate

if TYPE_CHECKING:
    from ccconsole.app import Workspace

F = TypeVar("F", bound=Callable[..., Any])


class Fail(click.ClickException):
    """A user mistake: printed as one line (what the user typed made visible), exit code 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"ccconsole: {visible(self.format_message())}", err=True)


def echo(line: str) -> None:
    """One line of text output: every field made visible (``core.text``), the tabs between fields kept,
    so a stored name or message can never clear the screen or retitle the terminal."""
    click.echo("\t".join(visible(part) for part in line.split("\t")))


def db_option(f: F) -> F:
    return click.option("--db", "db_url", default=None,
                        help="Database URL or SQLite path (else $CCCONSOLE_DB, the config file's db, "
                             "the default file).")(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


def resolve(ctx: click.Context, db_url: str | None = None) -> settings_mod.Settings:
    """THE settings of this invocation: the command's ``--db``, else the root options (``--db``,
    ``--demo``, ``--actor``, ``--read-only``), then the environment and the config file."""
    root = ctx.find_root().params
    try:
        return settings_mod.resolve(db=db_url or root.get("db_url"), demo=bool(root.get("demo")),
                                    actor=root.get("actor"), read_only=bool(root.get("read_only")),
                                    no_mouse=bool(root.get("no_mouse")))
    except ValueError as err:
        raise Fail(str(err)) from err


@contextmanager
def opened(ctx: click.Context, db_url: str | None = None, *, read_only: bool = False,
           **kw: Any) -> Iterator[Workspace]:
    """The workspace the invocation names, closed when the command is done. ``read_only``: the
    command only reads (no migration, nothing opened for writing)."""
    from ccconsole.app import demo as demo_app
    from ccconsole.app import open_workspace

    s = resolve(ctx, db_url)
    try:
        if s.demo and not s.read_only:
            demo_app.ensure(s.db, actor=s.actor, announce=lambda text: click.echo(text, err=True))
        ws = open_workspace(s.db, actor=s.actor, read_only=s.read_only or read_only, **kw)
    except StoreError as err:
        raise Fail(str(err)) from err
    try:
        yield ws
    finally:
        ws.close()


def handles_errors(f: F) -> F:
    """Turn store, validation and database errors into one clear line, never a traceback."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except ValidationFailed as err:
            raise Fail("; ".join(f"{k}: {v}" if k else v for k, v in err.errors.items())) from err
        except StoreError as err:
            raise Fail(str(err)) from err
        except Exception as err:
            from ccconsole.core.query import QueryError  # loaded by then: the command used them
            from ccconsole.core.urns import URNError

            if isinstance(err, URNError):
                raise Fail(str(err)) from err
            if isinstance(err, QueryError):
                raise Fail(f"Bad query: {err}") from err
            translated = translate(err)
            if translated is not None:
                raise Fail(str(translated)) from err
            raise

    return wrapper  # type: ignore[return-value]


def _is_utf8(arg: str) -> bool:
    """A command-line argument the terminal sent as valid UTF-8 (Python keeps invalid bytes as lone
    surrogates, which no database or terminal accepts)."""
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def emit(data: Any, as_json: bool, lines: Iterable[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        for line in lines:
            echo(line)


class Commands(click.Group):
    """The root group. Its subcommands are registered by their modules (``commands``, ``cleanup``,
    ``api``), imported the first time a subcommand is looked up or listed: the console, run when none
    is given, starts without them."""

    def _register(self) -> None:
        from ccconsole.cli import api, cleanup, commands  # noqa: F401  (each registers its commands on main)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._register()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._register()
        return super().list_commands(ctx)


@click.group(cls=Commands, invoke_without_command=True)
@db_option
@click.option("--demo", is_flag=True, help="Use the demo workspace (created on first use).")
@click.option("--actor", default=None, help="Name recorded in the audit log (default: $SUDO_USER or $USER).")
@click.option("--read-only", is_flag=True, help="Open the database without any way to change data.")
@click.option("--no-mouse", is_flag=True, help="Do not capture the mouse.")
@click.version_option(package_name="ccconsole")
@click.pass_context
def main(ctx: click.Context, db_url: str | None, demo: bool, actor: str | None, read_only: bool,
         no_mouse: bool) -> None:
    """ccconsole: the contacts of a CommunityConnect workspace, from the keyboard.

    With no command, opens the console.
    """
    bad = next((i for i, arg in enumerate(sys.argv[1:], 1) if not _is_utf8(arg)), None)
    if bad is not None:
        shown = sys.argv[bad].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise Fail(f"Argument {bad} is not valid UTF-8 ({shown}): nothing was done.")
    if ctx.invoked_subcommand is not None:
        return
    from ccconsole.tui.app import run_console

    s = resolve(ctx)
    try:
        if s.demo and not s.read_only:
            from ccconsole.app import demo as demo_app

            demo_app.ensure(s.db, actor=s.actor, announce=lambda text: click.echo(text, err=True))
        run_console(s.db, actor=s.actor, read_only=s.read_only, mouse=s.mouse, keymap=s.keys)
    except StoreError as err:
        raise Fail(str(err)) from err
