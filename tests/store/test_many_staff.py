"""Many staff on one database, in the store (SQLite and PostgreSQL): the audit log's queries, races
between sessions that never break the unique identity, read-only sessions, and NOTIFY on commit.

Each "session" is its own Workspace (own engine, own connections), as two consoles or a console and a
webhook would be.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DatabaseError

from ccconsole.app import Workspace, open_workspace
from ccconsole.errors import Conflict, StoreError
from ccconsole.store import live
from ccconsole.store.models import AuditEvent, Connection, Contact
from tests.store_helpers import rw_store


@pytest.fixture
def store(backend_url):
    s = rw_store(backend_url)
    yield s
    s.close()


def all_at_once(backend_url: str, jobs: list) -> tuple[list, list, list]:
    """Run each job(store) in its own thread on its own Workspace, released together by a barrier.
    Returns (results, refusals (StoreError), crashes (anything else))."""
    stores = [open_workspace(backend_url, actor=f"w{i}") for i in range(len(jobs))]
    barrier = threading.Barrier(len(jobs))
    results, refused, crashed = [], [], []
    lock = threading.Lock()

    def run(i):
        barrier.wait()
        try:
            value = jobs[i](stores[i])
            with lock:
                results.append((i, value))
        except StoreError as err:
            with lock:
                refused.append((i, err))
        except Exception as err:
            with lock:
                crashed.append((i, err))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for s in stores:
            s.close()
    return results, refused, crashed


def owners(store: Workspace, identity: str) -> list:
    with store.scope.engine.connect() as c:
        return c.execute(select(Connection.contact_id).where(Connection.identity == identity)).scalars().all()


def live_contacts(store: Workspace) -> int:
    with store.scope.engine.connect() as c:
        return c.execute(select(func.count()).select_from(Contact).where(Contact.deleted_on.is_(None))).scalar_one()


def events(store: Workspace) -> list[tuple[str, str, int | None]]:
    with store.scope.engine.connect() as c:
        return [tuple(r) for r in c.execute(select(AuditEvent.actor, AuditEvent.action, AuditEvent.contact_id)
                                            .order_by(AuditEvent.id))]


# --- the audit log's queries -------------------------------------------------------------------------


def test_audit_page_filters_and_keyset_paging(store, backend_url):
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    bob = open_workspace(backend_url, actor="bob")
    try:
        bob.contacts.update(jane.uuid, name="Jane Doe", groups=["Nurses"])
        bob.messages.receive("MTN", "tel:+250788000999", "hello")
    finally:
        bob.close()
    newest = store.audit.page(limit=3)
    assert [(e.actor, e.action) for e in newest] == [("bob", "contact.inbound"), ("bob", "contact.update"),
                                                     ("tester", "contact.create")]
    assert newest[1].subject == "Jane Doe"
    assert [str(c) for c in newest[1].changes] == ["Name: Jane → Jane Doe", "Groups: — → Nurses"]
    assert newest[2].summary == "created: Name Jane; Status active; Connections tel:+250788383383"
    older = store.audit.page(before_id=newest[-1].id)
    assert [e.action for e in older] == ["channel.add"] * 5
    assert older[0].subject == "channel Email"
    assert store.audit.count() == 8
    assert store.audit.count(actor="BOB") == 2
    assert store.audit.count(action="update") == 1
    assert store.audit.count(action="channel") == 5
    assert store.audit.count(text="nurses") == 1
    assert store.audit.count(text="+250788000999") == 1
    assert store.audit.count(contact_id=jane.id) == 2
    assert store.audit.count(text="100%_") == 0  # LIKE wildcards are literal
    assert store.audit.actors() == ["bob", "tester"]
    assert "contact.inbound" in store.audit.actions()


def test_diff_shows_an_affinity_change_and_created_deleted_summaries(store):
    jane = store.contacts.create("Jane", ["tel:+250788383383", "twitter:jane"])
    store.messages.receive("MTN", "tel:+250788383383", "hi")
    store.contacts.delete(jane.uuid)
    deleted, inbound = store.audit.page(contact_id=jane.id, limit=2)
    assert inbound.changes[0].field == "connections"
    assert inbound.changes[0].after.endswith("(channel affinity changed)")
    assert deleted.summary.startswith("deleted (was Name Jane;")


def test_each_mutation_path_writes_exactly_one_event(store):
    before = len(events(store))
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    store.contacts.update(jane.uuid, name="Jane Doe")
    store.contacts.set_urns(jane.uuid, ["twitter:jane", "tel:+250788383383"])
    store.messages.receive("MTN", "tel:+250788383383", "first")
    store.messages.receive("MTN", "tel:+250788000777", "a new contact")
    store.channels.set_active("Airtel", False)
    store.update(name="Renamed")
    store.contacts.delete(jane.uuid)
    assert [a for _, a, _ in events(store)[before:]] == [
        "contact.create", "contact.update", "contact.update", "contact.inbound", "contact.inbound",
        "channel.disable", "workspace.update", "contact.delete"]
    # what changes nothing writes nothing
    n = len(events(store))
    store.channels.set_active("Airtel", False)
    store.messages.receive("MTN", "tel:+250788000777", "again")  # recorded as a message, the contact is unchanged
    other = store.contacts.create("Other", ["tel:+250788000778"])
    store.contacts.update(other.uuid, name="Other")
    assert len(events(store)) == n + 1  # only the create


# --- races: the identity stays unique, losers get a clear refusal or retry --------------------------


def test_inbound_and_a_new_contact_race_for_the_same_number(store, backend_url):
    number = "tel:+250788000444"
    jobs = [lambda s: s.messages.receive("MTN", number, "hello"), lambda s: s.contacts.create("Staff", [number]),
            lambda s: s.messages.receive("Airtel", number, "hello again")]
    results, refused, crashed = all_at_once(backend_url, jobs)
    assert crashed == []
    assert len(owners(store, number)) == 1  # one row for the identity, one owner
    owner = store.contacts.get(number)
    # whoever came first owns it; the inbound messages are never lost (they retry)
    assert {i for i, _ in results} >= {0, 2}
    for i, err in refused:  # only the staff member can be refused; the messages retry
        assert i == 1 and ("In use by another contact" in str(err) or "same moment" in str(err)), err
    assert live_contacts(store) == 1 and owner is not None


def test_two_staff_claim_the_same_detached_number_at_once(store, backend_url):
    number = "tel:+250788000555"
    a = store.contacts.create("A", ["twitter:a"])
    b = store.contacts.create("B", ["twitter:b"])
    old = store.contacts.create("Old", [number])
    store.contacts.delete(old.uuid)  # the number is detached, free to claim
    jobs = [lambda s: s.contacts.set_urns(a.uuid, ["twitter:a", number]),
            lambda s: s.contacts.set_urns(b.uuid, ["twitter:b", number])]
    results, refused, crashed = all_at_once(backend_url, jobs)
    assert crashed == []
    assert len(results) == 1 and len(refused) == 1
    assert "In use by another contact" in str(refused[0][1]) or "same moment" in str(refused[0][1])
    assert len(owners(store, number)) == 1
    winner = a if results[0][0] == 0 else b
    assert store.contacts.get(number).id == winner.id


def test_edit_and_inbound_of_the_same_contact_at_once(store, backend_url):
    jane = store.contacts.create("Jane", ["tel:+250788383383", "twitter:jane"])
    jobs = [lambda s: s.contacts.update(jane.uuid, name="Jane Doe", urns=["twitter:jane", "mailto:j@x.org"],
                                       expected_version=jane.version),
            lambda s: s.messages.receive("MTN", "tel:+250788383383", "hi")]
    results, refused, crashed = all_at_once(backend_url, jobs)
    assert crashed == []
    done = {i for i, _ in results}
    assert 1 in done  # the message is always recorded
    now = store.contacts.get(jane.uuid)
    if 0 in done:  # the edit went first: the number was detached, the message made a new contact with it
        assert (now.name, [c.identity for c in now.connections]) == ("Jane Doe", ["twitter:jane", "mailto:j@x.org"])
        assert store.contacts.get("tel:+250788383383").id != jane.id
        assert live_contacts(store) == 2
    else:  # the message went first: the edit was refused as a conflict, nothing of it saved
        assert isinstance(refused[0][1], Conflict)
        assert (now.name, [c.identity for c in now.connections][0]) == ("Jane", "tel:+250788383383")
        assert live_contacts(store) == 1
    assert len(owners(store, "tel:+250788383383")) == 1
    assert now.version == 2


def test_many_concurrent_edits_and_messages_keep_every_identity_unique(store, backend_url):
    numbers = [f"tel:+25078800{i:04d}" for i in range(4)]
    contacts = [store.contacts.create(f"C{i}", [f"twitter:c{i}"]) for i in range(4)]

    def editor(k):
        return lambda s: [s.contacts.update(contacts[k].uuid, urns=[f"twitter:c{k}", numbers[(k + j) % 4]])
                          for j in range(3)]

    def messages(k):
        return lambda s: [s.messages.receive("MTN", numbers[(k + j) % 4], f"m{j}") for j in range(3)]

    results, refused, crashed = all_at_once(backend_url, [editor(k) for k in range(4)] +
                                            [messages(k) for k in range(4)])
    assert crashed == [], crashed
    assert all(isinstance(err, StoreError) for _, err in refused)
    with store.scope.engine.connect() as c:
        dupes = c.execute(select(Connection.identity).group_by(Connection.workspace_id, Connection.identity)
                          .having(func.count() > 1)).all()
    assert dupes == []
    for number in numbers:
        assert len(owners(store, number)) == 1


# --- read-only sessions: the database itself refuses ------------------------------------------------


def test_read_only_store_and_its_engine_refuse_every_write(store, backend_url):
    store.contacts.create("Jane", ["tel:+250788383383"])
    reader = open_workspace(backend_url, read_only=True)
    try:
        assert reader.contacts.get("tel:+250788383383").name == "Jane"
        for attempt in (lambda: reader.contacts.create("X", ["tel:+250788000001"]),
                        lambda: reader.contacts.update("tel:+250788383383", name="X"),
                        lambda: reader.messages.receive("MTN", "tel:+250788383383", "hi"),
                        lambda: reader.channels.set_active("MTN", False),
                        lambda: reader.contacts.delete("tel:+250788383383")):
            with pytest.raises(StoreError, match="read-only"):
                attempt()
        # below the services: the session itself is read-only (SQLite mode=ro, PostgreSQL read-only tx)
        with pytest.raises(Exception) as caught:
            with reader.scope.engine.begin() as c:
                c.execute(insert(AuditEvent).values(workspace_id=reader.info.id, actor="x", action="x"))
        assert "read-only" in str(caught.value).lower() or "readonly" in str(caught.value).lower()
        with pytest.raises(DatabaseError):  # OperationalError on SQLite, InternalError on PostgreSQL
            with reader.scope.engine.begin() as c:
                c.execute(text("UPDATE contact SET name = 'Hacked'"))
    finally:
        reader.close()
    assert store.contacts.get("tel:+250788383383").name == "Jane"
    assert ("tester", "contact.create") in [(a, b) for a, b, _ in events(store)]
    assert all(a != "x" for a, _, _ in events(store))


# --- NOTIFY on commit (PostgreSQL) -----------------------------------------------------------------


def test_notify_arrives_on_commit_and_never_for_a_rollback(store, backend_url):
    if not live.is_postgres(store.scope.engine):
        assert live.notify.__doc__  # SQLite: nothing to listen to; the console polls (tests/tui)
        return
    listener = live.Listener(store.scope.engine, store.info.id)
    try:
        store.contacts.create("Jane", ["tel:+250788383383"])
        got = list(listener.changes(timeout=1.0))
        assert got == [store.change_seq()]
        with pytest.raises(StoreError):
            store.contacts.create("Twin", ["tel:+250788383383"])  # refused: rolled back, no signal
        start = time.monotonic()
        assert list(listener.changes(timeout=0.3)) == []
        assert time.monotonic() - start >= 0.29
    finally:
        listener.close()


def test_an_import_racing_edits_and_messages_keeps_every_identity_unique(store, backend_url, tmp_path):
    """An import that creates contacts for 40 numbers runs while two staff add some of those numbers
    and messages arrive on others: whatever order the database picks, each identity has one row and
    one owner, and what was refused was refused as a whole with a clear message."""
    import csv


    numbers = [f"+2507880{i:05d}" for i in range(40)]
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Name", "URN:Tel"])
        w.writerows([f"Imported {i}", n] for i, n in enumerate(numbers))
    a = store.contacts.create("A", ["twitter:a"])
    jobs = [lambda s: s.transfer.import_file(path),
            lambda s: s.contacts.set_urns(a.uuid, ["twitter:a", f"tel:{numbers[5]}"]),
            lambda s: s.contacts.create("B", [f"tel:{numbers[17]}"]),
            lambda s: [s.messages.receive("MTN", f"tel:{n}", "hi") for n in numbers[30:34]]]
    results, refused, crashed = all_at_once(backend_url, jobs)
    assert crashed == [], crashed
    assert all("ccconsole" not in str(err) and str(err) for _, err in refused)
    assert 3 in {i for i, _ in results}  # messages retry and are always recorded
    with store.scope.engine.connect() as c:
        dupes = c.execute(select(Connection.identity).group_by(Connection.workspace_id, Connection.identity)
                          .having(func.count() > 1)).all()
    assert dupes == []
    for n in numbers[30:34] + [numbers[5], numbers[17]]:
        assert len(owners(store, f"tel:{n}")) == 1
    imported = 0 in {i for i, _ in results}
    if imported:  # the import went through: every number has an owner
        assert all(len(owners(store, f"tel:{n}")) == 1 and owners(store, f"tel:{n}")[0] is not None
                   for n in numbers)
