"""Contacts API speed: pages of 250 contacts at the top and deep in the list (following ``next``), and
POST updates per second, against a real ``ccconsole serve`` process over loopback.

Builds the demo workspace of ``--contacts`` contacts (the demo's bulk builder) in a SQLite file, or
reuses ``--db``; starts the server in another process; this process is the load generator. Server-side
times come from the ``Server-Timing`` header (request body read to response built, in the server
process). Prints one JSON object (milliseconds, updates per second).

    .venv/bin/python bench/api_bench.py [--contacts 1000000] [--db FILE] [--pages 2000] [--updates 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from ccconsole.app import open_workspace
from ccconsole.store.demo import build_demo


def server_ms(r: requests.Response) -> float:
    return float(r.headers["Server-Timing"].split("dur=")[1])


def cpu_seconds(server_pid: int) -> dict:
    """CPU time the server process and this load generator used so far (Linux), to see who the two
    cores went to."""
    out: dict = {"client_cpu_s": round(sum(os.times()[:2]), 2)}
    try:
        with open(f"/proc/{server_pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out["server_cpu_s"] = round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError):
        pass
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, contacts: int) -> str:
    ws = open_workspace(url, workspace_name="Bench", country="RW")
    try:
        if ws.browse.count() == 0:
            started = time.perf_counter()
            build_demo(ws.scope, contacts)
            print(f"built {contacts} contacts in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        for token in ws.tokens.list():
            if token.name == "bench" and token.revoked_on is None:
                ws.tokens.revoke("bench")
        return ws.tokens.add("bench")[1]
    finally:
        ws.close()


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "ccconsole", "serve", "--db", url, "--port", str(port),
                             "--workers", str(workers), "--throttle-rate", "1000000000/hour"],
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def pages(base: str, headers: dict, count: int) -> dict:
    s = requests.Session()
    s.headers.update(headers)
    first = [server_ms(s.get(f"{base}/contacts.json")) for _ in range(5)]
    r = s.get(f"{base}/contacts.json")
    times, uuids, n = [server_ms(r)], [c["uuid"] for c in r.json()["results"]], 1
    body = r.json()
    while body["next"] and n < count:
        r = s.get(body["next"])
        body = r.json()
        times.append(server_ms(r))
        n += 1
        if len(uuids) < 5000:
            uuids += [c["uuid"] for c in body["results"]]
    deep = [server_ms(s.get(body["next"] or r.url)) for _ in range(5)] if n > 1 else []
    return {"first_page_ms": statistics.median(first), "pages_followed": n,
            "deep_page": n, "deep_page_ms": statistics.median(deep) if deep else None,
            "page_median_ms": statistics.median(times), "page_p95_ms": sorted(times)[int(len(times) * 0.95) - 1],
            "page_max_ms": max(times), "_uuids": uuids}


def updates(base: str, headers: dict, uuids: list[str], total: int, threads: int) -> dict:
    done: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        s = requests.Session()
        s.headers.update(headers)
        for i in range(k, total, threads):
            r = s.post(f"{base}/contacts.json", params={"uuid": uuids[i % len(uuids)]},
                       json={"name": f"Bench {i}", "fields": {"district": f"D{i % 7}"}})
            with lock:
                (done if r.status_code == 200 else errors).append(server_ms(r) if r.status_code == 200
                                                                  else r.status_code)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    return {"updates": len(done), "update_errors": len(errors), "updates_per_s": round(len(done) / elapsed, 1),
            "update_server_median_ms": statistics.median(done) if done else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--db", default=None, help="an existing (or new) SQLite file or database URL to use")
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--updates", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4, help="concurrent clients posting updates")
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    args = ap.parse_args()
    tmp = None
    if args.db:
        url = args.db if "://" in args.db else f"sqlite:///{Path(args.db).resolve()}"
    else:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{tmp.name}/api_bench.db"
    token = prepare(url, args.contacts)
    port = free_port()
    proc = start_server(url, port, args.workers)
    try:
        base, headers = f"http://127.0.0.1:{port}/api/v2", {"Authorization": f"Token {token}"}
        paged = pages(base, headers, args.pages)
        uuids = paged.pop("_uuids")
        result = {"contacts": args.contacts, "backend": url.split(":")[0], **paged,
                  **updates(base, headers, uuids, args.updates, args.threads)}
        result.update(cpu_seconds(proc.pid))
        result["load_average"] = [round(x, 2) for x in os.getloadavg()]  # other work sharing the cores
        print(json.dumps(result, indent=2))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    main()
