"""An import either commits completely or leaves the database as it was, even under ``kill -9``.

A real subprocess imports a big file (one transaction, written chunk by chunk); once it reports that
several chunks are written (and holds there), it gets SIGKILL. The database must be exactly as before
(its indexes too: a big SQLite import rebuilds them at the end), the reader processes it started must
exit on their own, and running the import again must finish the job (no duplicates, nothing missing).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import func, select

from ccconsole.store.models import Connection, Contact, FieldValue
from tests.store_helpers import indexes, rw_store

ROWS = 30_000

# the real import in a real process; after 5,000 rows (5 chunks written in the open transaction) it
# waits, so the kill lands mid-import however fast or slow the machine is
DRIVER = textwrap.dedent("""
    import sys, time
    from ccconsole.app import open_workspace
    from ccconsole.store.importer import import_file

    def progress(done, total):
        print(done, flush=True)
        if done >= 5000:
            time.sleep(120)

    store = open_workspace(sys.argv[1], actor="killed")
    store.transfer.import_file(sys.argv[2], chunk=1000, progress=progress)
    print("COMMITTED", flush=True)
""")


def counts(store):
    with store.scope.engine.connect() as c:
        return (c.execute(select(func.count()).select_from(Contact)).scalar_one(),
                c.execute(select(func.count()).select_from(Connection)).scalar_one(),
                c.execute(select(func.count()).select_from(FieldValue)).scalar_one())


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry))
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_9_mid_import_leaves_the_database_unchanged_and_a_rerun_finishes(backend_url, tmp_path):
    store = rw_store(backend_url)
    jane = store.contacts.create("Jane", ["tel:+250788383383"], fields={"age": "30"})
    f = tmp_path / "big.csv"
    with f.open("w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["UUID", "Name", "URN:Tel", "URN:Mailto", "Field:Age"])
        w.writerow([jane.uuid, "Jane Updated", "", "jane@example.org", "31"])
        for i in range(ROWS):
            w.writerow(["", f"Person {i}", f"07885{i:05d}", f"p{i}@example.org" if i % 3 == 0 else "", i % 90])
    before = counts(store)
    before_indexes = indexes(store)
    seq = store.change_seq()
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, backend_url, str(f)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = []
    readers = []
    try:
        for line in proc.stdout:
            seen.append(line.strip())
            if line.strip().isdigit() and int(line) >= 5000:
                readers = children(proc.pid)  # the file is big: it is read by reader processes
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (seen, proc.stderr.read())
    assert "COMMITTED" not in seen and int(seen[-1]) >= 5000  # killed mid-way, with chunks written
    assert len(readers) == 2  # a csv: two readers share the parsing
    deadline = time.monotonic() + 30  # an orphaned reader's next write fails: it exits by itself
    while time.monotonic() < deadline and any(running(pid) for pid in readers):
        time.sleep(0.1)
    assert not any(running(pid) for pid in readers), "a reader process outlived the killed import"
    assert indexes(store) == before_indexes  # the deferred indexes came back with the rollback

    assert counts(store) == before
    assert store.change_seq() == seq
    view = store.contacts.get(jane.uuid)
    assert view.name == "Jane" and dict(view.fields) == {"age": "30"} and len(view.connections) == 1

    report = store.transfer.import_file(f)  # running it again finishes the job
    assert (report.created, report.updated, report.errored) == (ROWS, 1, 0)
    contacts, connections, fields = counts(store)
    assert contacts == ROWS + 1
    assert connections == 1 + 1 + ROWS + len(range(0, ROWS, 3))
    assert store.contacts.get(jane.uuid).name == "Jane Updated"
    again = store.transfer.import_file(f)
    assert (again.created, again.updated, again.unchanged) == (0, 0, ROWS + 1)
    assert counts(store)[0] == ROWS + 1
    store.close()
