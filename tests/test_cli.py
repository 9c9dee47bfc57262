"""The command line through the real entry point, as a subprocess: what a script or a person sees.

Mistakes must exit non-zero with ONE line on stderr starting ``ccconsole:`` and never a traceback.
Each invocation pays the interpreter's start-up (~0.7 s), so independent ones run side by side and
the mistakes are run once, together, by a module fixture.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccconsole.app import open_workspace

CCCONSOLE = Path(sys.executable).with_name("ccconsole")
INVALID_NEW_PHONE = "Invalid phone number. Ensure number includes country code."
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def run(*args: str, input: str | None = None, module: bool = False):
    env = {k: v for k, v in os.environ.items() if k != "CCCONSOLE_DB"}
    cmd = [sys.executable, "-m", "ccconsole", *args] if module else [str(CCCONSOLE), *args]
    return subprocess.run(cmd, input=input if input is not None else "", capture_output=True, text=True,
                          timeout=120, env=env)


def run_many(*calls: tuple) -> list:
    """Independent invocations side by side."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: run(*args), calls))


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def as_json(result):
    return json.loads(ok(result))


def user_error(result) -> str:
    """A mistake: non-zero, one line on stderr starting with 'ccconsole:', no traceback anywhere."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ccconsole: "), lines[0]
    return lines[0]


def make_db(path: Path, country: str | None = "RW") -> str:
    """A database with its workspace already there (the CLI opens it; it sets no country itself)."""
    url = f"sqlite:///{path}"
    open_workspace(url, actor="setup", workspace_name="Kigali", country=country).close()
    return url


def _fresh(request, tmp_path, name: str) -> str:
    """A new empty database: a SQLite file, or with CCCONSOLE_TEST_BACKEND=postgres (the second pass
    of scripts/test.sh) a database on the test run's PostgreSQL."""
    if os.environ.get("CCCONSOLE_TEST_BACKEND") == "postgres":
        return request.getfixturevalue("pg_server").create_database()
    return str(tmp_path / name)


@pytest.fixture
def dbfile(request, tmp_path) -> str:
    return _fresh(request, tmp_path, "cc.db")


@pytest.fixture
def rw_db(request, tmp_path) -> str:
    url = _fresh(request, tmp_path, "rw.db")
    open_workspace(url, actor="setup", workspace_name="Kigali", country="RW").close()
    return url


def test_entry_point_exists():
    assert CCCONSOLE.exists()


def test_python_m_ccconsole_help():
    out = ok(run("--help", module=True))
    assert "Usage:" in out
    for command in ("urns", "channels", "contacts", "inbound", "route", "demo"):
        assert command in out


# --- urns check ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def urns_runs() -> dict:
    calls = {
        "args": (("urns", "check", "tel:0788383383", "tel:+250 788 383 383", "twitter:@Bob", "mailto:A@B.org",
                  "--country", "RW"), None),
        "no_country": (("urns", "check", "tel:0788383383"), None),
        "new": (("urns", "check", "--new", "tel:0788383383", "tel:+250788383383"), None),
        "stdin_json": (("urns", "check", "--country", "rw", "--json"),
                       "tel:0788383383\n\n  tel:+13233754866  \nmailto:Jane@Example.org\n"),
        "invalid_json": (("urns", "check", "--json", "tel:+250788383383", "mailto:nobody", "fax:1"), None),
        "invalid_stdin": (("urns", "check"), "mailto:ok@example.org\nbad\n"),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {k: pool.submit(run, *args, input=stdin) for k, (args, stdin) in calls.items()}
        return {k: f.result() for k, f in futures.items()}


def test_urns_check_arguments_with_country(urns_runs):
    assert ok(urns_runs["args"]).splitlines() == [
        "tel:0788383383\ttel:+250788383383",
        "tel:+250 788 383 383\ttel:+250788383383",
        "twitter:@Bob\ttwitter:bob",
        "mailto:A@B.org\tmailto:a@b.org",
    ]


def test_urns_check_without_country_and_new_rule(urns_runs):
    assert ok(urns_runs["no_country"]).splitlines() == ["tel:0788383383\ttel:0788383383"]
    result = urns_runs["new"]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [f"tel:0788383383\tERROR: {INVALID_NEW_PHONE}",
                                          "tel:+250788383383\ttel:+250788383383"]


def test_urns_check_from_stdin_as_json(urns_runs):
    assert as_json(urns_runs["stdin_json"]) == [
        {"input": "tel:0788383383", "identity": "tel:+250788383383", "valid": True, "display": "0788 383 383"},
        {"input": "tel:+13233754866", "identity": "tel:+13233754866", "valid": True, "display": "+1 323-375-4866"},
        {"input": "mailto:Jane@Example.org", "identity": "mailto:jane@example.org", "valid": True,
         "display": "jane@example.org"},
    ]


def test_urns_check_exits_1_when_one_is_invalid(urns_runs):
    result = urns_runs["invalid_json"]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    assert [(d["input"], d["valid"], d["identity"]) for d in data] == [
        ("tel:+250788383383", True, "tel:+250788383383"), ("mailto:nobody", False, None), ("fax:1", False, None)]
    assert data[1]["error"] == "Invalid email address."
    assert data[2]["error"] == "Unknown connection type 'fax'."
    result = urns_runs["invalid_stdin"]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "mailto:ok@example.org\tmailto:ok@example.org"
    assert lines[1].startswith("bad\tERROR: ") and len(lines) == 2


# --- channels ------------------------------------------------------------------------------------


def test_channels_add_list_disable(dbfile):
    mtn = as_json(run("channels", "add", "MTN", "--type", "Twilio", "--scheme", "tel", "--address", "+250788000000",
                      "--country", "rw", "--prefix", "25078", "--db", dbfile, "--json"))
    assert {k: v for k, v in mtn.items() if k not in ("uuid", "created_on")} == {
        "name": "MTN", "type": "Twilio", "address": "+250788000000", "schemes": ["tel"],
        "roles": ["receive", "send"], "country": "RW", "match_prefixes": ["25078"],
        "allow_international": False, "active": True}
    out = ok(run("channels", "add", "Airtel", "--type", "Africa's Talking", "--scheme", "tel", "--country", "RW",
                 "--prefix", "+25073", "--db", dbfile))
    assert out.startswith("Added channel Airtel (")
    ok(run("--db", dbfile, "channels", "add", "Surveyor", "--type", "Surveyor", "--scheme", "mailto",
           "--role", "receive"))
    assert ok(run("channels", "disable", "airtel", "--db", dbfile)).strip() == "Disabled channel Airtel"
    listed, text, dup, fax, nope = run_many(
        ("channels", "list", "--db", dbfile, "--json"),
        ("channels", "list", "--db", dbfile),
        ("channels", "add", "MTN", "--type", "Twilio", "--scheme", "tel", "--db", dbfile),
        ("channels", "add", "Fax", "--type", "Fax", "--scheme", "fax", "--db", dbfile),
        ("channels", "disable", "Nope", "--db", dbfile))
    listed = as_json(listed)
    assert [(c["name"], c["roles"], c["match_prefixes"], c["active"]) for c in listed] == [
        ("MTN", ["receive", "send"], ["25078"], True), ("Airtel", ["receive", "send"], ["25073"], False),
        ("Surveyor", ["receive"], [], True)]
    assert listed[0] == mtn
    assert ok(text).splitlines() == ["NAME\tTYPE\tSCHEMES\tADDRESS\tCOUNTRY\tSTATE",
                                     "MTN\tTwilio\ttel\t+250788000000\tRW\tactive",
                                     "Airtel\tAfrica's Talking\ttel\t\tRW\tdisabled",
                                     "Surveyor\tSurveyor\tmailto\t\t-\tactive"]
    assert user_error(dup) == "ccconsole: name: A channel named 'MTN' exists already."
    assert user_error(fax) == "ccconsole: schemes: Unknown connection type 'fax'."
    assert user_error(nope) == "ccconsole: No channel 'Nope'."


# --- contacts ------------------------------------------------------------------------------------


def test_contacts_add_show_set_urns_delete(rw_db):
    jane = as_json(run("contacts", "add", "--name", "Jane Doe", "--urn", "tel:+13233754866",
                       "--urn", "tel:+4915112345678", "--urn", "mailto:Jane@Example.org", "--urn", "tel:0788383383",
                       "--group", "Nurses", "--field", "Age=34", "--language", "eng", "--db", rw_db, "--json"))
    assert (jane["name"], jane["status"], jane["language"], jane["version"]) == ("Jane Doe", "active", "eng", 1)
    assert jane["connections"] == [
        {"identity": "tel:+13233754866", "display": "+1 323-375-4866", "affinity_channel_id": None},
        {"identity": "tel:+4915112345678", "display": "+49 1511 2345678", "affinity_channel_id": None},
        {"identity": "mailto:jane@example.org", "display": "jane@example.org", "affinity_channel_id": None},
        {"identity": "tel:+250788383383", "display": "0788 383 383", "affinity_channel_id": None},
    ]
    assert jane["groups"] == ["Nurses"] and jane["fields"] == {"age": "34"}
    uuid = jane["uuid"]
    *shown, text = run_many(*[("contacts", "show", ref, "--db", rw_db, "--json")
                              for ref in (uuid, "tel:0788 383 383", "mailto:JANE@example.org")],
                            ("contacts", "show", uuid, "--db", rw_db))
    for result in shown:
        assert as_json(result) == jane
    lines = ok(text).splitlines()
    assert lines[0] == f"Jane Doe  {uuid}  active  v1"
    assert lines[1:5] == ["  1 tel:+13233754866  (+1 323-375-4866)", "  2 tel:+4915112345678  (+49 1511 2345678)",
                          "  3 mailto:jane@example.org  (jane@example.org)", "  4 tel:+250788383383  (0788 383 383)"]
    # S6 from the command line: remove the +49 number, email first
    after = as_json(run("contacts", "set-urns", uuid, "mailto:jane@example.org", "tel:+13233754866",
                        "tel:0788383383", "--db", rw_db, "--json"))
    assert [c["identity"] for c in after["connections"]] == ["mailto:jane@example.org", "tel:+13233754866",
                                                             "tel:+250788383383"]
    assert after["version"] == 2
    # the removed number is free for another contact; a taken one is refused naming its owner
    bob = as_json(run("contacts", "add", "--name", "Bob", "--urn", "tel:+4915112345678", "--db", rw_db, "--json"))
    assert [c["identity"] for c in bob["connections"]] == ["tel:+4915112345678"]
    eve, bob_set = run_many(("contacts", "add", "--name", "Eve", "--urn", "tel:+13233754866", "--db", rw_db),
                            ("contacts", "set-urns", bob["uuid"], "tel:+4915112345678", "mailto:jane@example.org",
                             "--db", rw_db))
    err = user_error(eve)
    assert err.startswith("ccconsole: urns.0: In use by another contact") and "Jane Doe" in err
    err = user_error(bob_set)
    assert err.startswith("ccconsole: urns.1: In use by another contact") and "Jane Doe" in err
    # delete
    out = ok(run("contacts", "delete", uuid, "--yes", "--db", rw_db))
    assert out.strip() == "Deleted Jane Doe; 3 connection(s) detached."
    gone, again, bob_now = run_many(
        ("contacts", "show", uuid, "--db", rw_db),
        ("contacts", "add", "--name", "Eve", "--urn", "tel:+13233754866", "--db", rw_db, "--json"),
        ("contacts", "show", bob["uuid"], "--db", rw_db, "--json"))
    assert user_error(gone).startswith("ccconsole: No contact ")
    assert [c["identity"] for c in as_json(again)["connections"]] == ["tel:+13233754866"]
    assert as_json(bob_now) == bob  # the refused set-urns changed nothing


def test_contacts_delete_without_yes_asks(rw_db):
    store = open_workspace(rw_db)
    store.contacts.create("Jane", ["tel:+250788383383"])
    store.close()
    err = user_error(run("contacts", "delete", "tel:+250788383383", "--db", rw_db, input="n\n"))
    assert err == "ccconsole: Not deleted."
    ok(run("contacts", "show", "tel:+250788383383", "--db", rw_db))


# --- inbound and route ---------------------------------------------------------------------------


def _setup(db_url: str) -> str:
    """Two phone channels and Jane, written in-process (the commands under test come after)."""
    store = open_workspace(db_url, actor="setup")
    try:
        store.channels.add("MTN", "Twilio", ["tel"], address="+250788000000", country="RW", match_prefixes=["25078"],
                          created_on=T0)
        store.channels.add("Airtel", "Africa's Talking", ["tel"], address="+250730000000", country="RW",
                          match_prefixes=["25073"], created_on=T0 + timedelta(days=1))
        jane = store.contacts.create("Jane", ["tel:+250730123456", "tel:+250788383383"])
        rv = store.contacts.route(jane.uuid)
        assert (rv.route.channel.name, rv.lock_in.kind.value) == ("Airtel", "none")
        return jane.uuid
    finally:
        store.close()


def test_inbound_and_route(rw_db):
    uuid = _setup(rw_db)
    # she writes in through Airtel from her 0788 number
    data = as_json(run("inbound", "--channel", "Airtel", "--urn", "tel:0788383383", "--text", "Muraho",
                       "--db", rw_db, "--json"))
    assert (data["created"], data["changed"]) == (False, True)
    assert data["message_id"] == 1
    assert [c["identity"] for c in data["contact"]["connections"]] == ["tel:+250788383383", "tel:+250730123456"]
    assert data["contact"]["connections"][0]["affinity_channel_id"] == 2
    assert data["contact"]["connections"][1]["affinity_channel_id"] is None
    out = ok(run("inbound", "--channel", "Airtel", "--urn", "tel:+250788383383", "--text", "Muraho", "--db", rw_db))
    assert out.strip() == f"Message 2 recorded; contact {uuid} unchanged."
    *routes, text = run_many(*[("route", ref, "--db", rw_db, "--json") for ref in (uuid, "tel:0788383383")],
                             ("route", "tel:+250788383383", "--db", rw_db))
    for result in routes:
        rv = as_json(result)
        assert set(rv) >= {"route", "lock_in", "contact.urn", "contact", "urns"}
        assert (rv["route"]["connection"], rv["route"]["channel"], rv["route"]["rule"]) == \
            ("tel:+250788383383", "Airtel", "affinity")
        assert rv["route"]["explanation"][0] == "→ tel:+250788383383 via Airtel (locked in: affinity)"
        assert rv["lock_in"]["kind"] == "locked-in" and rv["lock_in"]["channel"] == "Airtel"
        assert [c["met"] for c in rv["lock_in"]["conditions"]] == [True, True, True]
        assert rv["contact.urn"] == "tel:+250788383383"
        assert rv["urns"] == {"tel": "tel:+250788383383"}
        assert rv["contact"]["uuid"] == uuid
    text = ok(text).splitlines()
    assert text[0] == f"Jane ({uuid})"
    assert "→ tel:+250788383383 via Airtel (locked in: affinity)" in text
    assert "lock-in: locked-in to Airtel" in text
    assert "@contact.urn = tel:+250788383383" in text
    # S3: Airtel disabled -> stale, falls back to MTN
    store = open_workspace(rw_db, actor="setup")
    store.channels.set_active("Airtel", False)
    store.close()
    after, new, disabled, nope, scheme, bad = run_many(
        ("route", uuid, "--db", rw_db, "--json"),
        ("inbound", "--channel", "MTN", "--urn", "tel:+250788111222", "--db", rw_db, "--json"),
        ("inbound", "--channel", "Airtel", "--urn", "tel:+250788383383", "--db", rw_db),
        ("inbound", "--channel", "Nope", "--urn", "tel:+250788383383", "--db", rw_db),
        ("inbound", "--channel", "MTN", "--urn", "mailto:a@b.org", "--db", rw_db),
        ("inbound", "--channel", "MTN", "--urn", "0788383383", "--db", rw_db))
    rv = as_json(after)
    assert (rv["route"]["channel"], rv["lock_in"]["kind"], rv["lock_in"]["stale_reason"]) == \
        ("MTN", "stale", "Airtel is inactive")
    new = as_json(new)
    assert new["created"] is True
    assert new["contact"]["connections"] == [
        {"identity": "tel:+250788111222", "display": "0788 111 222", "affinity_channel_id": 1}]
    assert user_error(disabled) == "ccconsole: Channel Airtel is disabled: it receives nothing."
    assert user_error(nope) == "ccconsole: No channel 'Nope'."
    assert user_error(scheme) == "ccconsole: Channel MTN does not serve mailto connections."
    assert user_error(bad).startswith("ccconsole: urn: ")


def test_lockins_list_move_clear_and_history(rw_db):
    uuid = _setup(rw_db)
    ok(run("inbound", "--channel", "Airtel", "--urn", "tel:0788383383", "--text", "Muraho", "--db", rw_db))
    listed = as_json(run("lockins", "--db", rw_db, "--json"))
    assert [(r["contact"], r["connection"], r["channel"], r["state"], r["message"]) for r in listed] == [
        ("Jane", "tel:+250788383383", "Airtel", "locked-in", "Muraho")]
    assert [c["met"] for c in listed[0]["conditions"]] == [True, True, True]
    assert as_json(run("lockins", "--kind", "stale", "--db", rw_db, "--json")) == []
    text = ok(run("lockins", "--db", rw_db)).splitlines()
    assert text[0].startswith("Airtel") and "locked in" in text[0] and "✓✓✓" in text[0] and "Jane" in text[0]
    # moving needs a confirmation: without --yes and a "no" answer nothing changes
    refused = run("lockins", "move", "--to", "MTN", "--db", rw_db, input="n\n")
    assert refused.returncode != 0 and "Move 1 affinities to MTN?" in refused.stderr
    assert as_json(run("lockins", "--channel", "Airtel", "--db", rw_db, "--json"))[0]["contact"] == "Jane"
    assert ok(run("lockins", "move", "--to", "MTN", "--contact", uuid, "--yes", "--db", rw_db)).strip() == \
        "Moved 1 affinities to MTN."
    assert as_json(run("route", uuid, "--db", rw_db, "--json"))["route"]["channel"] == "MTN"
    assert user_error(run("lockins", "move", "--to", "Nowhere", "--yes", "--db", rw_db)) == \
        "ccconsole: No channel 'Nowhere'."
    assert ok(run("lockins", "clear", "--channel", "MTN", "--yes", "--db", rw_db)).strip() == "Cleared 1 affinities."
    assert ok(run("lockins", "--db", rw_db)).strip() == "No affinities match."
    history = as_json(run("history", uuid, "--db", rw_db, "--json"))
    assert [(m["direction"], m["channel"], m["text"]) for m in history["messages"]] == [("in", "Airtel", "Muraho")]
    assert [(c["action"], c["lines"]) for c in history["changes"]][:2] == [
        ("affinity.clear", ["tel:+250788383383: affinity cleared (was MTN)"]),
        ("affinity.move", ["tel:+250788383383: affinity Airtel → MTN"])]


def test_cli_on_postgres(pg_server):
    url = pg_server.create_database()
    open_workspace(url, actor="setup", workspace_name="Kigali", country="RW").close()
    results = run_many(
        ("channels", "add", "MTN", "--type", "Twilio", "--scheme", "tel", "--country", "RW",
         "--address", "+250788000000", "--prefix", "25078", "--db", url),
        ("contacts", "add", "--name", "Jane", "--urn", "tel:0730123456", "--urn", "tel:0788383383", "--db", url))
    for result in results:
        ok(result)
    ok(run("channels", "add", "Airtel", "--type", "Africa's Talking", "--scheme", "tel", "--country", "RW",
           "--address", "+250730000000", "--prefix", "25073", "--db", url))
    data = as_json(run("--db", url, "inbound", "--channel", "Airtel", "--urn", "tel:0788383383", "--json"))
    assert [c["identity"] for c in data["contact"]["connections"]] == ["tel:+250788383383", "tel:+250730123456"]
    routed, listed, nobody = run_many(("route", "tel:+250730123456", "--db", url, "--json"),
                                      ("channels", "list", "--db", url, "--json"),
                                      ("route", "nobody", "--db", url))
    rv = as_json(routed)
    assert (rv["route"]["channel"], rv["route"]["rule"], rv["lock_in"]["kind"], rv["contact.urn"]) == \
        ("Airtel", "affinity", "locked-in", "tel:+250788383383")
    assert [c["name"] for c in as_json(listed)] == ["MTN", "Airtel"]
    assert user_error(nobody).startswith("ccconsole: No contact 'nobody'")


# --- demo ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    out = ok(run("demo", "--contacts", "500", "--db", str(path)))
    assert "500 contacts, 11 channels" in out
    return str(path)


def test_demo_then_route_a_contact(demo_db):
    store = open_workspace(demo_db, read_only=True)
    try:
        assert store.browse.count() == 500
        rows = store.browse.page(limit=500)
    finally:
        store.close()
    locked = next(r for r in rows if r.lock_in.kind.value == "locked-in")
    plain = next(r for r in rows if r.route.ok and r.route.rule.value == "prefix")
    unreachable = next(r for r in rows if r.status == "active" and not r.route.ok)
    by_uuid, by_urn, by_prefix, by_none, again = run_many(
        ("route", locked.uuid, "--db", demo_db, "--json"),
        ("route", locked.priority_identity, "--db", demo_db, "--json"),
        ("route", plain.uuid, "--db", demo_db, "--json"),
        ("route", unreachable.uuid, "--db", demo_db, "--json"),
        ("demo", "--contacts", "10", "--db", demo_db))
    rv = as_json(by_uuid)
    assert rv["contact"]["uuid"] == locked.uuid
    assert rv["route"]["channel"] == locked.route.channel.name and rv["route"]["rule"] == "affinity"
    assert rv["route"]["explanation"][0].startswith(f"→ {locked.priority_identity} via {locked.route.channel.name}")
    assert rv["lock_in"]["kind"] == "locked-in"
    assert rv["contact.urn"] == locked.priority_identity
    assert as_json(by_urn) == rv
    rv = as_json(by_prefix)
    assert rv["route"]["rule"] == "prefix" and rv["route"]["channel"] == plain.route.channel.name
    assert any("prefix overlap" in line for line in rv["route"]["explanation"])
    rv = as_json(by_none)
    assert rv["route"]["channel"] is None and rv["route"]["reason"]
    assert rv["route"]["explanation"][0].startswith("✗ no route: ")
    # demo refuses a database that has data
    assert "already" in user_error(again)


# --- mistakes ------------------------------------------------------------------------------------

# name -> (arguments, expected stderr line: exact str, or a prefix ending in "…")
MISTAKES = {
    "bad_urn": (("contacts", "add", "--urn", "bad", "--db", "{rw}"), "ccconsole: urns.0: …"),
    "bad_email": (("contacts", "add", "--urn", "mailto:nobody", "--db", "{rw}"),
                  "ccconsole: urns.0: Invalid email address."),
    "new_phone_no_country": (("contacts", "add", "--urn", "tel:0788383383", "--db", "{plain}"),
                             f"ccconsole: urns.0: {INVALID_NEW_PHONE}"),
    "bad_field": (("contacts", "add", "--field", "nonsense", "--db", "{rw}"),
                  "ccconsole: --field takes name=value, not 'nonsense'."),
    "unknown_contact_route": (("route", "nobody", "--db", "{rw}"), "ccconsole: No contact 'nobody' …"),
    "unknown_contact_show": (("contacts", "show", "tel:0788383383", "--db", "{rw}"), "ccconsole: No contact …"),
    "unknown_contact_delete": (("contacts", "delete", "00000000-0000-0000-0000-000000000000", "--yes",
                                "--db", "{rw}"), "ccconsole: No contact …"),
    "unknown_contact_set_urns": (("contacts", "set-urns", "nobody", "tel:+250788383383", "--db", "{rw}"),
                                 "ccconsole: No contact …"),
    "unknown_channel": (("inbound", "--channel", "Nope", "--urn", "tel:+250788383383", "--db", "{rw}"),
                        "ccconsole: No channel 'Nope'."),
    "unreachable_postgres": (("channels", "list", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/x"),
                             "ccconsole: Cannot open the database…"),
    "directory_as_path": (("channels", "list", "--db", "{dir}"), "ccconsole: …"),
    "directory_as_url": (("route", "x", "--db", "sqlite:///{dir}"), "ccconsole: …"),
    "not_a_database": (("channels", "list", "--db", "{junk}"), "ccconsole: …"),
    "file_as_parent_directory": (("channels", "list", "--db", "{file}/cc.db"), "ccconsole: …"),
    "url_without_its_driver": (("channels", "list", "--db", "mysql://nobody@127.0.0.1:1/x"), "ccconsole: …"),
}


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("mistakes")
    (base / "adir").mkdir()
    (base / "afile").write_text("not a directory")
    (base / "junk.db").write_text("this is not sqlite " * 100)
    places = {"rw": make_db(base / "rw.db"), "plain": make_db(base / "plain.db", country=None),
              "dir": str(base / "adir"), "file": str(base / "afile"), "junk": str(base / "junk.db")}
    calls = {k: tuple(a.format(**places) for a in args) for k, (args, _) in MISTAKES.items()}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {k: pool.submit(run, *args) for k, args in calls.items()}
        return {k: f.result() for k, f in futures.items()}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_user_mistake_is_one_line(mistakes, case):
    line = user_error(mistakes[case])
    expected = MISTAKES[case][1]
    if expected.endswith("…"):
        assert line.startswith(expected[:-1]), line
    else:
        assert line == expected


def test_workspace_set_country_then_national_numbers_normalize(tmp_path):
    db = str(tmp_path / "ws.db")
    refused = run("contacts", "add", "--name", "Jo", "--urn", "tel:0788383383", "--db", db)
    assert INVALID_NEW_PHONE in user_error(refused)
    assert ok(run("workspace", "set", "--country", "rw", "--name", "Kigali", "--db", db)).startswith("Kigali")
    assert as_json(run("workspace", "show", "--json", "--db", db)) == {
        "name": "Kigali", "country": "RW", "timezone": "UTC"}
    added = as_json(run("contacts", "add", "--name", "Jo", "--urn", "tel:0788383383", "--json", "--db", db))
    assert [c["identity"] for c in added["connections"]] == ["tel:+250788383383"]
    assert "Unknown country 'XX'" in user_error(run("workspace", "set", "--country", "XX", "--db", db))


def test_text_output_names_channels_and_labels_times_with_the_workspace_zone(rw_db):
    """`contacts show` names the affinity's channel (not "affinity #2"); history, lock-ins and audit
    show times in the workspace's zone with its label."""
    uuid = _setup(rw_db)
    ok(run("workspace", "set", "--timezone", "Africa/Kigali", "--db", rw_db))
    ok(run("inbound", "--channel", "Airtel", "--urn", "tel:0788383383", "--text", "Muraho", "--db", rw_db))
    shown, history, lockins, audit = run_many(("contacts", "show", uuid, "--db", rw_db),
                                              ("history", uuid, "--db", rw_db),
                                              ("lockins", "--db", rw_db),
                                              ("audit", "--limit", "1", "--db", rw_db))
    assert "tel:+250788383383  (0788 383 383)  affinity Airtel" in ok(shown)
    assert "affinity #" not in ok(shown)
    message = next(line for line in ok(history).splitlines() if "Muraho" in line)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CAT ← Airtel", message), message
    assert re.search(r"since \d{4}-\d\d-\d\d \d\d:\d\d CAT", ok(lockins)), ok(lockins)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d CAT ", ok(audit)), ok(audit)
