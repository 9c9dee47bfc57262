"""Broadcast preview from the store (store.broadcast), on SQLite and PostgreSQL: the same split as
resolving every contact with core.routing.route, for a query or for marked contacts; nothing is sent."""

from __future__ import annotations

import pytest

from ccconsole.core.query import QueryError
from ccconsole.core.routing import Channels, route, unreachable_reason
from ccconsole.store import broadcast
from ccconsole.store.broadcast import Cancelled
from tests.store_helpers import rw_store


@pytest.fixture
def world(backend_url):
    store = rw_store(backend_url)
    made = {}
    for name, urns, status in [
        ("A", ["tel:+250788000001", "twitter:a_handle", "telegram:1001"], "active"),
        ("B", ["twitter:b_handle", "tel:+250788000002", "telegram:1002"], "active"),
        ("C", ["telegram:1003", "tel:+250788000003", "twitter:c_handle"], "active"),
        ("D airtel", ["tel:+250730000004"], "active"),
        ("E ecuador", ["tel:+593991234567", "whatsapp:593991234567"], "active"),
        ("F nothing", [], "active"),
        ("G blocked", ["tel:+250788000007"], "blocked"),
        ("H stopped", ["mailto:h@example.org"], "stopped"),
        ("I mail", ["mailto:i@example.org"], "active"),
    ]:
        made[name] = store.contacts.create(name, urns, status=status)
    store.messages.receive("Airtel", "tel:+250788000009", "hi")  # a new contact, locked in to Airtel
    gone = store.contacts.create("Gone", ["tel:+250788000010"])
    store.contacts.delete(gone.uuid)
    yield store, made
    store.close()


def expected_split(store, contact_ids):
    channels = Channels(store.channels.list())
    per_channel, reasons, inactive = {}, {}, {}
    for cid in contact_ids:
        contact = store.contacts.get(cid).core
        decision = route(contact, channels)
        if not contact.is_active:
            inactive[contact.status] = inactive.get(contact.status, 0) + 1
        elif decision.ok:
            per_channel[decision.channel.name] = per_channel.get(decision.channel.name, 0) + 1
        else:
            reason = unreachable_reason(decision)
            reasons[reason] = reasons.get(reason, 0) + 1
    return per_channel, reasons, inactive


def test_the_whole_workspace(world):
    store, made = world
    result = store.broadcast.preview(query=None)
    assert result.total == 10  # the deleted contact is not a recipient
    assert dict(result.per_channel) == {"MTN": 1, "Airtel": 2, "Twitter": 1, "Telegram": 1, "Email": 1}
    assert dict(result.locked_in) == {"Airtel": 1}
    assert dict(result.unreachable) == {
        "no phone channel may send to EC numbers; no channel sends whatsapp": 1,
        "contact has no connections": 1,
    }
    assert dict(result.not_active) == {"blocked": 1, "stopped": 1}
    ids = [r.id for r in store.browse.page(limit=500)]
    assert (dict(result.per_channel), dict(result.unreachable), dict(result.not_active)) == \
        expected_split(store, ids)


def test_a_query(world):
    store, _ = world
    result = store.broadcast.preview(query="tel ~ 0788")
    assert result.total == 5 and dict(result.per_channel) == {"MTN": 1, "Twitter": 1, "Telegram": 1,
                                                                "Airtel": 1}
    assert dict(result.not_active) == {"blocked": 1}
    with pytest.raises(QueryError):
        store.broadcast.preview(query="status = nope")


def test_marked_contacts(world):
    store, made = world
    ids = [made["A"].id, made["B"].id, made["C"].id, made["A"].id, 999_999]
    result = store.broadcast.preview(contact_ids=ids)
    assert result.total == 3  # duplicates once, unknown ids left out
    assert dict(result.per_channel) == {"MTN": 1, "Twitter": 1, "Telegram": 1}
    assert "3 channels" in result.headline
    assert store.broadcast.preview(contact_ids=[]).total == 0


def test_progress_and_cancel(world, monkeypatch):
    store, _ = world
    monkeypatch.setattr(broadcast, "PROGRESS_EVERY", 3)
    seen = []
    store.broadcast.preview(query="", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(3, 10), (6, 10), (9, 10), (10, 10)]

    def stop(done, total):
        raise Cancelled()

    with pytest.raises(Cancelled):
        store.broadcast.preview(query="", progress=stop)


def test_nothing_is_sent_or_changed(world):
    store, _ = world
    seq = store.change_seq()
    store.broadcast.preview(query="")
    assert store.change_seq() == seq
