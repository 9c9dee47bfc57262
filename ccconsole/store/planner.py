"""The re-normalization's planners: processes that read and decide the next chunks while the writer
(``app.cleanup``) writes the current one, so a long run uses every core.

The chunks are fixed ahead (:func:`schedule`); planner ``part`` of ``parts`` takes every ``parts``-th.
For each it reads, in one read transaction (a snapshot), the contacts, the holders of the identities
their local numbers become, the channels and the workspace's change sequence, then decides
(``store.cleanup.decide``) and computes the problems of each contact changed
(``core.problems.facts``): the same functions the writer runs when it decides a chunk itself. It
sends that (:class:`Planned`) over a pipe (``ccconsole.frames``).

A plan is what the writer would decide now unless something it read changed since its snapshot.
The writer checks that in the chunk's write transaction, under SQLite's write lock
(:meth:`Ledger.usable`): every change since the snapshot must be one of the writer's own commits
(else another writer, or a channel or country change, came between), and none of those may have
taken an identity the plan looked up (two local numbers in different chunks that become one number,
or a detached row given to a contact). A chunk whose plan fails the check is read and decided by the
writer itself; a planner that fails leaves the rest of the run to the writer. SQLite only: there the
write lock makes the check exact; PostgreSQL runs decide every chunk in the writer.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ccconsole import frames

READ_AHEAD = 2  # chunks decided ahead of the writer, by each planner
FIRST_CHUNK = 500  # the first chunks are smaller (doubling up to the writer's size): it waits for the first
DONE = "done"


@dataclass
class Planned:
    """One chunk, decided: its contacts, the change sequence of the snapshot it was read in, the
    identities it looked up (what its local numbers become), the plan (``store.cleanup.ChunkPlan``)
    and the facts (``core.problems.facts``) of each contact it changes."""

    ids: list[int]
    seq: int
    looked_up: frozenset[str]
    plan: Any
    facts: dict[int, tuple]


def schedule(total: int, chunk: int) -> list[tuple[int, int]]:
    """The chunks (start, end) of ``total`` contacts: small first, then ``chunk`` each."""
    spans, start, size = [], 0, min(chunk, FIRST_CHUNK)
    while start < total:
        spans.append((start, min(total, start + size)))
        start, size = start + size, min(chunk, size * 2)
    return spans


def start(url: str, workspace_id: int, country: str | None, ids: list[int], chunk: int, *,
          part: int = 0, parts: int = 1) -> frames.Worker:
    """Start planner ``part`` of ``parts`` on these contacts (OSError: no interpreter to start)."""
    args = json.dumps({"url": url, "workspace": workspace_id, "country": country, "chunk": chunk,
                       "part": part, "parts": parts})
    return frames.start(__name__, args, read_ahead=READ_AHEAD, name="ccconsole-renormalize-plans",
                        data=json.dumps(ids).encode())


def taken_by(results: Sequence[Any]) -> frozenset[str]:
    """The identities a chunk's results (``store.cleanup.Renormalized``) took: each fixed number's."""
    return frozenset(item["new"] for r in results for item in r.items)


@dataclass
class Ledger:
    """The writer's commits during a run: each one's change sequence and the identities it took."""

    commits: dict[int, frozenset[str]] = field(default_factory=dict)

    def record(self, seq: int | None, results: Sequence[Any]) -> None:
        if seq is not None:
            self.commits[seq] = taken_by(results)

    def usable(self, plan: Planned, s: Any, workspace_id: int) -> bool:
        """Whether ``plan`` is what the writer would decide now (``s``: the chunk's write transaction,
        which holds SQLite's write lock)."""
        from ccconsole.store.db import run

        current = int(run(s, "SELECT change_seq FROM workspace WHERE id = ?", (workspace_id,)).scalar_one())
        since = range(plan.seq + 1, current + 1)
        return all(seq in self.commits and not (self.commits[seq] & plan.looked_up) for seq in since)


def _worker(args: str) -> None:
    from ccconsole.core import problems as rules
    from ccconsole.core.routing import Channels
    from ccconsole.store import channels as channel_rows
    from ccconsole.store import cleanup
    from ccconsole.store.db import make_engine, run

    gc.disable()  # chunks hold no reference cycles: reference counting frees them; no collector passes
    options = json.loads(args)
    out = sys.stdout.buffer
    ws, country, chunk = options["workspace"], options["country"], options["chunk"]
    ids = json.loads(sys.stdin.buffer.read())
    engine = make_engine(options["url"], read_only=True)
    try:
        for begin, end in schedule(len(ids), chunk)[options["part"]::options["parts"]]:
            part = ids[begin:end]
            with engine.connect() as conn:  # one read transaction: a snapshot
                seq = run(conn, "SELECT change_seq FROM workspace WHERE id = ?", (ws,)).scalar_one()
                channels = Channels(channel_rows.rows(conn, ws))
                read = cleanup.read_chunk(conn, ws, country, part, lock=False)
            looked_up = frozenset(read.wanted.values())
            plan = cleanup.decide(read)
            facts = {r.contact_id: rules.facts(r.contact, channels, country) for r in plan.results if r.items}
            for r in plan.results:  # the writer needs their facts only (pickling them costs as much again)
                r.contact = None
            frames.send(out, Planned(part, int(seq), looked_up, plan, facts))
        frames.send(out, DONE)
    except (BrokenPipeError, OSError):
        return  # the writer is gone (finished, failed, cancelled or killed)
    finally:
        engine.dispose()


if __name__ == "__main__":  # the planner process (``python -m``): pickle the importable module's classes
    from ccconsole.store.planner import _worker as worker

    worker(sys.argv[1])
