"""The lock-ins listing, clear / move of affinities (audited) and a contact's history, on SQLite and
PostgreSQL (domain.md sections 3 and 5, scenario S3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ccconsole.core.changes import connection_lines
from ccconsole.core.lockin import LockInKind
from ccconsole.core.routing import Rule
from ccconsole.errors import StoreError
from ccconsole.store import lockins
from ccconsole.store.models import AuditEvent
from tests.store_helpers import rw_store

W1 = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(backend_url):
    s = rw_store(backend_url)
    # Ann writes in on MTN: locked in (two tel channels). Ben writes in on Airtel. Bob has Twitter
    # first and once wrote in by SMS through MTN, then tweeted: his phone affinity is not in effect.
    s.contacts.create("Ann", ["tel:+250788000001", "mailto:ann@example.org"])
    s.messages.receive("MTN", "tel:+250788000001", "Muraho", when=W1)
    s.contacts.create("Ben", ["tel:+250730000002"])
    s.messages.receive("Airtel", "tel:+250730000002", "Hi", when=W1 + timedelta(hours=1))
    s.contacts.create("Bob", ["twitter:bob", "tel:+250788000003"])
    s.messages.receive("MTN", "tel:+250788000003", "sms", when=W1 + timedelta(hours=2))
    s.messages.receive("Twitter", "twitter:bob", "tweet", when=W1 + timedelta(hours=3))
    s.contacts.create("Cat", ["tel:+250788000004"])  # never wrote in
    yield s
    s.close()


def channel_id(store, name: str) -> int:
    return store.channels.find(name).id


def listing(store, **kw) -> list[tuple[str, str, str]]:
    return [(r.contact_name, r.identity, r.kind.value) for r in store.lockins.rows(**kw)]


def audits(store, action_prefix: str) -> list[tuple[str, str, dict, dict]]:
    with store.scope.engine.connect() as c:
        found = c.execute(select(AuditEvent.actor, AuditEvent.action, AuditEvent.before, AuditEvent.after)
                          .where(AuditEvent.action.like(action_prefix + "%")).order_by(AuditEvent.id)).all()
    return [(a, b, json.loads(x), json.loads(y)) for a, b, x, y in found]


def test_rows_list_every_affinity_with_what_it_amounts_to(store):
    mtn, airtel, twitter = (channel_id(store, n) for n in ("MTN", "Airtel", "Twitter"))
    got = {(r.contact_name, r.identity): r for r in store.lockins.rows()}
    assert set(got) == {("Ann", "tel:+250788000001"), ("Ben", "tel:+250730000002"),
                        ("Bob", "tel:+250788000003"), ("Bob", "twitter:bob")}
    ann = got["Ann", "tel:+250788000001"]
    assert ann.kind == LockInKind.LOCKED_IN and ann.channel_id == mtn
    assert [c.met for c in ann.state.conditions] == [True, True, True]
    assert ann.message_text == "Muraho" and ann.since == W1 and ann.message_on == W1
    assert got["Ben", "tel:+250730000002"].channel_id == airtel
    bob_phone = got["Bob", "tel:+250788000003"]
    assert bob_phone.kind == LockInKind.DORMANT  # S4: Twitter is his priority connection
    assert bob_phone.priority_identity == "twitter:bob"
    assert [c.met for c in bob_phone.state.conditions] == [True, False, False]
    # Twitter is the only Twitter channel: an affinity, not a lock-in
    assert got["Bob", "twitter:bob"].kind == LockInKind.SINGLE_CHANNEL
    assert got["Bob", "twitter:bob"].channel_id == twitter


def test_groups_count_per_channel_and_kind(store):
    mtn, airtel = channel_id(store, "MTN"), channel_id(store, "Airtel")
    tally = {(g.channel_id, g.kind): g.count for g in store.lockins.groups()}
    assert tally[mtn, LockInKind.LOCKED_IN] == 1
    assert tally[mtn, LockInKind.DORMANT] == 1
    assert tally[airtel, LockInKind.LOCKED_IN] == 1
    assert sum(tally.values()) == 4


def test_filter_by_channel_kind_and_text(store):
    mtn = channel_id(store, "MTN")
    assert listing(store, channel_id=mtn) == [("Ann", "tel:+250788000001", "locked-in"),
                                             ("Bob", "tel:+250788000003", "not-priority")]
    assert listing(store, kinds=[LockInKind.LOCKED_IN]) == [("Ann", "tel:+250788000001", "locked-in"),
                                                          ("Ben", "tel:+250730000002", "locked-in")]
    assert listing(store, kinds=[LockInKind.STALE]) == []
    assert listing(store, text="ben") == [("Ben", "tel:+250730000002", "locked-in")]
    # a national-format fragment, as in the contacts filter
    assert listing(store, text="0788000001") == [("Ann", "tel:+250788000001", "locked-in")]
    assert store.lockins.connection_ids(channel_id=mtn, kinds=[LockInKind.LOCKED_IN]) == [
        r.connection_id for r in store.lockins.rows(channel_id=mtn, kinds=[LockInKind.LOCKED_IN])]


def test_s3_disabling_the_channel_makes_the_affinity_stale_and_routing_ignores_it(store):
    store.channels.set_active("MTN", False)
    stale = store.lockins.rows(kinds=[LockInKind.STALE])
    assert [(r.contact_name, r.identity) for r in stale] == [("Ann", "tel:+250788000001"),
                                                             ("Bob", "tel:+250788000003")]
    assert stale[0].state.stale_reason == "MTN is inactive"
    route = store.contacts.route("tel:+250788000001").route
    # the only tel channel left is Airtel: routing falls back to the normal rules
    assert route.channel.name == "Airtel" and route.rule == Rule.ONLY_CANDIDATE


def test_clear_is_audited_and_routing_follows_the_normal_rules(store):
    ann = store.lockins.rows(text="Ann")[0]
    before = store.change_seq()
    result = store.lockins.clear([ann.connection_id])
    assert result == lockins.BulkResult(1, 0)
    assert store.change_seq() > before
    assert listing(store, text="Ann") == []
    view = store.contacts.get("tel:+250788000001")
    assert view.connections[0].affinity_channel_id is None
    assert store.contacts.route(view.uuid).route.rule == Rule.PREFIX
    assert audits(store, "affinity.") == [
        ("tester", "affinity.clear",
         {"connection": "tel:+250788000001", "affinity_channel_id": channel_id(store, "MTN")},
         {"connection": "tel:+250788000001", "affinity_channel_id": None})]
    # clearing again changes nothing and writes nothing
    assert store.lockins.clear([ann.connection_id]) == lockins.BulkResult(0, 1)
    assert len(audits(store, "affinity.")) == 1


def test_move_a_whole_selection_in_chunks_with_progress(store):
    mtn, airtel = channel_id(store, "MTN"), channel_id(store, "Airtel")
    ids = store.lockins.connection_ids(channel_id=mtn)
    assert len(ids) == 2
    seen = []
    result = store.lockins.move(ids, "Airtel", progress=lambda done, total: seen.append((done, total)), chunk=1)
    assert result == lockins.BulkResult(2, 0)
    assert seen == [(1, 2), (2, 2)]
    assert listing(store, channel_id=mtn) == []
    moved = store.lockins.rows(channel_id=airtel)
    assert {r.contact_name for r in moved} == {"Ann", "Ben", "Bob"}
    ann = next(r for r in moved if r.contact_name == "Ann")
    assert ann.kind == LockInKind.LOCKED_IN and ann.message_id is None and ann.since is not None
    assert store.contacts.route("tel:+250788000001").route.channel.name == "Airtel"
    assert [(e[1], e[2]["affinity_channel_id"], e[3]["affinity_channel_id"]) for e in audits(store, "affinity.")] == \
        [("affinity.move", mtn, airtel)] * 2


def test_move_can_be_cancelled_between_chunks_and_rerun_finishes(store):
    ids = store.lockins.connection_ids(channel_id=channel_id(store, "MTN"))
    calls = iter([False, True])
    result = store.lockins.move(ids, "Airtel", cancelled=lambda: next(calls), chunk=1)
    assert result == lockins.BulkResult(1, 1, cancelled=True)
    again = store.lockins.move(ids, "Airtel")
    assert again == lockins.BulkResult(1, 1)
    assert listing(store, channel_id=channel_id(store, "MTN")) == []


def test_move_refuses_a_channel_that_cannot_take_the_connections(store):
    ids = store.lockins.connection_ids(channel_id=channel_id(store, "MTN"))
    with pytest.raises(StoreError, match="does not serve tel"):
        store.lockins.move(ids, "Twitter")
    store.channels.set_active("Airtel", False)
    with pytest.raises(StoreError, match="Airtel is inactive"):
        store.lockins.move(ids, "Airtel")
    assert len(listing(store, channel_id=channel_id(store, "MTN"))) == 2
    assert audits(store, "affinity.") == []


def test_read_only_store_cannot_clear(store, backend_url):
    from ccconsole.app import open_workspace

    ro = open_workspace(backend_url, read_only=True)
    try:
        with pytest.raises(StoreError, match="read-only"):
            ro.lockins.clear(ro.lockins.connection_ids())
    finally:
        ro.close()
    assert len(store.lockins.rows()) == 4


# --- history --------------------------------------------------------------------------------------


def test_history_lists_messages_and_connection_changes_newest_first(store):
    bob = store.contacts.get("twitter:bob")
    store.contacts.update(bob.uuid, urns=["tel:+250788000003", "mailto:bob@example.org"])
    h = store.history.contact(bob.id)
    assert [(m.direction, m.channel, m.identity, m.text) for m in h.messages] == [
        ("in", "Twitter", "twitter:bob", "tweet"), ("in", "MTN", "tel:+250788000003", "sms")]
    assert h.messages[0].when == W1 + timedelta(hours=3)
    assert [c.action for c in h.changes] == ["contact.update", "contact.inbound", "contact.inbound",
                                            "contact.create"]
    update = h.changes[0]
    assert update.actor == "tester"
    assert update.lines == ("+ mailto:bob@example.org", "− twitter:bob (detached)",
                            "priority: tel:+250788000003")
    assert h.changes[1].lines == ("priority: twitter:bob", "twitter:bob: affinity Twitter")
    assert h.changes[2].lines == ("priority: tel:+250788000003", "tel:+250788000003: affinity MTN")
    assert h.changes[3].lines == ("+ twitter:bob", "+ tel:+250788000003")


def test_history_shows_affinity_actions(store):
    ann = store.lockins.rows(text="Ann")[0]
    store.lockins.move([ann.connection_id], "Airtel")
    h = store.history.contact(ann.contact_id)
    assert h.changes[0].action == "affinity.move"
    assert h.changes[0].lines == ("tel:+250788000001: affinity MTN → Airtel",)


def test_describe_reorder_and_name_only_change():
    names = {1: "MTN"}
    assert connection_lines("contact.update", {"connections": [["a:1", None], ["b:2", 1]]},
                            {"connections": [["b:2", 1], ["a:1", None]]}, names) == ["priority: b:2"]
    assert connection_lines("contact.update", {"connections": [["a:1", None], ["b:2", None], ["c:3", None]]},
                            {"connections": [["a:1", None], ["c:3", None], ["b:2", None]]}, names) == [
        "order: a:1, c:3, b:2"]
    assert connection_lines("contact.update", {"name": "x", "connections": [["a:1", None]]},
                            {"name": "y", "connections": [["a:1", None]]}, names) == []
