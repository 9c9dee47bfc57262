"""Worker processes that send pickled items to the process that started them, over a pipe.

The importer's readers (``files.sheets``) and the re-normalization's planner
(``store.planner``) run as fresh interpreters (``python -m MODULE ARGS``; not multiprocessing,
which would re-run the caller's ``__main__``), in their own session, so ctrl+c goes to the parent,
which then closes the pipes. Each item is a frame: its length, then its pickle. A thread of the
parent takes the frames off the pipe into a short queue as they come, so the worker never waits for
the parent to finish with an item before it sends the next, and memory stays bounded. If the
parent dies (even ``kill -9``), the worker's next write fails and it exits. A stream that stops
making sense (a frame that does not unpickle, an impossible length) is treated as the worker ending:
the caller gets None and does the work itself or says the worker stopped.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

HEADER = struct.Struct("!Q")
MAX_FRAME = 1 << 30  # no item is this big: a longer length means the stream is broken


def send(out: BinaryIO, item: Any) -> None:
    """The worker's side: one item to the parent (``out``: its binary stdout)."""
    body = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(HEADER.pack(len(body)))
    out.write(body)
    out.flush()


def _pump(stream: BinaryIO, frames: queue.Queue) -> None:
    """A thread of the parent: put each frame (still pickled) on ``frames`` as it comes, then None."""
    try:
        while True:
            head = stream.read(HEADER.size)
            if len(head) < HEADER.size:
                break
            (size,) = HEADER.unpack(head)
            if size > MAX_FRAME:
                break
            body = stream.read(size)
            if len(body) < size:
                break
            frames.put(body)
    except (OSError, ValueError):
        pass  # the pipe was closed under us: the parent is done with the worker
    frames.put(None)


def _feed(stream: BinaryIO, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the worker is gone already
        stream.write(data)
    with contextlib.suppress(OSError):
        stream.close()


@dataclass
class Worker:
    """A started worker: its process and the queue its frames arrive on (None once it has ended)."""

    process: subprocess.Popen
    frames: queue.Queue
    pump: threading.Thread
    ended: bool = False

    def receive(self) -> Any:
        """The next item (unpickled), or None once the worker has ended without sending one (or sent
        one that does not unpickle: then it is stopped, nothing after that frame can be trusted)."""
        if self.ended:
            return None
        body = self.frames.get()
        if body is None:
            self.ended = True
            return None
        try:
            return pickle.loads(body)
        except Exception:  # garbage raises anything: the stream is broken, whatever it was
            self.ended = True
            self.stop()
            return None

    def ready(self) -> bool:
        """Whether :meth:`receive` would return at once."""
        return self.ended or not self.frames.empty()

    def stop(self) -> None:
        """Done, failed or cancelled: end the worker and its thread (what it still has is dropped)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        while self.pump.is_alive():  # its pipe is at its end now; let it put its last frame
            with contextlib.suppress(queue.Empty):
                while True:
                    self.frames.get_nowait()
            self.pump.join(timeout=0.05)
        assert self.process.stdout is not None  # started with stdout=PIPE
        self.process.stdout.close()


def start(module: str, args: str, *, read_ahead: int, name: str, data: bytes | None = None,
          pass_fds: tuple[int, ...] = ()) -> Worker:
    """Start ``python -m module args`` with this package importable, ``data`` (too big for a command
    line) on its stdin and these descriptors open; OSError when no interpreter can be started (an
    embedded Python: the caller does the work itself)."""
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-m", module, args],
                               stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                               start_new_session=True, pass_fds=pass_fds)
    if data is not None:
        threading.Thread(target=_feed, args=(process.stdin, data), daemon=True, name=name + "-in").start()
    frames: queue.Queue[bytes | None] = queue.Queue(maxsize=read_ahead)
    pump = threading.Thread(target=_pump, args=(process.stdout, frames), daemon=True, name=name)
    pump.start()
    return Worker(process, frames, pump)
