"""Incoming messages in the store (domain.md section 3, lock-in of section 5, scenarios S3 and S4),
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ccconsole.app import Workspace, open_workspace
from ccconsole.core.lockin import LockInKind
from ccconsole.core.routing import Rule
from ccconsole.errors import NotFound, StoreError, ValidationFailed
from ccconsole.store.models import Connection, Contact, Message
from tests.store_helpers import T0, rw_store

W1 = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
W2 = W1 + timedelta(hours=3)
W3 = W1 + timedelta(days=2)


@pytest.fixture
def store(backend_url):
    s = rw_store(backend_url)
    yield s
    s.close()


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ids(view) -> list[str]:
    return [c.identity for c in view.connections]


def affinities(store: Workspace, view) -> list[tuple[str, str | None]]:
    names = {c.id: c.name for c in store.channels.list()}
    return [(c.identity, names.get(c.affinity_channel_id)) for c in view.connections]


def messages(store: Workspace) -> list[tuple]:
    with store.scope.engine.connect() as c:
        return [tuple(r) for r in c.execute(
            select(Message.id, Message.contact_id, Message.connection_id, Message.channel_id, Message.direction,
                   Message.text, Message.created_on).order_by(Message.id)).all()]


def count(store: Workspace, table) -> int:
    with store.scope.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


def conn_id(store: Workspace, identity: str) -> int:
    with store.scope.engine.connect() as c:
        return c.execute(select(Connection.id).where(Connection.identity == identity)).scalar_one()


def jane(store: Workspace):
    """Jane with four connections; the last two already have affinities from earlier messages."""
    j = store.contacts.create("Jane", ["tel:+250788383383", "twitter:jane", "telegram:777", "mailto:jane@example.org"])
    store.messages.receive("Email", "mailto:jane@example.org", "old mail", when=T0 + timedelta(days=10))
    store.messages.receive("Telegram", "telegram:777", "old tg", when=T0 + timedelta(days=11))
    # telegram, mailto moved to the top in turn
    j = store.contacts.get(j.uuid)
    assert affinities(store, j) == [("telegram:777", "Telegram"), ("mailto:jane@example.org", "Email"),
                                    ("tel:+250788383383", None), ("twitter:jane", None)]
    return j


# --- the sequence of section 3 -------------------------------------------------------------------


def test_inbound_moves_connection_to_top_others_keep_order_and_affinities(store):
    before = jane(store)
    n = len(messages(store))
    result = store.messages.receive("Airtel", "tel:0788383383", "Muraho", when=W1)
    after = result.contact
    assert (result.created, result.changed) == (False, True)
    assert affinities(store, after) == [("tel:+250788383383", "Airtel"), ("telegram:777", "Telegram"),
                                        ("mailto:jane@example.org", "Email"), ("twitter:jane", None)]
    assert [c.priority for c in after.connections] == [1000, 999, 998, 997]
    # the others keep when and through which message their affinity was set
    old = {c.identity: c for c in before.connections}
    for c in after.connections[1:]:
        assert (c.id, c.affinity_since, c.affinity_message_id) == \
            (old[c.identity].id, old[c.identity].affinity_since, old[c.identity].affinity_message_id)
    top = after.connections[0]
    assert utc(top.affinity_since) == W1
    assert top.affinity_message_id == result.message_id
    assert utc(after.last_seen_on) == W1
    assert after.version == before.version + 1
    # the message is recorded with the channel and the connection
    msgs = messages(store)
    assert len(msgs) == n + 1
    mid, contact_id, connection_id, channel_id, direction, text, created = msgs[-1]
    assert (mid, contact_id, connection_id, channel_id, direction, text) == (
        result.message_id, before.id, conn_id(store, "tel:+250788383383"), store.channels.find("Airtel").id,
        "in", "Muraho")
    assert utc(created) == W1
    assert store.contacts.get(before.uuid) == after


def test_second_identical_message_changes_nothing(store):
    jane(store)
    first = store.messages.receive("Airtel", "tel:+250788383383", "Muraho", when=W1).contact
    second = store.messages.receive("Airtel", "tel:+250788383383", "Muraho", when=W2)
    assert (second.created, second.changed) == (False, False)
    after = second.contact
    assert [(c.id, c.identity, c.priority, c.affinity_channel_id, c.affinity_since, c.affinity_message_id)
            for c in after.connections] == \
        [(c.id, c.identity, c.priority, c.affinity_channel_id, c.affinity_since, c.affinity_message_id)
         for c in first.connections]
    assert after.version == first.version
    assert after.status == first.status


def test_affinity_moves_to_the_channel_of_the_latest_message(store):
    j = jane(store)
    store.messages.receive("Airtel", "tel:+250788383383", "a", when=W1)
    r = store.messages.receive("MTN", "tel:+250788383383", "b", when=W2)
    top = r.contact.connections[0]
    assert (top.identity, top.affinity_channel_id) == ("tel:+250788383383", store.channels.find("MTN").id)
    assert utc(top.affinity_since) == W2 and top.affinity_message_id == r.message_id
    assert r.changed is True
    assert r.contact.version == j.version + 2


def test_affinity_is_set_only_when_the_channel_can_send(store):
    store.channels.add("Surveyor", "Surveyor", ["mailto"], roles=["receive"], created_on=T0 + timedelta(days=5))
    j = jane(store)
    # an existing connection with an affinity: moves up, its affinity stays what it was
    r = store.messages.receive("Surveyor", "mailto:jane@example.org", "survey", when=W1)
    assert affinities(store, r.contact) == [("mailto:jane@example.org", "Email"), ("telegram:777", "Telegram"),
                                            ("tel:+250788383383", None), ("twitter:jane", None)]
    old = {c.identity: c for c in j.connections}
    assert r.contact.connections[0].affinity_since == old["mailto:jane@example.org"].affinity_since
    assert r.contact.connections[0].affinity_message_id == old["mailto:jane@example.org"].affinity_message_id
    # a new connection: none
    r = store.messages.receive("Surveyor", "mailto:new@example.org", "survey", when=W2)
    assert r.created is True
    assert affinities(store, r.contact) == [("mailto:new@example.org", None)]
    assert r.contact.connections[0].affinity_since is None
    assert messages(store)[-1][3] == store.channels.find("Surveyor").id


def test_stopped_contact_becomes_active(store):
    j = store.contacts.create("Jane", ["tel:+250788383383"])
    store.contacts.update(j.uuid, status="stopped")
    r = store.messages.receive("MTN", "tel:+250788383383", "START", when=W1)
    assert r.contact.status == "active"
    assert r.changed is True
    assert store.contacts.get(j.uuid).status == "active"


@pytest.mark.parametrize("status", ["blocked", "archived"])
def test_blocked_and_archived_stay_as_they_are(store, status):
    j = store.contacts.create("Jane", ["tel:+250788383383"])
    store.contacts.update(j.uuid, status=status)
    r = store.messages.receive("MTN", "tel:+250788383383", "hi", when=W1)
    assert r.contact.status == status
    assert utc(r.contact.last_seen_on) == W1


def test_last_seen_on_follows_every_message(store):
    j = store.contacts.create("Jane", ["tel:+250788383383"])
    assert j.last_seen_on is None
    store.messages.receive("MTN", "tel:+250788383383", "1", when=W1)
    r = store.messages.receive("MTN", "tel:+250788383383", "2", when=W3)
    assert utc(r.contact.last_seen_on) == W3
    assert utc(store.contacts.get(j.uuid).last_seen_on) == W3
    assert [m[5] for m in messages(store)] == ["1", "2"]


def test_unknown_connection_creates_a_new_contact(store):
    r = store.messages.receive("MTN", "tel:0788 111 222", "Hello", when=W1)
    assert (r.created, r.changed) == (True, True)
    c = r.contact
    assert c.name == "" and c.status == "active" and c.version == 1
    assert affinities(store, c) == [("tel:+250788111222", "MTN")]
    assert c.connections[0].priority == 1000
    assert utc(c.connections[0].affinity_since) == W1 and c.connections[0].affinity_message_id == r.message_id
    assert utc(c.last_seen_on) == W1
    assert store.contacts.get("tel:+250788111222").uuid == c.uuid
    assert messages(store)[-1][1:6] == (c.id, c.connections[0].id, store.channels.find("MTN").id, "in", "Hello")
    assert count(store, Contact) == 1


def test_detached_connection_is_reattached_to_a_new_contact(store):
    j = store.contacts.create("Jane", ["tel:+250788383383", "twitter:jane"])
    store.messages.receive("Twitter", "twitter:jane", "hi", when=W1)
    old_id = conn_id(store, "twitter:jane")
    store.contacts.set_urns(j.uuid, ["tel:+250788383383"])
    r = store.messages.receive("Twitter", "twitter:Jane", "hi again", when=W2)
    assert r.created is True
    assert r.contact.id != j.id
    assert affinities(store, r.contact) == [("twitter:jane", "Twitter")]
    assert r.contact.connections[0].id == old_id
    assert utc(r.contact.connections[0].affinity_since) == W2
    assert r.contact.connections[0].affinity_message_id == r.message_id
    assert ids(store.contacts.get(j.uuid)) == ["tel:+250788383383"]
    # the first message stays Jane's history, the new one is the new contact's
    assert [(m[1], m[2], m[5]) for m in messages(store)] == [(j.id, old_id, "hi"), (r.contact.id, old_id, "hi again")]


def test_connection_of_a_deleted_contact_goes_to_a_new_contact(store):
    j = store.contacts.create("Jane", ["tel:+250788383383"])
    store.contacts.delete(j.uuid)
    r = store.messages.receive("MTN", "tel:+250788383383", "hi", when=W1)
    assert r.created and r.contact.id != j.id
    assert ids(r.contact) == ["tel:+250788383383"]


# --- refused messages ----------------------------------------------------------------------------


def test_inbound_through_a_disabled_channel_is_refused(store):
    store.contacts.create("Jane", ["tel:+250788383383"])
    store.channels.set_active("Airtel", False)
    n_msgs, n_contacts, seq = count(store, Message), count(store, Contact), store.change_seq()
    for urn in ("tel:+250788383383", "tel:+250788999999"):
        with pytest.raises(StoreError) as err:
            store.messages.receive("Airtel", urn, "hi")
        assert "Airtel" in str(err.value) and "disabled" in str(err.value)
    assert (count(store, Message), count(store, Contact), store.change_seq()) == (n_msgs, n_contacts, seq)


def test_inbound_through_a_channel_not_serving_the_scheme_is_refused(store):
    store.contacts.create("Jane", ["tel:+250788383383", "twitter:jane"])
    before = store.contacts.get("twitter:jane")
    with pytest.raises(StoreError) as err:
        store.messages.receive("Twitter", "tel:+250788383383", "hi")
    assert str(err.value) == "Channel Twitter does not serve tel connections."
    with pytest.raises(StoreError) as err:
        store.messages.receive("MTN", "mailto:someone@example.org", "hi")
    assert "MTN" in str(err.value) and "mailto" in str(err.value)
    assert count(store, Message) == 0
    assert count(store, Contact) == 1
    assert store.contacts.get("twitter:jane") == before


def test_inbound_with_bad_connection_or_unknown_channel_is_refused(store):
    with pytest.raises(ValidationFailed) as err:
        store.messages.receive("Email", "mailto:not-an-address", "hi")
    assert err.value.errors == {"urn": "Invalid email address."}
    with pytest.raises(NotFound):
        store.messages.receive("Nope", "tel:+250788383383", "hi")
    assert count(store, Message) == 0 and count(store, Contact) == 0


# --- S3 and S4 -----------------------------------------------------------------------------------


def test_s3_writing_in_through_the_other_phone_channel_locks_in(store):
    j = store.contacts.create("Jane Doe", ["tel:+250730123456", "tel:+250788383383", "mailto:jane@example.org"])
    rv = store.contacts.route(j.uuid)
    assert (rv.route.connection.identity, rv.route.channel.name, rv.route.rule) == \
        ("tel:+250730123456", "Airtel", Rule.PREFIX)
    assert rv.lock_in.kind == LockInKind.NONE
    # she writes in from her 0788 number through Airtel: prefix matching alone would pick MTN
    r = store.messages.receive("Airtel", "tel:+250788383383", "Muraho", when=W1)
    assert ids(r.contact) == ["tel:+250788383383", "tel:+250730123456", "mailto:jane@example.org"]
    rv = store.contacts.route(j.uuid)
    assert (rv.route.connection.identity, rv.route.channel.name, rv.route.rule) == \
        ("tel:+250788383383", "Airtel", Rule.AFFINITY)
    assert any(n.kind == "would-have" and n.channel == "MTN" for n in rv.route.attempts[0].notes)
    assert rv.lock_in.kind == LockInKind.LOCKED_IN
    assert rv.lock_in.channel.name == "Airtel"
    assert [c.met for c in rv.lock_in.conditions] == [True, True, True]
    assert rv.contact_urn == "tel:+250788383383"
    assert rv.urns == {"tel": "tel:+250788383383", "mailto": "mailto:jane@example.org"}
    top = rv.contact.connections[0]
    assert utc(top.affinity_since) == W1 and top.affinity_message_id == r.message_id
    # the table rows agree
    (row,) = store.browse.rows_for([j.id])
    assert row.route.channel.name == "Airtel" and row.lock_in.kind == LockInKind.LOCKED_IN
    # Airtel is disabled: the affinity is stale and routing falls back to the normal rules
    store.channels.set_active("Airtel", False)
    rv = store.contacts.route(j.uuid)
    assert rv.lock_in.kind == LockInKind.STALE
    assert rv.lock_in.channel.name == "Airtel"
    assert rv.lock_in.stale_reason == "Airtel is inactive"
    assert (rv.route.connection.identity, rv.route.channel.name) == ("tel:+250788383383", "MTN")
    assert rv.route.rule in (Rule.ONLY_CANDIDATE, Rule.PREFIX)
    assert any(n.kind == "affinity-ignored" for n in rv.route.attempts[0].notes)
    # the affinity itself is kept (the lock-ins screen lists it as stale)
    assert rv.contact.connections[0].affinity_channel_id == store.channels.find("Airtel").id
    # enabled again: locked in again
    store.channels.set_active("Airtel", True)
    assert store.contacts.route(j.uuid).lock_in.kind == LockInKind.LOCKED_IN


def test_s4_twitter_priority_is_not_affected_by_phone_lock_in(store):
    bob = store.contacts.create("Bob", ["tel:+250788383383", "twitter:bob"])
    store.messages.receive("Airtel", "tel:+250788383383", "sms", when=W1)
    store.contacts.update(bob.uuid, urns=["twitter:bob", "tel:+250788383383"])
    rv = store.contacts.route(bob.uuid)
    assert affinities(store, rv.contact) == [("twitter:bob", None), ("tel:+250788383383", "Airtel")]
    assert (rv.route.connection.identity, rv.route.channel.name, rv.route.rule) == \
        ("twitter:bob", "Twitter", Rule.SCHEME)
    assert rv.lock_in.kind == LockInKind.NONE
    assert rv.contact_urn == "twitter:bob"
    # he writes in by SMS again: the phone is first and its affinity decides
    store.messages.receive("Airtel", "tel:+250788383383", "sms again", when=W2)
    rv = store.contacts.route(bob.uuid)
    assert ids(rv.contact) == ["tel:+250788383383", "twitter:bob"]
    assert (rv.route.connection.identity, rv.route.channel.name, rv.route.rule) == \
        ("tel:+250788383383", "Airtel", Rule.AFFINITY)
    assert rv.lock_in.kind == LockInKind.LOCKED_IN


# --- several writers -----------------------------------------------------------------------------


def test_simultaneous_messages_from_a_new_connection_create_one_contact(store, backend_url):
    """Six messages from an unknown number arrive at once (six console processes / webhooks):
    one contact owns the connection and all six messages are its history (section 1: an identity
    belongs to at most one contact; section 3: find the owner, create only if nobody owns it)."""
    import threading

    writers = [open_workspace(backend_url, actor=f"w{i}") for i in range(6)]
    barrier = threading.Barrier(len(writers))
    results, errors = [], []

    def deliver(i):
        barrier.wait()
        try:
            results.append(writers[i].messages.receive("MTN", "tel:+250788000111", f"m{i}"))
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(writers))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for w in writers:
            w.close()
    assert errors == []
    assert sorted(r.created for r in results) == [False] * 5 + [True]
    assert len({r.contact.id for r in results}) == 1
    owner = results[0].contact.id
    assert count(store, Contact) == 1
    assert store.contacts.get("tel:+250788000111").id == owner
    assert sorted(m[5] for m in messages(store)) == [f"m{i}" for i in range(6)]
    assert {m[1] for m in messages(store)} == {owner}


# --- one rule: what is stored is what the what-if pane predicts ------------------------------------


@pytest.mark.parametrize("channel, urn, status", [
    ("Airtel", "tel:0788383383", "active"),      # a phone without affinity, through a sending channel
    ("MTN", "tel:+250788383383", "stopped"),     # a stopped contact writes in: active again
    ("Telegram", "telegram:777", "active"),      # already on top with this very affinity: no change
    ("Email", "mailto:jane@example.org", "blocked"),  # second connection back to the top; blocked stays
    ("Twitter", "twitter:jane", "active"),
])
def test_stored_inbound_equals_the_what_if(store, channel, urn, status):
    """``ccconsole.app.inbound`` and the what-if pane both apply ``core.lists.receive``: the contact
    stored after a message is exactly the one ``core.lockin.what_if`` predicts, route included."""
    from ccconsole.core import urns as urnlib
    from ccconsole.core.lockin import what_if
    from ccconsole.core.routing import Channels, route

    before = jane(store)
    if status != "active":
        before = store.contacts.update(before.uuid, status=status)
    chans = Channels(store.channels.list())
    through = store.channels.find(channel)
    identity = urnlib.clean_text(urn, store.info.country).identity
    predicted, predicted_route, _ = what_if(before.core, identity, through, chans)
    stored = store.messages.receive(channel, urn, "hello", when=W3).contact
    assert [(c.identity, c.affinity) for c in stored.core.connections] == \
        [(c.identity, c.affinity) for c in predicted.connections]
    assert stored.core.status == predicted.status
    assert route(stored.core, chans) == predicted_route
    # and the what-if itself moved something whenever the store recorded a change
    assert (stored.version != before.version) == (predicted.connections != before.core.connections
                                                  or predicted.status != before.core.status)
