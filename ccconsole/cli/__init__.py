"""The command line: the console by default, plus scriptable commands over ``ccconsole.app``.

Every command takes ``--db URL``; the database is otherwise resolved once, the same way for the
console and every command (``ccconsole.settings``). Commands that print data take ``--json``.
Mistakes exit non-zero with one line on stderr.
"""

from ccconsole.cli.base import main  # its subcommands' modules load when one is looked up (base.Commands)

__all__ = ["main"]
