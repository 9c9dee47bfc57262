"""The fast import's machinery gives the same answers as the rules: the reader process, duplicates
found across chunks, ids reserved up front, deferred indexes, values stored as Core stores them."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import text

from ccconsole.files.sheets import open_sheet, read_batches
from ccconsole.store import db, importer
from ccconsole.store.importer import ImportCancelled, ImportFailed
from tests.store.test_import_export import dump, write_csv
from tests.store_helpers import indexes, rw_store


@pytest.fixture
def store(backend_url):
    s = rw_store(backend_url)
    yield s
    s.close()


# --- duplicates across chunks (one row per chunk) ------------------------------------------------


def _existing(store):
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    gone = store.contacts.create("Gone", ["tel:+250788000111"])
    store.contacts.delete(gone.uuid)  # leaves tel:+250788000111 detached
    return jane


CASES = {
    # an earlier row that created a contact with the connection
    "created": ([["", "A", "0788111111"], ["", "B", "0788222222"], ["", "C", "0788111111"]],
                "URN 'tel:+250788111111' on row 4"),
    # an earlier row that failed (an unknown UUID) named it. (Issue 16 item 10: this was a bad language,
    # which no longer fails a row: the row creates its contact and lists the error, as "bad item" shows)
    "errored": ([["no-such-uuid", "A", "0788111111"], ["", "B", "0788111111"]], "URN 'tel:+250788111111' on row 3"),
    # an earlier row that created a contact despite a bad language
    "bad item": ([["", "A", "0788111111", "xx"], ["", "B", "0788111111"]], "URN 'tel:+250788111111' on row 3"),
    # an earlier row that updated Jane through it
    "updated": ([["", "Jane D", "0788383383"], ["", "Other", "0788383383"]], "URN 'tel:+250788383383' on row 3"),
    # an earlier row that matched Jane and changed nothing
    "unchanged": ([["", "Jane", "0788383383"], ["", "", "0788383383"]], "URN 'tel:+250788383383' on row 3"),
    # an earlier row that created a contact with a detached connection
    "claimed": ([["", "A", "0788000111"], ["", "B", "0788000111"]], "URN 'tel:+250788000111' on row 3"),
    # an invalid connection, twice (the first row creates a contact without it, as RapidPro does)
    "invalid": ([["", "A", "", "", "not-an-email"], ["", "B", "", "", "not-an-email"]],
                "URN 'mailto:not-an-email' on row 3"),
    # an invalid connection after a valid one, twice
    "invalid beside a valid one": ([["", "A", "0788111111", "", "not-an-email"], ["", "B", "", "", "not-an-email"]],
                                   "URN 'mailto:not-an-email' on row 3"),
    # a row naming a new contact's connection together with Jane's UUID
    "with uuid": ([["", "A", "0788111111"], ["{jane}", "", "0788111111"]], "URN 'tel:+250788111111' on row 3"),
    "uuid twice": ([["{jane}", "A", ""], ["", "B", "0788999999"], ["{jane}", "C", ""]], "UUID '{jane}' on row 4"),
}


@pytest.mark.parametrize("case", CASES)
def test_duplicates_are_found_across_chunks_whatever_the_earlier_row_did(store, tmp_path, case):
    jane = _existing(store)
    rows, message = CASES[case]
    rows = [[cell.replace("{jane}", jane.uuid) for cell in row] + [""] * (5 - len(row)) for row in rows]
    f = write_csv(tmp_path / "c.csv", [["UUID", "Name", "URN:Tel", "Language", "URN:Mailto"]] + rows)
    before = dump(store)
    with pytest.raises(ImportFailed) as err:
        store.transfer.import_file(f, chunk=1)
    assert str(err.value) == f"Import file contains duplicated contact {message.replace('{jane}', jane.uuid)}."
    assert dump(store) == before


def test_no_false_duplicates_over_many_chunks_of_mixed_rows(store, tmp_path):
    jane = _existing(store)
    rows = [["UUID", "Name", "URN:Tel", "URN:Mailto"]]
    rows += [["", f"P{i}", f"07885{i:05d}", f"p{i}@example.org" if i % 2 else ""] for i in range(40)]
    rows += [[jane.uuid, "Jane U", "", "jane@example.org"], ["", "", "0788000111", ""], ["", "Bad", "", "x@"]]
    report = store.transfer.import_file(write_csv(tmp_path / "c.csv", rows), chunk=3)
    # issue 16 item 10: the "Bad" row creates its contact without the invalid connection (was: errored)
    assert (report.created, report.updated, report.errored) == (42, 1, 0)
    assert [(e.row, e.message) for e in report.errors] == [(44, "'mailto:x@' is not valid URN")]


# --- the reader process --------------------------------------------------------------------------


def _mixed_file(store, tmp_path):
    jane = store.contacts.create("Jane", ["tel:+250788383383"], fields={"age": "30", "district": "Huye"})
    rows = [["Contact UUID", "Name", "Language", "Status", "URN:Tel", "URN:Tel", "URN:Mailto", "Field:Age",
             "Field:District", "Group:Ignored"]]
    for i in range(300):
        kind = i % 10
        if kind == 0:
            rows.append(["", "", "", "", "", "", "", "", "", ""])  # blank: not counted
        elif kind == 1:
            rows.append(["", f"Skipped {i}", "", "", "", "", "", "1", "", "x"])  # neither UUID nor connection
        elif kind == 2:
            rows.append(["", f"Bad {i}", "english", "", f"07886{i:05d}", "", "", "", "", ""])
        elif kind == 3:
            rows.append(["", f"Invalid {i}", "", "", f"07888{i:05d}", "", f"bad{i}@", "", "", ""])
        elif kind == 4:
            rows.append(["no-such-uuid-" + str(i), "x", "", "", "", "", "", "", "", ""])
        else:
            rows.append(["", f"Person {i}", "kin", "blocked" if i % 7 == 0 else "", f"07887{i:05d}",
                         f"+1 323 555 {i:04d}" if i % 3 == 0 else "", f"p{i}@example.org" if i % 2 else "",
                         str(i % 90), "--" if i % 11 == 0 else "Gasabo", ""])
    rows.append([jane.uuid, "Jane D", "eng", "", "", "+49 171 2345678", "JANE@example.org", "--", "Kicukiro", ""])
    return write_csv(tmp_path / "mixed.csv", rows), jane


def test_the_reader_process_and_the_inline_reader_plan_the_same_import(store, tmp_path):
    f, jane = _mixed_file(store, tmp_path)
    inline = store.transfer.import_file(f, dry_run=True, parallel=False, chunk=37).as_dict()
    worker = store.transfer.import_file(f, dry_run=True, parallel=True, chunk=37).as_dict()
    inline.pop("seconds"), worker.pop("seconds")
    assert worker == inline
    # issue 16 item 10: the 30 rows with a bad language and the 30 with an invalid email create their
    # contacts and list their errors (were: 90 errored); only the 30 unknown UUIDs apply nothing
    assert (inline["created"], inline["updated"], inline["errored"], inline["skipped"]) == (210, 1, 30, 30)
    assert inline["error_count"] == 90 and len(inline["errors"]) == 90
    assert inline["rows"] == 271  # the 30 blank rows are not rows
    before = dump(store)
    report = store.transfer.import_file(f, parallel=True, chunk=37)
    assert (report.created, report.updated, report.errored) == (210, 1, 30)
    after = dump(store)
    assert len(after["contacts"]) == len(before["contacts"]) + 210
    view = store.contacts.get(jane.uuid)
    assert (view.name, view.language, dict(view.fields)) == ("Jane D", "eng", {"district": "Kicukiro"})
    assert [c.identity for c in view.connections] == ["tel:+250788383383", "tel:+491712345678",
                                                      "mailto:jane@example.org"]
    person = store.contacts.get("tel:+250788700015")
    assert (person.name, person.language, person.status, dict(person.fields)) == (
        "Person 15", "kin", "active", {"age": "15", "district": "Gasabo"})
    assert [c.identity for c in person.connections] == ["tel:+250788700015", "tel:+13235550015",
                                                        "mailto:p15@example.org"]


def test_file_level_errors_come_back_from_the_reader_process(store, tmp_path):
    f = tmp_path / "c.csv"
    f.write_bytes(b"Name,,URN:Tel\n" + b"x,,0788\n" * 10)
    with pytest.raises(ImportFailed, match=r"^Import file contains an empty header\.$"):
        store.transfer.import_file(f, parallel=True)
    g = tmp_path / "latin1.csv"
    g.write_bytes(b"Name,URN:Tel\n" + "".join(f"Andr\u00e9,07885{i:05d}\n" for i in range(40000)).encode("utf-8")
                  + "Jos\u00e9,0788\n".encode("latin-1"))  # big: read by the reader process
    with pytest.raises(ImportFailed, match=r"is not UTF-8 text"):
        store.transfer.import_file(g, parallel=True)
    assert store.browse.count() == 0


# --- what is stored ------------------------------------------------------------------------------


def test_imported_contacts_are_stored_exactly_as_the_store_stores_its_own(store, tmp_path):
    made = store.contacts.create("Made", ["tel:+250788999999"])
    store.transfer.import_file(write_csv(tmp_path / "c.csv", [["Name", "URN:Tel"], ["Imported", "0788383383"]]))
    imported = store.contacts.get("tel:+250788383383")
    assert imported.name == "Imported" and re.fullmatch(r"[0-9a-f-]{36}", imported.uuid)
    with store.scope.engine.connect() as c:
        raw = dict(c.execute(text("SELECT uuid, created_on FROM contact")).all())
    assert type(raw[imported.uuid]) is type(raw[made.uuid])
    if store.scope.engine.dialect.name == "sqlite":  # text, in SQLAlchemy's format: no offset, microseconds
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", raw[imported.uuid])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", raw[made.uuid])
    assert store.contacts.get(made.uuid).name == "Made"
    later = store.contacts.create("Later", ["tel:+250788777777"])  # ids taken up front do not clash
    assert later.id > imported.id > made.id


def test_a_big_import_defers_the_plain_indexes_and_builds_them_again(store, tmp_path, monkeypatch):
    dropped = []
    real_drop = db.drop_plain_indexes

    def drop(conn, tables):
        dropped.append(real_drop(conn, tables))
        return dropped[-1]

    monkeypatch.setattr(db, "drop_plain_indexes", drop)
    monkeypatch.setattr(importer, "DEFER_INDEXES_FROM", 20)
    before = indexes(store)
    rows = [["Name", "URN:Tel"]] + [[f"P{i}", f"07885{i:05d}"] for i in range(60)]
    f = write_csv(tmp_path / "c.csv", rows)
    assert store.transfer.import_file(f, dry_run=True).created == 60
    assert store.transfer.import_file(f, chunk=10).created == 60
    assert indexes(store) == before
    if store.scope.engine.dialect.name == "sqlite":
        names = " ".join(s for statements in dropped for s in statements)
        assert len(dropped) == 2  # the dry run and the import
        assert "ix_contact_ws_name_id" in names and "ix_connection_contact_priority" in names
        assert "sqlite_autoindex" not in names  # unique constraints stay: they decide conflicts
    else:
        assert dropped == []  # PostgreSQL would lock readers out: nothing is dropped
    assert store.contacts.get("tel:+250788500059").name == "P59"
    # a workspace already bigger than the file keeps its indexes
    dropped.clear()
    g = write_csv(tmp_path / "d.csv", [["Name", "URN:Tel"]] + [[f"Q{i}", f"07886{i:05d}"] for i in range(30)])
    store.transfer.import_file(g)
    assert dropped == []


def test_readers_sharing_a_file_give_the_batches_of_one_reader(store, tmp_path):
    f, _ = _mixed_file(store, tmp_path)
    sheet = open_sheet(f)

    def summary(batch):
        return (batch.rows, batch.skipped, [p.row for p in batch.parsed], batch.named,
                [g if g is None or type(g) is tuple else g.row for g in batch.guesses])

    for chunk in (7, 37, 271, 1000):
        alone = [summary(b) for b in read_batches(sheet, "RW", None, chunk)]
        parts = [list(read_batches(sheet, "RW", None, chunk, part, 3)) for part in range(3)]
        shared = [summary(parts[i % 3][i // 3]) for i in range(sum(len(p) for p in parts))]
        assert shared == alone
        assert sum(rows for rows, *_ in alone) == 271


def test_the_created_ids_are_kept_as_runs_and_answer_membership_exactly():
    import random

    from ccconsole.store.importer import _Ranges

    rng = random.Random(5)
    for _ in range(300):
        ranges, ids = _Ranges(), set()
        for _ in range(20):
            if rng.random() < 0.4:  # a run, as SQLite gives (and PostgreSQL, without other writers)
                first = rng.randrange(200)
                new = list(range(first, first + rng.randint(1, 30)))
            else:  # sequence values interleaved with other sessions' ids
                new = rng.sample(range(230), rng.randint(0, 15))
            ranges.add(new)
            ids.update(new)
        assert [n for n in range(-5, 240) if n in ranges] == sorted(ids)
        assert all(start <= end for start, end in zip(ranges.starts, ranges.ends))
        assert all(end + 1 < start for start, end in zip(ranges.starts[1:], ranges.ends))  # disjoint, merged


def _readers_running() -> list[int]:
    """This process's reader processes, running or not yet reaped."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read()
                _, parent = open(f"/proc/{entry}/stat").read().rpartition(")")[2].split()[:2]
            except OSError:
                continue
            if b"ccconsole.files.sheets" in cmdline and int(parent) == os.getpid():  # even a zombie counts
                found.append(int(entry))
    return found


def test_cancelling_a_parallel_import_stops_its_readers_and_keeps_nothing(store, tmp_path):
    rows = [["Name", "URN:Tel"]] + [[f"P{i}", f"07885{i:05d}"] for i in range(60000)]
    f = write_csv(tmp_path / "big.csv", rows)
    seen = []
    with pytest.raises(ImportCancelled):
        store.transfer.import_file(f, chunk=1000, parallel=True,
                                   progress=lambda done, total: seen.append((done, total)),
                                   cancelled=lambda: len(seen) >= 3)
    assert seen[:3] == [(1000, 60000), (2000, 60000), (3000, 60000)]
    assert store.browse.count() == 0
    assert _readers_running() == []  # killed and reaped before import_file returned
    report = store.transfer.import_file(f, parallel=True)  # and the file imports in full afterwards
    assert (report.created, report.rows) == (60000, 60000) and store.browse.count() == 60000
    assert _readers_running() == []
