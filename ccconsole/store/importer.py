"""Import a RapidPro/TextIt contacts file (.xlsx or .csv) into the workspace (domain.md section 6).

The file is streamed (openpyxl read-only, values only; the csv module with BOM handling and a sniffed
delimiter) in chunks of rows. For each chunk the owners of its connections, its UUIDs' contacts and
their lists and fields are read with a handful of queries, ``core.importing.plan_row`` decides each
row, and the outcome is written with bulk Core statements.

Safety: the whole import is ONE transaction. It commits completely or not at all, also when the
process is killed mid-way (SQLite's WAL and PostgreSQL both drop an uncommitted transaction). A
dry run is the same work, rolled back, so its report is exactly what the import would do.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid as uuidlib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Column, MetaData, Table, Text, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ccconsole.core import importing as imp
from ccconsole.store import db, live
from ccconsole.store.errors import StoreError
from ccconsole.store.models import AuditEvent, Connection, Contact, FieldDef, FieldValue, Workspace

CHUNK = 2000
MAX_ERRORS_KEPT = 1000
SNIFF_BYTES = 64 * 1024


class ImportFailed(StoreError):
    """The file is rejected as a whole (domain.md's file-level messages, or unreadable); nothing written."""


class ImportCancelled(StoreError):
    """Staff cancelled the import; everything was rolled back."""


@dataclass(frozen=True)
class ImportReport:
    file: str
    rows: int  # data rows read (not counting blank ones)
    created: int
    updated: int  # matched and changed
    unchanged: int  # matched, nothing to change
    errored: int
    skipped: int  # rows with neither UUID nor connection
    errors: tuple[imp.RowError, ...] = ()  # the first MAX_ERRORS_KEPT
    dry_run: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"file": self.file, "dry_run": self.dry_run, "rows": self.rows, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "errored": self.errored,
                "skipped": self.skipped, "seconds": round(self.seconds, 3),
                "errors": [{"row": e.row, "message": e.message} for e in self.errors]}

    def lines(self) -> list[str]:
        verb = "Would import" if self.dry_run else "Imported"
        head = (f"{verb} {self.file}: {self.created:,} created, {self.updated:,} updated, "
                f"{self.unchanged:,} unchanged, {self.errored:,} errored, {self.skipped:,} skipped "
                f"({self.rows:,} rows).")
        out = [head, *(str(e) for e in self.errors)]
        if self.errored > len(self.errors):
            out.append(f"… and {self.errored - len(self.errors):,} more errors.")
        return out


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
            raise ImportFailed(f"Cannot read {self.path.name}: it is not a valid .xlsx workbook ({_short(err)}).") from err
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
            except (zipfile.BadZipFile, OSError, ValueError, KeyError) as err:
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
            reader = csv.reader(text, delimiter=delimiter)
            line = 1
            try:
                for values in reader:
                    line = reader.line_num
                    yield values
            except UnicodeDecodeError as err:
                raise _not_utf8(self.path, None, line + 1) from err
            except csv.Error as err:
                raise ImportFailed(f"Cannot read {self.path.name} near line {line}: {err}.") from err


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
        with p.open("rb") as f:
            head = f.read(8)
    except FileNotFoundError as err:
        raise ImportFailed(f"No such file: {p}.") from err
    except OSError as err:
        raise ImportFailed(f"Cannot open {p}: {err.strerror or err}.") from err
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


# --- the import ----------------------------------------------------------------------------------


@dataclass
class _State:
    """A contact the current chunk touches: as loaded, and as the rows leave it."""

    orig: imp.Existing | None
    cur: imp.Existing
    lowest_priority: int


def import_file(store, path: str | Path, *, dry_run: bool = False,
                progress: Callable[[int, int | None], None] | None = None,
                cancelled: Callable[[], bool] | None = None, chunk: int = CHUNK) -> ImportReport:
    """Import ``path`` into ``store``'s workspace in one transaction; a dry run rolls it back.

    ``progress(rows_read, total_estimate)`` is called after each chunk; ``cancelled()`` is checked
    between chunks and aborts (rollback) with ImportCancelled. Raises ImportFailed for file-level
    errors (nothing is written).
    """
    if store.read_only:
        raise StoreError("The console is read-only: nothing can be imported.")
    started = time.perf_counter()
    sheet = open_sheet(path)
    engine = store.engine.execution_options(**{db.WRITE_OPTION: True})
    job = _Import(store, sheet, dry_run)
    try:
        with engine.connect() as conn:
            tx = conn.begin()
            try:
                job.run(conn, progress, cancelled, chunk)
                if dry_run:
                    tx.rollback()
                else:
                    job.finish(conn)
                    tx.commit()
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
    except imp.ImportFileError as err:
        raise ImportFailed(str(err)) from err
    except IntegrityError as err:
        raise StoreError("Another change took one of the file's connections at the same moment; "
                         "nothing was imported. Try again.") from err
    except OperationalError as err:
        raise StoreError(f"Database error: {db.describe(err)}; nothing was imported.") from err
    return replace(job.report(), seconds=time.perf_counter() - started)


SEEN = Table("ccconsole_import_seen", MetaData(), Column("k", Text, primary_key=True),
             prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


def _parts(values: list, size: int = 5000):
    """``values`` in slices small enough for one IN list (SQLite allows 32,766 bound parameters)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


class _Import:
    def __init__(self, store, sheet: SheetReader, dry_run: bool):
        self.store = store
        self.ws = store.workspace
        self.sheet = sheet
        self.dry_run = dry_run
        self.counts = {"rows": 0, "created": 0, "updated": 0, "unchanged": 0, "errored": 0, "skipped": 0}
        self.errors: list[imp.RowError] = []
        self.field_ids: dict[str, int] = {}
        self.now = datetime.now(timezone.utc)

    def report(self) -> ImportReport:
        return ImportReport(self.sheet.path.name, errors=tuple(self.errors), dry_run=self.dry_run, **self.counts)

    def _error(self, row: int, message: str) -> None:
        self.counts["errored"] += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(imp.RowError(row, message))

    def run(self, conn, progress, cancelled, chunk: int) -> None:
        rows = self.sheet.rows()
        headers = imp.parse_headers(next(rows, None))
        # the UUIDs and connections of the rows so far, for the file-level duplicate check: in a
        # temporary table, so memory does not grow with the file (dropped with the transaction)
        SEEN.create(conn)
        csv_file, xlsx_file = self.sheet.kind == "csv", self.sheet.kind == "xlsx"
        self.field_ids = {k: i for k, i in conn.execute(
            select(FieldDef.key, FieldDef.id).where(FieldDef.workspace_id == self.ws.id))}
        batch: list[imp.ParsedRow] = []
        number = 1
        for cells in rows:
            number += 1
            if not any(c is not None and (not isinstance(c, str) or c.strip()) for c in cells):
                continue  # an empty row
            self.counts["rows"] += 1
            parsed = imp.parse_row(headers, number, cells, country=self.ws.country, tz=self.ws.timezone,
                                   csv=csv_file, xlsx=xlsx_file)
            if parsed is None:
                self.counts["skipped"] += 1
                continue
            batch.append(parsed)
            if len(batch) >= chunk:
                self._chunk(conn, batch)
                batch = []
                if progress:
                    progress(self.counts["rows"], self.sheet.total)
                if cancelled and cancelled():
                    raise ImportCancelled("Import cancelled: nothing was imported.")
        if self.counts["rows"] == 0:
            raise imp.ImportFileError(imp.NO_RECORDS)
        if batch:
            self._chunk(conn, batch)
        if progress:
            progress(self.counts["rows"], self.counts["rows"])
        if cancelled and cancelled():
            raise ImportCancelled("Import cancelled: nothing was imported.")

    # -- one chunk --

    def _chunk(self, conn, batch: list[imp.ParsedRow]) -> None:
        ws = self.ws.id
        keys = [k for p in batch for k in imp.row_keys(p)]
        seen: set[str] = set()
        for part in _parts(keys):
            seen.update(conn.execute(select(SEEN.c.k).where(SEEN.c.k.in_(part))).scalars())
        imp.check_duplicates(batch, seen)
        conn.execute(insert(SEEN), [{"k": k} for k in keys])
        uuids = [p.uuid for p in batch if p.uuid]
        identities = [i for p in batch for i in p.all_identities]
        by_uuid_ids: dict[str, int] = {}
        if uuids:
            by_uuid_ids = dict(conn.execute(select(Contact.uuid, Contact.id).where(
                Contact.workspace_id == ws, Contact.deleted_on.is_(None), Contact.uuid.in_(uuids))).all())
        owners: dict[str, int | None] = {}
        for part in _parts(identities):  # a row may have many connection columns: bound the IN list
            owners.update(conn.execute(select(Connection.identity, Connection.contact_id).where(
                Connection.workspace_id == ws, Connection.identity.in_(part))).all())
        ids = set(by_uuid_ids.values()) | {o for o in owners.values() if o is not None}
        states = self._load(conn, ids)
        plans: list[tuple[imp.Plan, int]] = []  # (plan, state key)
        new_key = 0
        for parsed in batch:
            by_uuid = {parsed.uuid: states[by_uuid_ids[parsed.uuid]].cur} \
                if parsed.uuid in by_uuid_ids else {}
            contacts = {i: states[i].cur for i in (owners.get(x) for x in parsed.all_identities) if i in states}
            plan = imp.plan_row(parsed, by_uuid=by_uuid, owners=owners, contacts=contacts)
            if plan.error:
                self._error(plan.row, plan.error)
                continue
            if plan.created:
                new_key -= 1
                key = new_key
                blank = imp.Existing(key, "", None, "active", (), {})
                states[key] = _State(None, blank, 1001)
                self.counts["created"] += 1
            else:
                key = plan.contact_id
                self.counts["updated" if plan.changed else "unchanged"] += 1
            if plan.created or plan.changed:
                state = states[key]
                cur = state.cur
                fields = dict(cur.fields)
                for k, (_, v) in plan.set_fields.items():
                    fields[k] = v
                for k in plan.clear_fields:
                    fields.pop(k, None)
                attrs = {a: plan.attrs.get(a, getattr(cur, a)) for a in ("name", "language", "status")}
                state.cur = imp.Existing(cur.id, attrs["name"], attrs["language"], attrs["status"],
                                         plan.connections, fields)
                plans.append((plan, key))
                for label_key, (label, _) in plan.set_fields.items():
                    if label_key not in self.field_ids:
                        self.field_ids[label_key] = conn.execute(insert(FieldDef).values(
                            workspace_id=ws, key=label_key, name=label).returning(FieldDef.id)).scalar_one()
        if plans:
            self._write(conn, states, plans, owners)

    def _load(self, conn, ids: set[int]) -> dict[int, _State]:
        if not ids:
            return {}
        ids_list = sorted(ids)
        conns: dict[int, list[str]] = {i: [] for i in ids_list}
        lowest: dict[int, int] = {}
        fields: dict[int, dict[str, str]] = {i: {} for i in ids_list}
        states = {}
        for part in _parts(ids_list):
            for cid, identity, priority in conn.execute(
                    select(Connection.contact_id, Connection.identity, Connection.priority)
                    .where(Connection.contact_id.in_(part))
                    .order_by(Connection.contact_id, Connection.priority.desc(), Connection.id)):
                conns[cid].append(identity)
                lowest[cid] = priority
            for cid, key, value in conn.execute(
                    select(FieldValue.contact_id, FieldDef.key, FieldValue.value)
                    .join(FieldDef, FieldDef.id == FieldValue.field_id)
                    .where(FieldValue.contact_id.in_(part))):
                fields[cid][key] = value
            for cid, name, language, status in conn.execute(
                    select(Contact.id, Contact.name, Contact.language, Contact.status).where(Contact.id.in_(part))):
                existing = imp.Existing(cid, name, language, status, tuple(conns[cid]), fields[cid])
                states[cid] = _State(existing, existing, lowest.get(cid, 1001))
        return states

    def _write(self, conn, states: dict[int, _State], plans: list[tuple[imp.Plan, int]],
               owners: dict[str, int | None]) -> None:
        ws, now = self.ws.id, self.now
        # 1. the new contacts, with their ids back in row order
        new_keys = [k for k, s in states.items() if s.orig is None]
        real: dict[int, int] = {k: k for k in states if k > 0}
        if new_keys:
            rows = [dict(uuid=str(uuidlib.uuid4()), workspace_id=ws, name=states[k].cur.name,
                         language=states[k].cur.language, status=states[k].cur.status, created_on=now,
                         modified_on=now, version=1) for k in new_keys]
            conn.execute(insert(Contact), rows)  # RETURNING in row order costs a statement per row on SQLite
            ids = dict(conn.execute(select(Contact.uuid, Contact.id).where(
                Contact.uuid.in_([r["uuid"] for r in rows]))).all())
            for k, r in zip(new_keys, rows):
                real[k] = ids[r["uuid"]]
        # 2. changed existing contacts: attributes, version, modified_on
        changed = [k for k, s in states.items() if s.orig is not None and s.cur != s.orig]
        if changed:
            conn.execute(update(Contact).where(Contact.id == bindparam("_id")).values(
                name=bindparam("_name"), language=bindparam("_language"), status=bindparam("_status"),
                version=Contact.version + 1, modified_on=now),
                [dict(_id=k, _name=states[k].cur.name, _language=states[k].cur.language,
                      _status=states[k].cur.status) for k in changed])
        # 3. appended connections: new rows, or detached ones claimed again
        inserts, claims = [], []
        for plan, key in plans:
            state = states[key]
            for urn in plan.added:
                state.lowest_priority = min(1000 - plan.connections.index(urn.identity), state.lowest_priority - 1)
                if urn.identity in owners:  # exists, detached
                    claims.append(dict(_identity=urn.identity, _cid=real[key], _priority=state.lowest_priority))
                else:
                    inserts.append(dict(workspace_id=ws, contact_id=real[key], scheme=urn.scheme, path=urn.path,
                                        display=urn.display, identity=urn.identity, priority=state.lowest_priority))
        if inserts:
            conn.execute(insert(Connection), inserts)
        if claims:
            conn.execute(update(Connection).where(Connection.workspace_id == ws,
                                                  Connection.identity == bindparam("_identity"))
                         .values(contact_id=bindparam("_cid"), priority=bindparam("_priority"),
                                 affinity_channel_id=None, affinity_since=None, affinity_message_id=None), claims)
        # 4. field values: final state against what was loaded
        f_ins, f_upd, f_del = [], [], []
        for key, state in states.items():
            old = state.orig.fields if state.orig else {}
            if state.orig is not None and state.cur == state.orig:
                continue
            for k, v in state.cur.fields.items():
                if k not in old:
                    f_ins.append(dict(contact_id=real[key], field_id=self.field_ids[k], value=v))
                elif old[k] != v:
                    f_upd.append(dict(_cid=real[key], _fid=self.field_ids[k], _value=v))
            for k in old.keys() - state.cur.fields.keys():
                f_del.append(dict(_cid=real[key], _fid=self.field_ids[k]))
        if f_ins:
            conn.execute(insert(FieldValue), f_ins)
        if f_upd:
            conn.execute(update(FieldValue).where(FieldValue.contact_id == bindparam("_cid"),
                                                  FieldValue.field_id == bindparam("_fid"))
                         .values(value=bindparam("_value")), f_upd)
        if f_del:
            conn.execute(delete(FieldValue).where(FieldValue.contact_id == bindparam("_cid"),
                                                  FieldValue.field_id == bindparam("_fid")), f_del)
        # 5. an audit event per existing contact the import changed (with the row and what changed);
        #    the contacts it created are counted by the import's summary event (finish)
        actor = self.store.actor
        audits = []
        for plan, key in plans:
            if plan.created:
                continue
            after = {"import_row": plan.row, **{k: v for k, v in plan.attrs.items()},
                     "added": [u.identity for u in plan.added]}
            if plan.set_fields or plan.clear_fields:
                after["fields"] = {**{k: v for k, (_, v) in plan.set_fields.items()},
                                   **{k: None for k in plan.clear_fields}}
            audits.append(dict(workspace_id=ws, actor=actor, contact_id=real[key], channel_id=None,
                               action="contact.import.update",
                               before=None, after=json.dumps(after, default=str), created_on=now))
        if audits:
            conn.execute(insert(AuditEvent), audits)

    def finish(self, conn) -> None:
        """The summary audit event and the change signal, in the import's transaction."""
        SEEN.drop(conn)
        summary = {k: v for k, v in self.report().as_dict().items() if k not in ("errors", "dry_run", "seconds")}
        conn.execute(insert(AuditEvent).values(workspace_id=self.ws.id, actor=self.store.actor, action="contacts.import",
                                               after=json.dumps(summary), created_on=self.now))
        conn.execute(update(Workspace).where(Workspace.id == self.ws.id).values(change_seq=Workspace.change_seq + 1))
        live.notify(conn, self.ws.id)  # PostgreSQL: other consoles hear of it when this commits
