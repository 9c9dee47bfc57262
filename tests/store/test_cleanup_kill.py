"""A re-normalization killed with ``kill -9`` between (or inside) its chunks leaves whole contacts:
each one is either as it was or fixed, with its audit event and true problems; running it again
finishes the job (domain.md section 8: no half-fixed contact)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.store.test_cleanup import import_rows, stored_problems
from tests.store_helpers import rw_store

LOCAL = 300

# the real run in a real process, in chunks of 40; after the second chunk it holds in the middle of the
# third (its transaction open, rows written) so the kill lands there however fast the machine is
DRIVER = textwrap.dedent("""
    import sys, time
    from ccconsole.app import open_workspace
    from ccconsole.store import cleanup

    real = cleanup.write_chunk  # every chunk's writes, decided here or by the planner process
    calls = [0]

    def held(*args, **kwargs):
        done = real(*args, **kwargs)
        calls[0] += 1
        if calls[0] == 3:
            print("HOLDING", flush=True)
            time.sleep(120)
        return done

    cleanup.write_chunk = held
    ws = open_workspace(sys.argv[1], actor="killed")
    ws.cleanup.renormalize(chunk=40, planner=sys.argv[2] == "planner")
    print("FINISHED", flush=True)
""")


def test_kill_9_mid_renormalization_leaves_whole_contacts_and_a_rerun_finishes(backend_url, tmp_path):
    killed_mid_run(backend_url, tmp_path, "alone")


def test_kill_9_mid_renormalization_with_the_planner_leaves_whole_contacts_and_no_planner(sqlite_url, tmp_path):
    """The planner process (SQLite) ends too: its next frame finds no reader."""
    killed_mid_run(sqlite_url, tmp_path, "planner")
    deadline = time.monotonic() + 30
    while planners(sqlite_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert planners(sqlite_url) == []


def planners(url: str) -> list[int]:
    """The planner processes working on this database (by their command lines)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ccconsole.store.planner" in cmdline and url in cmdline:
            found.append(int(proc.name))
    return found


def killed_mid_run(backend_url: str, tmp_path, mode: str) -> None:
    ws = rw_store(backend_url)
    ws.update(country="")
    import_rows(ws, tmp_path, ["Name,URN:tel,URN:mailto"]
                + [f"Local {i},0788{i:06d},p{i}@example.org" for i in range(LOCAL)])
    ws.update(country="RW")
    assert ws.cleanup.counts()["local_number"] == LOCAL
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, backend_url, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line.strip())
            if line.strip() == "HOLDING":
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (seen, proc.stderr.read())
    assert "FINISHED" not in seen

    # two chunks committed, the third rolled back: 80 contacts fixed, each with its event
    contacts = [ws.contacts.get(row.uuid) for row in ws.browse.page(limit=LOCAL + 10)]
    assert len(contacts) == LOCAL
    fixed = [c for c in contacts if c.connections[0].identity.startswith("tel:+250")]
    assert len(fixed) == 80
    for c in contacts:
        events = [e.action for e in ws.audit.page(contact_id=c.id, limit=10)]
        assert ("contact.renormalize" in events) == (c in fixed)
        assert [k.scheme for k in c.connections] == ["tel", "mailto"]  # nothing lost, order kept
    assert ws.cleanup.counts()["local_number"] == LOCAL - 80
    kept = stored_problems(ws)
    ws.cleanup.recompute()
    assert stored_problems(ws) == kept  # the problems the killed run committed are true

    result = ws.cleanup.renormalize()  # running it again finishes the job
    assert result.counts == {"in_place": LOCAL - 80, "into_own": 0, "duplicate": 0}
    assert ws.cleanup.counts()["local_number"] == 0
    ws.close()
