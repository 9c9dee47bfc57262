"""The command line through the real entry point, as a subprocess: what a script or a person sees.

Mistakes must exit non-zero with ONE line on stderr starting ``ccconsole:`` and never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccconsole.store.services import Store

CCCONSOLE = Path(sys.executable).with_name("ccconsole")
INVALID_NEW_PHONE = "Invalid phone number. Ensure number includes country code."


def run(*args: str, input: str | None = None, module: bool = False, home: Path | None = None):
    env = {k: v for k, v in os.environ.items() if k != "CCCONSOLE_DB"}
    if home is not None:
        env["XDG_DATA_HOME"] = str(home)
        env["HOME"] = str(home)
    cmd = [sys.executable, "-m", "ccconsole", *args] if module else [str(CCCONSOLE), *args]
    return subprocess.run(cmd, input=input if input is not None else "", capture_output=True, text=True,
                          timeout=120, env=env)


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


@pytest.fixture
def dbfile(tmp_path) -> str:
    return str(tmp_path / "cc.db")


@pytest.fixture
def rw_db(tmp_path) -> str:
    """A database whose workspace is in Rwanda (the CLI opens it; it does not set countries)."""
    url = f"sqlite:///{tmp_path / 'rw.db'}"
    Store.open(url, actor="setup", workspace_name="Kigali", country="RW").close()
    return url


def test_entry_point_exists():
    assert CCCONSOLE.exists()


def test_python_m_ccconsole_help():
    out = ok(run("--help", module=True))
    assert "Usage:" in out
    for command in ("urns", "channels", "contacts", "inbound", "route", "demo"):
        assert command in out


# --- urns check ----------------------------------------------------------------------------------


def test_urns_check_arguments_with_country():
    out = ok(run("urns", "check", "tel:0788383383", "tel:+250 788 383 383", "twitter:@Bob", "mailto:A@B.org",
                 "--country", "RW"))
    assert out.splitlines() == [
        "tel:0788383383\ttel:+250788383383",
        "tel:+250 788 383 383\ttel:+250788383383",
        "twitter:@Bob\ttwitter:bob",
        "mailto:A@B.org\tmailto:a@b.org",
    ]


def test_urns_check_without_country_and_new_rule():
    out = ok(run("urns", "check", "tel:0788383383"))
    assert out.splitlines() == ["tel:0788383383\ttel:0788383383"]
    result = run("urns", "check", "--new", "tel:0788383383")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"tel:0788383383\tERROR: {INVALID_NEW_PHONE}"]
    assert "Traceback" not in result.stderr


def test_urns_check_from_stdin_as_json():
    data = as_json(run("urns", "check", "--country", "rw", "--json",
                       input="tel:0788383383\n\n  tel:+13233754866  \nmailto:Jane@Example.org\n"))
    assert data == [
        {"input": "tel:0788383383", "identity": "tel:+250788383383", "valid": True, "display": "0788 383 383"},
        {"input": "tel:+13233754866", "identity": "tel:+13233754866", "valid": True, "display": "+1 323-375-4866"},
        {"input": "mailto:Jane@Example.org", "identity": "mailto:jane@example.org", "valid": True,
         "display": "jane@example.org"},
    ]


def test_urns_check_exits_1_when_one_is_invalid():
    result = run("urns", "check", "--json", "tel:+250788383383", "mailto:nobody", "fax:1")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    assert [(d["input"], d["valid"]) for d in data] == [("tel:+250788383383", True), ("mailto:nobody", False),
                                                        ("fax:1", False)]
    assert data[1]["error"] == "Invalid email address."
    assert data[2]["error"] == "Unknown connection type 'fax'."
    result = run("urns", "check", input="mailto:ok@example.org\nbad\n")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "mailto:ok@example.org\tmailto:ok@example.org"
    assert result.stdout.splitlines()[1].startswith("bad\tERROR: ")


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
    listed = as_json(run("channels", "list", "--db", dbfile, "--json"))
    assert [(c["name"], c["roles"], c["match_prefixes"], c["active"]) for c in listed] == [
        ("MTN", ["receive", "send"], ["25078"], True), ("Airtel", ["receive", "send"], ["25073"], True),
        ("Surveyor", ["receive"], [], True)]
    assert listed[0]["uuid"] == mtn["uuid"]
    assert ok(run("channels", "disable", "airtel", "--db", dbfile)).strip() == "Disabled channel Airtel"
    lines = ok(run("channels", "list", "--db", dbfile)).splitlines()
    assert lines == ["MTN\tTwilio\ttel\t+250788000000\tRW\tactive",
                     "Airtel\tAfrica's Talking\ttel\t\tRW\tdisabled",
                     "Surveyor\tSurveyor\tmailto\t\t-\tactive"]
    # mistakes
    assert user_error(run("channels", "add", "MTN", "--type", "Twilio", "--scheme", "tel", "--db", dbfile)) == \
        "ccconsole: name: A channel named 'MTN' exists already."
    assert user_error(run("channels", "add", "Fax", "--type", "Fax", "--scheme", "fax", "--db", dbfile)) == \
        "ccconsole: schemes: Unknown connection type 'fax'."
    assert user_error(run("channels", "disable", "Nope", "--db", dbfile)) == "ccconsole: No channel 'Nope'."


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
    for ref in (uuid, "tel:+13233754866", "tel:0788 383 383", "mailto:JANE@example.org"):
        assert as_json(run("contacts", "show", ref, "--db", rw_db, "--json")) == jane
    lines = ok(run("contacts", "show", uuid, "--db", rw_db)).splitlines()
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
    err = user_error(run("contacts", "add", "--name", "Eve", "--urn", "tel:+13233754866", "--db", rw_db))
    assert err.startswith("ccconsole: urns.0: In use by another contact") and "Jane Doe" in err
    err = user_error(run("contacts", "set-urns", bob["uuid"], "tel:+4915112345678", "mailto:jane@example.org",
                         "--db", rw_db))
    assert "urns.1" in err and "Jane Doe" in err
    assert as_json(run("contacts", "show", bob["uuid"], "--db", rw_db, "--json")) == bob
    # delete
    out = ok(run("contacts", "delete", uuid, "--yes", "--db", rw_db))
    assert out.strip() == "Deleted Jane Doe; 3 connection(s) detached."
    assert user_error(run("contacts", "show", uuid, "--db", rw_db)).startswith("ccconsole: No contact ")
    again = as_json(run("contacts", "add", "--name", "Eve", "--urn", "tel:+13233754866", "--db", rw_db, "--json"))
    assert [c["identity"] for c in again["connections"]] == ["tel:+13233754866"]


def test_contacts_delete_without_yes_asks(rw_db):
    out = ok(run("contacts", "add", "--name", "Jane", "--urn", "tel:+250788383383", "--db", rw_db))
    assert out.startswith("Jane  ")
    err = user_error(run("contacts", "delete", "tel:+250788383383", "--db", rw_db, input="n\n"))
    assert err == "ccconsole: Not deleted."
    ok(run("contacts", "show", "tel:+250788383383", "--db", rw_db))


def test_new_national_number_in_a_workspace_without_country(dbfile):
    err = user_error(run("contacts", "add", "--name", "A", "--urn", "tel:0788383383", "--db", dbfile))
    assert err == f"ccconsole: urns.0: {INVALID_NEW_PHONE}"


# --- inbound and route ---------------------------------------------------------------------------


def _phone_channels(db_url: str) -> None:
    ok(run("channels", "add", "MTN", "--type", "Twilio", "--scheme", "tel", "--country", "RW",
           "--address", "+250788000000", "--prefix", "25078", "--db", db_url))
    ok(run("channels", "add", "Airtel", "--type", "Africa's Talking", "--scheme", "tel", "--country", "RW",
           "--address", "+250730000000", "--prefix", "25073", "--db", db_url))


def test_inbound_and_route(rw_db):
    _phone_channels(rw_db)
    jane = as_json(run("contacts", "add", "--name", "Jane", "--urn", "tel:+250730123456", "--urn", "tel:0788383383",
                       "--db", rw_db, "--json"))
    before = as_json(run("route", jane["uuid"], "--db", rw_db, "--json"))
    assert (before["route"]["connection"], before["route"]["channel"], before["route"]["rule"]) == \
        ("tel:+250730123456", "Airtel", "prefix")
    assert before["lock_in"]["kind"] == "none"
    assert before["contact.urn"] == "tel:+250730123456"
    # she writes in through Airtel from her 0788 number
    data = as_json(run("inbound", "--channel", "Airtel", "--urn", "tel:0788383383", "--text", "Muraho",
                       "--db", rw_db, "--json"))
    assert (data["created"], data["changed"]) == (False, True)
    assert [c["identity"] for c in data["contact"]["connections"]] == ["tel:+250788383383", "tel:+250730123456"]
    airtel_id = data["contact"]["connections"][0]["affinity_channel_id"]
    assert airtel_id is not None and data["contact"]["connections"][1]["affinity_channel_id"] is None
    out = ok(run("inbound", "--channel", "Airtel", "--urn", "tel:+250788383383", "--text", "Muraho", "--db", rw_db))
    assert out.strip().endswith(f"contact {jane['uuid']} unchanged.")
    for ref in (jane["uuid"], "tel:0788383383"):
        rv = as_json(run("route", ref, "--db", rw_db, "--json"))
        assert set(rv) >= {"route", "lock_in", "contact.urn", "contact", "urns"}
        assert (rv["route"]["connection"], rv["route"]["channel"], rv["route"]["rule"]) == \
            ("tel:+250788383383", "Airtel", "affinity")
        assert rv["route"]["explanation"][0] == "→ tel:+250788383383 via Airtel (locked in: affinity)"
        assert rv["lock_in"]["kind"] == "locked-in" and rv["lock_in"]["channel"] == "Airtel"
        assert [c["met"] for c in rv["lock_in"]["conditions"]] == [True, True, True]
        assert rv["contact.urn"] == "tel:+250788383383"
        assert rv["urns"] == {"tel": "tel:+250788383383"}
        assert rv["contact"]["uuid"] == jane["uuid"]
    text = ok(run("route", "tel:+250788383383", "--db", rw_db)).splitlines()
    assert text[0] == f"Jane ({jane['uuid']})"
    assert "→ tel:+250788383383 via Airtel (locked in: affinity)" in text
    assert "lock-in: locked-in to Airtel" in text
    assert "@contact.urn = tel:+250788383383" in text
    # S3: Airtel disabled -> stale, falls back to MTN
    ok(run("channels", "disable", "Airtel", "--db", rw_db))
    rv = as_json(run("route", jane["uuid"], "--db", rw_db, "--json"))
    assert (rv["route"]["channel"], rv["lock_in"]["kind"], rv["lock_in"]["stale_reason"]) == \
        ("MTN", "stale", "Airtel is inactive")
    # a new sender
    new = as_json(run("inbound", "--channel", "MTN", "--urn", "tel:+250788111222", "--db", rw_db, "--json"))
    assert new["created"] is True and new["contact"]["connections"][0]["identity"] == "tel:+250788111222"
    # mistakes
    assert user_error(run("inbound", "--channel", "Airtel", "--urn", "tel:+250788383383", "--db", rw_db)) == \
        "ccconsole: Channel Airtel is disabled: it receives nothing."
    assert user_error(run("inbound", "--channel", "Nope", "--urn", "tel:+250788383383", "--db", rw_db)) == \
        "ccconsole: No channel 'Nope'."
    assert user_error(run("inbound", "--channel", "MTN", "--urn", "mailto:a@b.org", "--db", rw_db)) == \
        "ccconsole: Channel MTN does not serve mailto connections."
    assert user_error(run("inbound", "--channel", "MTN", "--urn", "0788383383", "--db", rw_db)).startswith(
        "ccconsole: urn: ")


def test_cli_on_postgres(pg_server):
    url = pg_server.create_database()
    Store.open(url, actor="setup", workspace_name="Kigali", country="RW").close()
    _phone_channels(url)
    ok(run("contacts", "add", "--name", "Jane", "--urn", "tel:0730123456", "--urn", "tel:0788383383", "--db", url))
    data = as_json(run("--db", url, "inbound", "--channel", "Airtel", "--urn", "tel:0788383383", "--json"))
    assert [c["identity"] for c in data["contact"]["connections"]] == ["tel:+250788383383", "tel:+250730123456"]
    rv = as_json(run("route", "tel:+250730123456", "--db", url, "--json"))
    assert (rv["route"]["channel"], rv["lock_in"]["kind"], rv["contact.urn"]) == \
        ("Airtel", "locked-in", "tel:+250788383383")
    assert [c["name"] for c in as_json(run("channels", "list", "--db", url, "--json"))] == ["MTN", "Airtel"]
    assert user_error(run("route", "nobody", "--db", url)).startswith("ccconsole: No contact 'nobody'")


# --- demo ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    result = run("demo", "--contacts", "500", "--db", str(path))
    out = ok(result)
    assert "500 contacts" in out and "11 channels" in out
    return str(path)


def test_demo_then_route_a_contact(demo_db):
    store = Store.open(demo_db, read_only=True)
    try:
        assert store.count() == 500
        rows = store.page(limit=500)
    finally:
        store.close()
    locked = next(r for r in rows if r.lock_in.kind.value == "locked-in")
    plain = next(r for r in rows if r.route.ok and r.route.rule.value == "prefix")
    unreachable = next(r for r in rows if r.status == "active" and not r.route.ok)
    rv = as_json(run("route", locked.uuid, "--db", demo_db, "--json"))
    assert rv["contact"]["uuid"] == locked.uuid
    assert rv["route"]["channel"] == locked.route.channel.name and rv["route"]["rule"] == "affinity"
    assert rv["route"]["explanation"][0].startswith(f"→ {locked.priority_identity} via {locked.route.channel.name}")
    assert rv["lock_in"]["kind"] == "locked-in"
    assert rv["contact.urn"] == locked.priority_identity
    rv = as_json(run("route", locked.priority_identity, "--db", demo_db, "--json"))
    assert rv["contact"]["uuid"] == locked.uuid
    rv = as_json(run("route", plain.uuid, "--db", demo_db, "--json"))
    assert rv["route"]["rule"] == "prefix"
    assert any("prefix overlap" in line for line in rv["route"]["explanation"])
    rv = as_json(run("route", unreachable.uuid, "--db", demo_db, "--json"))
    assert rv["route"]["channel"] is None and rv["route"]["reason"]
    assert rv["route"]["explanation"][0].startswith("✗ no route: ")


def test_demo_refuses_a_database_with_data(demo_db):
    err = user_error(run("demo", "--contacts", "10", "--db", demo_db))
    assert "already" in err


# --- mistakes ------------------------------------------------------------------------------------


def test_bad_urn(dbfile):
    err = user_error(run("contacts", "add", "--urn", "bad", "--db", dbfile))
    assert err.startswith("ccconsole: urns.0: ")
    user_error(run("contacts", "add", "--urn", "mailto:nobody", "--db", dbfile))


def test_unknown_contact(dbfile):
    assert user_error(run("route", "nobody", "--db", dbfile)).startswith("ccconsole: No contact 'nobody'")
    assert user_error(run("contacts", "show", "tel:+250788383383", "--db", dbfile)).startswith("ccconsole: No contact")
    user_error(run("contacts", "delete", "00000000-0000-0000-0000-000000000000", "--yes", "--db", dbfile))
    user_error(run("contacts", "set-urns", "nobody", "tel:+250788383383", "--db", dbfile))


def test_unknown_channel(dbfile):
    assert user_error(run("inbound", "--channel", "Nope", "--urn", "tel:+250788383383", "--db", dbfile)) == \
        "ccconsole: No channel 'Nope'."


def test_unreachable_database():
    err = user_error(run("channels", "list", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/x"))
    assert err.startswith("ccconsole: Cannot open the database")


def test_directory_as_sqlite_path(tmp_path):
    (tmp_path / "adir").mkdir()
    user_error(run("channels", "list", "--db", str(tmp_path / "adir")))
    user_error(run("route", "x", "--db", f"sqlite:///{tmp_path / 'adir'}"))


def test_file_as_sqlite_parent_directory(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    user_error(run("channels", "list", "--db", str(tmp_path / "afile" / "cc.db")))


def test_not_a_database_file(tmp_path):
    (tmp_path / "junk.db").write_text("this is not sqlite " * 100)
    user_error(run("channels", "list", "--db", str(tmp_path / "junk.db")))


def test_database_url_without_its_driver():
    user_error(run("channels", "list", "--db", "mysql://nobody@127.0.0.1:1/x"))


def test_bad_field_option(dbfile):
    assert user_error(run("contacts", "add", "--field", "nonsense", "--db", dbfile)) == \
        "ccconsole: --field takes name=value, not 'nonsense'."
