"""Import and export against SQLite and PostgreSQL (domain.md section 6): files as RapidPro and
spreadsheets make them, matching, append-only connections, file-level errors, dry runs, audit, and
the round trip of an export."""

from __future__ import annotations

import csv
import json
import os
import time
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from ccconsole.app import Workspace, open_workspace
from ccconsole.errors import StoreError
from ccconsole.store.importer import ImportCancelled, ImportFailed
from ccconsole.store.models import AuditEvent, Connection, Contact, FieldValue, GroupMembership
from tests.store_helpers import demo_store, rw_store


def write_csv(path: Path, rows, *, bom=False, delimiter=",", encoding="utf-8") -> Path:
    with path.open("w", encoding=("utf-8-sig" if bom else encoding), newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def dump(store: Workspace) -> dict:
    """Everything an import could change about contacts."""
    with store.scope.engine.connect() as c:
        return {
            "contacts": c.execute(select(Contact.id, Contact.uuid, Contact.name, Contact.language, Contact.status,
                                         Contact.version, Contact.modified_on, Contact.deleted_on)
                                  .order_by(Contact.id)).all(),
            "connections": c.execute(select(Connection.id, Connection.contact_id, Connection.identity,
                                            Connection.priority, Connection.affinity_channel_id,
                                            Connection.affinity_since, Connection.display)
                                     .order_by(Connection.id)).all(),
            "fields": c.execute(select(FieldValue.contact_id, FieldValue.field_id, FieldValue.value)
                                .order_by(FieldValue.contact_id, FieldValue.field_id)).all(),
            "groups": c.execute(select(GroupMembership.contact_id, GroupMembership.group_id)
                                .order_by(GroupMembership.contact_id, GroupMembership.group_id)).all(),
        }


@pytest.fixture
def store(backend_url):
    s = rw_store(backend_url)
    yield s
    s.close()


def identities(store, ref):
    return [c.identity for c in store.contacts.get(ref).connections]


# --- matching and appending ----------------------------------------------------------------------


def test_import_creates_updates_and_appends_connections_last(store, tmp_path):
    jane = store.contacts.create("Jane", ["tel:+250788383383", "mailto:jane@example.org"], fields={"age": "30"})
    f = write_csv(tmp_path / "c.csv", [
        ["Contact UUID", "Name", "URN:Tel", "URN:Tel", "Field:Age", "Field:District"],
        [jane.uuid, "", "0788383383", "+49 171 2345678", "31", ""],
        ["", "New Person", "0788999999", "", "0", "Gasabo"],
        ["", "", "", "", "", ""],
        ["", "Bob", "", "", "", ""],
    ])
    report = store.transfer.import_file(f)
    assert (report.created, report.updated, report.unchanged, report.errored, report.skipped, report.rows) == \
        (1, 1, 0, 0, 1, 3)
    after = store.contacts.get(jane.uuid)
    assert [c.identity for c in after.connections] == ["tel:+250788383383", "mailto:jane@example.org",
                                                       "tel:+491712345678"]
    assert after.name == "Jane"  # blank keeps
    assert dict(after.fields) == {"age": "31"}
    assert after.version == jane.version + 1
    new = store.contacts.get("tel:+250788999999")
    assert new.name == "New Person" and dict(new.fields) == {"age": "0", "district": "Gasabo"}
    assert store.browse.count() == 2  # the name-only row was skipped


def test_a_row_naming_one_of_janes_numbers_updates_jane(store, tmp_path):
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    f = write_csv(tmp_path / "c.csv", [["URN:Tel", "URN:Mailto", "Language"],
                                       ["+250 788 383 383", "jane@example.org", "kin"]])
    report = store.transfer.import_file(f)
    assert (report.created, report.updated) == (0, 1)
    after = store.contacts.get(jane.uuid)
    assert identities(store, jane.uuid) == ["tel:+250788383383", "mailto:jane@example.org"]
    assert after.language == "kin"


def test_unmatched_rows_apply_nothing_and_bad_items_are_skipped_with_their_errors(store, tmp_path):
    # issue 16 item 10 changed this test: rows 4 and 5 were whole-row errors; as in RapidPro's engine,
    # the invalid or taken connection is skipped with its error and the rest of the row applies
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    bob = store.contacts.create("Bob", ["tel:+250788000111"])
    f = write_csv(tmp_path / "c.csv", [
        ["UUID", "Name", "URN:Tel", "URN:Tel", "URN:Mailto"],
        ["", "Both", "0788383383", "0788000111", "both@example.org"],
        ["no-such-uuid", "Ghost", "", "", ""],
        [jane.uuid, "Jane Taken", "0788000112", "", "bad email"],
        [bob.uuid, "Bob Steals", "", "", "jane2@example.org"],
        [jane.uuid.upper() + "x", "", "", "", ""],
    ])
    store.contacts.create("Owner", ["mailto:jane2@example.org"])
    report = store.transfer.import_file(f)
    assert [(e.row, e.message) for e in report.errors] == [
        (2, "Unable to find or create contact with URNs tel:+250788383383, tel:+250788000111, mailto:both@example.org"),
        (3, "Unable to find contact with UUID 'no-such-uuid'"),
        (4, "'mailto:bad email' is not valid URN"),
        (5, "URN mailto:jane2@example.org already taken by another contact"),
        (6, f"Unable to find contact with UUID '{jane.uuid}x'"),  # UUIDs are read lowercased
    ]
    assert (report.errored, report.error_count, report.created, report.updated) == (3, 5, 0, 2)
    assert store.contacts.get(jane.uuid).name == "Jane Taken"
    assert identities(store, jane.uuid) == ["tel:+250788383383", "tel:+250788000112"]
    assert store.contacts.get(bob.uuid).name == "Bob Steals" and identities(store, bob.uuid) == ["tel:+250788000111"]
    assert store.contacts.owners(["mailto:both@example.org", "mailto:bad email"]) == {}
    assert store.contacts.get("mailto:jane2@example.org").name == "Owner"


def test_clear_mark_clears_and_zero_is_a_value(store, tmp_path):
    jane = store.contacts.create("Jane", ["tel:+250788383383"], language="eng",
                                 fields={"age": "30", "district": "Huye"})
    f = write_csv(tmp_path / "c.csv", [["UUID", "Name", "Language", "Field:Age", "Field:District"],
                                       [jane.uuid, " -- ", "--", "0", "--"]])
    store.transfer.import_file(f)
    after = store.contacts.get(jane.uuid)
    assert (after.name, after.language, dict(after.fields)) == ("", None, {"age": "0"})


def test_a_detached_connection_is_claimed_again_without_its_old_affinity(store, tmp_path):
    old = store.contacts.create("Old", ["tel:+250788383383"])
    store.messages.receive("MTN", "tel:+250788383383", "hi")
    store.contacts.delete(old.uuid)
    f = write_csv(tmp_path / "c.csv", [["URN:Tel", "Name"], ["0788383383", "Claimer"]])
    report = store.transfer.import_file(f)
    assert report.created == 1
    new = store.contacts.get("tel:+250788383383")
    assert new.name == "Claimer" and new.connections[0].affinity_channel_id is None
    with store.scope.engine.connect() as c:  # the same row, re-attached (message history stays linked)
        assert c.execute(select(Connection.id).where(Connection.identity == "tel:+250788383383")).all() == \
            [(new.connections[0].id,)]


def test_two_rows_for_one_contact_in_one_file(store, tmp_path):
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    f = write_csv(tmp_path / "c.csv", [["UUID", "URN:Mailto", "URN:Tel", "Field:Age"],
                                       [jane.uuid, "jane@example.org", "", "1"],
                                       ["", "", "0788383383", "2"]])
    report = store.transfer.import_file(f, chunk=1)
    assert report.updated == 2
    assert identities(store, jane.uuid) == ["tel:+250788383383", "mailto:jane@example.org"]
    assert dict(store.contacts.get(jane.uuid).fields) == {"age": "2"}
    report = store.transfer.import_file(f)  # the same rows in one chunk: age 1 then 2 again, the same end state
    assert (report.updated, report.unchanged) == (2, 0)
    assert identities(store, jane.uuid) == ["tel:+250788383383", "mailto:jane@example.org"]
    assert dict(store.contacts.get(jane.uuid).fields) == {"age": "2"}


# --- file-level errors: nothing written ----------------------------------------------------------


def test_a_duplicate_late_in_the_file_rejects_everything(store, tmp_path):
    rows = [["URN:Tel", "Name"]] + [[f"07885{i:05d}", f"P{i}"] for i in range(50)] + [["0788500003", "Again"]]
    f = write_csv(tmp_path / "c.csv", rows)
    before = dump(store)
    seq = store.change_seq()
    with pytest.raises(ImportFailed) as err:
        store.transfer.import_file(f, chunk=10)
    assert str(err.value) == "Import file contains duplicated contact URN 'tel:+250788500003' on row 52."
    assert dump(store) == before and store.change_seq() == seq


def test_duplicated_uuid(store, tmp_path):
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    f = write_csv(tmp_path / "c.csv", [["UUID", "Name"], [jane.uuid, "A"], [jane.uuid, "B"]])
    with pytest.raises(ImportFailed, match=rf"^Import file contains duplicated contact UUID '{jane.uuid}' on row 3\.$"):
        store.transfer.import_file(f)
    assert store.contacts.get(jane.uuid).name == "Jane"


@pytest.mark.parametrize("content, message", [
    (b"", "Import file appears to be empty."),
    (b"\n\n", "Import file appears to be empty."),
    (b"URN:Tel,Name\n", "Import file doesn't contain any records."),
    (b"URN:Tel,Name\n,\n ,\n", "Import file doesn't contain any records."),
    (b"Name,,URN:Tel\nx,,0788\n", "Import file contains an empty header."),
    (b"URN:Fax,Name\n1,x\n", "Header 'URN:Fax' is not a valid URN type."),
    (b"Name,Phone\nx,1\n", "Import files must contain either UUID or a URN header."),
    (b"UUID\nabc\n", "Import files must contain columns besides UUID."),
])
def test_file_level_messages(store, tmp_path, content, message):
    f = tmp_path / "c.csv"
    f.write_bytes(content)
    with pytest.raises(ImportFailed) as err:
        store.transfer.import_file(f)
    assert str(err.value) == message


@pytest.mark.parametrize("name, content, fragment", [
    ("latin1.csv", "URN:Tel,Name\n0788383383,Jos\xe9\n".encode("latin-1"), "is not UTF-8 text"),
    ("binary.csv", bytes(range(256)) * 4, "is not a spreadsheet"),
    ("excel-unicode.csv", "URN:Tel\tName\n0788\tJos\xe9\n".encode("utf-16"), "is UTF-16 text"),
    ("fake.xlsx", b"this is plain text, not a workbook", "not a valid .xlsx workbook"),
    ("corrupt.xlsx", b"PK\x03\x04" + b"\x00garbage" * 100, "Cannot read corrupt.xlsx"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old .xls workbook"),
    ("missing.csv", None, "No such file"),
])
def test_unreadable_files_get_a_clear_message(store, tmp_path, name, content, fragment):
    f = tmp_path / name
    if content is not None:
        f.write_bytes(content)
    before = dump(store)
    with pytest.raises(StoreError) as err:
        store.transfer.import_file(f)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)
    assert dump(store) == before


def test_non_utf8_late_in_a_big_csv_rolls_everything_back(store, tmp_path):
    f = tmp_path / "c.csv"
    body = "URN:Tel,Name\n" + "".join(f"07885{i:05d},P{i}\n" for i in range(9000))
    f.write_bytes(body.encode() + "0788999999,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(ImportFailed, match="not UTF-8"):
        store.transfer.import_file(f, chunk=500)
    assert store.browse.count() == 0


# --- spreadsheet realities -----------------------------------------------------------------------


def test_bom_and_sniffed_delimiters(store, tmp_path):
    for i, (bom, delim) in enumerate([(True, ","), (False, ";"), (True, "\t"), (False, "|")]):
        f = write_csv(tmp_path / f"c{i}.csv", [["URN:Tel", "Name", "Field:Note"], [f"078838338{i}", f"P{i}", "a,b;c"]],
                      bom=bom, delimiter=delim)
        report = store.transfer.import_file(f)
        assert report.created == 1, (bom, delim, report)
        view = store.contacts.get(f"tel:+25078838338{i}")
        assert view.name == f"P{i}" and dict(view.fields) == {"note": "a,b;c"}


def test_xlsx_numbers_dates_times_formulas_and_trailing_columns(store, tmp_path):
    f = write_xlsx(tmp_path / "c.xlsx", [
        [" urn:TEL ", "name ", "Field:Born", "Field:At", "Field:Count", "Field:Calc", None, None],
        [250788383383, "Jane", datetime(1990, 5, 17, 8, 30), None, 12.0, "=1+1", None, None],
        [2.50788000111e+11, 1234, None, None, 0, None],
        [None, None, None, None, None, None, None, None],
        ["0788000222", "  Spaced  ", None, None, None, None],
    ])
    from datetime import time as dtime

    wb = openpyxl.load_workbook(f)
    wb.active["D2"] = dtime(14, 5, 9)
    wb.save(f)
    _set_cached_formula_value(f, "F2", "2")
    report = store.transfer.import_file(f)
    assert (report.created, report.errored, report.rows) == (3, 0, 3)
    jane = store.contacts.get("tel:+250788383383")
    assert dict(jane.fields) == {"born": "1990-05-17T08:30:00+00:00", "at": "14:05:09", "count": "12", "calc": "2"}
    assert store.contacts.get("tel:+250788000111").name == "1234"
    assert store.contacts.get("tel:+250788000222").name == "Spaced"


def _set_cached_formula_value(path: Path, ref: str, value: str) -> None:
    """Give a formula cell the value a spreadsheet application would have cached in the file."""
    with zipfile.ZipFile(path) as z:
        items = {n: z.read(n) for n in z.namelist()}
    name = "xl/worksheets/sheet1.xml"
    xml = items[name].decode()
    start = xml.index(f'<c r="{ref}"')
    end = xml.index("</c>", start)
    cell = xml[start:end]
    items[name] = (xml[:start] + cell.replace("<v />", f"<v>{value}</v>").replace("<v></v>", f"<v>{value}</v>")
                   + xml[end:]).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in items.items():
            z.writestr(n, data)


def test_dates_use_the_workspace_timezone(store, tmp_path):
    store.update(timezone_name="Africa/Kigali")
    f = write_xlsx(tmp_path / "c.xlsx", [["URN:Tel", "Field:Born"], ["0788383383", datetime(2020, 1, 2, 3, 4, 5)]])
    store.transfer.import_file(f)
    assert dict(store.contacts.get("tel:+250788383383").fields) == {"born": "2020-01-02T03:04:05+02:00"}


def test_only_the_active_sheet_is_read(store, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Other"
    wb.active.append(["URN:Tel", "Name"])
    wb.active.append(["0788000001", "From other"])
    main = wb.create_sheet("Main")
    main.append(["URN:Tel", "Name"])
    main.append(["0788000002", "From main"])
    wb.active = 1
    wb.save(tmp_path / "c.xlsx")
    assert store.transfer.import_file(tmp_path / "c.xlsx").created == 1
    assert store.contacts.get("tel:+250788000002").name == "From main"
    assert store.browse.count() == 1


# --- dry run, audit, cancel ----------------------------------------------------------------------


def test_dry_run_reports_exactly_what_the_import_does_and_changes_nothing(store, tmp_path):
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    rows = [["UUID", "URN:Tel", "Name"], [jane.uuid, "0788111222", "Jane"], ["", "0788383383", "X"],
            ["", "0788999000", "New"], ["nope", "", "Z"]]
    f = write_csv(tmp_path / "c.csv", rows)
    before, seq = dump(store), store.change_seq()
    dry = store.transfer.import_file(f, dry_run=True)
    assert dump(store) == before and store.change_seq() == seq
    real = store.transfer.import_file(f)
    assert dry.dry_run and not real.dry_run
    assert (dry.created, dry.updated, dry.unchanged, dry.errored, dry.errors) == \
        (real.created, real.updated, real.unchanged, real.errored, real.errors) == (1, 2, 0, 1, dry.errors)


def test_import_is_audited_and_signals_one_change(store, tmp_path):
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    seq = store.change_seq()
    f = write_csv(tmp_path / "c.csv", [["UUID", "URN:Mailto", "Name"], [jane.uuid, "jane@example.org", "Jane D"],
                                       ["", "new@example.org", "New"]])
    store.transfer.import_file(f)
    assert store.change_seq() == seq + 1
    with store.scope.engine.connect() as c:
        events = c.execute(select(AuditEvent.action, AuditEvent.contact_id, AuditEvent.after, AuditEvent.actor)
                           .where(AuditEvent.action.like("%import%")).order_by(AuditEvent.id)).all()
    assert [(a, cid) for a, cid, _, _ in events] == [("contact.import.update", jane.id), ("contacts.import", None)]
    # the one audit format (core.changes): snapshots before and after, plus the row it came from
    assert json.loads(events[0][2]) == {"import_row": 2, "name": "Jane D", "status": "active", "language": None,
                                        "connections": [["tel:+250788383383", None],
                                                        ["mailto:jane@example.org", None]], "fields": {}}
    # ... which the contact's history and the audit log read like any other change
    change = store.history.contact(jane.id).changes[0]
    assert (change.action, change.lines) == ("contact.import.update", ("+ mailto:jane@example.org",))
    entry = store.audit.page(contact_id=jane.id, limit=1)[0]
    assert entry.summary == ("Name: Jane → Jane D; Connections: tel:+250788383383 → "
                             "tel:+250788383383, mailto:jane@example.org")
    summary = json.loads(events[1][2])
    assert summary["created"] == 1 and summary["updated"] == 1 and summary["file"] == "c.csv"
    assert {e[3] for e in events} == {"tester"}


def test_cancel_rolls_everything_back(store, tmp_path):
    f = write_csv(tmp_path / "c.csv", [["URN:Tel"]] + [[f"07885{i:05d}"] for i in range(100)])
    seen = []
    with pytest.raises(ImportCancelled):
        store.transfer.import_file(f, chunk=10, progress=lambda done, total: seen.append((done, total)),
                    cancelled=lambda: len(seen) >= 3)
    assert store.browse.count() == 0
    assert seen[:3] == [(10, 100), (20, 100), (30, 100)]


def test_read_only_store_cannot_import(backend_url, tmp_path):
    rw_store(backend_url).close()
    ro = open_workspace(backend_url, read_only=True)
    f = write_csv(tmp_path / "c.csv", [["URN:Tel"], ["0788383383"]])
    with pytest.raises(StoreError, match="read-only"):
        ro.transfer.import_file(f)
    ro.close()


# --- export --------------------------------------------------------------------------------------


@pytest.fixture
def demo(backend_url):
    # clean: the demo's dirt includes local numbers that are another contact's number, which the import
    # rules read as that number (a file naming one number twice is refused: see the test below)
    s = demo_store(backend_url, dirt=False)
    yield s
    s.close()


def test_a_dirty_export_is_refused_on_reimport_with_the_row_named(backend_url, tmp_path):
    s = demo_store(backend_url)
    try:
        path = tmp_path / "dirty.csv"
        s.transfer.export_file(path)
        seq = s.change_seq()
        with pytest.raises(StoreError, match=r"duplicated contact URN 'tel:\+250\d+' on row \d+"):
            s.transfer.import_file(path)
        assert s.change_seq() == seq
    finally:
        s.close()


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_an_export_reimports_with_no_change_at_all(demo, tmp_path, ext):
    before = dump(demo)
    report = demo.transfer.export_file(tmp_path / f"all.{ext}")
    assert report.contacts == 400
    result = demo.transfer.import_file(tmp_path / f"all.{ext}")
    assert (result.created, result.updated, result.errored, result.unchanged) == (0, 0, 0, 400), result.errors[:3]
    assert dump(demo) == before
    demo.transfer.export_file(tmp_path / f"again.{ext}")
    if ext == "csv":
        assert (tmp_path / "all.csv").read_bytes() == (tmp_path / "again.csv").read_bytes()


def test_export_columns_and_values(demo, tmp_path):
    demo.transfer.export_file(tmp_path / "all.csv")
    with (tmp_path / "all.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[:6] == ["Contact UUID", "Name", "Language", "Status", "Created On", "Last Seen On"]
    urn_headers = [h for h in header if h.startswith("URN:")]
    assert urn_headers == sorted(urn_headers) and "URN:Tel" in urn_headers
    first_field = header.index("Field:Age")
    assert all(h.startswith("URN:") for h in header[6:first_field])
    assert header[first_field:first_field + 2] == ["Field:Age", "Field:District"]
    assert all(h.startswith("Group:") for h in header[first_field + 2:])
    by_uuid = {r[0]: dict(zip(range(len(header)), r)) for r in rows[1:]}
    view = demo.contacts.get(rows[1][0])
    tel_cols = [i for i, h in enumerate(header) if h == "URN:Tel"]
    tels = [c.identity.split(":", 1)[1] for c in view.connections if c.scheme == "tel"]
    assert [by_uuid[view.uuid][i] for i in tel_cols][:len(tels)] == tels
    assert rows[1][4].endswith("+02:00")  # Created On in the workspace's time zone (Africa/Kigali)


def test_export_query_selects_contacts(demo, tmp_path):
    n = demo.browse.count("Jane")
    assert 0 < n < 400
    report = demo.transfer.export_file(tmp_path / "jane.csv", query="Jane")
    assert report.contacts == n
    with (tmp_path / "jane.csv").open(encoding="utf-8-sig") as f:
        assert sum(1 for _ in f) == n + 1


def test_csv_export_defuses_formulas_keeps_phone_numbers_and_reimports_unchanged(store, tmp_path):
    evil = store.contacts.create("=HYPERLINK(\"http://x\",\"y\")", ["tel:+250788383383", "ext:-cmd"],
                                fields={"note": "@SUM(A1)", "minus": "-5", "dash": "--", "quoted": "'=x"})
    store.transfer.export_file(tmp_path / "e.csv")
    with (tmp_path / "e.csv").open(encoding="utf-8-sig", newline="") as f:
        header, row = list(csv.reader(f))
    cells = dict(zip(header, row))
    assert cells["Name"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert cells["URN:Tel"] == "+250788383383"
    assert cells["URN:Ext"] == "'-cmd"
    assert (cells["Field:note"] if "Field:note" in cells else cells["Field:Note"]) == "'@SUM(A1)"
    assert all(not v.startswith(("=", "+", "-", "@")) for k, v in cells.items() if k != "URN:Tel")
    before = dump(store)
    report = store.transfer.import_file(tmp_path / "e.csv")
    assert (report.unchanged, report.errored) == (1, 0)
    assert dump(store) == before
    assert dict(store.contacts.get(evil.uuid).fields)["dash"] == "--"


def test_xlsx_export_writes_text_never_formulas(store, tmp_path):
    store.contacts.create("=1+2", ["tel:+250788383383"], fields={"esc": "a\x1bb"})
    store.transfer.export_file(tmp_path / "e.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "e.xlsx").active
    header = [c.value for c in ws[1]]
    row = {h: c for h, c in zip(header, ws[2])}
    assert row["Name"].value == "=1+2" and row["Name"].data_type == "s"
    assert row["URN:Tel"].value == "+250788383383"
    assert store.transfer.import_file(tmp_path / "e.xlsx").unchanged == 1


def test_export_to_a_bad_place_is_a_clear_error_and_leaves_no_file(store, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(StoreError, match="folder"):
        store.transfer.export_file(out)
    with pytest.raises(StoreError, match=r"\.xlsx or \.csv"):
        store.transfer.export_file(out / "x.pdf")
    (out / "locked").mkdir(mode=0o500)
    if os.geteuid() != 0:  # root writes anywhere
        with pytest.raises(StoreError, match="Cannot write"):
            store.transfer.export_file(out / "locked" / "x.csv")
    assert [p.name for p in out.iterdir()] == ["locked"]
    assert list((out / "locked").iterdir()) == []


def test_many_connection_columns_in_one_chunk(store, tmp_path):
    """1,200 rows × 30 connection columns: more identities in one chunk than SQLite binds in one query."""
    cols = 30
    rows = [["Name"] + ["URN:Telegram"] * cols]
    rows += [[f"P{r}"] + [str(10_000_000 + r * cols + c) for c in range(cols)] for r in range(1200)]
    report = store.transfer.import_file(write_csv(tmp_path / "wide.csv", rows))
    assert (report.created, report.errored) == (1200, 0)
    assert identities(store, "telegram:10000030")[:2] == ["telegram:10000030", "telegram:10000031"]
    assert len(identities(store, "telegram:10000030")) == cols


# --- issue 16 item 8: hostile files end in one clear line, nothing written ------------------------


def _truncate_member(path: Path, member: str, keep: float = 0.5) -> None:
    with zipfile.ZipFile(path) as z:
        items = {n: z.read(n) for n in z.namelist()}
    items[member] = items[member][:int(len(items[member]) * keep)]
    with zipfile.ZipFile(path, "w") as z:
        for n, data in items.items():
            z.writestr(n, data)


@pytest.mark.parametrize("parallel", [False, True])
def test_a_truncated_sheet_in_an_xlsx_is_one_clear_line(store, tmp_path, parallel):
    f = write_xlsx(tmp_path / "cut.xlsx", [["URN:Tel", "Name"]] + [[f"07885{i:05d}", f"P{i}"] for i in range(300)])
    _truncate_member(f, "xl/worksheets/sheet1.xml")
    assert f.stat().st_size < 512 * 1024  # small: read in this process unless parallel is forced
    before = dump(store)
    with pytest.raises(ImportFailed) as err:
        store.transfer.import_file(f, parallel=parallel)
    assert str(err.value).startswith("Cannot read cut.xlsx: the workbook is corrupt (")  # the corrupt-file wording
    assert "\n" not in str(err.value)
    assert dump(store) == before


def _csv_bytes(lines: list[str]) -> bytes:
    return "".join(lines).encode()


def test_an_unclosed_quote_rejects_the_file_naming_the_row_where_it_opened(store, tmp_path):
    f = tmp_path / "quote.csv"
    f.write_bytes(_csv_bytes(['URN:Tel,Name\n', '0788000001,"Multi\nLine"\n', '0788000002,"Bo\n', '0788000003,C\n',
                              '0788000004,D\n']))
    before = dump(store)
    with pytest.raises(ImportFailed) as err:
        store.transfer.import_file(f)
    assert str(err.value) == ("Cannot read quote.csv: the quote opened in row 3 (line 4) is never closed, so the "
                              "rest of the file would be read as one cell. Close the quote and import it again.")
    assert dump(store) == before
    # a quoted cell with a line break, closed, at the very end (with or without a last line break) is fine
    for end in ("\n", ""):
        f.write_bytes(_csv_bytes(['URN:Tel,Name\n', f'0788000001,"Multi\nLine"{end}']))
        assert store.transfer.import_file(f, dry_run=True).created == 1


@pytest.mark.parametrize("parallel", [False, True])
def test_an_unclosed_quote_before_a_big_rest_names_its_row_too(store, tmp_path, parallel):
    f = tmp_path / "big.csv"
    rows = [f"07885{i:05d},P{i}\n" for i in range(30000)]
    rows.insert(10, '0788999999,"Open\n')
    f.write_bytes(_csv_bytes(["URN:Tel,Name\n", *rows]))
    with pytest.raises(ImportFailed) as err:
        store.transfer.import_file(f, parallel=parallel)
    assert str(err.value) == ("Cannot read big.csv: a cell of row 12 (from line 12) is longer than 131,072 characters; "
                              "most likely a quote opened there is never closed.")
    assert store.browse.count() == 0


def test_a_named_pipe_or_a_device_is_refused_at_once(store, tmp_path):
    import threading

    fifo = tmp_path / "contacts.csv"
    os.mkfifo(fifo)
    outcome: dict = {}

    def run():
        try:
            outcome["report"] = store.transfer.import_file(fifo)
        except StoreError as err:
            outcome["error"] = str(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # it waits for a writer: feed it until it gives up, then fail
        deadline = time.monotonic() + 20
        while worker.is_alive() and time.monotonic() < deadline:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.05)
                continue
            os.write(fd, b"URN:Tel\n0788383383\n")
            os.close(fd)
        pytest.fail("importing a named pipe waited for a writer")
    assert outcome == {"error": f"{fifo} is a named pipe, not a file: save the contacts to a .csv or .xlsx file "
                                "and import that."}
    with pytest.raises(ImportFailed, match=r"^/dev/null is a device, not a file"):
        store.transfer.import_file("/dev/null")
    assert store.browse.count() == 0


def test_a_nul_is_a_row_error_on_both_backends(store, tmp_path):
    rows = [["URN:Tel", "Name", "Field:Note"]] + [[f"07885{i:05d}", f"Person {i:05d} padding", "x"]
                                                   for i in range(2500)]
    rows.insert(2400, ["0788999001", "Nul\x00Name", ""])
    rows.insert(2401, ["0788999002", "Fine", "nul\x00note"])
    f = write_csv(tmp_path / "nul.csv", rows)
    assert f.read_bytes().index(b"\x00") > 64 * 1024  # past the sniffed head, where binary files are told apart
    report = store.transfer.import_file(f, parallel=False)
    assert [(e.row, e.message) for e in report.errors] == [
        (2401, "The 'Name' cell contains a NUL character, which cannot be stored; the row is not imported."),
        (2402, "The 'Field:Note' cell contains a NUL character, which cannot be stored; the row is not imported."),
    ]
    assert (report.created, report.errored) == (2500, 2)
    assert store.contacts.owners(["tel:+250788999001", "tel:+250788999002"]) == {}
    g = write_xlsx(tmp_path / "nul.xlsx", [["URN:Tel", "Name"], ["0788999003", "Ja_x0000_ne"], ["0788999004", "Ok"]])
    report = store.transfer.import_file(g)
    assert [(e.row, e.message) for e in report.errors] == [
        (2, "The 'Name' cell contains a NUL character, which cannot be stored; the row is not imported.")]
    assert report.created == 1


# --- issue 16 item 9: an export re-imports with no change, whatever the values --------------------

HOSTILE = ["--", " -- ", "  pad  ", "\tlead", "\rcr", "trail\t", "a\rb", "a\r\nb", "'", "' ", " '", "'quoted'",
           "x '", "''=x", "=1+1", "+cmd|' /C calc'!A0", "@x", "-2", "\u00a0nbsp\u00a0", "\x1fsep", "e\x1bx", "_x0041_",
           "line\n", "\ufeffbom"]


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_an_export_of_hostile_values_reimports_with_no_change(store, tmp_path, ext):
    from sqlalchemy import update

    made = []
    for i, value in enumerate(HOSTILE):
        urns = [f"tel:+2507883{i:05d}"]
        if value == value.strip():  # (the app trims a connection's path)
            urns.append(f"ext:{value}")
        made.append(store.contacts.create(value, urns, fields={"note": value, "other": f"{i}"}))
    with store.scope.engine.begin() as c:  # names the app would trim, as other writers may have stored them
        for view, value in zip(made, HOSTILE):
            c.execute(update(Contact).where(Contact.id == view.id).values(name=value))
    before = dump(store)
    store.transfer.export_file(tmp_path / f"e.{ext}")
    report = store.transfer.import_file(tmp_path / f"e.{ext}")
    assert (report.created, report.updated, report.errored, report.error_count, report.unchanged) == \
        (0, 0, 0, 0, len(HOSTILE)), report.errors
    assert dump(store) == before
    dashes = store.contacts.get(made[0].uuid)
    assert dashes.name == "--" and dict(dashes.fields)["note"] == "--"


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_files_written_without_the_encoding_are_trimmed_and_clear_with_dashes(store, tmp_path, ext):
    jane = store.contacts.create("Jane", ["tel:+250788383383"], fields={"note": "n", "district": "Huye"})
    rows = [["Contact UUID", "Name", "Field:Note", "Field:District", "Field:Extra"],
            [jane.uuid, "  Jane Padded  ", " -- ", "\tKicukiro\t", "'kept as typed'"]]
    f = write_csv(tmp_path / "rp.csv", rows) if ext == "csv" else write_xlsx(tmp_path / "rp.xlsx", rows)
    store.transfer.import_file(f)
    after = store.contacts.get(jane.uuid)
    assert after.name == "Jane Padded"
    assert dict(after.fields) == {"district": "Kicukiro", "extra": "'kept as typed'"}


# --- issue 16 item 10: RapidPro's rules ------------------------------------------------------------


@pytest.mark.parametrize("header", ["Field: #$^%", "Field:Name", "Field: Created On", "Field:tel", "Field:URNs"])
def test_an_invalid_or_reserved_field_header_rejects_the_file(store, tmp_path, header):
    f = write_csv(tmp_path / "c.csv", [["URN:Tel", header], ["0788383383", "x"]])
    before = dump(store)
    with pytest.raises(ImportFailed) as err:
        store.transfer.import_file(f)
    assert str(err.value) == f"Header '{header}' is not a valid field name."
    assert dump(store) == before


def test_uuids_match_whatever_their_case_and_count_once_for_duplicates(store, tmp_path):
    jane = store.contacts.create("Jane", ["tel:+250788383383"])
    f = write_csv(tmp_path / "c.csv", [["UUID", "Name"], [jane.uuid.upper(), "Jane Upper"]])
    report = store.transfer.import_file(f)
    assert (report.updated, report.errored) == (1, 0)
    assert store.contacts.get(jane.uuid).name == "Jane Upper"
    g = write_csv(tmp_path / "d.csv", [["UUID", "Name"], [jane.uuid.upper(), "A"], [f" {jane.uuid} ", "B"]])
    with pytest.raises(ImportFailed) as err:
        store.transfer.import_file(g)
    assert str(err.value) == f"Import file contains duplicated contact UUID '{jane.uuid}' on row 3."


@pytest.mark.parametrize("parallel", [False, True])
def test_a_row_with_bad_items_creates_or_updates_and_lists_them(store, tmp_path, parallel):
    jane = store.contacts.create("Jane", ["tel:+250788383383"], language="eng")
    store.contacts.create("Owner", ["mailto:taken@example.org"])
    rows = [["UUID", "Name", "Language", "Status", "URN:Tel", "URN:Mailto", "Field:Age"]]
    rows += [["", f"Filler {i}", "", "", f"07885{i:05d}", "", ""] for i in range(20000)]  # parallel: a big file
    rows += [["", "New Bad", "english", "sleeping", "0788999999", "not-an-email", "7"],
             ["", "Only Bad", "", "", "", "x@", ""],
             [jane.uuid, "Jane B", "xx", "blocked", "0788999998", "taken@example.org", "41"]]
    f = write_csv(tmp_path / "c.csv", rows)
    report = store.transfer.import_file(f, parallel=parallel)
    n = len(rows)
    assert [(e.row, e.message) for e in report.errors] == [
        (n - 2, "'mailto:not-an-email' is not valid URN"),
        (n - 2, "Language 'english' is not an ISO-639-3 code such as eng."),
        (n - 2, "Status 'sleeping' is not one of active, blocked, stopped, archived."),
        (n - 1, "'mailto:x@' is not valid URN"),
        (n, "URN mailto:taken@example.org already taken by another contact"),
        (n, "Language 'xx' is not an ISO-639-3 code such as eng."),
    ]
    assert (report.created, report.updated, report.errored, report.error_count) == (20002, 1, 0, 6)
    new = store.contacts.get("tel:+250788999999")
    assert (new.name, new.language, new.status, dict(new.fields)) == ("New Bad", None, "active", {"age": "7"})
    assert [c.identity for c in new.connections] == ["tel:+250788999999"]
    assert store.browse.count("Only Bad") == 1  # RapidPro creates it, without the invalid connection
    after = store.contacts.get(jane.uuid)
    assert (after.name, after.language, after.status, dict(after.fields)) == ("Jane B", "eng", "blocked", {"age": "41"})
    assert identities(store, jane.uuid) == ["tel:+250788383383", "tel:+250788999998"]


def test_placeholder_phone_cells_are_no_duplicates_of_each_other(store, tmp_path):
    # found by test_import_properties.py: "-" twice in the phone column rejected the whole file
    f = write_csv(tmp_path / "c.csv", [["URN:Tel", "Name"], ["-", "A"], ["-", "B"], ["0788383383", "C"]])
    report = store.transfer.import_file(f, chunk=1)
    assert (report.created, report.errored) == (3, 0)
    assert [(e.row, e.message) for e in report.errors] == [(2, "'tel:-' is not valid URN"),
                                                           (3, "'tel:-' is not valid URN")]
