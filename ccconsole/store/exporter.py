"""Export contacts as RapidPro does (domain.md section 6): .xlsx or .csv.

Columns in RapidPro's order (``core.importing.export_headers``). The selection's ids are streamed
once, in id order, and the contacts read a page of ids at a time, so time grows linearly and memory
not at all with the workspace; the file is written by ``ccconsole.files.writers``
(the cell encoding of ``core.importing.protect``; text cells and escapes in xlsx). An export
re-imports with no change at all.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ccconsole.core import importing as imp
from ccconsole.errors import StoreError
from ccconsole.files import writers
from ccconsole.store import contacts
from ccconsole.store.models import Connection, Contact, ContactGroup, FieldDef, FieldValue, GroupMembership
from ccconsole.store.unit import Scope, connected

PAGE = 2000


@dataclass(frozen=True)
class ExportReport:
    file: str
    contacts: int
    columns: int
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"file": self.file, "contacts": self.contacts, "columns": self.columns,
                "seconds": round(self.seconds, 3)}


def selection(scope: Scope, query: str | None):
    """THE one place that turns the export's ``--query`` into a selection of contacts: a SELECT of
    the matching live contacts' ids, by the contact query language (core.query, as the console's /
    bar); a bad query raises core.query.QueryError. The export counts it, joins it to the connections
    and streams its ids, each once; never ``IN (this select)`` per page, which a database
    evaluates again every time."""
    return contacts.base(scope, query).with_only_columns(Contact.id)


def export_file(scope: Scope, path: str | Path, *, query: str | None = None,
                progress: Callable[[int, int], object] | None = None,
                cancelled: Callable[[], bool] | None = None) -> ExportReport:
    """Write the contacts matching ``query`` to ``path`` (.csv by extension, otherwise .xlsx).

    Written to a temporary file beside ``path`` and renamed at the end, so a failed or cancelled
    export never leaves half a file under the real name.
    """
    import time

    started = time.perf_counter()
    target = Path(path).expanduser()
    if target.is_dir():
        raise StoreError(f"{target} is a folder: give a file name ending in .xlsx or .csv.")
    kind = "csv" if target.suffix.lower() == ".csv" else "xlsx"
    if kind == "xlsx" and target.suffix.lower() != ".xlsx":
        raise StoreError(f"Export to a .xlsx or .csv file, not '{target.name}'.")
    ws = scope.workspace
    chosen = selection(scope, query)
    with connected(scope) as conn:
        if conn.dialect.name == "postgresql":
            # one snapshot for the whole export (SQLite's single read transaction is one already):
            # the column widths counted first still hold for the last row written
            conn.execution_options(isolation_level="REPEATABLE READ")
        total = conn.execute(chosen.with_only_columns(func.count())).scalar_one()
        # the most connections of each scheme on one chosen contact: one pass over the selection
        # joined to its connections
        per_contact = (chosen.join(Connection, Connection.contact_id == Contact.id)
                       .with_only_columns(Connection.scheme, func.count().label("n"))
                       .group_by(Connection.contact_id, Connection.scheme).subquery())
        urn_columns = {scheme: n for scheme, n in conn.execute(
            select(per_contact.c.scheme, func.max(per_contact.c.n)).group_by(per_contact.c.scheme))}
        fields = conn.execute(select(FieldDef.id, FieldDef.key, FieldDef.name)
                              .where(FieldDef.workspace_id == ws.id).order_by(FieldDef.key)).all()
        groups = conn.execute(select(ContactGroup.id, ContactGroup.name)
                              .where(ContactGroup.workspace_id == ws.id).order_by(ContactGroup.name)).all()
        headers = imp.export_headers(urn_columns, [(k, n) for _, k, n in fields], [n for _, n in groups])
        kinds = writers.column_kinds(urn_columns, len(fields), len(groups))
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            writer = writers.open_writer(tmp, kind, kinds)  # opens the file: an unwritable place fails here
        except FileExistsError as err:  # from mkdir: a file, not a folder, is in the way
            raise StoreError(f"Cannot write {target}: {err.filename} is not a folder.") from err
        except OSError as err:
            raise StoreError(f"Cannot write {target}: {err.strerror or err}.") from err
        done = 0
        try:
            writer.row(headers, header=True)
            zone = _zone(ws.timezone)
            # the selection is evaluated ONCE, as a stream of ids in id order (a server-side cursor
            # on PostgreSQL), read PAGE at a time; each page's rows are then read by primary key.
            # Paging by key instead (selection AND id > last ORDER BY id LIMIT n) re-runs the
            # query's filter for every page, and SQLite may answer it from a workspace index plus
            # a sort of every contact, per page: quadratic.
            chosen_ids = conn.execute(chosen.order_by(Contact.id), execution_options={"yield_per": PAGE})
            for chunk in chosen_ids.partitions(PAGE):
                ids = [r[0] for r in chunk]
                page = conn.execute(select(Contact.id, Contact.uuid, Contact.name, Contact.language, Contact.status,
                                           Contact.created_on, Contact.last_seen_on)
                                    .where(Contact.id.in_(ids)).order_by(Contact.id)).all()
                conns: dict[int, list[str]] = {i: [] for i in ids}
                for cid, identity in conn.execute(
                        select(Connection.contact_id, Connection.identity).where(Connection.contact_id.in_(ids))
                        .order_by(Connection.contact_id, Connection.priority.desc(), Connection.id)):
                    conns[cid].append(identity)
                values: dict[int, dict[int, str]] = {i: {} for i in ids}
                for cid, fid, value in conn.execute(select(FieldValue.contact_id, FieldValue.field_id, FieldValue.value)
                                                    .where(FieldValue.contact_id.in_(ids))):
                    values[cid][fid] = value
                member: dict[int, set[int]] = {i: set() for i in ids}
                for cid, gid in conn.execute(select(GroupMembership.contact_id, GroupMembership.group_id)
                                             .where(GroupMembership.contact_id.in_(ids))):
                    member[cid].add(gid)
                for cid, uuid, name, language, status, created, seen in page:
                    writer.row([uuid, name or "", language or "", status, _when(created, zone), _when(seen, zone),
                                *imp.urn_cells(conns[cid], urn_columns),
                                *(values[cid].get(fid, "") for fid, _, _ in fields),
                                *(gid in member[cid] for gid, _ in groups)])
                done += len(page)
                if progress:
                    progress(done, total)
                if cancelled and cancelled():
                    raise StoreError("Export cancelled: no file written.")
            writer.close()
            os.replace(tmp, target)
        except OSError as err:
            raise StoreError(f"Cannot write {target}: {err.strerror or err}.") from err
        finally:  # after the real error (if any), nothing here may raise another
            writer.abort()
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return ExportReport(str(target), done, len(headers), time.perf_counter() - started)


def _zone(name: str | None):
    try:
        return ZoneInfo(name) if name else UTC
    except Exception:
        return UTC


def _when(value: datetime | None, zone) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).replace(microsecond=0)
