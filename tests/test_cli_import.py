"""``ccconsole import`` and ``ccconsole export`` through the real entry point, and scenario S5
("import adds, never replaces") as staff would run it from the command line."""

from __future__ import annotations

import csv
from pathlib import Path

from ccconsole.app import open_workspace
from tests.test_cli import as_json, make_db, ok, run, run_many, user_error


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def write_csv(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def test_s5_import_adds_never_replaces(tmp_path):
    url = make_db(tmp_path / "s5.db", country="US")
    store = open_workspace(url, actor="setup")
    jane = store.contacts.create("Jane Doe", ["tel:+13233754866", "tel:+4917123456789", "mailto:jane@example.org"],
                                fields={"age": "30"})
    bob = store.contacts.create("Bob", ["tel:+13235550100"])
    store.close()
    export = tmp_path / "workspace.csv"
    ok(run("export", str(export), "--db", url))
    rows = read_csv(export)
    header = rows[0]
    # the edit: Jane gets a new number (in a new URN:Tel column) and a new age
    header.append("URN:Tel")
    for r in rows[1:]:
        r.append("")
    jane_row = next(r for r in rows if r[0] == jane.uuid)
    jane_row[-1] = "(323) 641-0000"
    jane_row[header.index("Field:age")] = "31"
    # a file names each number once (else the whole file is rejected as a duplicate), so the numbers
    # that the extra rows below name are blanked in the exported rows: a blank cell removes nothing
    tel = header.index("URN:Tel")
    assert jane_row[tel:tel + 2] == ["+13233754866", "+4917123456789"]
    jane_row[tel:tel + 2] = ["", ""]
    bob_row = next(r for r in rows if r[0] == bob.uuid)
    bob_row[tel] = ""
    blank = [""] * len(header)
    by_number = list(blank)
    by_number[header.index("URN:Tel")] = "+49 171 23456789"
    by_number[header.index("Name")] = "Jane D."
    two_owners = list(blank)
    two_owners[header.index("URN:Tel")] = "+1 323 375 4866"
    two_owners[header.index("URN:Tel") + 1] = "+1 323 555 0100"
    two_owners[header.index("Name")] = "Nobody"
    rows += [by_number, two_owners]
    write_csv(export, rows)

    report = as_json(run("import", str(export), "--json", "--db", url))
    error_row = len(rows)  # the spreadsheet row of the last line (the header is row 1)
    assert report["errors"] == [{"row": error_row, "message": "Unable to find or create contact with URNs "
                                                             "tel:+13233754866, tel:+13235550100"}]
    assert (report["created"], report["updated"], report["unchanged"], report["errored"]) == (0, 2, 1, 1)
    shown = as_json(run("contacts", "show", jane.uuid, "--json", "--db", url))
    assert [c["identity"] for c in shown["connections"]] == [
        "tel:+13233754866", "tel:+4917123456789", "mailto:jane@example.org", "tel:+13236410000"]
    assert shown["fields"] == {"age": "31"}
    assert shown["name"] == "Jane D."  # the row naming only one of her numbers updated her too
    bob_shown = as_json(run("contacts", "show", bob.uuid, "--json", "--db", url))
    assert bob_shown["name"] == "Bob" and len(bob_shown["connections"]) == 1


def test_import_dry_run_text_report_and_export_query(tmp_path):
    url = make_db(tmp_path / "c.db")
    f = tmp_path / "in.csv"
    write_csv(f, [["URN:Tel", "Name", "Language"], ["0788383383", "Jane", "eng"], ["0788000111", "Bob", "english"],
                  ["", "Skipped", ""]])
    dry = run("import", str(f), "--dry-run", "--db", url)
    # issue 16 item 10: a bad language is listed and the rest of the row applies (Bob is created; it
    # was a whole-row error, "1 created, ... 1 errored")
    assert ok(dry).splitlines() == [
        "Would import in.csv: 2 created, 0 updated, 0 unchanged, 0 errored, 1 skipped (3 rows).",
        "Row 3: Language 'english' is not an ISO-639-3 code such as eng.",
    ]
    assert open_workspace(url).browse.count() == 0
    assert ok(run("import", str(f), "--db", url)).splitlines()[0].startswith("Imported in.csv: 2 created")
    out = tmp_path / "jane.xlsx"
    assert ok(run("export", str(out), "--query", "Jane", "--db", url)) == f"Exported 1 contact to {out}.\n"
    data = as_json(run("export", str(tmp_path / "all.csv"), "--json", "--db", url))
    assert data["contacts"] == 2 and data["columns"] == 7  # Jane and Bob (issue 16 item 10)
    assert read_csv(tmp_path / "all.csv")[1][1:4] == ["Jane", "eng", "active"]


def test_import_and_export_mistakes_are_one_line(tmp_path):
    url = make_db(tmp_path / "c.db")
    (tmp_path / "dup.csv").write_text("URN:Tel\n0788383383\n+250788383383\n")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02" * 50)
    (tmp_path / "latin.csv").write_bytes("URN:Tel,Name\n0788,Jos\xe9\n".encode("latin-1"))
    (tmp_path / "empty.xlsx").write_bytes(b"")
    results = run_many(
        ("import", str(tmp_path / "dup.csv"), "--db", url),
        ("import", str(tmp_path / "bin.csv"), "--db", url),
        ("import", str(tmp_path / "latin.csv"), "--db", url),
        ("import", str(tmp_path / "missing.csv"), "--db", url),
        ("import", str(tmp_path / "empty.xlsx"), "--db", url),
        ("export", str(tmp_path / "out.pdf"), "--db", url),
    )
    lines = [user_error(r) for r in results]
    assert lines[0] == "ccconsole: Import file contains duplicated contact URN 'tel:+250788383383' on row 3."
    assert "is not a spreadsheet" in lines[1]
    assert "latin.csv is not UTF-8 text" in lines[2]
    assert "No such file" in lines[3]
    assert lines[4] == "ccconsole: Import file appears to be empty."
    assert ".xlsx or .csv" in lines[5]
    assert open_workspace(url).browse.count() == 0


def test_help_lists_the_commands():
    out = ok(run("--help"))
    assert "import" in out and "export" in out
    assert "--dry-run" in ok(run("import", "--help"))
