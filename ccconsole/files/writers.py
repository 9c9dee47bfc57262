"""Writing the export's rows as RapidPro does (domain.md section 6): .csv or .xlsx (openpyxl write-only).

A writer takes rows of plain values (text, booleans, datetimes, None) one at a time, so memory does
not grow with the file. Free-text cells are encoded by ``core.importing.protect`` (the importer
reverses it), so that every value re-imports exactly as stored: a leading ``'`` before padding, a
stored ``--`` and, in csv, before what a spreadsheet would run as a formula; a trailing ``'`` after
trailing padding. Phone numbers are left as they are. In xlsx every value is written as a string
cell (never a formula) and control characters, which the format cannot hold (and a CR, which its
readers turn into a line feed), are written as OOXML ``_xHHHH_`` escapes (the importer decodes them).

No database code here: ``store.exporter`` reads the contacts and calls these.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from ccconsole.core import importing as imp


def column_kinds(urn_columns: dict[str, int], n_fields: int, n_groups: int) -> list[tuple[str, str | None]]:
    """Each export column's kind (and scheme for a connection column), in the order of
    ``core.importing.export_headers``: what the writers need to know which cells to protect."""
    kinds: list[tuple[str, str | None]] = [("uuid", None), ("name", None), ("language", None), ("status", None),
                                           ("date", None), ("date", None)]
    for scheme in sorted(urn_columns):
        kinds += [("urn", scheme)] * urn_columns[scheme]
    return kinds + [("field", None)] * n_fields + [("group", None)] * n_groups


class CsvWriter:
    """Rows to a csv file (UTF-8 with a BOM, as spreadsheets expect). ``close`` finishes the file
    and raises OSError if it cannot be written; ``abort`` gives it up and never raises."""

    def __init__(self, path: Path, kinds):
        self.file = path.open("w", encoding="utf-8-sig", newline="")
        self.csv = csv.writer(self.file)
        self.kinds = kinds

    def row(self, values, header: bool = False) -> None:
        out = []
        for value, (kind, scheme) in zip(values, self.kinds):
            if value is None:
                out.append("")
            elif isinstance(value, bool):
                out.append("true" if value else "false")
            elif isinstance(value, datetime):
                out.append(value.isoformat())
            else:
                text = str(value)
                out.append(imp.protect(text) if header or imp.protected_column(kind, scheme) else text)
        self.csv.writerow(out)

    def close(self) -> None:
        self.file.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the error that made us give up is the one to report
            self.file.close()


class XlsxWriter:
    """Rows to an .xlsx workbook, streamed (openpyxl write-only: the sheet goes to a temporary file
    of openpyxl's until ``close`` zips it). The output file is opened here, so a place that cannot
    be written fails before any row is read. ``close`` raises OSError if the file cannot be
    written; ``abort`` gives it up and never raises."""

    def __init__(self, path: Path, kinds: list[tuple[str, str | None]] | None = None):
        import openpyxl
        from openpyxl.cell import WriteOnlyCell

        self.path = path
        # which columns carry free text (None: all of them)
        self.protected = None if kinds is None else [imp.protected_column(kind, scheme) for kind, scheme in kinds]
        self.file = path.open("wb")
        self.wb = openpyxl.Workbook(write_only=True)
        self.sheet = self.wb.create_sheet("Contacts")
        self.cell = WriteOnlyCell
        self.archive: zipfile.ZipFile | None = None
        self.closed = False

    def row(self, values, header: bool = False) -> None:
        cells = []
        for value, protected in zip(values, itertools.repeat(True) if self.protected is None else self.protected):
            if isinstance(value, datetime):
                cell = self.cell(self.sheet, value.replace(tzinfo=None))
            elif isinstance(value, bool) or value is None:
                cell = self.cell(self.sheet, value)
            else:
                text = str(value)
                if protected and not header:
                    text = imp.protect(text, formulas=False)  # a text cell is never a formula
                cell = self.cell(self.sheet, imp.xlsx_escape(text))
                cell.data_type = "s"  # text, never a formula, even when it starts with '='
            cells.append(cell)
        self.sheet.append(cells)

    def close(self) -> None:
        from openpyxl.writer.excel import ExcelWriter

        # what Workbook.save does (openpyxl.writer.excel.save_workbook), with the zip archive kept,
        # so that abort can close it
        self.archive = zipfile.ZipFile(self.file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self.wb.properties.modified = datetime.now(tz=UTC).replace(tzinfo=None)
        ExcelWriter(self.wb, self.archive).save()
        self.file.close()
        self.closed = True

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        # Undo openpyxl's write-only sheet in the order it was built: the row stream (a generator
        # inside the sheet's XML stream, itself a generator writing the temporary file), then the
        # XML stream, then the temporary file. Left to the garbage collector, the generators can be
        # finalised in the wrong order and print "Exception ignored ... I/O operation on closed
        # file" after the real error; and the temporary file would stay until the process exits.
        # These are openpyxl 3.1 internals, hence getattr and every step guarded.
        # A zip archive left open by a failed save would also try to finish itself when collected
        # ("Exception ignored in ZipFile.__del__"): the file is closed first, then the archive,
        # which then only marks itself closed.
        rows = getattr(self.sheet, "_rows", None)
        sheet_writer = getattr(self.sheet, "_writer", None)
        archive = self.archive
        for step in (getattr(rows, "close", None), getattr(sheet_writer, "close", None),
                     getattr(sheet_writer, "cleanup", None), self.wb.close, self.file.close,
                     getattr(archive, "close", None)):
            if step is not None:
                with contextlib.suppress(Exception):
                    step()


def open_writer(path: Path, kind: str, kinds: list[tuple[str, str | None]]) -> CsvWriter | XlsxWriter:
    """A writer of ``kind`` ("csv" or "xlsx") to ``path``; ``kinds`` from :func:`column_kinds`."""
    return CsvWriter(path, kinds) if kind == "csv" else XlsxWriter(path, kinds)
