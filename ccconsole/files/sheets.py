"""Reading a contacts file (.xlsx or .csv) as batches of parsed rows, in this process or others.

The file is streamed (openpyxl read-only, values only; the csv module with BOM handling and a sniffed
delimiter). :func:`read_batches` turns it into :class:`Batch` es: the pure parse of domain.md
section 6 (``core.importing``; normalizing phone numbers is most of its cost), and for each row
that needs no database to plan (no UUID), its plan worked out ahead.

:func:`open_batches` runs that reading and parsing in reader processes (two share a csv: batch N
comes from reader N mod 2), batches ahead of the importer, which meanwhile writes: the work uses
both cores. A reader pickles each batch to its stdout; a thread of the importer takes the frames
off the pipe into a short queue, so memory stays bounded. If the importer dies (even ``kill -9``),
a reader's next write fails and it exits.

This module imports no database code, so a reader process starts quickly.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import itertools
import json
import os
import pickle
import stat
import sys
import uuid as uuidlib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ccconsole import frames
from ccconsole.core import importing as imp
from ccconsole.core import problems
from ccconsole.core.model import Channel, Connection, Contact, Status
from ccconsole.errors import StoreError

SNIFF_BYTES = 64 * 1024


class ImportFailed(StoreError):
    """The file is rejected as a whole (domain.md's file-level messages, or unreadable); nothing written."""


# --- reading files -------------------------------------------------------------------------------


@dataclass
class SheetReader:
    """The rows of a file as lists of cell values, with a row count estimate for progress."""

    path: Path
    kind: str  # "csv" or "xlsx"
    total: int | None = None

    def rows(self) -> Iterator[list]:
        return self._csv_rows() if self.kind == "csv" else self._xlsx_rows()

    def _xlsx_rows(self) -> Iterator[list]:
        import openpyxl

        try:
            wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as err:
            raise ImportFailed(f"Cannot read {self.path.name}: it is not a valid .xlsx workbook "
                               f"({_short(err)}).") from err
        except Exception as err:  # openpyxl raises assorted errors on corrupt workbooks
            raise ImportFailed(f"Cannot read {self.path.name}: the workbook is corrupt ({_short(err)}).") from err
        try:
            ws = wb.active
            if ws is None:
                raise ImportFailed(imp.EMPTY_FILE)
            try:
                self.total = max(0, (ws.max_row or 1) - 1)
            except Exception:
                self.total = None
            try:
                for values in ws.iter_rows(values_only=True):
                    yield list(values)
            except ImportFailed:
                raise
            except Exception as err:  # a sheet's XML cut short (ElementTree.ParseError), a bad zip member, ...
                raise ImportFailed(f"Cannot read {self.path.name}: the workbook is corrupt ({_short(err)}).") from err
        finally:
            wb.close()

    def _csv_rows(self) -> Iterator[list]:
        try:
            raw = self.path.open("rb")
        except OSError as err:
            raise ImportFailed(f"Cannot open {self.path}: {err.strerror or err}.") from err
        with raw:
            head = raw.read(SNIFF_BYTES)
            _check_text(self.path, head)
            try:
                sample = head.decode("utf-8-sig")
            except UnicodeDecodeError as err:
                if err.start < len(head) - 4:  # not just a character cut at the sample's end
                    raise _not_utf8(self.path, err.start) from err
                sample = head[:err.start].decode("utf-8-sig")
            delimiter = _sniff(sample)
            self.total = max(0, head.count(b"\n") + _count_lines(raw) - 1)
            raw.seek(0)
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            # the file's lines, then one line of our own: read as a record of its own when the file
            # ends outside quotes, or swallowed into the last cell when a quote was never closed
            ended: list[bool] = []
            reader = csv.reader(itertools.chain(text, _end(ended)), delimiter=delimiter)
            line = 0  # the physical line the last record ended on
            record = 0  # the records read: the last one's spreadsheet row (the header is row 1)
            try:
                for values in reader:
                    if ended:  # this record took our line: the file's records are all read
                        if values != [_END]:
                            raise _unclosed_quote(self.path, record + 1, line + 1)
                        return
                    line = reader.line_num
                    record += 1
                    yield values
            except UnicodeDecodeError as err:
                raise _not_utf8(self.path, None, line + 1) from err
            except csv.Error as err:
                if "field larger than field limit" in str(err):  # a quote left open swallows the file
                    raise ImportFailed(f"Cannot read {self.path.name}: a cell of row {record + 1} (from line "
                                       f"{line + 1}) is longer than {csv.field_size_limit():,} characters; most "
                                       "likely a quote opened there is never closed.") from err
                raise ImportFailed(f"Cannot read {self.path.name} near line {line + 1}: {err}.") from err


_END = "\ufdd0ccconsole:end-of-file\ufdd0"  # no quote, delimiter or line break


def _end(ended: list[bool]) -> Iterator[str]:
    """The line after a csv file's last one; ``ended`` tells that the reader asked for it."""
    ended.append(True)
    yield _END


def _unclosed_quote(path: Path, row: int, line: int) -> ImportFailed:
    return ImportFailed(f"Cannot read {path.name}: the quote opened in row {row} (line {line}) is never closed, "
                        "so the rest of the file would be read as one cell. Close the quote and import it again.")


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:120]


def _not_utf8(path: Path, offset: int | None, line: int | None = None) -> ImportFailed:
    where = f" (byte {offset})" if offset is not None else f" (near line {line})"
    return ImportFailed(f"{path.name} is not UTF-8 text{where}: save it as \"CSV UTF-8\" and import it again.")


def _check_text(path: Path, head: bytes) -> None:
    if not head.strip():
        raise ImportFailed(imp.EMPTY_FILE)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFailed(f"{path.name} is UTF-16 text: save it as \"CSV UTF-8\" and import it again.")
    if b"\x00" in head or head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFailed(f"{path.name} is not a spreadsheet this console reads: use .xlsx or UTF-8 .csv.")


def _count_lines(raw) -> int:
    n = 0
    while True:
        block = raw.read(1 << 20)
        if not block:
            return n
        n += block.count(b"\n")


def _sniff(sample: str) -> str:
    lines = sample.splitlines()
    probe = "\n".join(lines[:50]) if len(lines) > 1 else sample
    try:
        return csv.Sniffer().sniff(probe, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def open_sheet(path: str | Path) -> SheetReader:
    """A reader for ``path``: .xlsx by its zip signature or name, otherwise csv; clear errors for the rest."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise ImportFailed(f"{p} is a folder, not a file.")
    try:
        # without blocking: opening a named pipe for reading would wait for a writer
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as err:
        raise ImportFailed(f"No such file: {p}.") from err
    except OSError as err:
        raise ImportFailed(f"Cannot open {p}: {err.strerror or err}.") from err
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # a pipe, a device, a socket: read once, or never ending
            what = "a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else \
                "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file"
            raise ImportFailed(f"{p} is {what}, not a file: save the contacts to a .csv or .xlsx file and "
                               "import that.")
        head = os.read(fd, 8)
    except OSError as err:
        raise ImportFailed(f"Cannot open {p}: {err.strerror or err}.") from err
    finally:
        os.close(fd)
    suffix = p.suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return SheetReader(p, "xlsx")
    if suffix in (".xlsx", ".xlsm"):
        if not head:
            raise ImportFailed(imp.EMPTY_FILE)
        raise ImportFailed(f"Cannot read {p.name}: it is not a valid .xlsx workbook.")
    if suffix == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFailed(f"{p.name} is an old .xls workbook: save it as .xlsx or CSV UTF-8.")
    return SheetReader(p, "csv")




# --- batches of parsed rows ----------------------------------------------------------------------


class Batch:
    """A batch of the file's data rows, in file order, as the importer needs them: for each parsed
    row its spreadsheet row, UUID and identities, and what :func:`imp.plan_unmatched` says it does
    (a new contact as plain data, from ``imp.new_contact``, with a fresh UUID for it; an error
    Plan; or None for a row with a UUID). The parsed rows themselves travel as one pickle, unpacked
    only if the importer needs them (a row that matches a contact is planned again there).
    ``rows`` and ``skipped`` count the data rows read (blank rows not counted; skipped ones name
    neither UUID nor connection); ``total`` is the reader's estimate of the file's rows."""

    def __init__(self, rows: int, skipped: int, parsed: list[imp.ParsedRow], total: int | None,
                 channels: Sequence[Channel] | None = None, country: str | None = None):
        self.rows, self.skipped, self.total = rows, skipped, total
        self.named = imp.names(parsed)
        self.guesses: list[tuple | imp.Plan | None] = []
        self.new_uuids: list[str | None] = []
        # the problems and duplicate keys of each planned new contact (core.problems.facts), computed
        # here, in the reader, so that the writer only stores them; None when no channels were given
        self.facts: list[tuple | None] = []
        for row in parsed:
            guess = imp.plan_unmatched(row)
            if guess is not None and guess.created:
                data = imp.new_contact(guess)
                self.guesses.append(data)
                self.new_uuids.append(str(uuidlib.uuid4()))
                self.facts.append(None if channels is None else _facts(data, channels, country))
            else:
                self.guesses.append(guess)
                self.new_uuids.append(None)
                self.facts.append(None)
        self._parsed: list[imp.ParsedRow] | None = parsed
        self._packed: bytes | None = None

    @property
    def parsed(self) -> list[imp.ParsedRow]:
        if self._parsed is None:
            assert self._packed is not None  # __getstate__ packed them
            self._parsed = pickle.loads(self._packed)
            self._packed = None
        return self._parsed

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if state["_parsed"] is not None:
            state["_packed"] = pickle.dumps(state["_parsed"], protocol=pickle.HIGHEST_PROTOCOL)
            state["_parsed"] = None
        return state


def _facts(data: tuple, channels: Sequence[Channel], country: str | None) -> tuple:
    """``core.problems.facts`` of a new contact as ``imp.new_contact`` plans it."""
    name, _, status, links = data[0], data[1], data[2], data[3]
    try:
        state = Status(status)
    except ValueError:
        state = Status.ACTIVE
    contact = Contact(state, tuple(Connection(identity, None, display) for _, _, display, identity, _ in links),
                      name or "")
    return problems.facts(contact, channels, country)


def channels_to_json(channels: Sequence[Channel]) -> list[dict]:
    """The workspace's channels for a reader process (its problems need the resolver's view)."""
    return [{**{f: getattr(c, f) for f in ("id", "name", "type", "address", "country", "allow_international",
                                           "active", "uuid")},
             "schemes": list(c.schemes), "roles": sorted(c.roles), "match_prefixes": list(c.match_prefixes),
             "created_on": c.created_on.isoformat() if c.created_on else None} for c in channels]


def channels_from_json(data: list[dict] | None) -> list[Channel] | None:
    if data is None:
        return None
    return [Channel(**{**d, "schemes": tuple(d["schemes"]), "roles": frozenset(d["roles"]),
                       "match_prefixes": tuple(d["match_prefixes"]),
                       "created_on": datetime.fromisoformat(d["created_on"]) if d["created_on"] else None})
            for d in data]


def read_batches(sheet: SheetReader, country: str | None, tz: str | None, chunk: int, part: int = 0,
                 parts: int = 1, channels: Sequence[Channel] | None = None) -> Iterator[Batch]:
    """The file's rows parsed, a batch per ``chunk`` data rows (the last may be smaller; blank rows
    do not count). With ``parts`` > 1 this yields only batches number ``part``, ``part + parts``, …:
    several readers share the parsing, each reading the whole file. Raises ImportFailed /
    ``imp.ImportFileError`` for file-level errors."""
    rows = sheet.rows()
    headers = imp.parse_headers(next(rows, None))
    csv_file, xlsx_file = sheet.kind == "csv", sheet.kind == "xlsx"
    parsed: list[imp.ParsedRow] = []
    read = skipped = 0
    mine = part == 0  # this reader parses the current batch
    index = 0
    number = 1
    for cells in rows:
        number += 1
        if not any(c is not None and (not isinstance(c, str) or c.strip()) for c in cells):
            continue  # an empty row
        read += 1
        if mine:
            row = imp.parse_row(headers, number, cells, country=country, tz=tz, csv=csv_file, xlsx=xlsx_file)
            if row is None:
                skipped += 1
            else:
                parsed.append(row)
        if read >= chunk:
            if mine:
                yield Batch(read, skipped, parsed, sheet.total, channels, country)
                parsed, skipped = [], 0
            read = 0
            index += 1
            mine = index % parts == part
    if mine and read:
        yield Batch(read, skipped, parsed, sheet.total, channels, country)


PARALLEL_FROM_BYTES = 512 * 1024  # smaller files: starting a process costs more than it saves


@contextlib.contextmanager
def open_batches(sheet: SheetReader, country: str | None, tz: str | None, chunk: int,
                 parallel: bool | None = None, channels: Sequence[Channel] | None = None
                 ) -> Iterator[Iterator[Batch]]:
    """:func:`read_batches`, run in reader processes when ``parallel`` (None: when the file is big
    enough to gain from it). They read and parse the next batches while the caller writes one."""
    if parallel is None:
        try:
            parallel = sheet.path.stat().st_size >= PARALLEL_FROM_BYTES
        except OSError:
            parallel = False
    if not parallel:
        yield read_batches(sheet, country, tz, chunk, channels=channels)
        return
    # reader processes (ccconsole.frames); a csv is cheap to read, so two readers share its parsing
    # (a workbook's reading is the cost)
    parts = READERS if sheet.kind == "csv" else 1
    workers: list[frames.Worker] = []
    try:
        for part in range(parts):
            args = json.dumps({"path": str(sheet.path), "kind": sheet.kind, "country": country, "tz": tz,
                               "chunk": chunk, "part": part, "parts": parts,
                               "channels": None if channels is None else channels_to_json(channels)})
            try:
                workers.append(frames.start(__name__, args, read_ahead=READ_AHEAD, name="ccconsole-import-pipe"))
            except OSError:  # no interpreter to start (an embedded Python): read here, as for small files
                if workers:
                    raise
                yield read_batches(sheet, country, tz, chunk, channels=channels)
                return
        yield _received(workers, sheet)
    finally:
        # done, failed or cancelled: what the readers still have is not needed (they only read a file)
        for worker in workers:
            worker.stop()


READERS = 2
READ_AHEAD = 3  # batches read off the pipe ahead of the writer: bounded memory, no stalls either side


_DONE = "done"


def _worker(args: str) -> None:
    """The worker process: send each batch to stdout, then ``_DONE``, or the file-level error."""
    gc.disable()  # batches hold no reference cycles: reference counting frees them; no collector passes
    with contextlib.suppress(OSError):
        os.nice(5)  # the writer (the importer) is the bottleneck: it comes first for the cores
    options = json.loads(args)
    out = sys.stdout.buffer
    sheet = SheetReader(Path(options["path"]), options["kind"])

    def send(item) -> None:
        frames.send(out, item)

    try:
        try:
            for batch in read_batches(sheet, options["country"], options["tz"], options["chunk"],
                                      options["part"], options["parts"],
                                      channels_from_json(options.get("channels"))):
                send(batch)
        except (ImportFailed, imp.ImportFileError) as err:
            send(err)
            return
        except Exception as err:  # an unexpected reader error: its text, never a hang
            send(ImportFailed(f"Cannot read {sheet.path.name}: {type(err).__name__}: {err}."))
            return
        send(_DONE)
    except (BrokenPipeError, OSError):
        return  # the importer is gone (finished, failed, cancelled or killed)


def _received(workers: list[frames.Worker], sheet: SheetReader) -> Iterator[Batch]:
    """The readers' batches in file order: batch N comes from reader N mod the number of readers;
    the reader whose turn it is ends the import when it has no batch left."""
    turn = 0
    while True:
        item = workers[turn % len(workers)].receive()
        if item is None:
            raise ImportFailed(f"Reading {sheet.path.name} stopped unexpectedly (the reader process "
                               "ended); nothing was imported.")
        if isinstance(item, Batch):
            yield item
        elif item == _DONE:
            return
        else:
            raise item
        turn += 1


if __name__ == "__main__":  # the worker process (``python -m``): pickle the importable module's classes
    from ccconsole.files.sheets import _worker as worker

    worker(sys.argv[1])
