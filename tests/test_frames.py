"""The worker-process pipe (``ccconsole.frames``): items arrive in order, and a stream that stops
making sense ends the worker instead of raising in the caller or its thread.

This module is also the worker (``python -m tests.test_frames MODE``)."""

from __future__ import annotations

import sys
import threading

import pytest

from ccconsole import frames


def _run_worker(mode: str) -> None:
    out = sys.stdout.buffer
    frames.send(out, {"n": 1})
    if mode == "garbage":  # a frame of the right length that is no pickle, then a good one
        out.write(frames.HEADER.pack(5) + b"\x00xyz!")
        frames.send(out, {"n": 2})
    elif mode == "huge":  # a length no frame has: the rest cannot be framed
        out.write(frames.HEADER.pack(1 << 40) + b"whatever")
    else:
        frames.send(out, {"n": 2})
        frames.send(out, [b"x" * 300_000, "big"])  # more than a pipe holds at once
    out.flush()


def _received(mode: str) -> tuple[list, frames.Worker]:
    """Five receives (in a thread: a pipe that hangs fails the test instead of hanging it)."""
    worker = frames.start("tests.test_frames", mode, read_ahead=2, name=f"test-frames-{mode}")
    items: list = []
    reader = threading.Thread(target=lambda: items.extend(worker.receive() for _ in range(5)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    hung = reader.is_alive()
    worker.stop()
    assert not hung, f"receive hung after {items}"
    return items, worker


def test_items_arrive_in_order_then_none():
    items, _ = _received("ok")
    assert items == [{"n": 1}, {"n": 2}, [b"x" * 300_000, "big"], None, None]


@pytest.mark.parametrize("mode", ["garbage", "huge"])
def test_a_broken_stream_ends_the_worker(mode):
    failures = []
    hook = threading.excepthook
    threading.excepthook = lambda args: failures.append(args.exc_value)
    try:
        items, worker = _received(mode)
    finally:
        threading.excepthook = hook
    # the good frame first; after the broken one nothing, not even the good frame behind it
    assert items == [{"n": 1}, None, None, None, None]
    assert worker.process.poll() is not None
    assert not worker.pump.is_alive()
    assert failures == []  # the pipe's thread ended quietly


if __name__ == "__main__":
    _run_worker(sys.argv[1])
