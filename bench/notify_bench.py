"""How long until another console sees a change: commit in one session -> DataChanged in a running app.

For each backend (SQLite, and a throwaway PostgreSQL started here with tests/pg.py when its binaries
exist) the script opens the real console app headless (Textual's run_test), then, several times, writes
a contact through a *second* workspace session (another session, as another staff member would) and measures the
time from the writer's commit to the app's DataChanged message — the moment the screens start to
reload. Prints every run and the median per backend.

    .venv/bin/python bench/notify_bench.py [--runs 9]

SQLite is expected within the poll period (0.25 s: ~0.13 s on average, at most ~0.25 s plus the read); PostgreSQL
(LISTEN/NOTIFY) in milliseconds. The target is 0.3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccconsole.app import Workspace, open_workspace
from ccconsole.tui.app import CCConsole, make_app


async def measure(url: str, runs: int) -> list[float]:
    app = make_app(url, actor="bench")
    latencies = []
    rng = random.Random(7)
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 10
        while app._seen_seq is None and time.monotonic() < deadline:
            await pilot.pause(0.05)
        writer = open_workspace(url, actor="other-staff")
        try:
            loop = asyncio.get_running_loop()
            for i in range(runs):
                await pilot.pause(rng.uniform(0.3, 0.7))  # settle; a random phase against the poll
                committed, seq = await loop.run_in_executor(None, _write, writer, i)
                deadline = time.monotonic() + 5
                # the app posts DataChanged (the screens reload) when it takes in the new sequence
                while (app._seen_seq or 0) < seq and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)
                if (app._seen_seq or 0) < seq:
                    raise RuntimeError("the change never arrived")
                latencies.append(time.perf_counter() - committed)
        finally:
            writer.close()
    return latencies


def _write(writer: Workspace, i: int) -> tuple[float, int]:
    writer.contacts.create(f"Bench {i:03d}", [f"tel:+2507885{i:05d}"])
    committed = time.perf_counter()  # right after the commit
    return committed, writer.change_seq()


def report(name: str, latencies: list[float]) -> None:
    ms = [f"{x * 1000:.1f}" for x in latencies]
    print(f"{name}: runs (ms) {', '.join(ms)}")
    print(f"{name}: median {statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms "
          f"(target 300 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        open_workspace(url, actor="bench", country="RW").close()
        report(f"sqlite (poll every {CCConsole.POLL_SECONDS:g} s)", asyncio.run(measure(url, args.runs)))
    from tests import pg

    server = pg.start()
    if server is None:
        print("postgresql: not installed here (scripts/test.sh installs it)")
        return
    try:
        url = server.create_database()
        open_workspace(url, actor="bench", country="RW").close()
        report("postgresql (LISTEN/NOTIFY)", asyncio.run(measure(url, args.runs)))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
