"""The command line: the console by default, plus scriptable commands over ``ccconsole.app``.

Every command takes ``--db URL``; the database is otherwise resolved once, the same way for the
console and every command (``ccconsole.settings``). Commands that print data take ``--json``.
Mistakes exit non-zero with one line on stderr.
"""

from ccconsole.cli import api as _api  # noqa: F401  (registers serve and tokens on main)
from ccconsole.cli import cleanup as _cleanup  # noqa: F401  (registers the cleanup commands on main)
from ccconsole.cli import commands as _commands  # noqa: F401  (registers the subcommands on main)
from ccconsole.cli.base import main

__all__ = ["main"]
