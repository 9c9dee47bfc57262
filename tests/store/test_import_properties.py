"""Properties of import and export (issue 16), on SQLite and PostgreSQL, checked with hypothesis.

(a) Whatever file arrives — csv in UTF-8, UTF-16 or Latin-1, with or without BOM, NULs, huge cells,
    ragged rows, formulas, unbalanced quotes, cut short, random bytes; xlsx written by openpyxl,
    cut short, with a member cut short or missing, random bytes — the import ends either in a
    report that adds up, or in one clear ImportFailed / StoreError line; and when it fails nothing
    at all was written.
(b) Export then import is the identity: for random contacts (names, field values and ``ext:``
    connections with control characters, padding, ``--``, formula-looking text), the re-import of an
    untouched export, csv or xlsx, reports 0 created, 0 updated, 0 errored, no error at all, and
    the stored contacts are unchanged.

Each property has one workspace per backend for the module (building one per example would cost
more than the import).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import func, select, update

from ccconsole.core.model import Status
from ccconsole.errors import StoreError
from ccconsole.store.importer import ImportFailed
from ccconsole.store.models import Connection, Contact, FieldValue
from tests.store.test_import_export import dump
from tests.store_helpers import rw_store

PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ROUND_TRIP = settings(max_examples=30, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _workspace(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('properties') / 'p.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_database()
    workspace = rw_store(url)
    yield workspace
    workspace.close()


ws = pytest.fixture(scope="module", params=["sqlite", "postgres"])(_workspace)
ws2 = pytest.fixture(scope="module", params=["sqlite", "postgres"], name="ws2")(_workspace)


def counts(ws) -> tuple:
    """What any write changes: rows of the three tables an import fills, and the contacts' versions."""
    with ws.scope.engine.connect() as c:
        return (c.execute(select(func.count()).select_from(Contact)).scalar_one(),
                c.execute(select(func.coalesce(func.sum(Contact.version), 0))).scalar_one(),
                c.execute(select(func.count()).select_from(Connection)).scalar_one(),
                c.execute(select(func.count()).select_from(FieldValue)).scalar_one(),
                ws.change_seq())


# --- (a) hostile files -----------------------------------------------------------------------------

ANY_HEADER = st.sampled_from(["UUID", "Contact UUID", "Name", "Language", "Status", "URN:Tel", "URN:Mailto",
                              "URN:Ext", "URN:Telegram", "URN:Fax", "Field:Note", "Field:Age", "Field: #$^%",
                              "Field:Name", "Group:Nurses", "Created On", "", "Other", "urn:tel ", "Field:N\x00ul"])
GOOD_HEADER = st.lists(st.sampled_from(["UUID", "Name", "Language", "Status", "URN:Mailto", "URN:Ext", "URN:Tel",
                                        "Field:Note", "Field:Age", "Group:Nurses", "Other"]), max_size=6, unique=True
                       ).flatmap(lambda hs: st.permutations(["URN:Tel", *(h for h in hs if h != "URN:Tel")]))
# mostly a header that imports, sometimes any (duplicated, empty, invalid names, unknown schemes)
HEADER = st.one_of(GOOD_HEADER, GOOD_HEADER, GOOD_HEADER, st.lists(ANY_HEADER, max_size=7))
CELL = st.one_of(
    st.integers(0, 300).map(lambda n: f"07885{n:05d}"),  # phone numbers that often meet again
    st.integers(0, 300).map(lambda n: f"p{n}@example.org"),
    st.sampled_from(["", "--", " -- ", "0788383383", "+250788383383", "0788000111", "not-an-email", "a@b.org",
                     "eng", "english", "blocked", "sleeping", "=1+1", "+cmd|' /C calc'!A0", "@x", "-2", "'", "' ",
                     '"', '""', 'a"b', '"open', "\x00", "a\x00b", "_x0000_", "_x000D_", "\r", "\n", "\r\n",
                     "\ufeff", "Jos\u00e9", "\u202eevil", "12345678", "0e0", "nan"]),
    st.text(max_size=20),
    st.integers(min_value=-10**15, max_value=10**15).map(str),
)


@st.composite
def rows(draw) -> list[list[str]]:
    """Ragged rows (each its own length); now and then a huge cell (past csv's field limit, 131,072)."""
    body = draw(st.lists(st.lists(CELL, max_size=8), max_size=12))
    if body and body[0] and draw(st.sampled_from([False] * 7 + [True])):
        r = draw(st.sampled_from(body))
        if r:
            r[draw(st.integers(0, len(r) - 1))] = "x" * draw(st.sampled_from([2000, 140_000]))
    return body


@st.composite
def csv_files(draw) -> tuple[str, bytes]:
    table = [draw(HEADER), *draw(rows())]
    delimiter = draw(st.sampled_from(",;\t|"))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if draw(st.booleans()):  # as the csv module writes it
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(table)
        text = out.getvalue()
    else:  # joined by hand: quotes left unbalanced, delimiters inside cells
        text = newline.join(delimiter.join(r) for r in table) + draw(st.sampled_from(["", newline]))
    if draw(st.sampled_from([False] * 4 + [True])):  # the rows after 64 KB of blank lines: past the sniffed head
        head, sep, rest = text.partition(newline)
        text = head + sep + newline * 70_000 + rest
    encoding = draw(st.sampled_from(["utf-8"] * 5 + ["utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    return ".csv", draw(mutated(data))


@st.composite
def xlsx_files(draw) -> tuple[str, bytes]:
    wb = openpyxl.Workbook()
    sheet = wb.active
    for r in [draw(HEADER), *draw(rows())]:
        values: list[object] = []
        for cell in r:
            cell = ILLEGAL_CHARACTERS_RE.sub("", cell)[:32767]  # what a spreadsheet can hold
            values.append(int(cell) if re.fullmatch(r"-?\d{1,15}", cell) and draw(st.booleans()) else cell)
        sheet.append(values)
    out = io.BytesIO()
    wb.save(out)
    data = out.getvalue()
    how = draw(st.sampled_from(["whole"] * 5 + ["member cut", "member missing", "mutated"]))
    if how in ("member cut", "member missing"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            items = {n: z.read(n) for n in z.namelist()}
        name = draw(st.sampled_from(["xl/worksheets/sheet1.xml"] * 4 + sorted(items)))
        if how == "member missing":
            del items[name]
        else:
            items[name] = items[name][:draw(st.integers(0, max(0, len(items[name]) - 1)))]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for n, body in items.items():
                z.writestr(n, body)
        data = out.getvalue()
    elif how == "mutated":
        data = draw(mutated(data))
    return ".xlsx", data


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """The bytes as they are, cut short, with bytes flipped or a NUL put in, or with random bytes after."""
    how = draw(st.sampled_from(["same"] * 6 + ["cut", "flip", "nul", "tail"]))
    if how == "cut" and data:
        return data[:draw(st.integers(0, len(data) - 1))]
    if how in ("flip", "nul") and data:
        at = draw(st.integers(0, len(data) - 1))
        byte = b"\x00" if how == "nul" else bytes([draw(st.integers(0, 255))])
        return data[:at] + byte + data[at + 1:]
    if how == "tail":
        return data + draw(st.binary(max_size=64))
    return data


FILES = st.one_of(csv_files(), csv_files(), csv_files(), xlsx_files(), xlsx_files(),
                  st.tuples(st.sampled_from([".csv", ".xlsx", ".txt"]), st.binary(max_size=2000)))

_FALLBACK = re.compile(r"^Cannot read [^:]*: [A-Z]\w*(Error|Exception): ")  # the reader's catch-all


@PROPERTY
@given(FILES, st.sampled_from([False, False, False, True]))
def test_every_file_ends_in_a_report_or_one_clear_line_and_a_failure_writes_nothing(ws, file, parallel):
    suffix, data = file
    before = counts(ws)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"contacts{suffix}"
        path.write_bytes(data)
        try:
            report = ws.transfer.import_file(path, parallel=parallel)
        except StoreError as err:  # ImportFailed is one: the file's or the database's refusal
            message = str(err)
            event(f"refused: {re.sub(r'[0-9]+', 'N', message.replace(path.name, 'F'))[:60]}")
            assert message.strip() and "\n" not in message and "Traceback" not in message
            assert not message.startswith("Database error"), message  # e.g. a NUL PostgreSQL refused
            assert not _FALLBACK.match(message), message  # an error the reader did not expect
            assert counts(ws) == before
            return
    event(f"report: {'errors' if report.errors else 'no errors'}, "
          f"{'created/updated' if report.created + report.updated else 'no change'}")
    after = counts(ws)
    assert after[0] == before[0] + report.created
    assert report.rows == report.created + report.updated + report.unchanged + report.errored + report.skipped
    assert report.error_count >= max(report.errored, len(report.errors))
    assert [e.row for e in report.errors] == sorted(e.row for e in report.errors)
    if report.created + report.updated == 0:
        assert after[:4] == before[:4]


def test_the_property_sees_the_failures_it_is_about(ws, tmp_path):
    """A few of the files (a) generates, fixed: each is refused in one line, nothing written."""
    before = counts(ws)
    cut = io.BytesIO()
    wb = openpyxl.Workbook()
    wb.active.append(["URN:Tel", "Name"])
    wb.save(cut)
    for name, data in [("quote.csv", b'URN:Tel,Name\n0788000001,"open\n0788000002,x\n'),
                       ("cut.xlsx", cut.getvalue()[:-100]), ("utf16.csv", "URN:Tel\n0788\n".encode("utf-16")),
                       ("field.csv", b"URN:Tel,Field:Name\n0788383383,x\n")]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImportFailed):
            ws.transfer.import_file(tmp_path / name)
    assert counts(ws) == before


# --- (b) export then import is the identity ------------------------------------------------------

_SPACES = " \t\r\n\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000"
_TRICKY = st.sampled_from(["--", " -- ", "=1+1", "+cmd|' /C calc'!A0", "@x", "-2", "'", "' ", " '", "''=x",
                           "x '", "_x0041_", "_x000D_", "\ufffe\uffff", "\U0001f600", "'quoted'", "a\rb"])
_PIECE = st.one_of(_TRICKY, st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                                    max_size=12), st.text(alphabet=_SPACES, min_size=1, max_size=3))
VALUE = st.lists(_PIECE, max_size=4).map("".join)  # no NUL: neither backend (nor RapidPro) stores one
# a connection's path as the app keeps it: trimmed, no "#" (that starts its display), at most 200 characters
EXT = st.lists(_PIECE, min_size=1, max_size=3).map(lambda ps: "".join(ps).replace("#", "").strip()[:200].strip()
                                                     ).filter(bool)
CONTACT = st.fixed_dictionaries({
    "name": VALUE.map(lambda v: v[:128]),
    "language": st.sampled_from([None, "eng", "kin"]),
    "status": st.sampled_from([s.value for s in Status]),
    "fields": st.dictionaries(st.sampled_from(["Note", "District", "Code"]), VALUE, max_size=3),
    "ext": st.lists(EXT, max_size=2),
})


@ROUND_TRIP
@given(st.lists(CONTACT, min_size=1, max_size=4), st.sampled_from(["csv", "xlsx"]))
def test_an_untouched_export_reimports_as_the_identity(ws2, contacts, ext):
    ws = ws2
    for view in ws.browse.page(limit=1000):  # only this example's contacts: each example stands alone
        ws.contacts.delete(view.uuid)
    for n, spec in enumerate(contacts):
        taken = ws.contacts.owners([f"ext:{e}" for e in spec["ext"]])
        urns = [f"tel:+25078855{n:04d}"] + [f"ext:{e}" for e in dict.fromkeys(spec["ext"])
                                             if not taken.get(f"ext:{e}", (None,))[0]]
        made = ws.contacts.create(spec["name"], urns, language=spec["language"], status=spec["status"],
                                  fields=spec["fields"])
        with ws.scope.engine.begin() as c:  # the name as given: the app trims what staff type, others may not
            c.execute(update(Contact).where(Contact.id == made.id).values(name=spec["name"]))
    before = dump(ws)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export.{ext}"
        ws.transfer.export_file(path)
        report = ws.transfer.import_file(path)
    assert (report.created, report.updated, report.errored, report.error_count) == (0, 0, 0, 0), report.errors
    assert report.unchanged == len(contacts)
    assert dump(ws) == before
