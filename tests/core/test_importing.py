"""The pure part of import and export (domain.md section 6): headers, cells, rows, matching, columns."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccconsole.core import importing as imp
from ccconsole.core.importing import CLEAR, NEW, Existing, ImportFileError


def headers(*cells):
    return imp.parse_headers(list(cells))


def row(h, *cells, n=2, country="RW", csv=False, xlsx=False, tz="Africa/Kigali"):
    return imp.parse_row(h, n, list(cells), country=country, tz=tz, csv=csv, xlsx=xlsx)


# --- headers -------------------------------------------------------------------------------------


def test_headers_are_trimmed_split_at_the_first_colon_and_case_insensitive():
    h = headers(" contact uuid ", "NAME", "Language", "status", " urn : Tel ", "URN:tel", "Field: Date of Birth:x",
                "Group:Nurses", "Created On")
    kinds = [(c.kind, c.scheme, c.key) for c in h.columns]
    assert kinds == [("uuid", None, None), ("name", None, None), ("language", None, None), ("status", None, None),
                     ("urn", "tel", None), ("urn", "tel", None), ("field", None, "date_of_birth_x"),
                     ("ignored", None, None), ("ignored", None, None)]
    assert h.columns[6].label == "Date of Birth:x"
    assert headers("UUID", "Name").columns[0].kind == "uuid"


@pytest.mark.parametrize("cells, message", [
    ([], "Import file appears to be empty."),
    (None, "Import file appears to be empty."),
    (["", None, "  "], "Import file appears to be empty."),
    (["Name", "", "URN:tel"], "Import file contains an empty header."),
    (["Name", "URN:XXX"], "Header 'URN:XXX' is not a valid URN type."),
    (["URN:Tel", " URN:Fax "], "Header 'URN:Fax' is not a valid URN type."),
    (["Name", "Field:Age"], "Import files must contain either UUID or a URN header."),
    (["UUID"], "Import files must contain columns besides UUID."),
    (["Contact UUID", "Group:Nurses", "Created On"], "Import files must contain columns besides UUID."),
])
def test_file_level_header_errors_have_the_exact_messages(cells, message):
    with pytest.raises(ImportFileError) as err:
        imp.parse_headers(cells)
    assert str(err.value) == message


def test_trailing_empty_header_columns_are_ignored():
    h = headers("URN:Tel", "Name", None, "", None)
    assert [c.kind for c in h.columns] == ["urn", "name"]


def test_every_scheme_of_domain_md_is_a_valid_urn_header():
    for scheme in ("tel", "mailto", "twitter", "telegram", "ext", "twitterid", "whatsapp", "facebook", "instagram",
                   "viber", "line"):
        assert headers(f"URN:{scheme.capitalize()}").columns[0].scheme == scheme


def test_field_key_rule():
    assert imp.field_key(" Date of Birth ") == "date_of_birth"
    assert imp.field_key("Âge-2") == "_ge_2"
    assert headers("URN:tel", "Field:District").columns[1].key == "district"


# --- cells ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    (1234, "1234"), (1234.0, "1234"), (2.50788383383e+11, "250788383383"), (0, "0"), (0.0, "0"),
    (1.5, "1.5"), (-3.25, "-3.25"), (1e-7, "0.0000001"), (Decimal("12.50"), "12.50"), (Decimal("7.000"), "7"),
    ("  padded  ", "padded"), (None, ""), (True, "TRUE"), (time(9, 5, 3), "09:05:03"),
    (float("nan"), ""),
])
def test_cells_become_text(value, text):
    assert imp.cell_text(value, "Africa/Kigali") == text


def test_date_cells_are_iso_datetimes_in_the_workspace_timezone():
    assert imp.cell_text(datetime(2026, 3, 1, 14, 30), "Africa/Kigali") == "2026-03-01T14:30:00+02:00"
    assert imp.cell_text(date(2026, 3, 1), "Africa/Kigali") == "2026-03-01T00:00:00+02:00"
    aware = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert imp.cell_text(aware, "Africa/Kigali") == "2026-03-01T14:00:00+02:00"
    assert imp.cell_text(datetime(2026, 3, 1, 14, 30), None) == "2026-03-01T14:30:00+00:00"


# --- rows ----------------------------------------------------------------------------------------

H = headers("UUID", "Name", "Language", "Status", "URN:Tel", "URN:tel", "URN:Mailto", "Field:Age", "Group:X")


def test_blank_keeps_clear_mark_clears_and_zero_is_a_value():
    p = row(H, "u-1", "", " -- ", None, "0788383383", "", "", "0", "ignored")
    assert p.uuid == "u-1"
    assert p.attrs == {"language": CLEAR}
    assert p.fields == {"age": ("Age", "0")}
    assert p.identities == ("tel:+250788383383",)


def test_connections_are_normalized_with_the_workspace_country_in_column_order():
    p = row(H, None, "Jane", None, None, 250788383383.0, "+1 323-375-4866", "JANE@Example.org")
    assert p.identities == ("tel:+250788383383", "tel:+13233754866", "mailto:jane@example.org")
    assert row(H, None, "x", None, None, "2.50788383383e+11").identities == ("tel:+250788383383",)
    assert row(H, None, "x", None, None, "0788383383", country=None).identities == ("tel:0788383383",)


def test_the_same_connection_twice_in_one_row_counts_once():
    p = row(H, None, "x", None, None, "0788383383", "+250788383383")
    assert p.identities == ("tel:+250788383383",)


def test_rows_with_neither_uuid_nor_connection_are_skipped():
    assert row(H, None, "Only a name", "eng") is None
    assert row(H, "", "", "", "", "--", "--") is None  # -- never removes a connection: nothing named


def test_an_invalid_connection_is_kept_for_the_planner_with_its_cell():
    p = row(H, None, "x", None, None, None, None, "not an email")
    assert p.urns == [] and p.invalid == [("mailto:not an email", "mailto:not an email")]


def test_bad_status_and_language_are_listed_and_the_rest_of_the_row_applies():
    # issue 16 item 10: they were whole-row errors; RapidPro's engine reports them and applies the rest
    sleeping = row(H, "u", "x", None, "sleeping")
    assert sleeping.error is None and sleeping.attrs == {"name": "x"}
    assert sleeping.errors == ["Status 'sleeping' is not one of active, blocked, stopped, archived."]
    english = row(H, "u", "x", "english", "blocked")
    assert english.errors == ["Language 'english' is not an ISO-639-3 code such as eng."]
    assert english.attrs == {"name": "x", "status": "blocked"}
    assert row(H, "u", "x", "ENG", "Blocked").attrs == {"name": "x", "language": "eng", "status": "blocked"}


def test_a_long_name_is_cut_to_128_characters_and_long_fields_are_kept():
    p = row(H, "u", "n" * 500, None, None, None, None, None, "v" * 10000)
    assert p.attrs["name"] == "n" * 128
    assert p.fields["age"][1] == "v" * 10000


def test_csv_cells_undo_the_exporters_protection_but_tel_cells_are_untouched():
    p = row(H, "u", "'=HYPERLINK(1)", None, None, "+250788383383", None, None, "'-5", csv=True)
    assert p.attrs["name"] == "=HYPERLINK(1)"
    assert p.fields["age"][1] == "-5"
    assert p.identities == ("tel:+250788383383",)
    assert row(H, "u", "'=x").attrs["name"] == "'=x"  # only cells of a file (csv or xlsx) carry the encoding


def test_xlsx_cells_decode_control_character_escapes():
    assert row(H, "u", "Evil _x001B_[31m", xlsx=True).attrs["name"] == "Evil \x1b[31m"


# --- protection ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+2", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "'=x", "''@y"])
def test_protect_defuses_formulas_and_unprotect_reverses_it(text):
    protected = imp.protect(text)
    assert protected.startswith("'")
    assert imp.unprotect(protected) == text


@given(st.text(max_size=30))
def test_protect_round_trips_any_text(text):
    assert imp.unprotect(imp.protect(text)) == text
    assert imp.protect(text)[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_phone_columns_are_not_protected():
    assert imp.protected_column("urn", "tel") is False
    assert imp.protected_column("urn", "ext") and imp.protected_column("name") and imp.protected_column("field")


@given(st.text(max_size=30))
def test_xlsx_escape_round_trips_any_text(text):
    escaped = imp.xlsx_escape(text)
    assert not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in escaped)
    assert imp.xlsx_unescape(escaped) == text


# --- duplicates ----------------------------------------------------------------------------------


def test_duplicated_uuid_and_urn_reject_the_file_naming_the_row():
    first, again = row(H, "u-1", "a", n=2), row(H, "u-1", "b", n=7)
    with pytest.raises(ImportFileError) as err:
        imp.check_duplicates(imp.names([first, again]), set())
    assert str(err.value) == "Import file contains duplicated contact UUID 'u-1' on row 7."
    rows = [row(H, None, "a", None, None, "0788383383", n=2), row(H, None, "b", None, None, "+250 788 383 383", n=3)]
    with pytest.raises(ImportFileError) as err:
        imp.check_duplicates(imp.names(rows), set())
    assert str(err.value) == "Import file contains duplicated contact URN 'tel:+250788383383' on row 3."


def test_duplicates_of_earlier_chunks_and_the_first_one_in_file_order():
    first = row(H, "u-1", "a", None, None, "0788000001", n=2)
    earlier = set(imp.row_keys(first.uuid, first.all_identities))
    rows = [row(H, None, "x", None, None, "0788000002", n=10), row(H, None, "y", None, None, "0788000001", n=11),
            row(H, "u-1", "z", n=12)]
    with pytest.raises(ImportFileError, match=r"URN 'tel:\+250788000001' on row 11\.$"):
        imp.check_duplicates(imp.names(rows), earlier)
    imp.check_duplicates(imp.names(rows[:1]), earlier)  # no duplicate: no error
    invalid = [row(H, None, "a", None, None, None, None, "bad mail", n=2),
               row(H, None, "b", None, None, None, None, "bad mail", n=3)]
    with pytest.raises(ImportFileError, match="URN 'mailto:bad mail' on row 3"):
        imp.check_duplicates(imp.names(invalid), set())


# --- planning ------------------------------------------------------------------------------------

JANE = Existing(1, "Jane", "eng", "active", ("tel:+250788383383", "mailto:jane@example.org"), {"age": "30"})
BOB = Existing(2, "Bob", None, "active", ("tel:+250788000111",), {})


def plan(p, owners=None, uuids=None):
    owners = owners or {}
    contacts = {c.id: c for c in (JANE, BOB)}
    return imp.plan_row(p, by_uuid=uuids or {}, owners=owners, contacts=contacts)


def test_uuid_match_appends_new_connections_last_and_changes_only_what_differs():
    p = row(H, "jane-uuid", "Jane", "", "", "0788383383", "+49 171 2345678", "", "31")
    result = plan(p, owners={"tel:+250788383383": 1}, uuids={"jane-uuid": JANE})
    assert result.error is None and result.contact_id == 1
    assert result.connections == ("tel:+250788383383", "mailto:jane@example.org", "tel:+491712345678")
    assert [u.identity for u in result.added] == ["tel:+491712345678"]
    assert result.attrs == {}
    assert result.set_fields == {"age": ("Age", "31")}
    assert result.changed


def test_an_unknown_uuid_is_a_row_error():
    result = plan(row(H, "nope", "x"))
    assert result.error == "Unable to find contact with UUID 'nope'"


def test_uuid_match_with_a_connection_of_another_contact_skips_it_and_applies_the_rest():
    # issue 16 item 10: this was a whole-row error; RapidPro's engine skips the connection only
    p = row(H, "jane-uuid", "Jane D", None, None, "0788000111", "0788999999")
    result = plan(p, owners={"tel:+250788000111": 2}, uuids={"jane-uuid": JANE})
    assert result.error is None
    assert result.errors == ("URN tel:+250788000111 already taken by another contact",)
    assert result.connections == JANE.connections + ("tel:+250788999999",)
    assert result.attrs == {"name": "Jane D"} and result.changed


def test_no_owner_creates_one_owner_updates_several_owners_error():
    created = plan(row(H, None, "New", None, None, "0788999999"))
    assert created.created and created.contact_id == NEW
    assert created.connections == ("tel:+250788999999",) and created.attrs == {"name": "New"}
    updated = plan(row(H, None, None, None, None, "0788383383", None, "new@example.org"),
                   owners={"tel:+250788383383": 1})
    assert updated.contact_id == 1 and not updated.created
    assert updated.connections[-1] == "mailto:new@example.org"
    both = plan(row(H, None, None, None, None, "0788383383", "0788000111", n=9),
                owners={"tel:+250788383383": 1, "tel:+250788000111": 2})
    assert both.error == "Unable to find or create contact with URNs tel:+250788383383, tel:+250788000111"


def test_a_detached_connection_is_claimed_by_the_new_contact():
    result = plan(row(H, None, "Back", None, None, "0788555555"), owners={"tel:+250788555555": None})
    assert result.created and result.connections == ("tel:+250788555555",)


def test_an_unchanged_row_changes_nothing():
    p = row(H, "jane-uuid", "Jane", "eng", "active", "0788383383", None, "jane@example.org", "30")
    result = plan(p, owners={"tel:+250788383383": 1, "mailto:jane@example.org": 1}, uuids={"jane-uuid": JANE})
    assert result.error is None and not result.changed


def test_clearing_name_language_and_fields():
    p = row(H, "jane-uuid", "--", "--", None, None, None, None, "--")
    result = plan(p, uuids={"jane-uuid": JANE})
    assert result.attrs == {"name": "", "language": None}
    assert result.clear_fields == ("age",)


def test_an_invalid_connection_errors_unless_the_contact_already_has_it():
    legacy = Existing(3, "Legacy", None, "active", ("twitter:josé_1",), {})
    hh = headers("UUID", "URN:Twitter", "Name")
    p = row(hh, "legacy", "josé_1", "Legacy")
    assert imp.plan_row(p, by_uuid={"legacy": legacy}, owners={"twitter:josé_1": 3}, contacts={}).error is None
    other = Existing(4, "Other", None, "active", (), {})
    bad = imp.plan_row(p, by_uuid={"legacy": other}, owners={}, contacts={})
    # issue 16 item 10: the connection is skipped with its error, the name still applies
    assert bad.error is None and bad.errors == ("'twitter:josé_1' is not valid URN",)
    assert bad.attrs == {"name": "Legacy"} and bad.connections == ()


def test_connections_past_50_are_skipped_with_an_error():
    # issue 16 item 10: this was a whole-row error; as many as fit are appended, in order
    almost = Existing(5, "Almost", None, "active", tuple(f"telegram:{i}" for i in range(49)), {})
    p = row(headers("UUID", "URN:Telegram", "URN:Telegram", "Name"), "almost", "998", "999", "New")
    result = imp.plan_row(p, by_uuid={"almost": almost}, owners={}, contacts={})
    assert result.error is None and result.errors == ("A contact may have at most 50 connections.",)
    assert result.connections[-1] == "telegram:998" and len(result.connections) == 50
    assert [u.identity for u in result.added] == ["telegram:998"] and result.attrs == {"name": "New"}


# --- export columns ------------------------------------------------------------------------------


def test_export_columns_follow_rapidpros_order():
    hs = imp.export_headers({"tel": 2, "mailto": 1, "twitter": 1}, [("age", "Age"), ("odd", "Odd Name!")],
                            ["Nurses"])
    assert hs == ["Contact UUID", "Name", "Language", "Status", "Created On", "Last Seen On", "URN:Mailto",
                  "URN:Tel", "URN:Tel", "URN:Twitter", "Field:Age", "Field:odd", "Group:Nurses"]


def test_urn_cells_spread_paths_in_priority_order_per_scheme():
    cells = imp.urn_cells(["tel:+1", "mailto:a@b.c", "tel:+2"], {"mailto": 2, "tel": 2})
    assert cells == ["a@b.c", "", "+1", "+2"]


# --- issue 16: field names, UUID case, NUL, per-item errors, the export's encoding ------------------


@pytest.mark.parametrize("header", ["Field: #$^%", "Field:___", "Field:", "Field:Name", "field: Created On",
                                    "Field:last-seen-on", "Field:URNs", "Field:ID", "Field:has", "Field:is",
                                    "Field:Groups", "Field:fields", "Field:tel", "Field:Mailto", "Field:whatsapp",
                                    "Field:uuid", "Field:Language", "Field:status", "Field:urn", "Field:a\x00b"])
def test_invalid_or_reserved_field_names_reject_the_file(header):
    with pytest.raises(ImportFileError) as err:
        headers("URN:Tel", "Name", f" {header} ")
    assert str(err.value) == f"Header '{header}' is not a valid field name."


def test_field_names_with_a_letter_or_digit_and_no_reserved_key_are_fine():
    h = headers("URN:Tel", "Field:Âge", "Field:2nd phone", "Field: names ", "Field:Status Note", "Field:#1")
    assert [c.key for c in h.columns[1:]] == ["_ge", "2nd_phone", "names", "status_note", "_1"]


def test_uuids_are_lowercased_for_matching_and_for_the_duplicate_check():
    upper = row(H, " AB12CD34-0000-4000-8000-00000000ABCD ", "x", n=2)
    assert upper.uuid == "ab12cd34-0000-4000-8000-00000000abcd"
    lower = row(H, "ab12cd34-0000-4000-8000-00000000abcd", "y", n=5)
    with pytest.raises(ImportFileError) as err:
        imp.check_duplicates(imp.names([upper, lower]), set())
    assert str(err.value) == ("Import file contains duplicated contact UUID 'ab12cd34-0000-4000-8000-00000000abcd' "
                              "on row 5.")
    jane = Existing(1, "Jane", None, "active", (), {})
    assert plan(upper, uuids={upper.uuid: jane}).contact_id == 1


@pytest.mark.parametrize("csv, xlsx, cell", [(True, False, "Ja\x00ne"), (False, True, "Ja_x0000_ne")])
def test_a_nul_anywhere_makes_the_row_an_error(csv, xlsx, cell):
    p = row(H, None, cell, None, None, "0788383383", csv=csv, xlsx=xlsx)
    assert p.error == "The 'Name' cell contains a NUL character, which cannot be stored; the row is not imported."
    assert p.identities == ("tel:+250788383383",)  # still named, for the duplicate check
    result = plan(p)
    assert result.error == p.error and not result.created
    only = row(H, None, None, None, None, None, None, None, "\x00", csv=csv)  # no connection: still reported
    assert only.error is not None


def test_a_row_without_uuid_with_only_invalid_connections_creates_a_contact_listing_them():
    p = row(H, None, "Bad Mail", "english", None, None, None, "not-an-email", "7")
    result = imp.plan_unmatched(p)
    assert result.created and result.connections == () and result.attrs == {"name": "Bad Mail"}
    assert result.errors == ("'mailto:not-an-email' is not valid URN",
                             "Language 'english' is not an ISO-639-3 code such as eng.")
    assert imp.new_contact(result)[5] == result.errors  # the reader's plain form carries them


# every text, what the exporter writes and what the importer reads back: the same text, in csv and xlsx
@given(st.text(max_size=40))
def test_the_exports_encoding_reimports_every_value_unchanged(text):
    assert imp.unprotect(imp.protect(text)) == text
    assert imp.unprotect(imp.protect(text, formulas=False)) == text
    hh = headers("UUID", "Name", "Field:Note", "URN:Ext")
    for csv, cell in ((True, imp.protect(text)), (False, imp.xlsx_escape(imp.protect(text, formulas=False)))):
        assert cell == cell.strip() and cell != "--"
        assert not csv or cell[:1] not in ("=", "+", "-", "@", "\t", "\r")
        p = row(hh, "u", cell, cell, csv=csv, xlsx=not csv)
        if "\x00" in text:
            assert p.error is not None
        elif text:
            assert p.attrs["name"] == text
            assert p.fields["note"] == ("Note", text)
        else:
            assert p.attrs == {} and p.fields == {}


@pytest.mark.parametrize("value", ["--", " -- ", "  pad  ", "\tlead", "\rcr", "trail\t", "a\rb", "a\r\nb",
                                   "'", "' ", " '", "'quoted'", "''=x", "x '", "=1+1", "+cmd|' /C calc'!A0", "@x",
                                   "-2", "\u00a0nbsp", "\x1fsep", "_x0041_", "\ufffe\uffff"])
def test_values_the_import_would_change_are_encoded_and_come_back(value):
    hh = headers("UUID", "Field:Note")
    assert row(hh, "u", imp.protect(value), csv=True).fields["note"][1] == value
    xlsx_cell = imp.xlsx_escape(imp.protect(value, formulas=False))
    assert row(hh, "u", xlsx_cell, xlsx=True).fields["note"][1] == value
    assert "\r" not in xlsx_cell  # xlsx readers turn a CR into a line feed: it travels as _x000D_


@pytest.mark.parametrize("value", ["Jane", "0", "Nyarugenge", "a b", "x-y", "1+1", "a@b", "it's"])
def test_ordinary_values_are_written_as_they_are(value):
    assert imp.protect(value) == value and imp.protect(value, formulas=False) == value


@pytest.mark.parametrize("cell, expected", [("  padded  ", "padded"), ("\tx\t", "x"), (" -- ", CLEAR), ("--", CLEAR),
                                            ("'quoted'", "'quoted'"), ("it's ", "it's")])
def test_files_without_the_encoding_are_trimmed_and_cleared_as_domain_md_says(cell, expected):
    hh = headers("UUID", "Field:Note")
    for csv in (True, False):
        assert row(hh, "u", cell, csv=csv, xlsx=not csv).fields["note"][1] == expected
    assert row(hh, "u", "_x0009_x_x0020_", xlsx=True).fields["note"][1] == "x"  # escaped padding is padding
    assert row(hh, "u", "_x0009_", xlsx=True) is None or row(hh, "u", "_x0009_", xlsx=True).fields == {}  # blank


def test_an_invalid_connection_with_nothing_left_of_its_path_names_nothing():
    # found by tests/store/test_import_properties.py: two rows with "-" in the phone column were
    # "duplicated contact URN 'tel:'" and the whole file was rejected
    rows = [row(H, None, "a", None, None, "-", n=2), row(H, None, "b", None, None, "?", n=3)]
    assert [p.all_identities for p in rows] == [(), ()]
    imp.check_duplicates(imp.names(rows), set())  # no duplicate
    assert imp.plan_unmatched(rows[0]).errors == ("'tel:-' is not valid URN",)
