"""Scale benchmark: the console at 1k and at 1M contacts, measured in one run, printed as ONE JSON object.

    .venv/bin/python bench/scale_bench.py [--dir DIR] [--contacts 1000000] [--rebuild]

It builds (or reuses) two demo databases in DIR, then measures each thing in its own subprocess so
that memory figures are per size:

- the console headless (``App.run_test``) at 1k and at 1M: first paint (from creating the app to
  the first rows painted), the count showing, ``G`` (last row; median of 5) and page-down (median
  of 30), each from the key to the first paint of its result, and the process's RSS;
- the store at 1M: first page of a search for a phone prefix, a name prefix and an exact
  connection; the broadcast preview for 100,000 recipients;
- the baseline: Textual's built-in DataTable loading 100,000 rows, to first paint.

Targets (issue 6): first paint at 1M <= 1.3 x at 1k; G and page-down at 1M <= 50 ms; search first
page <= 20 ms; broadcast preview for 100k <= 1 s; RSS growth from 1k to 1M <= 30 MB. The JSON says
which are met. Timings are wall-clock on whatever else the machine is doing: run it on a quiet one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
SIZE = (120, 40)
PAGE_DOWNS = 30
G_RUNS = 5
SEARCH_RUNS = 7


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --- children ------------------------------------------------------------------------------------


async def _console(db: str) -> dict:
    from ccconsole.tui.app import make_app
    from ccconsole.tui.widgets.contact_table import ContactTable

    # every paint of the table's first body line, with what it showed: a key's latency is the time
    # from the key to the first paint of its result (the routing preview follows on its own)
    paints: list[tuple[float, int | None, bool]] = []
    render_line = ContactTable.render_line

    def recording(self, y):
        if y == 1:
            current = self.current
            paints.append((time.perf_counter(), current.id if current else None,
                           self.at_end and not self.fetching and self.cursor == len(self.rows) - 1))
        return render_line(self, y)

    ContactTable.render_line = recording

    async def until(pilot, predicate, timeout=120.0):
        deadline = time.perf_counter() + timeout
        while not predicate():
            if time.perf_counter() > deadline:
                raise TimeoutError("the console did not get there")
            await pilot.pause(0.001)

    def painted(since: float, shows) -> float:
        return next(t for t, cid, at_end in paints if t >= since and shows(cid, at_end)) - since

    started = time.perf_counter()
    app = make_app(f"sqlite:///{db}", label="bench")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(ContactTable)
        await until(pilot, lambda: any(cid is not None for _, cid, _ in paints))
        first_paint = painted(started, lambda cid, _: cid is not None)
        await until(pilot, lambda: table.total is not None)
        count_shown = time.perf_counter() - started
        total = table.total
        await pilot.pause(0.5)

        lasts = []
        for _ in range(G_RUNS):  # G from the top: the last page is fetched by key each time
            t = time.perf_counter()
            await pilot.press("G")
            await until(pilot, lambda: any(p[0] >= t and p[2] for p in paints))
            lasts.append(painted(t, lambda cid, at_end: at_end))
            last_name = table.current.name
            await pilot.press("g")
            await until(pilot, lambda: table.at_start and not table.fetching and table.cursor == 0)
            await pilot.pause(0.3)
        downs = []
        for _ in range(PAGE_DOWNS):
            before = table.current.id
            t = time.perf_counter()
            await pilot.press("pagedown")
            await until(pilot, lambda: not table.fetching and table.current.id != before)
            target = table.current.id
            await until(pilot, lambda: any(p[0] >= t and p[1] == target for p in paints))
            downs.append(painted(t, lambda cid, _: cid == target))
            await pilot.pause(0.1)  # let the routing preview catch up, as a person reading would
        window = len(table.rows)
        rss = rss_mb()
    return {
        "contacts": total,
        "first_paint_ms": ms(first_paint),
        "count_shown_ms": ms(count_shown),
        "G_ms": ms(statistics.median(lasts)),
        "G_ms_max": ms(max(lasts)),
        "G_reached": last_name,
        "page_down_ms_median": ms(statistics.median(downs)),
        "page_down_ms_max": ms(max(downs)),
        "rows_in_memory": window,
        "rss_mb": round(rss, 1),
    }


def _store(db: str) -> dict:
    from sqlalchemy import text

    from ccconsole.app import open_workspace

    store = open_workspace(f"sqlite:///{db}", read_only=True)
    with store.scope.engine.connect() as c:
        exact = c.execute(text("SELECT identity FROM connection WHERE id = "
                               "(SELECT MAX(id) / 2 FROM connection)")).scalar_one()
        ids = [r[0] for r in c.execute(text("SELECT id FROM contact"))]

    def first_page(query: str) -> dict:
        times = []
        for _ in range(SEARCH_RUNS):
            t = time.perf_counter()
            rows = store.browse.page(limit=100, text=query)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        matches = store.browse.count(query)
        counted = time.perf_counter() - t
        return {"query": query, "first_page_ms_median": ms(statistics.median(times)),
                "first_page_ms_first": ms(times[0]), "rows": len(rows), "matches": matches,
                "count_ms": ms(counted)}

    searches = {
        "tel_prefix": first_page("0788 38"),
        "name_prefix": first_page("jane do"),
        "name_prefix_broad": first_page("jane"),
        "exact_urn": first_page(exact),
    }
    recipients = random.Random(6).sample(ids, min(100_000, len(ids)))
    del ids
    times = []
    for _ in range(3):
        t = time.perf_counter()
        result = store.broadcast.preview(contact_ids=recipients)
        times.append(time.perf_counter() - t)
    store.close()
    return {"searches": searches,
            "broadcast": {"recipients": result.total, "ms_median": ms(statistics.median(times)),
                          "ms_first": ms(times[0]), "channels": len(result.per_channel),
                          "headline": result.headline}}


async def _baseline(rows: int) -> dict:
    from textual.app import App
    from textual.widgets import DataTable

    data = [(f"Name {i}", f"+2507883{i:05d}", "tel", "MTN Rwanda", "active") for i in range(rows)]

    class Baseline(App):
        def compose(self):
            yield DataTable()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("Name", "Connection", "Type", "Next via", "Status")
            table.add_rows(data)

    started = time.perf_counter()
    async with Baseline().run_test(size=SIZE) as pilot:
        await pilot.pause()
        painted = time.perf_counter() - started
        rss = rss_mb()
    return {"rows": rows, "first_paint_ms": ms(painted), "rss_mb": round(rss, 1)}


def child(kind: str, arg: str) -> None:
    if kind == "console":
        result = asyncio.run(_console(arg))
    elif kind == "store":
        result = _store(arg)
    else:
        result = asyncio.run(_baseline(int(arg)))
    print(json.dumps(result))


# --- the run ---------------------------------------------------------------------------------------


def run_child(kind: str, arg: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TEXTUAL_THEME", "CCCONSOLE_DB")}
    out = subprocess.run([sys.executable, str(HERE), "--child", kind, arg], capture_output=True, text=True,
                         env=env, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"scale_bench: the {kind} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_demo(path: Path, contacts: int, rebuild: bool) -> float | None:
    """Build the demo database unless it is there; the seconds it took (None when reused)."""
    if path.exists() and not rebuild:
        return None
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("ccconsole")), "demo", "--contacts", str(contacts),
                    "--db", str(path)], check=True, capture_output=True, text=True)
    return round(time.perf_counter() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/ccconsole-bench")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true", help="build the demo databases again")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    small, big = folder / "demo-1k.db", folder / f"demo-{args.contacts}.db"
    build_small = ensure_demo(small, 1000, args.rebuild)
    build_big = ensure_demo(big, args.contacts, args.rebuild)

    at_1k = run_child("console", str(small))
    at_1m = run_child("console", str(big))
    store = run_child("store", str(big))
    baseline = run_child("baseline", "100000")

    searches = store["searches"]
    ratio = round(at_1m["first_paint_ms"] / at_1k["first_paint_ms"], 2)
    growth = round(at_1m["rss_mb"] - at_1k["rss_mb"], 1)
    targets = {
        "first_paint_ratio<=1.3": ratio <= 1.3,
        "G_1m<=50ms": at_1m["G_ms"] <= 50,
        "page_down_1m<=50ms": at_1m["page_down_ms_median"] <= 50,
        **{f"search_{k}<=20ms": v["first_page_ms_median"] <= 20 for k, v in searches.items()},
        "broadcast_100k<=1000ms": store["broadcast"]["ms_median"] <= 1000,
        "rss_growth<=30MB": growth <= 30,
    }
    print(json.dumps({
        "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
        "demo_build_seconds": {"1k": build_small, str(args.contacts): build_big},
        "first_paint_ms": {"1k": at_1k["first_paint_ms"], "1m": at_1m["first_paint_ms"], "ratio": ratio},
        "count_shown_ms": {"1k": at_1k["count_shown_ms"], "1m": at_1m["count_shown_ms"]},
        "G_ms_1m": {"median": at_1m["G_ms"], "max": at_1m["G_ms_max"]},
        "page_down_ms_1m": {"median": at_1m["page_down_ms_median"], "max": at_1m["page_down_ms_max"]},
        "at_1k_for_comparison": {"G_ms": at_1k["G_ms"], "page_down_ms_median": at_1k["page_down_ms_median"]},
        "rows_in_memory_1m": at_1m["rows_in_memory"],
        "search_first_page_1m": searches,
        "broadcast_preview": store["broadcast"],
        "rss_mb": {"1k": at_1k["rss_mb"], "1m": at_1m["rss_mb"], "growth": growth},
        "baseline_datatable_100k": baseline,
        "console": {"1k": at_1k, "1m": at_1m},
        "targets_met": targets,
    }, indent=2))


if __name__ == "__main__":
    main()
