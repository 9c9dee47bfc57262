"""The lean write path of a contact update (issue 14: Contacts API updates per second), on SQLite and
PostgreSQL: what an update answers is what is stored, values that do not change are not written
again, and the statements sent straight through the driver still come out as the store's errors."""

from __future__ import annotations

import pytest

from ccconsole.errors import RaceLost, StoreError
from ccconsole.store import db
from tests.store_helpers import rw_store


@pytest.fixture
def store(backend_url):
    s = rw_store(backend_url)
    yield s
    s.close()


@pytest.fixture
def sent(monkeypatch):
    """The SQL of every statement sent through ``store.db.run`` / ``run_many`` while the test runs."""
    seen: list[str] = []
    original = db._execute

    def spy(conn, sql, params, many):
        seen.append(" ".join(sql.split()))
        return original(conn, sql, params, many)

    monkeypatch.setattr(db, "_execute", spy)
    return seen


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]


def test_an_update_answers_what_is_stored(store):
    c = store.contacts.create("Ann", ["tel:+250788111111", "twitter:ann"], groups=["Nurses"],
                              fields={"District": "Gasabo", "Ward": "W1"})
    after = store.contacts.update(c.uuid, name="Ann B", urns=["twitter:ann", "tel:+250788222222"],
                                  groups=["Nurses", "Drivers"], fields={"district": "Kicukiro", "ward": None},
                                  language="kin", status="blocked")
    stored = store.contacts.get(c.uuid)
    assert after == stored
    assert (stored.name, stored.language, stored.status) == ("Ann B", "kin", "blocked")
    assert [x.identity for x in stored.connections] == ["twitter:ann", "tel:+250788222222"]
    assert stored.groups == ("Drivers", "Nurses")
    assert stored.fields == (("district", "Kicukiro"),)
    assert stored.version == c.version + 1
    # the freed number is detached, owned by no one
    assert store.contacts.owners(["tel:+250788111111"]) == {"tel:+250788111111": (None, "")}


def test_an_update_that_changes_nothing_writes_nothing_but_the_epilogue(store, sent):
    c = store.contacts.create("Ann", ["tel:+250788111111"], groups=["Nurses"], fields={"District": "Gasabo"})
    events = len(store.audit.page(contact_id=c.id))
    sent.clear()
    after = store.contacts.update(c.uuid, name=" Ann ", groups=["Nurses"], fields={"district": "Gasabo"},
                                  status="active")
    assert after == store.contacts.get(c.uuid) == c  # same version, same modified time
    assert len(store.audit.page(contact_id=c.id)) == events  # no audit event: nothing changed
    # only the change sequence moves (every write transaction signals consoles)
    assert writes(sent) == ["UPDATE workspace SET change_seq = change_seq + 1 WHERE id = ? RETURNING change_seq"]


def test_only_the_values_that_change_are_written(store, sent):
    c = store.contacts.create("Ann", ["tel:+250788111111"], fields={"District": "Gasabo", "Ward": "W1"})
    sent.clear()
    after = store.contacts.update(c.uuid, name="Ann", fields={"district": "Gasabo", "ward": "W2"})
    assert after.fields == (("district", "Gasabo"), ("ward", "W2")) == store.contacts.get(c.uuid).fields
    written = writes(sent)
    assert not [s for s in written if s.startswith("UPDATE contact SET name")]  # the name did not change
    assert len([s for s in written if s.startswith("INSERT INTO field_value")]) == 1  # only the ward
    assert len([s for s in written if s.startswith("UPDATE contact SET version")]) == 1
    assert len([s for s in written if s.startswith("INSERT INTO audit_event")]) == 1
    entry = store.audit.page(contact_id=c.id)[0]
    assert entry.action == "contact.update"


def test_driver_errors_come_out_as_the_stores(store):
    c = store.contacts.create("Ann", ["tel:+250788111111"], fields={"District": "Gasabo"})
    with pytest.raises(RaceLost):  # a unique key taken: the race every write can lose
        with store.transaction() as uow:
            field_id = db.run(uow.session, "SELECT field_id FROM field_value WHERE contact_id = ?", (c.id,)).scalar()
            db.run(uow.session, "INSERT INTO field_value (contact_id, field_id, value) VALUES (?, ?, ?)",
                   (c.id, field_id, "again"))
    with pytest.raises(StoreError) as err:
        with store.transaction() as uow:
            db.run(uow.session, "SELECT no_such_column FROM contact")
    assert "no_such_column" in str(err.value)
    assert store.contacts.get(c.uuid).fields == (("district", "Gasabo"),)  # rolled back, nothing changed


def test_rows_of_a_statement(store):
    with store.scope.engine.connect() as conn:
        assert db.run(conn, "SELECT 1 WHERE 1 = ?", (2,)).first() is None
        assert db.run(conn, "SELECT 1 WHERE 1 = ?", (2,)).scalar() is None
        assert db.run(conn, "SELECT 7").scalar_one() == 7
        assert db.run(conn, "SELECT name FROM channel ORDER BY name").scalars()[:2] == ["Airtel", "Email"]
        with pytest.raises(StoreError):
            db.run(conn, "SELECT name FROM channel").scalar_one()
