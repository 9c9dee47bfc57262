"""Export benchmark: demo workspaces of 100k and 1M contacts exported to .csv (and .xlsx at 100k).

    .venv/bin/python bench/export_bench.py [--dir DIR] [--sizes 100000,1000000] [--xlsx-upto 100000]
                                           [--pg] [--rebuild]

It builds (or reuses) a SQLite demo database per size in DIR with ``ccconsole demo`` (the fast demo
builder, ``ccconsole.store.demo.build_demo``; the same files as ``scale_bench.py``: demo-N.db), then
runs each export (``ws.transfer.export_file``, whole workspace, no query) in its own
subprocess and prints ONE JSON object: per size and format the seconds, rows/s, file size and the
peak RSS (ru_maxrss) of the exporting process. ``--pg`` does the same on a throwaway PostgreSQL
server (``tests/pg.py``), building the demo databases there each run.

Target: exporting 1M costs about 10 x exporting 100k (linear; ``csv_ratio_largest_to_smallest``).
Timings are wall-clock on whatever else the machine is doing: run it on a quiet one.

Measured (2 shared cores, load average 1-3; csv unless said):

    SQLite       before: 100k 11.5 s (8,706 rows/s), xlsx 64.3 s; 1M over 10 minutes
                 after:  100k 6.5 s (15,352 rows/s), xlsx 75.5 s (1,324 rows/s, openpyxl-bound, noisy);
                         1M 69.1 s (14,463 rows/s): 10.6 x; peak RSS 82 MB at both sizes
    PostgreSQL   before: 100k 20.2 s (4,961 rows/s)
                 after:  100k 9.7 s (10,333 rows/s), xlsx 49.0 s (2,043 rows/s);
                         1M 98.4 s (10,158 rows/s): 10.2 x; peak RSS 87 MB at both sizes
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))


def child(url: str, fmt: str) -> None:
    from ccconsole.app import open_workspace

    with open_workspace(url, read_only=True) as ws, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"contacts.{fmt}"
        started = time.perf_counter()
        report = ws.transfer.export_file(path)
        seconds = time.perf_counter() - started
        size = path.stat().st_size
    print(json.dumps({"contacts": report.contacts, "columns": report.columns, "seconds": round(seconds, 2),
                      "rows_per_s": round(report.contacts / seconds) if seconds else None,
                      "file_mb": round(size / 2**20, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def run_child(url: str, fmt: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "CCCONSOLE_DB"}
    out = subprocess.run([sys.executable, str(HERE), "--child", url, fmt], capture_output=True, text=True,
                         env=env, timeout=7200)
    if out.returncode != 0:
        raise SystemExit(f"export_bench: the {fmt} export of {url} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_demo(url: str, contacts: int) -> float:
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("ccconsole")), "demo", "--contacts", str(contacts),
                    "--db", url], check=True, capture_output=True, text=True)
    return round(time.perf_counter() - started, 1)


def sqlite_demo(folder: Path, contacts: int, rebuild: bool) -> tuple[str, float | None]:
    """The demo database of ``contacts`` in ``folder`` (built unless it is there) and its build seconds."""
    path = folder / f"demo-{contacts}.db"
    if path.exists() and not rebuild:
        return f"sqlite:///{path}", None
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}", build_demo(str(path), contacts)


def measure(urls: dict[int, str], xlsx_upto: int) -> dict:
    out: dict = {}
    for n, url in urls.items():
        out[str(n)] = {"csv": run_child(url, "csv")}
        if n <= xlsx_upto:
            out[str(n)]["xlsx"] = run_child(url, "xlsx")
    sizes = sorted(urls)
    if len(sizes) > 1:
        small, big = out[str(sizes[0])]["csv"], out[str(sizes[-1])]["csv"]
        out["csv_ratio_largest_to_smallest"] = round(big["seconds"] / small["seconds"], 1) if small["seconds"] else None
        out["contacts_ratio"] = round(sizes[-1] / sizes[0], 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/ccconsole-bench")
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated contact counts")
    parser.add_argument("--xlsx-upto", type=int, default=100_000, help="export .xlsx too up to this size")
    parser.add_argument("--pg", action="store_true", help="on a throwaway PostgreSQL server instead of SQLite")
    parser.add_argument("--rebuild", action="store_true", help="build the SQLite demo databases again")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    result: dict = {"machine": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
                    "backend": "postgresql" if args.pg else "sqlite"}
    if args.pg:
        from tests import pg

        server = pg.start()
        if server is None:
            raise SystemExit("export_bench: no PostgreSQL binaries installed")
        try:
            urls, builds = {}, {}
            for n in sizes:
                urls[n] = server.create_database()
                builds[str(n)] = build_demo(urls[n], n)
            result["demo_build_seconds"] = builds
            result["export"] = measure(urls, args.xlsx_upto)
        finally:
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)
    else:
        folder = Path(args.dir)
        folder.mkdir(parents=True, exist_ok=True)
        urls, builds = {}, {}
        for n in sizes:
            urls[n], builds[str(n)] = sqlite_demo(folder, n, args.rebuild)
        result["demo_build_seconds"] = builds
        result["export"] = measure(urls, args.xlsx_upto)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
