"""The re-normalization's planner: a second process that reads and decides the next chunks while the
writer (``app.cleanup``) writes the current one, so a long run uses both cores.

The writer gives it the contacts to re-normalize, in chunks; for each chunk it reads, in one read
transaction (a snapshot), the contacts, the holders of the identities their local numbers become,
the channels and the workspace's change sequence, then decides (``store.cleanup.decide``) and
computes the problems of each contact changed (``core.problems.facts``): the same functions the
writer runs when it works alone. It sends that (:class:`Planned`) over a pipe (``ccconsole.frames``).

The writer uses a plan only when nobody else wrote since the plan's snapshot: in the chunk's write
transaction, every change sequence between the snapshot's and the current one must be one of its
own commits. Its own earlier chunks the planner knows of already: the identities they took are
carried from chunk to chunk (a chunk planned after an earlier one committed reads them again, to the
same effect). Anything else (another writer, a channel or country change, the planner failing) and
the writer reads and decides the chunk itself, and the rest of the run too. SQLite only: there the
write lock makes that check exact; PostgreSQL runs work alone.
"""

from __future__ import annotations

import gc
import json
import sys
from dataclasses import dataclass
from typing import Any

from ccconsole import frames

READ_AHEAD = 2  # chunks decided ahead of the writer
FIRST_CHUNK = 500  # the first chunks are smaller (doubling up to the writer's size): it waits for the first
DONE = "done"


@dataclass
class Planned:
    """One chunk, decided: its contacts, the change sequence of the snapshot it was read in, the plan
    (``store.cleanup.ChunkPlan``) and the facts (``core.problems.facts``) of each contact it changes."""

    ids: list[int]
    seq: int
    plan: Any
    facts: dict[int, tuple]


def start(url: str, workspace_id: int, country: str | None, ids: list[int], chunk: int) -> frames.Worker:
    """Start the planner on these contacts (OSError: no interpreter to start)."""
    args = json.dumps({"url": url, "workspace": workspace_id, "country": country, "chunk": chunk})
    return frames.start(__name__, args, read_ahead=READ_AHEAD, name="ccconsole-renormalize-plans",
                        data=json.dumps(ids).encode())


def usable(plan: Planned, s: Any, workspace_id: int, own_commits: set[int]) -> bool:
    """Whether ``plan`` is what the writer would decide now: every change since its snapshot is one of
    the writer's own commits (``s``: the write transaction, which holds SQLite's write lock)."""
    from ccconsole.store.db import run

    current = int(run(s, "SELECT change_seq FROM workspace WHERE id = ?", (workspace_id,)).scalar_one())
    return all(seq in own_commits for seq in range(plan.seq + 1, current + 1))


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
    taken: dict[str, dict[str, Any]] = {}  # identity -> owner, of the numbers earlier chunks took
    size, start_at = min(chunk, FIRST_CHUNK), 0
    try:
        while start_at < len(ids):
            part = ids[start_at:start_at + size]
            start_at, size = start_at + len(part), min(chunk, size * 2)
            with engine.connect() as conn:  # one read transaction: a snapshot
                seq = run(conn, "SELECT change_seq FROM workspace WHERE id = ?", (ws,)).scalar_one()
                channels = Channels(channel_rows.rows(conn, ws))
                read = cleanup.read_chunk(conn, ws, country, part, lock=False)
            targets = set(read.wanted.values())
            # a number an earlier chunk took: another contact's now (only its owner is looked at then)
            read.holders.update((new, taken[new]) for new in targets & taken.keys())
            plan = cleanup.decide(read)
            taken.update((new, {"contact_id": read.holders[new]["contact_id"]})
                         for new in targets if new in read.holders)
            facts = {r.contact_id: rules.facts(r.contact, channels, country) for r in plan.results if r.items}
            for r in plan.results:  # the writer needs their facts only (pickling them costs as much again)
                r.contact = None
            frames.send(out, Planned(part, int(seq), plan, facts))
        frames.send(out, DONE)
    except (BrokenPipeError, OSError):
        return  # the writer is gone (finished, failed, cancelled or killed)
    finally:
        engine.dispose()


if __name__ == "__main__":  # the planner process (``python -m``): pickle the importable module's classes
    from ccconsole.store.planner import _worker as worker

    worker(sys.argv[1])
