"""The re-normalization's planners: processes that read and decide the next chunks while the writer
(``app.cleanup``) writes the current one, so a long run uses every core.

The chunks are fixed ahead (:func:`schedule`); planner ``part`` of ``parts`` takes every ``parts``-th
that nobody has taken yet (:class:`Claims`: the writer takes chunks too, see :class:`Crew`). For each
it reads, in one read transaction (a snapshot), the contacts, the holders of the identities their
local numbers become, the channels and the workspace's change sequence, then decides
(``store.cleanup.decide``) and computes the problems of each contact changed
(``core.problems.facts``): the same functions the writer runs when it decides a chunk itself
(:func:`plan`). It sends that (:class:`Planned`) over a pipe (``ccconsole.frames``).

The writer never waits idle: a chunk no planner has taken yet it takes and decides in its write
transaction (at the start, while the planners start up), and while the plan it needs next is not
there it takes a later chunk and plans it itself, the way a planner does.

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

import fcntl
import gc
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ccconsole import frames

READ_AHEAD = 2  # chunks decided ahead of the writer, by each planner
FIRST_CHUNK = 500  # the first chunks are smaller (doubling up to the chunk size): the writer decides them while
# the planners start
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


class Claims:
    """Which chunks are taken, shared by the writer and its planners: one byte per chunk of a file
    without a name (nothing is left behind, even after a kill -9), changed under a POSIX lock (one
    per process: the planners inherit the file's descriptor)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def create(cls, chunks: int) -> Claims:
        with tempfile.TemporaryFile() as file:  # the file object goes: a copy of its descriptor stays
            fd = os.dup(file.fileno())
        os.ftruncate(fd, chunks)
        return cls(fd)

    def take(self, chunk: int) -> bool:
        """Take ``chunk`` unless somebody took it already."""
        fcntl.lockf(self.fd, fcntl.LOCK_EX)
        try:
            if os.pread(self.fd, 1, chunk) != b"\0":
                return False
            os.pwrite(self.fd, b"\1", chunk)
            return True
        finally:
            fcntl.lockf(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self.fd)


def start(url: str, workspace_id: int, country: str | None, ids: list[int], chunk: int, claims: Claims, *,
          part: int = 0, parts: int = 1) -> frames.Worker:
    """Start planner ``part`` of ``parts`` on these contacts (OSError: no interpreter to start)."""
    args = json.dumps({"url": url, "workspace": workspace_id, "country": country, "chunk": chunk,
                       "claims": claims.fd, "part": part, "parts": parts})
    return frames.start(__name__, args, read_ahead=READ_AHEAD, name="ccconsole-renormalize-plans",
                        data=json.dumps(ids).encode(), pass_fds=(claims.fd,))


def plan(conn: Any, workspace_id: int, country: str | None, ids: list[int]) -> Planned:
    """Read (in one read transaction of ``conn``, a Core connection: a snapshot) and decide these
    contacts' chunk, with the facts of each contact it changes."""
    from ccconsole.core import problems as rules
    from ccconsole.core.routing import Channels
    from ccconsole.store import channels as channel_rows
    from ccconsole.store import cleanup
    from ccconsole.store.db import run

    with conn.begin():
        seq = run(conn, "SELECT change_seq FROM workspace WHERE id = ?", (workspace_id,)).scalar_one()
        channels = Channels(channel_rows.rows(conn, workspace_id))
        read = cleanup.read_chunk(conn, workspace_id, country, ids, lock=False)
    looked_up = frozenset(read.wanted.values())
    decided = cleanup.decide(read)
    facts = {r.contact_id: rules.facts(r.contact, channels, country) for r in decided.results if r.items}
    for r in decided.results:  # the writer needs their facts only (pickling them costs as much again)
        r.contact = None
    return Planned(ids, int(seq), looked_up, decided, facts)


class Crew:
    """The writer's side of a run with planners: the chunks (:func:`schedule`), the planners, and
    the chunks it takes itself, decided in the write transaction or planned here ahead."""

    def __init__(self, engine: Any, workspace_id: int, country: str | None, ids: list[int], chunk: int,
                 planners: int) -> None:
        self.engine, self.workspace_id, self.country, self.ids = engine, workspace_id, country, ids
        self.spans = schedule(len(ids), chunk)
        self.claims = Claims.create(len(self.spans))
        self.workers: list[frames.Worker] = []
        self.mine: dict[int, Planned] = {}  # later chunks planned here while a plan was not there
        url = engine.url.render_as_string(hide_password=False)
        try:
            for n in range(planners):
                self.workers.append(start(url, workspace_id, country, ids, chunk, self.claims, part=n, parts=planners))
        except OSError:  # no interpreter to start: decide here
            self.stop()
        except BaseException:
            self.stop()
            raise

    def chunk(self, number: int) -> tuple[list[int], Planned | None] | None:
        """Chunk ``number``'s contacts and its plan (None: decide it in the write transaction); None
        when a planner failed (the crew is stopped: the caller goes on alone)."""
        begin, end = self.spans[number]
        part = self.ids[begin:end]
        if number in self.mine:
            return part, self.mine.pop(number)
        if not self.workers or self.claims.take(number):  # nobody took it: this one decides it
            return part, None
        worker = self.workers[number % len(self.workers)]
        while not worker.ready() and len(self.mine) < READ_AHEAD:  # its planner is on it: plan a later one meanwhile
            later = next((n for n in range(number + 1, len(self.spans))
                          if n not in self.mine and self.claims.take(n)), None)
            if later is None:
                break
            begin, end = self.spans[later]
            with self.engine.connect() as conn:
                self.mine[later] = plan(conn, self.workspace_id, self.country, self.ids[begin:end])
        planned = worker.receive()
        if not isinstance(planned, Planned) or planned.ids != part:
            self.stop()
            return None
        return part, planned

    def stop(self) -> None:
        """Stop the planners (done, failed or cancelled) and let go of the claims."""
        while self.workers:
            self.workers.pop().stop()
        self.mine.clear()
        if self.claims.fd >= 0:
            self.claims.close()
            self.claims.fd = -1


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
    from ccconsole.store.db import make_engine

    gc.disable()  # chunks hold no reference cycles: reference counting frees them; no collector passes
    options = json.loads(args)
    out = sys.stdout.buffer
    claims = Claims(options["claims"])
    ids = json.loads(sys.stdin.buffer.read())
    engine = make_engine(options["url"], read_only=True)
    try:
        spans = list(enumerate(schedule(len(ids), options["chunk"])))
        for number, (begin, end) in spans[options["part"]::options["parts"]]:
            if claims.take(number):
                with engine.connect() as conn:
                    planned = plan(conn, options["workspace"], options["country"], ids[begin:end])
                frames.send(out, planned)
        frames.send(out, DONE)
    except (BrokenPipeError, OSError):
        return  # the writer is gone (finished, failed, cancelled or killed)
    finally:
        engine.dispose()


if __name__ == "__main__":  # the planner process (``python -m``): pickle the importable module's classes
    from ccconsole.store.planner import _worker as worker

    worker(sys.argv[1])
