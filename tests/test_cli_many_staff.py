"""The command line with many staff (SQLite and PostgreSQL): ``--read-only`` refuses every change at
the database session, every changing command writes exactly one audit event under the login name
(``--actor`` or ``$SUDO_USER``/``$USER``), and ``ccconsole audit`` reads the log back."""

from __future__ import annotations

import json
import os
import subprocess

from ccconsole.app import open_workspace
from tests.store_helpers import rw_store
from tests.test_cli import CCCONSOLE, ok, run_many, user_error


def run_as(user: str | None, *args: str):
    env = {k: v for k, v in os.environ.items() if k not in ("CCCONSOLE_DB", "SUDO_USER", "USER")}
    if user:
        env["USER"] = user
    return subprocess.run([str(CCCONSOLE), *args], capture_output=True, text=True, timeout=120, env=env, input="")


def audit_json(url: str, *extra: str) -> list[dict]:
    return json.loads(ok(run_as(None, "audit", "--db", url, "--json", "--limit", "500", *extra)))


def test_read_only_refuses_every_changing_command_and_writes_nothing(backend_url):
    store = rw_store(backend_url)
    try:
        jane = store.contacts.create("Jane", ["tel:+250788383383"])
        seq = store.change_seq()
    finally:
        store.close()
    url = backend_url
    attempts = run_many(
        ("--read-only", "contacts", "add", "--name", "X", "--urn", "tel:+250788000001", "--db", url),
        ("--read-only", "contacts", "set-urns", jane.uuid, "twitter:jane", "--db", url),
        ("--read-only", "contacts", "delete", jane.uuid, "--yes", "--db", url),
        ("--read-only", "inbound", "--channel", "MTN", "--urn", "tel:+250788383383", "--db", url),
        ("--read-only", "channels", "disable", "MTN", "--db", url),
        ("--read-only", "channels", "add", "New", "--type", "Twilio", "--scheme", "tel", "--db", url),
        ("--read-only", "workspace", "set", "--name", "Other", "--db", url))
    for result in attempts:
        assert "read-only" in user_error(result)
    shown, logged = run_many(("--read-only", "contacts", "show", jane.uuid, "--db", url, "--json"),
                             ("--read-only", "audit", "--db", url, "--json"))
    assert json.loads(ok(shown))["name"] == "Jane"  # reading works
    assert len(json.loads(ok(logged))) == 6
    store = open_workspace(url)
    try:
        assert store.change_seq() == seq
        assert store.contacts.get(jane.uuid).version == 1
    finally:
        store.close()


def test_each_changing_command_writes_one_event_under_the_login_name(backend_url):
    open_workspace(backend_url, actor="setup", workspace_name="Kigali", country="RW").close()
    url = backend_url
    ok(run_as("alice", "channels", "add", "MTN", "--type", "Twilio", "--scheme", "tel", "--country", "RW",
              "--db", url))
    added = json.loads(ok(run_as("alice", "contacts", "add", "--name", "Jane", "--urn", "tel:0788383383",
                                 "--db", url, "--json")))
    ok(run_as("alice", "--actor", "help-desk", "contacts", "set-urns", added["uuid"], "twitter:jane",
              "tel:0788383383", "--db", url))
    ok(run_as("bob", "inbound", "--channel", "MTN", "--urn", "tel:0788383383", "--text", "hi", "--db", url))
    ok(run_as("bob", "inbound", "--channel", "MTN", "--urn", "tel:0788383383", "--text", "hi", "--db", url))
    ok(run_as("bob", "channels", "disable", "MTN", "--db", url))
    ok(run_as("carol", "workspace", "set", "--name", "Kigali Health", "--db", url))
    ok(run_as("carol", "contacts", "delete", added["uuid"], "--yes", "--db", url))
    events = audit_json(url)
    assert [(e["actor"], e["action"]) for e in reversed(events)] == [
        ("alice", "channel.add"), ("alice", "contact.create"), ("help-desk", "contact.update"),
        ("bob", "contact.inbound"),  # the second, identical message changes nothing: no event
        ("bob", "channel.disable"), ("carol", "workspace.update"), ("carol", "contact.delete")]
    jane = audit_json(url, "--action", "contact.update")
    assert jane[0]["changes"] == [{"field": "connections", "before": "tel:+250788383383",
                                   "after": "twitter:jane, tel:+250788383383"}]
    assert [e["action"] for e in audit_json(url, "--actor", "bob")] == ["channel.disable", "contact.inbound"]
    text = ok(run_as(None, "audit", "--db", url, "--text", "twitter:jane", "--limit", "1")).splitlines()
    assert len(text) == 1 and "\tcontact.delete\t" in text[0]
