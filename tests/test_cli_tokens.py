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
