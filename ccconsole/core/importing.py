"""RapidPro-compatible contact import and export, the pure part (domain.md section 6).

The store streams a file's rows in; this module says what each row means and what it would do:

- :func:`parse_headers` reads the header row (trimmed, split at the first ``:``, case-insensitive
  prefix) and raises :class:`ImportFileError` with domain.md's exact messages;
- :func:`cell_text` turns a spreadsheet cell (number, date, time, text) into text;
- :func:`parse_row` turns one row into a :class:`ParsedRow` (blank keeps, ``--`` clears, ``0`` is a
  value; connections normalized with the workspace country; UUIDs lowercased);
- :func:`check_duplicates` finds the file-level duplicated UUID / connection errors;
- :func:`plan_row` decides, given who owns the row's connections, whether the row creates a contact,
  updates one or cannot be matched, and what the contact's connection list becomes (append-only);
  a bad item (connection, language, status) is reported and skipped, the rest of the row applies.

It reads no files and knows no database. The exporter's column order and the encoding of cells
(:func:`protect`: csv formula injection, and every value the import would otherwise change — padding,
a stored ``--``, a CR in xlsx), reversed by the importer (:func:`unprotect`), live here too, so both
sides share one rule.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ccconsole.core import lists
from ccconsole.core import urns as urnlib
from ccconsole.core.model import Status

MAX_NAME = 128
CLEAR_MARK = "--"

EMPTY_FILE = "Import file appears to be empty."
EMPTY_HEADER = "Import file contains an empty header."
NO_UUID_OR_URN = "Import files must contain either UUID or a URN header."
ONLY_UUID = "Import files must contain columns besides UUID."
NO_RECORDS = "Import file doesn't contain any records."
NUL_IN_CELL = "The '{}' cell contains a NUL character, which cannot be stored; the row is not imported."

# Field keys that name something else in RapidPro (its contact attributes, the query language's
# words) and the scheme names: a Field: header with one of these keys rejects the file (domain.md 6)
RESERVED_FIELD_KEYS = frozenset({"uuid", "name", "language", "status", "created_on", "last_seen_on", "urn",
                                 "urns", "has", "is", "id", "groups", "fields", "tel", *urnlib.SCHEMES})


class ImportFileError(ValueError):
    """The whole file is rejected; ``str(err)`` is the message (domain.md's wording)."""


class _Clear:
    """The ``--`` cell: clear the value."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "CLEAR"

    def __reduce__(self) -> str:
        return "CLEAR"  # unpickles as the module's one CLEAR, so ``value is CLEAR`` still holds


CLEAR = _Clear()

# --- headers -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """What one column of the file means. ``kind``: uuid, name, language, status, urn, field, ignored."""

    index: int
    header: str
    kind: str
    scheme: str | None = None  # urn columns
    key: str | None = None  # field columns: the field key
    label: str | None = None  # field columns: the field's name as the header gives it


@dataclass(frozen=True)
class Headers:
    columns: tuple[Column, ...]

    @property
    def width(self) -> int:
        return len(self.columns)

    def of(self, kind: str) -> list[Column]:
        return [c for c in self.columns if c.kind == kind]

    @functools.cached_property
    def plan(self) -> tuple[tuple, ...]:
        """What :func:`parse_row` reads, per column it does not ignore: (index, kind, scheme, key,
        label, protected in csv)."""
        return tuple((c.index, c.kind, c.scheme, c.key, c.label, protected_column(c.kind, c.scheme))
                     for c in self.columns if c.kind != "ignored")


def field_key(name: str) -> str:
    """A custom field's key: lowercase name, non-alphanumerics as ``_`` (domain.md section 6)."""
    return re.sub(r"[^a-z0-9]", "_", name.strip().lower())


def parse_headers(cells: Sequence[object] | None) -> Headers:
    """The columns of the header row; raises ImportFileError on domain.md's file-level errors."""
    if cells is None:
        raise ImportFileError(EMPTY_FILE)
    texts = [cell_text(c) for c in cells]
    while texts and not texts[-1]:
        texts.pop()  # trailing empty columns
    if not texts:
        raise ImportFileError(EMPTY_FILE)
    columns = []
    for index, text in enumerate(texts):
        if not text:
            raise ImportFileError(EMPTY_HEADER)
        prefix, sep, rest = text.partition(":")
        prefix, rest = prefix.strip().lower(), rest.strip()
        if not sep and prefix in ("uuid", "contact uuid"):
            columns.append(Column(index, text, "uuid"))
        elif not sep and prefix in ("name", "language", "status"):
            columns.append(Column(index, text, prefix))
        elif sep and prefix == "urn":
            scheme = rest.lower()
            if scheme not in urnlib.SCHEMES:
                raise ImportFileError(f"Header '{text}' is not a valid URN type.")
            columns.append(Column(index, text, "urn", scheme=scheme))
        elif sep and prefix == "field":
            key = field_key(rest)
            if not key.strip("_") or key in RESERVED_FIELD_KEYS or "\x00" in rest:
                raise ImportFileError(f"Header '{text}' is not a valid field name.")
            columns.append(Column(index, text, "field", key=key, label=rest))
        else:
            columns.append(Column(index, text, "ignored"))
    kinds = {c.kind for c in columns}
    if "uuid" not in kinds and "urn" not in kinds:
        raise ImportFileError(NO_UUID_OR_URN)
    if not kinds - {"uuid", "ignored"}:
        raise ImportFileError(ONLY_UUID)
    return Headers(tuple(columns))


# --- cells ---------------------------------------------------------------------------------------


def cell_text(value: object, tz: str | None = None) -> str:
    """A spreadsheet cell as trimmed text: ``1234.0`` → ``"1234"``, ``2.50788383383e+11`` →
    ``"250788383383"``, dates as ISO datetimes in the workspace's time zone, times as ``HH:MM:SS``."""
    if type(value) is str:  # the common case first: csv cells are all text
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, datetime):
        zone = _zone(tz)
        local = value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
        return local.isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=_zone(tz)).isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value).strip()


def _zone(tz: str | None):
    try:
        return ZoneInfo(tz) if tz else UTC
    except Exception:
        return UTC


# The cell encoding of the export, reversed by the import (both formats, free-text columns). A value
# the import would read back differently is written so that it reads back as it is stored:
# - a leading ' when it starts (after any run of ') with whitespace, which the import trims, or, in
#   csv, with = + - @, which a spreadsheet would run as a formula (in xlsx every value is a text cell);
#   a stored "--" (the clear mark) gets one too, and any value starting with a run of ' and one of
#   those characters, so that the import's undoing is exact;
# - a trailing ' when it ends with whitespace (and any run of ' after it), likewise.
# Files without the encoding (RapidPro's, a spreadsheet's) import as domain.md says: only a cell that
# starts with ' followed by one of those characters, or ends with whitespace and ', is read otherwise.
_LEAD_CSV = re.compile(r"'*[=+\-@\s]")
_LEAD_XLSX = re.compile(r"'*\s|'+[=+\-@]|--\Z")
_TRAIL = re.compile(r"\s'*\Z")
_ENCODED_LEAD = re.compile(r"'+[=+\-@\s]")
_ENCODED_TRAIL = re.compile(r"\s'+\Z")


def protect(text: str, *, formulas: bool = True) -> str:
    """A cell that the import reads back as exactly ``text`` (see above); with ``formulas`` (csv) also
    one that no spreadsheet runs as a formula. :func:`unprotect` is its exact inverse (for csv and
    xlsx cells alike); a value that needs neither comes out unchanged."""
    if not text:
        return text
    lead = (_LEAD_CSV if formulas else _LEAD_XLSX).match(text)
    trail = _TRAIL.search(text)
    if lead is None and trail is None:
        return text
    return ("'" if lead else "") + text + ("'" if trail else "")


def unprotect(text: str) -> str:
    """Undo :func:`protect` on a trimmed cell (the importer applies it to the same columns)."""
    if not text:
        return text
    if text[0] == "'" and _ENCODED_LEAD.match(text):
        text = text[1:]
    if text[-1] == "'" and _ENCODED_TRAIL.search(text):
        text = text[:-1]
    return text


def protected_column(kind: str, scheme: str | None = None) -> bool:
    """Which columns carry free text and get protected in csv. Phone numbers (``+250…``) do not:
    their path is only ``[0-9a-z+]``, so a spreadsheet can at worst show them as a number, which
    re-imports as the same number."""
    return not (kind == "urn" and scheme == "tel")


# xlsx (XML 1.0) cannot hold C0 control characters, U+FFFE or U+FFFF, and its readers turn a CR into a
# line feed; OOXML writes them as _xHHHH_ (and a literal "_x" as _x005F_x)
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
_XLSX_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def xlsx_escape(text: str) -> str:
    return _XLSX_ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def xlsx_unescape(text: str) -> str:
    return _XLSX_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


# --- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the spreadsheet row (the header is row 1)
    message: str

    def __str__(self) -> str:
        return f"Row {self.row}: {self.message}"


@dataclass
class ParsedRow:
    """One data row: what it names and what it sets. Attributes/fields absent from ``attrs`` and
    ``fields`` are kept; CLEAR clears them. ``error``: the row cannot be imported at all; ``errors``:
    its bad language or status (left unchanged, the rest applies)."""

    row: int
    uuid: str | None = None
    attrs: dict[str, object] = field(default_factory=dict)  # name/language/status -> str | CLEAR
    urns: list[urnlib.URN] = field(default_factory=list)  # valid, normalized, in column order
    # invalid connections: (identity as normalized as it can be, the cell as "scheme:value"); one the
    # matched contact already has is no error (an export of legacy data re-imports unchanged)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    fields: dict[str, tuple[str, object]] = field(default_factory=dict)  # key -> (label, str | CLEAR)
    error: str | None = None
    errors: list[str] = field(default_factory=list)

    def __reduce__(self):  # compact and quick to pickle: the importer's reader process sends these,
        # with the identities worked out there
        return _parsed_row, (self.row, self.uuid, self.attrs, self.urns, self.invalid, self.fields, self.error,
                             self.errors, self.all_identities, len(self.urns))

    # computed once, when first asked (parse_row fills ``urns`` and ``invalid`` before anyone asks)
    @functools.cached_property
    def identities(self) -> tuple[str, ...]:
        return tuple(u.identity for u in self.urns)

    @functools.cached_property
    def all_identities(self) -> tuple[str, ...]:
        """Valid and invalid ones (but those with an empty path): what the store looks up owners for."""
        return self.identities + tuple(i for i, _ in self.invalid if i[-1] != ":")


def _parsed_row(row, uuid, attrs, urns, invalid, fields, error, errors, all_identities, valid) -> ParsedRow:
    parsed = ParsedRow(row, uuid, attrs, urns, invalid, fields, error, errors)
    parsed.__dict__.update(all_identities=all_identities, identities=all_identities[:valid])
    return parsed


_LANGUAGE = re.compile(r"[A-Za-z]{3}")
_STATUSES = frozenset(s.value for s in Status)


def parse_row(headers: Headers, row: int, cells: Sequence[object], *, country: str | None = None,
              tz: str | None = None, csv: bool = False, xlsx: bool = False) -> ParsedRow | None:
    """One data row, or None when it names neither a UUID nor a connection (skipped).

    ``csv`` / ``xlsx``: the cells come from such a file: the exporter's encoding (:func:`protect`) is
    undone, and in xlsx ``_xHHHH_`` escapes are decoded first. A bad language or status is listed in
    ``errors`` (the rest of the row applies); a cell holding a NUL sets ``error``: the row is not
    imported at all (neither backend can store it).
    """
    parsed = ParsedRow(row)
    had_urn = False
    errors = parsed.errors
    seen: set[str] = set()
    encoded = csv or xlsx
    width = len(cells)
    valid: list[str] = []  # the identities of parsed.urns, in order
    for index, kind, scheme, key, label, protected in headers.plan:
        if index >= width:
            continue
        value = cells[index]
        text = value.strip() if type(value) is str else cell_text(value, tz)
        if not text:
            continue  # blank keeps the value
        if xlsx:
            text = xlsx_unescape(text).strip()
            if not text:
                continue
        if "\x00" in text:  # the rest is still read: the row's UUID and connections count for duplicates
            if parsed.error is None:
                parsed.error = NUL_IN_CELL.format(next(c.header for c in headers.columns if c.index == index))
            continue
        clear = text == CLEAR_MARK
        if encoded and protected and (text[0] == "'" or text[-1] == "'"):
            text = unprotect(text)
        if kind == "urn":
            if clear:
                continue  # import never removes connections
            had_urn = True
            try:
                urn = urnlib.clean(scheme, text, country)
            except urnlib.URNError:
                identity = _loose_identity(scheme, text, country)
                if identity not in seen:
                    seen.add(identity)
                    parsed.invalid.append((identity, f"{scheme}:{text}"))
                continue
            identity = urn.identity
            if identity not in seen:
                seen.add(identity)
                parsed.urns.append(urn)
                valid.append(identity)
        elif kind == "field":
            parsed.fields[key] = (label, CLEAR if clear else text)
        elif kind == "name":
            # RapidPro cuts a long name (and trims the cut); a shorter one is kept as read
            parsed.attrs["name"] = CLEAR if clear else text if len(text) <= MAX_NAME else text[:MAX_NAME].strip()
        elif kind == "uuid":
            if not clear:
                parsed.uuid = text.lower()  # UUIDs are case-insensitive (domain.md section 6)
        elif kind == "language":
            if clear:
                parsed.attrs["language"] = CLEAR
            elif _LANGUAGE.fullmatch(text):
                parsed.attrs["language"] = text.lower()
            else:
                errors.append(f"Language '{text}' is not an ISO-639-3 code such as eng.")
        elif kind == "status":
            value = Status.ACTIVE.value if clear else text.lower()
            if value in _STATUSES:
                parsed.attrs["status"] = value
            else:
                errors.append(f"Status '{text}' is not one of active, blocked, stopped, archived.")
    if parsed.uuid is None and not had_urn and parsed.error is None:
        return None
    identities = tuple(valid)  # the cached properties, worked out here at no cost; an invalid connection
    # with nothing left of its path ("tel:-", "twitter:@") names nothing: no owner, no duplicate of another
    parsed.__dict__.update(identities=identities, all_identities=identities + tuple(
        i for i, _ in parsed.invalid if i[-1] != ":") if parsed.invalid else identities)
    return parsed


def _loose_identity(scheme: str, text: str, country: str | None) -> str:
    """The identity an invalid connection would have: normalized, not validated."""
    path, _, _ = text.partition("#")
    try:
        return urnlib.normalize(urnlib.URN(scheme, path.strip()), country).identity
    except Exception:
        return f"{scheme}:{path.strip()}"


def names(rows: Iterable[ParsedRow]) -> list[tuple[int, str | None, tuple[str, ...]]]:
    """What each row names, for :func:`check_duplicates`: (spreadsheet row, UUID, identities)."""
    return [(p.row, p.uuid, p.all_identities) for p in rows]


def row_keys(uuid: str | None, identities: Iterable[str]) -> list[str]:
    """What a row names that no other row may name: its UUID and its connections (as keys)."""
    keys = [f"uuid:{uuid}"] if uuid is not None else []
    return keys + [f"urn:{identity}" for identity in identities]


def check_duplicates(named: Sequence[tuple[int, str | None, Sequence[str]]], seen: Container[str]) -> None:
    """File-level: raise for the first row (in file order) that names a UUID or connection that an
    earlier row named, either in ``seen`` (the keys of earlier chunks) or earlier in ``named``
    (rows as :func:`names` gives them)."""
    if not seen:  # the usual case, told without building keys: nothing named twice in ``named``
        identities = [i for _, _, ids in named for i in ids]
        uuids = [uuid for _, uuid, _ in named if uuid is not None]
        if len(set(identities)) == len(identities) and len(set(uuids)) == len(uuids):
            return
    here: set[str] = set()
    for row, uuid, ids in named:
        for key in row_keys(uuid, ids):
            if key in here or key in seen:
                kind, _, value = key.partition(":")
                what = "UUID" if kind == "uuid" else "URN"
                raise ImportFileError(f"Import file contains duplicated contact {what} '{value}' on row {row}.")
            here.add(key)


# --- planning ------------------------------------------------------------------------------------


NEW = 0  # plan.contact_id for a contact the row creates


@dataclass(frozen=True, slots=True)
class Existing:
    """What the planner needs of a contact the row matches."""

    id: int
    name: str
    language: str | None
    status: str
    connections: tuple[str, ...]  # identities in priority order
    fields: Mapping[str, str]  # key -> value


@dataclass(frozen=True)
class Plan:
    """What one row does. ``contact_id`` is NEW for a created contact. ``error``: the row cannot be
    matched (or holds a NUL) and does nothing; ``errors``: the items it skipped (an invalid or taken
    connection, a bad language or status, connections past the limit) while the rest applies."""

    row: int
    contact_id: int
    connections: tuple[str, ...] = ()  # the whole list after the append, in order
    added: tuple[urnlib.URN, ...] = ()  # the row's connections new to the contact
    attrs: Mapping[str, object] = field(default_factory=dict)  # changed name/language/status
    set_fields: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # key -> (label, value)
    clear_fields: tuple[str, ...] = ()
    error: str | None = None
    errors: tuple[str, ...] = ()

    def __reduce__(self):  # compact and quick to pickle (see ParsedRow)
        return Plan, (self.row, self.contact_id, self.connections, self.added, self.attrs, self.set_fields,
                      self.clear_fields, self.error, self.errors)

    @property
    def created(self) -> bool:
        return self.contact_id == NEW and self.error is None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.attrs or self.set_fields or self.clear_fields)


def plan_unmatched(parsed: ParsedRow) -> Plan | None:
    """The plan of a row without a UUID, assuming none of its connections has a contact: what
    :func:`plan_row` returns for it whenever that holds (see :func:`plan_holds`). It needs no
    database, so the importer's reader works it out ahead; None for a row with a UUID."""
    return None if parsed.uuid is not None else plan_row(parsed, by_uuid={}, owners={}, contacts={})


def plan_holds(uuid: str | None, identities: Iterable[str], owners: Mapping[str, int | None]) -> bool:
    """Whether :func:`plan_unmatched` is the plan of a row (its UUID and all its identities), given
    the owners of the chunk's connections."""
    return uuid is None and not (owners and any(owners.get(i) is not None for i in identities))


def new_contact(plan: Plan) -> tuple:
    """A plan that creates a contact, as plain data (the importer's reader sends it; plain tuples
    unpickle at C speed): (name, language, status, connections as (scheme, path, display,
    identity, priority) in order, fields as (key, label, value), the row's errors)."""
    attrs = plan.attrs
    links = tuple((urn.scheme, urn.path, urn.display, identity, 1000 - index)
                  for index, (urn, identity) in enumerate(zip(plan.added, plan.connections)))
    return (attrs.get("name", NEW_CONTACT["name"]), attrs.get("language", NEW_CONTACT["language"]),
            attrs.get("status", NEW_CONTACT["status"]), links,
            tuple((key, label, value) for key, (label, value) in plan.set_fields.items()), plan.errors)


def plan_row(parsed: ParsedRow, *, by_uuid: Mapping[str, Existing],
             owners: Mapping[str, int | None], contacts: Mapping[int, Existing]) -> Plan:
    """Match the row (UUID first, then connections) and plan the append and the attribute changes.

    ``by_uuid``: live contacts for the UUIDs of the file's rows; ``owners``: identity -> contact id
    (None when the connection exists detached; absent when unknown); ``contacts``: the contacts that
    own any of the row's connections.

    As RapidPro's engine does, only a row that cannot be matched (unknown UUID, connections of
    several contacts) or holds a NUL does nothing; otherwise an invalid connection, one taken by
    another contact, one past the limit, a bad language or status is skipped and listed in
    ``errors``, and the rest of the row applies.
    """
    if parsed.error:
        return Plan(parsed.row, NEW, error=parsed.error)
    identities = parsed.identities
    owned = {i: o for i in parsed.all_identities if (o := owners.get(i)) is not None} if owners else {}
    if parsed.uuid is not None:
        target = by_uuid.get(parsed.uuid)
        if target is None:
            return Plan(parsed.row, NEW, error=f"Unable to find contact with UUID '{parsed.uuid}'")
    else:
        distinct = set(owned.values())
        if len(distinct) > 1:
            return Plan(parsed.row, NEW, error=f"Unable to find or create contact with URNs {', '.join(identities)}")
        target = contacts[distinct.pop()] if distinct else None
    contact_id = target.id if target else NEW
    current = target.connections if target else ()
    errors = [f"'{text}' is not valid URN" for identity, text in parsed.invalid if identity not in current]
    if owned and target is not None:  # (a row without UUID matched the one owner: nothing taken)
        taken = [i for i in identities if owned.get(i, target.id) != target.id]
        if taken:
            errors += [f"URN {i} already taken by another contact" for i in taken]
            identities = tuple(i for i in identities if i not in taken)
    try:
        result = lists.append_identities(current, identities)
    except lists.ListError as err:  # as many as fit, in order; the rest is reported
        room = lists.MAX_CONNECTIONS - len(current)
        fresh = [i for i in dict.fromkeys(identities) if i not in current]
        result = lists.append_identities(current, fresh[:max(0, room)])
        errors.append(str(err))
    errors += parsed.errors
    identities = parsed.identities
    added = tuple(parsed.urns[identities.index(i)] for i in result[len(current):])
    attrs: dict[str, object] = {}
    for key, value in parsed.attrs.items():
        new = ("" if key == "name" else None) if value is CLEAR else value
        if new != (getattr(target, key) if target else NEW_CONTACT[key]):
            attrs[key] = new
    old_fields = target.fields if target else {}
    set_fields = {k: (label, value) for k, (label, value) in parsed.fields.items()
                  if isinstance(value, str) and old_fields.get(k) != value}  # a value is a str or CLEAR
    clear_fields = tuple(k for k, (_, v) in parsed.fields.items() if v is CLEAR and k in old_fields)
    return Plan(parsed.row, contact_id, result, added, attrs, set_fields, clear_fields, errors=tuple(errors))


NEW_CONTACT = {"name": "", "language": None, "status": "active"}  # the attributes of a contact a row creates


# --- export --------------------------------------------------------------------------------------

FIXED_EXPORT_HEADERS = ("Contact UUID", "Name", "Language", "Status", "Created On", "Last Seen On")


def export_headers(urn_columns: Mapping[str, int], fields: Iterable[tuple[str, str]],
                   groups: Iterable[str]) -> list[str]:
    """RapidPro's export columns, in its order: the fixed ones, ``URN:<Scheme>`` per scheme in use
    (alphabetical; as many as the most connections of that scheme on one contact), then
    ``Field:<name>`` per (key, name) and ``Group:<name>``."""
    headers = list(FIXED_EXPORT_HEADERS)
    for scheme in sorted(urn_columns):
        headers += [f"URN:{scheme.capitalize()}"] * urn_columns[scheme]
    headers += [f"Field:{field_header_name(key, name)}" for key, name in fields]
    headers += [f"Group:{g}" for g in groups]
    return headers


def field_header_name(key: str, name: str) -> str:
    """The name a Field column carries: the field's name when it maps back to the same key."""
    return name if name.strip() and field_key(name) == key else key


def urn_cells(identities: Sequence[str], urn_columns: Mapping[str, int]) -> list[str]:
    """A contact's connection paths spread over the URN columns, in priority order per scheme."""
    by_scheme: dict[str, list[str]] = {}
    for identity in identities:
        scheme, _, path = identity.partition(":")
        by_scheme.setdefault(scheme, []).append(path)
    cells: list[str] = []
    for scheme in sorted(urn_columns):
        paths = by_scheme.get(scheme, [])
        cells += paths + [""] * (urn_columns[scheme] - len(paths))
    return cells
