"""``ccconsole tokens add/list/revoke`` through the command line's entry point (click's runner)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ccconsole.app import open_workspace
from ccconsole.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_tokens_add_list_revoke(tmp_path):
    db = f"sqlite:///{tmp_path / 'tokens.db'}"
    added = run("tokens", "add", "alice", "--db", db)
    assert added.exit_code == 0
    key = added.stdout.strip()
    assert len(key) == 40 and "alice" in added.stderr
    with open_workspace(db, read_only=True) as ws:
        assert ws.tokens.user(key) == "alice"
        assert ws.tokens.user(key[:-1] + ("0" if key[-1] != "0" else "1")) is None
        assert [e.actor for e in ws.audit.page(action="token.add")]  # audited
    raw = (tmp_path / "tokens.db").read_bytes()
    assert key.encode() not in raw  # only a hash is kept

    listed = run("tokens", "list", "--db", db, "--json")
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["revoked_on"]) for r in rows] == [("alice", None)]
    assert key not in listed.stdout

    again = run("tokens", "add", "alice", "--db", db)
    assert again.exit_code == 1 and "already has a token" in again.stderr and again.stdout == ""

    assert run("tokens", "revoke", "alice", "--db", db).exit_code == 0
    with open_workspace(db, read_only=True) as ws:
        assert ws.tokens.user(key) is None
    missing = run("tokens", "revoke", "alice", "--db", db)
    assert missing.exit_code == 1 and missing.stderr.count("\n") == 1 and "No live token" in missing.stderr
    assert run("tokens", "add", "alice", "--db", db).exit_code == 0  # a new one after revoking
    lines = run("tokens", "list", "--db", db).stdout.splitlines()
    assert len(lines) == 2 and any("revoked" in line for line in lines) and any("live" in line for line in lines)


def test_hostile_token_names_are_refused_or_shown_visibly(tmp_path):
    db = f"sqlite:///{tmp_path / 'tokens.db'}"
    bad = run("tokens", "add", "\x1b[2Jevil", "--db", db)
    assert bad.exit_code == 1 and "\x1b" not in bad.stderr and "printable" in bad.stderr
    bidi = run("tokens", "add", "\u202eevil", "--db", db)
    assert bidi.exit_code == 1 and "\u202e" not in bidi.stderr and bidi.stderr.count("\n") == 1
    assert run("tokens", "add", "Zoë 🙂", "--db", db).exit_code == 0
    assert run("tokens", "list", "--db", db).stdout.startswith("Zoë 🙂\t")


def test_serve_refuses_a_bad_throttle_rate_in_one_line(tmp_path):
    r = run("serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--throttle-rate", "lots")
    assert r.exit_code == 1 and r.stderr.startswith("ccconsole: Bad throttle rate 'lots'")
    assert r.stderr.count("\n") == 1


def test_serve_with_two_workers_answers_with_a_token_made_by_the_cli(tmp_path):
    """``ccconsole serve --workers 2``: uvicorn's workers build the app from the factory and the
    environment the command sets."""
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests

    db = f"sqlite:///{tmp_path / 'served.db'}"
    key = run("tokens", "add", "dora", "--db", db).stdout.strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen([sys.executable, "-m", "ccconsole", "serve", "--db", db, "--port", str(port),
                             "--workers", "2"], env={**os.environ, "PYTHONPATH": root},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/api/v2/org.json",
                                      headers={"Authorization": f"Token {key}"}, timeout=5)
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200 and answer.json()["name"] == "Workspace"
        r = requests.post(f"http://127.0.0.1:{port}/api/v2/contacts.json", json={"name": "Served"},
                          headers={"Authorization": f"Token {key}"}, timeout=10)
        assert r.status_code == 201
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Serving the Contacts API of Workspace" in err and "Traceback" not in err
    with open_workspace(db, read_only=True) as ws:
        assert [e.actor for e in ws.audit.page(action="contact.create")] == ["dora"]
