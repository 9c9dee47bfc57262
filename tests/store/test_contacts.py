"""Contacts in the store (domain.md sections 1 to 3 and scenario S6), on SQLite and PostgreSQL.

Every expected value comes from shared/docs/domain.md; the database is read back directly where the
rule is about what is stored (priorities, detached rows, audit events).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from ccconsole.app import Workspace, open_workspace
from ccconsole.core.urns import INVALID_NEW_PHONE
from ccconsole.errors import Conflict, NotFound, ValidationFailed
from ccconsole.store import db
from ccconsole.store.models import AuditEvent, Connection, Contact, Message
from ccconsole.store.models import Workspace as WorkspaceRow
from tests.store_helpers import rw_store

W1 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(backend_url):
    s = rw_store(backend_url)
    yield s
    s.close()


# --- reading the database back -------------------------------------------------------------------


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stored(store: Workspace, contact_id: int) -> list[tuple[str, int]]:
    """(identity, priority) of a contact's connection rows, in the documented read order."""
    with store.scope.engine.connect() as c:
        return [tuple(r) for r in c.execute(
            select(Connection.identity, Connection.priority).where(Connection.contact_id == contact_id)
            .order_by(Connection.priority.desc(), Connection.id)).all()]


def conn_row(store: Workspace, identity: str):
    with store.scope.engine.connect() as c:
        return c.execute(select(Connection).where(Connection.identity == identity)).one()


def count(store: Workspace, table) -> int:
    with store.scope.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


def audits(store: Workspace) -> list:
    with store.scope.engine.connect() as c:
        return c.execute(select(AuditEvent).order_by(AuditEvent.id)).all()


def identities(view) -> list[str]:
    return [c.identity for c in view.connections]


def ch_id(store: Workspace, name: str) -> int:
    return store.channels.find(name).id


# --- create --------------------------------------------------------------------------------------


def test_create_keeps_the_given_order_with_priority_1000_minus_index(store):
    jane = store.contacts.create("Jane Doe", ["twitter:@JaneDoe", "tel:+250788383383", "mailto:Jane@Example.org",
                                            "telegram:12345", "tel:+13233754866"])
    expected = ["twitter:janedoe", "tel:+250788383383", "mailto:jane@example.org", "telegram:12345",
                "tel:+13233754866"]
    assert identities(jane) == expected
    assert [c.priority for c in jane.connections] == [1000, 999, 998, 997, 996]
    assert stored(store, jane.id) == list(zip(expected, [1000, 999, 998, 997, 996]))
    again = store.contacts.get(jane.uuid)
    assert identities(again) == expected
    assert again.name == "Jane Doe" and again.status == "active" and again.version == 1
    assert all(c.affinity_channel_id is None for c in again.connections)


def test_national_phone_is_stored_as_e164_with_the_workspace_country(store):
    c = store.contacts.create("Amina", ["tel:0788 383 383", "tel:(0730) 123-456"])
    assert identities(c) == ["tel:+250788383383", "tel:+250730123456"]
    row = conn_row(store, "tel:+250788383383")
    assert (row.scheme, row.path, row.contact_id) == ("tel", "+250788383383", c.id)
    # found again however staff type it
    assert store.contacts.get("tel:0788383383").id == c.id
    assert store.contacts.get("tel:+250 788 383 383").id == c.id


def test_new_phone_without_country_code_in_a_workspace_without_country(backend_url):
    s = open_workspace(backend_url, actor="tester", workspace_name="Nowhere")
    try:
        assert s.info.country is None
        with pytest.raises(ValidationFailed) as err:
            s.contacts.create("A", ["tel:0788383383"])
        assert err.value.errors == {"urns.0": INVALID_NEW_PHONE}
        assert INVALID_NEW_PHONE == "Invalid phone number. Ensure number includes country code."
        assert count(s, Contact) == 0 and count(s, Connection) == 0
        ok = s.contacts.create("A", ["tel:+250788383383"])
        with pytest.raises(ValidationFailed) as err:
            s.contacts.update(ok.uuid, urns=["tel:+250788383383", "tel:0730123456"])
        assert err.value.errors == {"urns.1": INVALID_NEW_PHONE}
        assert identities(s.contacts.get(ok.uuid)) == ["tel:+250788383383"]
    finally:
        s.close()


def test_invalid_values_give_per_field_errors_and_nothing_is_saved(store):
    seq = store.change_seq()
    with pytest.raises(ValidationFailed) as err:
        store.contacts.create("X" * 129, ["tel:+250788111111", "mailto:nobody", "twitter:this_handle_is_too_long",
                                         "fax:123", "telegram:abc", "tel:+250788111111"],
                             status="asleep", language="english")
    errors = err.value.errors
    assert set(errors) == {"name", "status", "language", "urns.1", "urns.2", "urns.3", "urns.4", "urns.5"}
    assert errors["urns.1"] == "Invalid email address."
    assert errors["urns.3"] == "Unknown connection type 'fax'."
    assert errors["urns.4"] == "Invalid Telegram Identifier: digits only."
    assert "twice" in errors["urns.5"]
    assert count(store, Contact) == 0
    assert count(store, Connection) == 0
    assert len([a for a in audits(store) if a.action.startswith("contact.")]) == 0
    assert store.change_seq() == seq


def test_create_refuses_a_connection_another_contact_owns(store):
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    with pytest.raises(ValidationFailed) as err:
        store.contacts.create("Bob", ["twitter:bob", "tel:0788383383"])
    assert list(err.value.errors) == ["urns.1"]
    assert "In use by another contact" in err.value.errors["urns.1"]
    assert "Jane" in err.value.errors["urns.1"]
    assert count(store, Contact) == 1
    assert identities(store.contacts.get(jane.uuid)) == ["tel:+250788383383"]
    with pytest.raises(NotFound):
        store.contacts.get("twitter:bob")


# --- update replaces the list ---------------------------------------------------------------------


def _jane_with_history(store: Workspace):
    """Jane of S6 with affinities: each of her three connections wrote in once."""
    jane = store.contacts.create("Jane Doe", ["tel:+250788383383", "tel:+4915112345678", "twitter:jane"])
    store.messages.receive("MTN", "tel:+4915112345678", "hallo", when=W1)
    store.messages.receive("Twitter", "twitter:jane", "hi", when=W1 + timedelta(hours=1))
    store.messages.receive("MTN", "tel:+250788383383", "muraho", when=W1 + timedelta(hours=2))
    jane = store.contacts.get(jane.uuid)
    assert identities(jane) == ["tel:+250788383383", "twitter:jane", "tel:+4915112345678"]
    return jane


def test_s6_update_replaces_the_list_exactly(store):
    jane = _jane_with_history(store)
    mtn, twitter = ch_id(store, "MTN"), ch_id(store, "Twitter")
    before = {c.identity: c for c in jane.connections}
    old_49 = conn_row(store, "tel:+4915112345678")

    after = store.contacts.update(jane.uuid, urns=["mailto:Jane@Example.org", "twitter:jane", "tel:0788383383"])

    assert identities(after) == ["mailto:jane@example.org", "twitter:jane", "tel:+250788383383"]
    assert [c.priority for c in after.connections] == [1000, 999, 998]
    assert stored(store, jane.id) == [("mailto:jane@example.org", 1000), ("twitter:jane", 999),
                                      ("tel:+250788383383", 998)]
    by = {c.identity: c for c in after.connections}
    # kept connections keep their affinity (and when and through which message it was set)
    for identity, channel in (("twitter:jane", twitter), ("tel:+250788383383", mtn)):
        assert by[identity].affinity_channel_id == channel
        assert by[identity].affinity_since == before[identity].affinity_since
        assert by[identity].affinity_message_id == before[identity].affinity_message_id
        assert by[identity].id == before[identity].id
    # the new one has none
    assert by["mailto:jane@example.org"].affinity_channel_id is None
    assert by["mailto:jane@example.org"].affinity_since is None
    # the removed one is detached: row kept, no contact; its message history kept
    row = conn_row(store, "tel:+4915112345678")
    assert row.id == old_49.id
    assert row.contact_id is None
    with store.scope.engine.connect() as c:
        msgs = c.execute(select(Message.contact_id, Message.connection_id, Message.text)
                         .where(Message.connection_id == old_49.id)).all()
    assert [tuple(m) for m in msgs] == [(jane.id, old_49.id, "hallo")]
    assert store.contacts.owners(["tel:+4915112345678"]) == {"tel:+4915112345678": (None, "")}
    assert after.version == jane.version + 1


def test_detached_connection_can_be_claimed_by_another_contact_without_affinity(store):
    jane = _jane_with_history(store)
    old_49 = conn_row(store, "tel:+4915112345678")
    assert old_49.affinity_channel_id == ch_id(store, "MTN")
    store.contacts.set_urns(jane.uuid, ["tel:+250788383383", "twitter:jane"])
    bob = store.contacts.create("Bob", ["tel:+4915112345678"])
    assert identities(bob) == ["tel:+4915112345678"]
    assert bob.connections[0].id == old_49.id  # the same row, re-attached
    assert bob.connections[0].affinity_channel_id is None
    assert bob.connections[0].affinity_since is None
    assert bob.connections[0].affinity_message_id is None
    # and from a contact's update as well
    store.contacts.set_urns(bob.uuid, ["mailto:bob@example.org"])
    carol = store.contacts.create("Carol", ["twitter:carol"])
    carol = store.contacts.update(carol.uuid, urns=["twitter:carol", "tel:+4915112345678"])
    assert identities(carol) == ["twitter:carol", "tel:+4915112345678"]
    assert carol.connections[1].id == old_49.id and carol.connections[1].affinity_channel_id is None
    assert store.contacts.owners(["tel:+4915112345678"]) == {"tel:+4915112345678": (carol.id, "Carol")}


def test_reclaimed_by_its_own_contact_has_no_affinity(store):
    jane = _jane_with_history(store)
    store.contacts.set_urns(jane.uuid, ["tel:+250788383383", "twitter:jane"])
    again = store.contacts.set_urns(jane.uuid, ["tel:+250788383383", "twitter:jane", "tel:+4915112345678"])
    assert identities(again) == ["tel:+250788383383", "twitter:jane", "tel:+4915112345678"]
    assert again.connections[2].affinity_channel_id is None


def test_update_refuses_owned_connection_naming_the_owner_and_saves_nothing(store):
    store.contacts.create("Jane Doe", ["tel:+250788383383", "mailto:jane@example.org"])
    bob = store.contacts.create("Bob", ["twitter:bob", "tel:+250730000001"])
    seq, n_audit = store.change_seq(), len(audits(store))
    with pytest.raises(ValidationFailed) as err:
        store.contacts.update(bob.uuid, name="Robert", status="blocked",
                             urns=["mailto:bob@example.org", "twitter:bob", "tel:0788383383"])
    assert list(err.value.errors) == ["urns.2"]
    message = err.value.errors["urns.2"]
    assert message.startswith("In use by another contact")
    assert "Jane Doe" in message
    now = store.contacts.get(bob.uuid)
    assert now.name == "Bob" and now.status == "active" and now.version == bob.version
    assert identities(now) == ["twitter:bob", "tel:+250730000001"]
    assert stored(store, bob.id) == [("twitter:bob", 1000), ("tel:+250730000001", 999)]
    with store.scope.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(Connection)
                         .where(Connection.identity == "mailto:bob@example.org")).scalar_one() == 0
    assert store.change_seq() == seq
    assert len(audits(store)) == n_audit


def test_update_to_an_empty_list_detaches_everything(store):
    jane = store.contacts.create("Jane", ["tel:+250788383383", "twitter:jane"])
    after = store.contacts.update(jane.uuid, urns=[])
    assert after.connections == ()
    assert conn_row(store, "tel:+250788383383").contact_id is None
    assert conn_row(store, "twitter:jane").contact_id is None
    assert store.contacts.owners(["twitter:jane"]) == {"twitter:jane": (None, "")}


def test_update_with_invalid_values_saves_nothing(store):
    bob = store.contacts.create("Bob", ["twitter:bob"])
    with pytest.raises(ValidationFailed) as err:
        store.contacts.update(bob.uuid, name="Robert", urns=["tel:+250788000001", "mailto:bad address@x",
                                                            "twitter:bob", "viber:" + "v" * 30])
    assert set(err.value.errors) == {"urns.1", "urns.3"}
    now = store.contacts.get(bob.uuid)
    assert (now.name, identities(now), now.version) == ("Bob", ["twitter:bob"], 1)
    assert count(store, Connection) == 1


def test_update_of_name_only_leaves_connections_alone(store):
    jane = _jane_with_history(store)
    after = store.contacts.update(jane.uuid, name="  Jane D.  ")
    assert after.name == "Jane D."
    assert [(c.identity, c.affinity_channel_id, c.priority) for c in after.connections] == \
        [(c.identity, c.affinity_channel_id, c.priority) for c in jane.connections]


# --- delete --------------------------------------------------------------------------------------


def test_delete_detaches_connections_and_frees_identities(store):
    jane = _jane_with_history(store)
    conn_ids = {c.identity: c.id for c in jane.connections}
    n_msgs = count(store, Message)
    store.contacts.delete(jane.uuid)
    with pytest.raises(NotFound):
        store.contacts.get(jane.uuid)
    with pytest.raises(NotFound):
        store.contacts.get("tel:+250788383383")
    for identity, cid in conn_ids.items():
        row = conn_row(store, identity)
        assert (row.id, row.contact_id, row.affinity_channel_id) == (cid, None, None)
    assert count(store, Message) == n_msgs
    with store.scope.engine.connect() as c:
        deleted = c.execute(select(Contact.deleted_on).where(Contact.id == jane.id)).scalar_one()
    assert deleted is not None
    assert store.browse.count() == 0
    # identities free again
    bob = store.contacts.create("Bob", ["tel:0788383383", "twitter:jane"])
    assert identities(bob) == ["tel:+250788383383", "twitter:jane"]
    assert [c.id for c in bob.connections] == [conn_ids["tel:+250788383383"], conn_ids["twitter:jane"]]
    assert all(c.affinity_channel_id is None for c in bob.connections)


# --- optimistic concurrency ----------------------------------------------------------------------


def test_update_with_a_stale_version_is_a_conflict(store):
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    assert jane.version == 1
    mine = store.contacts.get(jane.uuid)
    theirs = store.contacts.update(jane.uuid, name="Jane (theirs)", expected_version=1)
    assert theirs.version == 2
    seq = store.change_seq()
    with pytest.raises(Conflict):
        store.contacts.update(jane.uuid, name="Jane (mine)", urns=["mailto:jane@example.org"],
                             expected_version=mine.version)
    now = store.contacts.get(jane.uuid)
    assert (now.name, identities(now), now.version) == ("Jane (theirs)", ["tel:+250788383383"], 2)
    assert store.change_seq() == seq
    ok = store.contacts.update(jane.uuid, name="Jane (mine)", expected_version=2)
    assert (ok.name, ok.version) == ("Jane (mine)", 3)


def test_inbound_bumps_the_version_so_a_form_opened_before_conflicts(store):
    jane = store.contacts.create("Jane", ["tel:+250788383383", "twitter:jane"])
    store.messages.receive("Twitter", "twitter:jane", "hi")
    with pytest.raises(Conflict):
        store.contacts.update(jane.uuid, name="Jane Doe", expected_version=jane.version)


# --- audit and change sequence -------------------------------------------------------------------


def test_every_mutation_writes_an_audit_event(store):
    mtn = ch_id(store, "MTN")
    start = len(audits(store))
    jane = store.contacts.create("Jane", ["tel:+250788383383", "twitter:jane"])
    store.contacts.update(jane.uuid, name="Jane Doe", urns=["twitter:jane", "tel:+250788383383"])
    store.messages.receive("MTN", "tel:+250788383383", "hi")
    store.contacts.delete(jane.uuid)
    events = audits(store)[start:]
    assert [(e.action, e.actor, e.contact_id) for e in events] == [
        ("contact.create", "tester", jane.id),
        ("contact.update", "tester", jane.id),
        ("contact.inbound", "tester", jane.id),
        ("contact.delete", "tester", jane.id),
    ]
    snap = lambda name, conns: {"name": name, "status": "active", "language": None,  # noqa: E731
                                "connections": conns, "groups": [], "fields": {}}
    create, upd, inb, dele = events
    assert create.before is None
    assert json.loads(create.after) == snap("Jane", [["tel:+250788383383", None], ["twitter:jane", None]])
    assert json.loads(upd.before) == snap("Jane", [["tel:+250788383383", None], ["twitter:jane", None]])
    assert json.loads(upd.after) == snap("Jane Doe", [["twitter:jane", None], ["tel:+250788383383", None]])
    assert json.loads(inb.before) == snap("Jane Doe", [["twitter:jane", None], ["tel:+250788383383", None]])
    assert json.loads(inb.after) == snap("Jane Doe", [["tel:+250788383383", mtn], ["twitter:jane", None]])
    assert json.loads(dele.before) == snap("Jane Doe", [["tel:+250788383383", mtn], ["twitter:jane", None]])
    assert dele.after is None
    assert all(e.workspace_id == store.info.id and e.created_on is not None for e in events)


def test_channel_changes_are_audited(store):
    start = len(audits(store))
    ch = store.channels.add("Surveyor", "Surveyor", ["mailto"], roles=["receive"])
    store.channels.set_active("Surveyor", False)
    store.channels.set_active("Surveyor", True)
    events = audits(store)[start:]
    assert [(e.action, e.actor, e.channel_id) for e in events] == [
        ("channel.add", "tester", ch.id), ("channel.disable", "tester", ch.id), ("channel.enable", "tester", ch.id)]
    assert json.loads(events[0].after) == {"name": "Surveyor", "type": "Surveyor", "schemes": ["mailto"]}
    assert (json.loads(events[1].before), json.loads(events[1].after)) == ({"active": True}, {"active": False})
    assert (json.loads(events[2].before), json.loads(events[2].after)) == ({"active": False}, {"active": True})


def test_actor_is_recorded_as_given(backend_url):
    s = open_workspace(backend_url, actor="alice@support", country="RW")
    try:
        s.contacts.create("X", ["tel:+250788000001"])
        assert [(a.actor, a.action) for a in audits(s)] == [("alice@support", "contact.create")]
    finally:
        s.close()


def test_change_seq_increases_by_one_on_each_mutation(store):
    seq = store.change_seq()
    assert seq == 5  # the five channels of rw_store

    def step():
        nonlocal seq
        now = store.change_seq()
        assert now == seq + 1
        seq = now

    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    step()
    store.contacts.update(jane.uuid, name="Jane Doe")
    step()
    store.contacts.set_urns(jane.uuid, ["twitter:jane", "tel:+250788383383"])
    step()
    store.messages.receive("Twitter", "twitter:jane", "hi")
    step()
    store.channels.add("Old phone", "Android", ["tel"], country="RW")
    step()
    store.channels.set_active("Old phone", False)
    step()
    store.contacts.delete(jane.uuid)
    step()
    # reads do not move it
    store.browse.count()
    store.browse.page()
    store.channels.list()
    assert store.change_seq() == seq


# --- opening and migrations ----------------------------------------------------------------------


def test_open_twice_keeps_one_workspace_and_schema_at_head(backend_url):
    first = open_workspace(backend_url, actor="t", workspace_name="Kigali", country="rw")
    try:
        assert first.info.country == "RW" and first.info.name == "Kigali"
        first.contacts.create("Jane", ["tel:0788383383"])
    finally:
        first.close()
    second = open_workspace(backend_url, actor="t", workspace_name="Other", country="KE")
    try:
        assert second.info == first.info
        assert count(second, WorkspaceRow) == 1
        assert second.contacts.get("tel:+250788383383").name == "Jane"
        cfg = Config()
        cfg.set_main_option("script_location", str(db.MIGRATIONS))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        assert head is not None
        with second.scope.engine.connect() as c:
            versions = c.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [head]
    finally:
        second.close()


# --- several writers -----------------------------------------------------------------------------


def test_simultaneous_creates_with_the_same_connection(store, backend_url):
    """Four staff save a new contact with the same number at the same moment: one is saved, the
    others are refused with a StoreError (not a driver error), and nothing of theirs is saved."""
    import threading

    from ccconsole.errors import StoreError

    writers = [open_workspace(backend_url, actor=f"w{i}") for i in range(4)]
    barrier = threading.Barrier(len(writers))
    saved, refused, crashed = [], [], []

    def save(i):
        barrier.wait()
        try:
            saved.append(writers[i].contacts.create(f"Staff {i}", ["tel:+250788000333"]))
        except StoreError as err:
            refused.append(err)
        except Exception as err:
            crashed.append(err)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(writers))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for w in writers:
            w.close()
    assert [type(e).__name__ for e in crashed] == []
    assert len(saved) == 1 and len(refused) == 3
    assert count(store, Contact) == 1
    assert store.contacts.get("tel:+250788000333").id == saved[0].id
    assert identities(store.contacts.get(saved[0].uuid)) == ["tel:+250788000333"]


def test_use_cases_share_one_unit_of_work(backend_url):
    """Several use cases in one ``ws.transaction()``: they commit together with one change signal and
    every audit event, or not at all (what a merge will need)."""
    ws = open_workspace(backend_url, actor="t", workspace_name="T", country="RW")
    try:
        seq = ws.change_seq()
        with ws.transaction() as uow:
            a = ws.contacts.create_in(uow, "Ann", ["tel:+250788000001"])
            ws.contacts.update_in(uow, a.id, urns=["tel:+250788000001", "mailto:ann@example.org"])
            ws.contacts.create_in(uow, "Ben", ["tel:+250788000002"])
        assert ws.change_seq() == seq + 1  # one signal for the unit
        assert [e.action for e in ws.audit.page()] == ["contact.create", "contact.update", "contact.create"][::-1]
        assert [c.identity for c in ws.contacts.get(a.uuid).connections] == ["tel:+250788000001",
                                                                               "mailto:ann@example.org"]
        with pytest.raises(ValidationFailed), ws.transaction() as uow:
            ws.contacts.create_in(uow, "Cat", ["tel:+250788000003"])
            ws.contacts.create_in(uow, "Dan", ["tel:+250788000001"])  # Ann's: the whole unit is refused
        assert ws.change_seq() == seq + 1 and ws.browse.count() == 2
        assert ws.contacts.owners(["tel:+250788000003"]) == {}  # Cat's number was never stored
    finally:
        ws.close()
