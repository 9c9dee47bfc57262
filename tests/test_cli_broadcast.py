"""``ccconsole route --query``: the broadcast preview from the command line, and scenario S1
(scenarios.md) driven through the real entry point."""

from __future__ import annotations

from datetime import timedelta

from ccconsole.app import open_workspace
from tests.test_cli import T0, as_json, make_db, ok, run, run_many, user_error


def test_s1_one_send_request_three_channels(tmp_path):
    """A phone, a Twitter and a Telegram channel; A (phone first), B (Twitter first), C (Telegram
    first): the preview shows three channels; promoting A's Telegram id moves A to Telegram."""
    db = make_db(tmp_path / "s1.db")
    store = open_workspace(db, actor="setup")
    store.channels.add("Phone", "Twilio", ["tel"], address="+250788000000", country="RW", created_on=T0)
    store.channels.add("Twitter", "Twitter", ["twitter"], address="cc", created_on=T0 + timedelta(days=1))
    store.channels.add("Telegram", "Telegram", ["telegram"], address="bot", created_on=T0 + timedelta(days=2))
    store.close()
    a, b, c = run_many(
        ("contacts", "add", "--name", "A", "--urn", "tel:+250788000001", "--urn", "twitter:a_handle",
         "--urn", "telegram:1001", "--db", db, "--json"),
        ("contacts", "add", "--name", "B", "--urn", "twitter:b_handle", "--urn", "tel:+250788000002",
         "--urn", "telegram:1002", "--db", db, "--json"),
        ("contacts", "add", "--name", "C", "--urn", "telegram:1003", "--urn", "tel:+250788000003",
         "--urn", "twitter:c_handle", "--db", db, "--json"))
    uuid_a = as_json(a)["uuid"]
    as_json(b), as_json(c)
    query = "name = A OR name = B OR name = C"
    before = as_json(run("route", "--query", query, "--db", db, "--json"))
    assert before["query"] == "name = A OR name = B OR name = C"
    assert before["total"] == 3
    assert before["channels"] == {"Phone": 1, "Twitter": 1, "Telegram": 1}
    assert before["headline"] == "Send to 3 contacts → 3 channels process 1 send request"
    assert before["unreachable_total"] == 0 and before["not_active_total"] == 0
    text = ok(run("route", "--query", query, "--db", db))
    assert text.splitlines()[:2] == ["Query: name = A OR name = B OR name = C",
                                     "Send to 3 contacts → 3 channels process 1 send request"]
    # promote A's Telegram id to the top (the Update Contact replace, from the command line)
    ok(run("contacts", "set-urns", uuid_a, "telegram:1001", "tel:+250788000001", "twitter:a_handle", "--db", db))
    after = as_json(run("route", "--query", query, "--db", db, "--json"))
    assert after["channels"] == {"Telegram": 2, "Twitter": 1}
    assert after["headline"] == "Send to 3 contacts → 2 channels process 1 send request"


def test_route_query_mistakes_are_one_line(tmp_path):
    db = make_db(tmp_path / "q.db")
    bad, neither, both = run_many(("route", "--query", "status ~ x", "--db", db),
                                  ("route", "--db", db),
                                  ("route", "tel:+250788383383", "--query", "", "--db", db))
    assert user_error(bad) == "ccconsole: Bad query: status does not take ~: use = or != (column 8)"
    assert user_error(neither) == "ccconsole: Give either a CONTACT or --query QUERY."
    assert user_error(both) == "ccconsole: Give either a CONTACT or --query QUERY."


def test_route_query_all_contacts_of_an_empty_workspace(tmp_path):
    db = make_db(tmp_path / "e.db")
    data = as_json(run("route", "--query", "", "--db", db, "--json"))
    assert data["total"] == 0 and data["query"] == "" and data["channels"] == {}
