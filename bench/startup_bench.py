"""Start-up: from process start to the first contact row on screen, the installed console in a real
terminal (tmux, 80x24, TERM=xterm) on the demo database.

Builds the demo workspace once (``--db`` to use another SQLite file), then runs the console several
times. Each run starts the console in a fresh tmux session and polls ``tmux capture-pane`` until the
first demo contact's row is on screen; the time is measured from just before tmux starts the process.
Prints one JSON object (seconds; median of ``--runs``).

    .venv/bin/python bench/startup_bench.py [--runs 5] [--contacts 3000] [--db PATH] [--reference]

``--reference`` also times a bare Textual app (bench/bare_textual.py: Header, a one-row DataTable,
Footer) the same way, each of its runs right after one of the console's, so both see the same load:
what Textual alone costs on this machine now. Set PYTHONPATH to run a checkout's code with the
installed entry point.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

FIRST_ROW = "Akinyi"  # the demo's first contacts by name (seed 7) are Akinyi …


def console_command() -> list[str]:
    beside = Path(sys.executable).with_name("ccconsole")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "ccconsole"]


def build(db: Path, contacts: int) -> None:
    subprocess.run([*console_command(), "--db", f"sqlite:///{db}", "demo", "--contacts", str(contacts)],
                   check=True, capture_output=True)


BARE = Path(__file__).with_name("bare_textual.py")


def one_run(tmux: str, db: Path, home: Path, *, bare: bool = False, row: str = FIRST_ROW) -> float:
    socket = f"ccconsole-bench-{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    env.update(HOME=str(home), LANG="C.UTF-8", LC_ALL="C.UTF-8")
    argv = [sys.executable, str(BARE)] if bare else [*console_command(), "--no-mouse", "--db", f"sqlite:///{db}"]
    command = "env TERM=xterm " + shlex.join(argv)

    def tmux_run(*args: str) -> str:
        return subprocess.run([tmux, "-L", socket, "-f", "/dev/null", *args], env=env, capture_output=True,
                              text=True, check=False).stdout

    started = time.perf_counter()
    tmux_run("new-session", "-d", "-s", "app", "-x", "80", "-y", "24", command)
    try:
        deadline = started + 30
        while time.perf_counter() < deadline:
            screen = tmux_run("capture-pane", "-p", "-t", "app")
            rows = [line for line in screen.splitlines()[2:] if row in line]
            if rows:
                return time.perf_counter() - started
            time.sleep(0.005)
        raise SystemExit(f"no contact row after 30 s; the screen is:\n{screen}")
    finally:
        tmux_run("kill-server")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contacts", type=int, default=3000)
    parser.add_argument("--db", type=Path, default=None, help="an existing demo database (SQLite file)")
    parser.add_argument("--reference", action="store_true", help="also time a bare Textual app (the floor)")
    parser.add_argument("--row", default=FIRST_ROW,
                        help="text of a first-screen row to wait for (a big demo starts with '(no name)' rows)")
    args = parser.parse_args()
    tmux = shutil.which("tmux")
    if tmux is None:
        raise SystemExit("tmux is needed")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "demo.db"
        if args.db is None:
            build(db, args.contacts)
        home = Path(tmp) / "home"
        home.mkdir()
        one_run(tmux, db, home, row=args.row)  # warm the file cache and the bytecode, as a second start would be
        if args.reference:
            one_run(tmux, db, home, bare=True)
        times, bare = [], []
        for _ in range(args.runs):
            times.append(one_run(tmux, db, home, row=args.row))
            if args.reference:
                bare.append(one_run(tmux, db, home, bare=True))
    result = {"first_row_s": round(statistics.median(times), 3), "runs": [round(t, 3) for t in times]}
    if bare:
        result.update(bare_textual_s=round(statistics.median(bare), 3), bare_runs=[round(t, 3) for t in bare])
    result.update(terminal="tmux 80x24 TERM=xterm", contacts=args.contacts, load=round(os.getloadavg()[0], 2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
