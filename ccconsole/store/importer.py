"""Import a RapidPro/TextIt contacts file (.xlsx or .csv) into the workspace (domain.md section 6).

The file is streamed (openpyxl read-only, values only; the csv module with BOM handling and a sniffed
delimiter) in chunks of rows. For each chunk the owners of its connections, its UUIDs' contacts and
their lists and fields are read with a handful of queries, ``core.importing.plan_row`` decides each
row, and the outcome is written with bulk statements (straight through the driver for the inserts).
Reading and parsing the file (``files.sheets``) runs in a second process for big files, one chunk
ahead of the writing.

Safety: the whole import is ONE transaction. It commits completely or not at all, also when the
process is killed mid-way (SQLite's WAL and PostgreSQL both drop an uncommitted transaction). A
dry run is the same work, rolled back, so its report is exactly what the import would do.
"""

from __future__ import annotations

import bisect
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, Table, Text, bindparam, delete, insert, select, update

from ccconsole.core import importing as imp
from ccconsole.core.changes import snapshot
from ccconsole.errors import RaceLost, ReadOnly, StoreError, describe
from ccconsole.files.sheets import Batch, ImportFailed, SheetReader, open_batches, open_sheet
from ccconsole.store import channels as channel_rows
from ccconsole.store import db
from ccconsole.store import problems as problem_rows
from ccconsole.store.models import Connection, Contact, FieldDef, FieldValue
from ccconsole.store.unit import Scope, UnitOfWork, no_gc_passes, transaction

CHUNK = 2000
MAX_ERRORS_KEPT = 1000
# SQLite, a file of at least this many rows and at least as many as the workspace has contacts: the
# plain indexes of the tables the import fills are dropped for it and built again before it commits
# (in its transaction, so others never see them missing). Above that ratio, rebuilding would cost more.
DEFER_INDEXES_FROM = 20_000
BULK_TABLES = ("contact", "connection", "field_value")


def _survivors(conn, workspace_id: int, uuids: list[str]) -> dict[str, int]:
    """``{merged contact's UUID: id of the live contact it was merged into}`` (merges of merges followed)."""
    found: dict[str, int] = {}
    pending = dict(db.select_in(conn, "SELECT uuid, merged_into FROM contact WHERE workspace_id = {p} "
                                      "AND merged_into IS NOT NULL AND uuid {in}", uuids, workspace_id))
    for _ in range(20):  # a chain of merges is short; never loop forever on bad data
        if not pending:
            break
        rows = dict(db.select_in(conn, "SELECT id, merged_into FROM contact WHERE deleted_on IS NOT NULL AND id {in}",
                                 sorted(set(pending.values()))))
        live = {uuid: target for uuid, target in pending.items() if target not in rows}
        found.update(live)
        pending = {uuid: rows[target] for uuid, target in pending.items()
                   if target in rows and rows[target] is not None}
    return found


class ImportCancelled(StoreError):
    """Staff cancelled the import; everything was rolled back."""


@dataclass(frozen=True)
class ImportReport:
    file: str
    rows: int  # data rows read (not counting blank ones)
    created: int
    updated: int  # matched and changed
    unchanged: int  # matched, nothing to change
    errored: int  # rows that applied nothing (not matched); a created or updated row may list errors too
    skipped: int  # rows with neither UUID nor connection
    errors: tuple[imp.RowError, ...] = ()  # the first MAX_ERRORS_KEPT
    dry_run: bool = False
    seconds: float = 0.0
    error_count: int = 0  # all the errors found (``errors`` keeps the first MAX_ERRORS_KEPT)

    def as_dict(self) -> dict:
        return {"file": self.file, "dry_run": self.dry_run, "rows": self.rows, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "errored": self.errored,
                "skipped": self.skipped, "seconds": round(self.seconds, 3), "error_count": self.error_count,
                "errors": [{"row": e.row, "message": e.message} for e in self.errors]}

    def lines(self) -> list[str]:
        verb = "Would import" if self.dry_run else "Imported"
        head = (f"{verb} {self.file}: {self.created:,} created, {self.updated:,} updated, "
                f"{self.unchanged:,} unchanged, {self.errored:,} errored, {self.skipped:,} skipped "
                f"({self.rows:,} rows).")
        out = [head, *(str(e) for e in self.errors)]
        if self.error_count > len(self.errors):
            out.append(f"… and {self.error_count - len(self.errors):,} more errors.")
        return out


# --- the import ----------------------------------------------------------------------------------


@dataclass
class _State:
    """An existing contact the current chunk touches: as loaded, and as the rows leave it."""

    orig: imp.Existing
    cur: imp.Existing
    lowest_priority: int
    affinities: dict[str, int | None]  # identity -> affinity channel, of the connections as loaded

    def snapshot(self, contact: imp.Existing) -> dict:
        """The audit snapshot (core.changes) of what an import can change; new connections have no affinity."""
        return snapshot(name=contact.name, status=contact.status, language=contact.language,
                        connections=[(i, self.affinities.get(i)) for i in contact.connections],
                        fields=contact.fields)


def import_file(scope: Scope, path: str | Path, *, dry_run: bool = False,
                progress: Callable[[int, int | None], object] | None = None,
                cancelled: Callable[[], bool] | None = None, chunk: int = CHUNK,
                parallel: bool | None = None) -> ImportReport:
    """Import ``path`` into ``scope``'s workspace in one transaction; a dry run rolls it back.

    ``progress(rows_read, total_estimate)`` is called after each chunk; ``cancelled()`` is checked
    between chunks and aborts (rollback) with ImportCancelled. Raises ImportFailed for file-level
    errors (nothing is written). ``parallel``: read and parse the file in a second process while
    this one writes (None: when the file is big enough to gain from it; see ``sheets.open_batches``).
    """
    started = time.perf_counter()
    sheet = open_sheet(path)
    job = _Import(scope, sheet, dry_run)
    try:
        with no_gc_passes(), transaction(scope, dry_run=dry_run) as uow:
            job.run(uow, progress, cancelled, chunk, parallel)
            if not dry_run:
                job.finish(uow)
    except ReadOnly as err:
        raise ReadOnly("The workspace is open read-only: nothing can be imported.") from err
    except imp.ImportFileError as err:
        raise ImportFailed(str(err)) from err
    except RaceLost as err:
        raise StoreError("Another change took one of the file's connections at the same moment; "
                         "nothing was imported. Try again.") from err
    except (ImportCancelled, ImportFailed):
        raise
    except StoreError as err:
        if err.__cause__ is None:  # a refusal of ours, already worded
            raise
        raise StoreError(f"Database error: {describe(err.__cause__)}; nothing was imported.") from err
    return replace(job.report(), seconds=time.perf_counter() - started)


# the UUIDs and connections named by the rows so far that created no contact (those that did are
# told by their contacts' ids), for the file-level duplicate check: a temporary table, so memory does
# not grow with the file
SEEN = Table("ccconsole_import_seen", MetaData(), Column("k", Text, primary_key=True),
             prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


class _Ranges:
    """A set of ints kept as sorted, disjoint [start, end] ranges: the ids of the contacts an import
    created, which come in runs (one run on SQLite), in constant memory however big the file."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, ids: list[int]) -> None:
        if ids and ids == list(range(ids[0], ids[0] + len(ids))):  # one run (always, on SQLite)
            self._add_run(ids[0], ids[-1])
            return
        for n in ids:
            self._add_run(n, n)

    def _add_run(self, first: int, last: int) -> None:
        k = bisect.bisect_right(self.starts, first)
        if k and self.ends[k - 1] >= first - 1:  # overlaps or touches the run before
            k -= 1
            self.ends[k] = max(self.ends[k], last)
        else:
            self.starts.insert(k, first)
            self.ends.insert(k, last)
        while k + 1 < len(self.starts) and self.starts[k + 1] <= self.ends[k] + 1:  # swallows runs after
            self.ends[k] = max(self.ends[k], self.ends.pop(k + 1))
            self.starts.pop(k + 1)

    def __contains__(self, n: int) -> bool:
        k = bisect.bisect_right(self.starts, n)
        return k > 0 and n <= self.ends[k - 1]


CONTACT_COLUMNS = ("id", "uuid", "workspace_id", "name", "language", "status", "created_on", "modified_on",
                   "version")
CONNECTION_COLUMNS = ("workspace_id", "contact_id", "scheme", "path", "display", "identity", "priority")
FIELD_COLUMNS = ("contact_id", "field_id", "value")


class _Import:
    def __init__(self, scope: Scope, sheet: SheetReader, dry_run: bool):
        self.scope = scope
        self.ws = scope.workspace
        self.sheet = sheet
        self.dry_run = dry_run
        self.counts = {"rows": 0, "created": 0, "updated": 0, "unchanged": 0, "errored": 0, "skipped": 0,
                       "error_count": 0}
        self.errors: list[imp.RowError] = []
        self.field_ids: dict[str, int] = {}
        self.now = datetime.now(UTC)
        self.deferred: list[str] | None = None  # the indexes dropped for the import (None: not decided)
        self.created = _Ranges()  # the ids of the contacts the import created
        self.seen = 0  # keys in SEEN
        self.computed: list[tuple[int, tuple, frozenset[str]]] = []  # new contacts' facts, from the readers

    def report(self) -> ImportReport:
        return ImportReport(self.sheet.path.name, errors=tuple(self.errors), dry_run=self.dry_run, **self.counts)

    def _error(self, row: int, message: str) -> None:
        """A row that applies nothing."""
        self.counts["errored"] += 1
        self._errors(row, (message,))

    def _errors(self, row: int, messages) -> None:
        self.counts["error_count"] += len(messages)
        for message in messages:
            if len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append(imp.RowError(row, message))

    def run(self, uow: UnitOfWork, progress, cancelled, chunk: int, parallel: bool | None) -> None:
        self.uow = uow
        conn = uow.connection
        SEEN.create(conn)
        self.field_ids = {k: i for k, i in conn.execute(
            select(FieldDef.key, FieldDef.id).where(FieldDef.workspace_id == self.ws.id))}
        channels = channel_rows.rows(uow.session, self.ws.id)  # the readers compute new contacts' problems
        with open_batches(self.sheet, self.ws.country, self.ws.timezone, chunk, parallel, channels) as batches:
            for batch in batches:
                self.counts["rows"] += batch.rows
                self.counts["skipped"] += batch.skipped
                if self.deferred is None:
                    self.deferred = self._defer_indexes(conn, batch.total)
                    uow.problems_deferred = bool(self.deferred)
                if batch.named:
                    self._chunk(conn, batch)
                if batch.rows >= chunk:  # a full chunk: more may follow
                    if progress:
                        progress(self.counts["rows"], batch.total)
                    if cancelled and cancelled():
                        raise ImportCancelled("Import cancelled: nothing was imported.")
        if self.counts["rows"] == 0:
            raise imp.ImportFileError(imp.NO_RECORDS)
        if progress:
            progress(self.counts["rows"], self.counts["rows"])
        if cancelled and cancelled():
            raise ImportCancelled("Import cancelled: nothing was imported.")

    def _defer_indexes(self, conn, total: int | None) -> list[str]:
        if conn.dialect.name != "sqlite" or (total or 0) < DEFER_INDEXES_FROM:
            return []
        if total < conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM contact").scalar_one():
            return []
        return db.drop_plain_indexes(conn, BULK_TABLES)

    # -- one chunk --

    def _check_duplicates(self, conn, named: list, owners: dict[str, int | None]) -> None:
        """File-level: no UUID or connection named twice. A connection named by an earlier row that
        created a contact is owned by a contact of ``self.created``; the keys of every other earlier
        row are in SEEN (none, in the usual import of new contacts: nothing to look up then)."""
        earlier = {f"urn:{i}" for i, owner in owners.items() if owner is not None and owner in self.created}
        if self.seen:
            keys = [k for _, uuid, identities in named for k in imp.row_keys(uuid, identities)]
            earlier.update(k for (k,) in db.select_in(conn, "SELECT k FROM ccconsole_import_seen WHERE k {in}", keys))
        imp.check_duplicates(named, earlier)  # raises ImportFileError for the first duplicate

    def _chunk(self, conn, batch: Batch) -> None:
        ws, named = self.ws.id, batch.named
        owners: dict[str, int | None] = dict(db.select_in(
            conn, "SELECT identity, contact_id FROM connection WHERE workspace_id = {p} AND identity {in}",
            [i for _, _, identities in named for i in identities], ws))
        self._check_duplicates(conn, named, owners)
        uuids = [uuid for _, uuid, _ in named if uuid]
        by_uuid_ids: dict[str, int] = {}
        if uuids:
            by_uuid_ids = dict(db.select_in(
                conn, "SELECT uuid, id FROM contact WHERE workspace_id = {p} AND deleted_on IS NULL AND uuid {in}",
                uuids, ws))
            missing = [u for u in uuids if u not in by_uuid_ids]
            if missing:  # a merged contact's UUID updates the contact it was merged into
                by_uuid_ids.update(_survivors(conn, ws, missing))
        ids = set(by_uuid_ids.values()) | {o for o in owners.values() if o is not None}
        states = self._load(conn, ids)
        contacts = {i: s.cur for i, s in states.items()}
        created: list[tuple[tuple, str, tuple | None]] = []  # (imp.new_contact data, its UUID, its facts)
        updated: list[imp.Plan] = []
        # the keys of the rows that create no contact, and the connections a created contact did not
        # get (invalid ones), for SEEN: what an earlier row named that no created contact tells
        unseen: list[tuple[str]] = []
        for n, (row, uuid, identities) in enumerate(named):
            guess = batch.guesses[n]
            if guess is not None and imp.plan_holds(uuid, identities, owners):
                if isinstance(guess, tuple):  # the reader's plan: a new contact
                    self._field_ids(conn, guess[4])
                    self.counts["created"] += 1
                    new_uuid = batch.new_uuids[n]
                    assert new_uuid is not None  # the reader gave each contact it planned a UUID
                    created.append((guess, new_uuid, batch.facts[n]))
                    if guess[5]:  # the items it skipped
                        self._errors(row, guess[5])
                        if len(identities) > len(guess[3]):
                            linked = {link[3] for link in guess[3]}
                            unseen += [(f"urn:{i}",) for i in identities if i not in linked]
                    continue
                plan = guess  # the reader's error
            else:  # the row matches a contact (or has a UUID): plan it against what is stored
                parsed = batch.parsed[n]
                by_uuid = {uuid: contacts[by_uuid_ids[uuid]]} if uuid in by_uuid_ids else {}
                plan = imp.plan_row(parsed, by_uuid=by_uuid, owners=owners, contacts=contacts)
            if not plan.created:
                unseen += [(k,) for k in imp.row_keys(uuid, identities)]
            elif len(identities) > len(plan.connections):
                unseen += [(f"urn:{i}",) for i in identities if i not in plan.connections]
            if plan.error:
                self._error(plan.row, plan.error)
                continue
            if plan.errors:
                self._errors(plan.row, plan.errors)
            self._field_ids(conn, [(k, label, v) for k, (label, v) in plan.set_fields.items()])
            if plan.created:  # (a row the reader could plan: kept for completeness)
                self.counts["created"] += 1
                created.append((imp.new_contact(plan), str(uuidlib.uuid4()), None))
            elif plan.changed:
                self.counts["updated"] += 1
                state = states[plan.contact_id]
                cur = state.cur
                fields = dict(cur.fields)
                fields.update((k, v) for k, (_, v) in plan.set_fields.items())
                for k in plan.clear_fields:
                    fields.pop(k, None)
                attrs: dict[str, Any] = {a: plan.attrs.get(a, getattr(cur, a)) for a in ("name", "language", "status")}
                state.cur = contacts[cur.id] = imp.Existing(
                    cur.id, attrs["name"], attrs["language"], attrs["status"], plan.connections, fields)
                updated.append(plan)
                self.uow.audit("contact.import.update", contact_id=cur.id, before=state.snapshot(cur),
                               after={**state.snapshot(state.cur), "import_row": plan.row})
            else:
                self.counts["unchanged"] += 1
        self.seen += db.insert_many(conn, SEEN, ("k",), unseen)
        links: list[tuple] = []  # new connections: CONNECTION_COLUMNS
        claims: list[dict] = []  # detached connections claimed again
        if created:
            self._create(conn, created, owners, links, claims)
        if updated:
            self._update(conn, states, updated, owners, links, claims)
        db.insert_many(conn, Connection, CONNECTION_COLUMNS, links)
        if claims:
            conn.execute(update(Connection).where(Connection.workspace_id == ws,
                                                  Connection.identity == bindparam("_identity"))
                         .values(contact_id=bindparam("_cid"), priority=bindparam("_priority"),
                                 affinity_channel_id=None, affinity_since=None, affinity_message_id=None), claims)
        # the chunk's problems: new contacts' as the readers computed them, the others' computed now
        # (a bulk load into an empty database finds the duplicates and the changed contacts' at its end)
        problem_rows.add_computed(self.uow.session, self.scope, self.computed, duplicates=not self.deferred)
        self.computed.clear()
        self.uow.refresh_problems()

    def _field_ids(self, conn, fields) -> None:
        """Field definitions for the (key, label, value) a row sets that the workspace lacks."""
        for key, label, _ in fields:
            if key not in self.field_ids:
                self.field_ids[key] = conn.execute(insert(FieldDef).values(
                    workspace_id=self.ws.id, key=key, name=label).returning(FieldDef.id)).scalar_one()

    def _load(self, conn, ids: set[int]) -> dict[int, _State]:
        if not ids:
            return {}
        ids_list = sorted(ids)
        conns: dict[int, list[str]] = {i: [] for i in ids_list}
        lowest: dict[int, int] = {}
        fields: dict[int, dict[str, str]] = {i: {} for i in ids_list}
        affinities: dict[int, dict[str, int | None]] = {i: {} for i in ids_list}
        states = {}
        for start in range(0, len(ids_list), 5000):
            part = ids_list[start:start + 5000]
            for cid, identity, priority, affinity in conn.execute(
                    select(Connection.contact_id, Connection.identity, Connection.priority,
                           Connection.affinity_channel_id)
                    .where(Connection.contact_id.in_(part))
                    .order_by(Connection.contact_id, Connection.priority.desc(), Connection.id)):
                conns[cid].append(identity)
                lowest[cid] = priority
                affinities[cid][identity] = affinity
            for cid, key, value in conn.execute(
                    select(FieldValue.contact_id, FieldDef.key, FieldValue.value)
                    .join(FieldDef, FieldDef.id == FieldValue.field_id)
                    .where(FieldValue.contact_id.in_(part))):
                fields[cid][key] = value
            for cid, name, language, status in conn.execute(
                    select(Contact.id, Contact.name, Contact.language, Contact.status).where(Contact.id.in_(part))):
                existing = imp.Existing(cid, name, language, status, tuple(conns[cid]), fields[cid])
                states[cid] = _State(existing, existing, lowest.get(cid, 1001), affinities[cid])
        return states

    def _create(self, conn, news: list[tuple[tuple, str, tuple | None]], owners: dict[str, int | None],
                links: list[tuple], claims: list[dict]) -> None:
        """The contacts the rows create (one row each: a second row naming one of a new contact's
        connections is a duplicate, which fails the file), with ids reserved up front."""
        ws, now, field_ids = self.ws.id, self.now, self.field_ids
        contacts, values = [], []
        ids = db.next_ids(conn, Contact, len(news))
        self.created.add(ids)
        for (_, _, facts), cid in zip(news, ids):
            if facts is None:  # planned here, not by a reader: computed with the touched contacts
                self.uow.touched.add(cid)
            else:
                self.computed.append((cid, *facts))
        for ((name, language, status, connections, fields, _), new_uuid, _), cid in zip(news, ids):
            contacts.append((cid, new_uuid, ws, name, language, status, now, now, 1))
            for scheme, path, display, identity, priority in connections:
                if identity in owners:  # exists, detached
                    claims.append(dict(_identity=identity, _cid=cid, _priority=priority))
                else:
                    links.append((ws, cid, scheme, path, display, identity, priority))
            values += [(cid, field_ids[key], value) for key, _, value in fields]
        db.insert_many(conn, Contact, CONTACT_COLUMNS, contacts)
        db.insert_many(conn, FieldValue, FIELD_COLUMNS, values)

    def _update(self, conn, states: dict[int, _State], plans: list[imp.Plan], owners: dict[str, int | None],
                links: list[tuple], claims: list[dict]) -> None:
        """Existing contacts the rows change (several rows may change one): attributes, appended
        connections, fields (final state against what was loaded) and one audit event per row."""
        ws, now = self.ws.id, self.now
        changed = [s for s in states.values() if s.cur != s.orig]
        if changed:
            conn.execute(update(Contact).where(Contact.id == bindparam("_id")).values(
                name=bindparam("_name"), language=bindparam("_language"), status=bindparam("_status"),
                version=Contact.version + 1, modified_on=now),
                [dict(_id=s.orig.id, _name=s.cur.name, _language=s.cur.language, _status=s.cur.status)
                 for s in changed])
        for plan in plans:
            state = states[plan.contact_id]
            for urn in plan.added:
                state.lowest_priority = min(1000 - plan.connections.index(urn.identity), state.lowest_priority - 1)
                if urn.identity in owners:  # exists, detached
                    claims.append(dict(_identity=urn.identity, _cid=plan.contact_id, _priority=state.lowest_priority))
                else:
                    links.append((ws, plan.contact_id, urn.scheme, urn.path, urn.display, urn.identity,
                                  state.lowest_priority))
        f_ins, f_upd, f_del = [], [], []
        for state in changed:
            cid, old, new = state.orig.id, state.orig.fields, state.cur.fields
            for k, v in new.items():
                if k not in old:
                    f_ins.append((cid, self.field_ids[k], v))
                elif old[k] != v:
                    f_upd.append(dict(_cid=cid, _fid=self.field_ids[k], _value=v))
            f_del += [dict(_cid=cid, _fid=self.field_ids[k]) for k in old.keys() - new.keys()]
        db.insert_many(conn, FieldValue, FIELD_COLUMNS, f_ins)
        if f_upd:
            conn.execute(update(FieldValue).where(FieldValue.contact_id == bindparam("_cid"),
                                                  FieldValue.field_id == bindparam("_fid"))
                         .values(value=bindparam("_value")), f_upd)
        if f_del:
            conn.execute(delete(FieldValue).where(FieldValue.contact_id == bindparam("_cid"),
                                                  FieldValue.field_id == bindparam("_fid")), f_del)
        self.uow.write_events()  # one per row that changed an existing contact (recorded in _chunk)

    def finish(self, uow: UnitOfWork) -> None:
        """The deferred indexes and the summary audit event, in the import's transaction (whose
        epilogue then bumps the change sequence and notifies, as every write does)."""
        conn = uow.connection
        SEEN.drop(conn)
        db.create_indexes(conn, self.deferred or ())
        if self.deferred:  # a bulk load: the changed contacts' problems and the duplicates, indexes back
            uow.problems_deferred = False
            uow.refresh_problems()
            problem_rows.all_duplicates(uow.session, self.scope)
        summary = {k: v for k, v in self.report().as_dict().items() if k not in ("errors", "dry_run", "seconds")}
        uow.audit("contacts.import", after=summary)
