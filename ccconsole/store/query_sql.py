"""Compile a contact query (``core.query`` AST) to a SQLAlchemy condition on ``contact``.

Works on SQLite and PostgreSQL. Connection searches are written so that indexes answer them: an exact
connection compares ``identity`` (the unique index on (workspace_id, identity)); a phone prefix is a
range ``path >= '+25078' AND path < '+25079'`` on (workspace_id, scheme, path) on SQLite (whose LIKE
never uses that index) and ``LIKE '+25078%'`` on PostgreSQL (exact under any collation).
"""

from __future__ import annotations

from sqlalchemy import Numeric, and_, case, cast, false, func, literal, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from ccconsole.core import query as q
from ccconsole.store.models import Connection, Contact, ContactGroup, FieldDef, FieldValue, GroupMembership

_NUMBER_PG = r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column, value: str) -> ColumnElement:
    return column.ilike(f"%{escape_like(value)}%", escape="\\")


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _successor(prefix: str) -> str | None:
    """The smallest string above every string that starts with ``prefix`` (None: there is none, the
    prefix being all U+10FFFF): its last character that can grow, grown by one, skipping the surrogate
    block (U+D800..U+DFFF), which no stored text holds."""
    while prefix and prefix[-1] == "\U0010ffff":
        prefix = prefix[:-1]
    if not prefix:
        return None
    nxt = ord(prefix[-1]) + 1
    if 0xD800 <= nxt <= 0xDFFF:
        nxt = 0xE000
    return prefix[:-1] + chr(nxt)


def _below(column, prefix: str, upper: str | None) -> ColumnElement:
    return and_(column >= prefix, column < upper) if upper is not None else column >= prefix


def name_prefix_clause(prefix: str, dialect: str) -> ColumnElement:
    """The name starts with ``prefix``, any case, as a range the case-insensitive name index answers
    (migration 0002): NOCASE on SQLite (folds ASCII letters), lower() on PostgreSQL."""
    if dialect == "postgresql":
        return func.lower(Contact.name).like(func.lower(literal(escape_like(prefix))).concat("%"), escape="\\")
    low = _ascii_lower(prefix)
    upper = _successor(low)
    if upper is not None and "A" <= upper[-1] <= "Z":  # after '@' comes '[' in NOCASE order (A-Z fold onto a-z)
        upper = upper[:-1] + "["
    return _below(Contact.name.collate("NOCASE"), low, upper)


def prefix_clause(column, prefix: str, dialect: str) -> ColumnElement:
    """``column`` starts with ``prefix``, in a form the dialect's index can answer."""
    if dialect == "postgresql":
        return column.like(f"{escape_like(prefix)}%", escape="\\")
    return _below(column, prefix, _successor(prefix))


class Compiler:
    """Turns an AST into a condition on Contact for one workspace."""

    def __init__(self, workspace_id: int, dialect: str, country: str | None):
        self.ws = workspace_id
        self.dialect = dialect
        self.country = country

    def clause(self, node: q.Node) -> ColumnElement:
        if isinstance(node, q.And):
            return and_(*(self.clause(i) for i in node.items))
        if isinstance(node, q.Or):
            return or_(*(self.clause(i) for i in node.items))
        return self.condition(node)

    # --- one condition ---------------------------------------------------------------------------

    def condition(self, c: q.Condition) -> ColumnElement:
        if c.attr.startswith(q.FIELD_PREFIX):
            return self._field(c.attr[len(q.FIELD_PREFIX):], c.op, c.value)
        if c.attr == "name":
            if c.op == q.STARTS:
                return name_prefix_clause(c.value, self.dialect) if c.value else true()
            return self._text(Contact.name, c.op, c.value)
        if c.attr == "status":
            return Contact.status == c.value if c.op == q.EQ else Contact.status != c.value
        if c.attr == "language":
            if not c.value:
                unset = or_(Contact.language.is_(None), Contact.language == "")
                return unset if c.op == q.EQ else not_(unset)
            if c.op == q.EQ:
                return Contact.language == c.value
            return or_(Contact.language.is_(None), Contact.language != c.value)
        if c.attr == "uuid":
            if not c.value:
                return false() if c.op == q.EQ else true()
            return Contact.uuid == c.value if c.op == q.EQ else Contact.uuid != c.value
        if c.attr == "group":
            return self._group(c.op, c.value)
        if c.attr == "urn":
            return self._urn(None, c.op, c.value)
        return self._urn(c.attr, c.op, c.value)

    def _text(self, column, op: str, value: str) -> ColumnElement:
        if not value:
            return column == "" if op == q.EQ else column != ""
        if op == q.HAS:
            return _contains(column, value)
        same = func.lower(column) == value.lower()
        return same if op == q.EQ else not_(same)

    def _has_connection(self, *where) -> ColumnElement:
        # never correlated: the broadcast preview joins connection in the outer query
        return Contact.id.in_(select(Connection.contact_id).where(
            Connection.workspace_id == self.ws, Connection.contact_id.is_not(None), *where).correlate(None))

    def _urn(self, scheme: str | None, op: str, value: str) -> ColumnElement:
        scope = [Connection.scheme == scheme] if scheme else []
        if not value:  # has no connection (of this scheme) / has one
            has = self._has_connection(*scope)
            return not_(has) if op == q.EQ else has
        if op == q.HAS:
            if scheme == "tel":
                prefixes = q.phone_prefixes(value, self.country)
                found = self._has_connection(Connection.scheme == "tel", or_(
                    *(prefix_clause(Connection.path, p, self.dialect) for p in prefixes)))
            elif scheme:
                found = self._has_connection(*scope, _contains(Connection.path, value))
            else:
                found = self._has_connection(_contains(Connection.identity, value))
            return found
        identity = value if scheme is None else f"{scheme}:{value}"
        has = self._has_connection(Connection.identity == identity)
        return has if op == q.EQ else not_(has)

    def _group(self, op: str, value: str) -> ColumnElement:
        members = select(GroupMembership.contact_id).join(ContactGroup, ContactGroup.id == GroupMembership.group_id) \
            .where(ContactGroup.workspace_id == self.ws)
        if not value:
            has = Contact.id.in_(members)
            return not_(has) if op == q.EQ else has
        has = Contact.id.in_(members.where(func.lower(ContactGroup.name) == value.lower()))
        return has if op == q.EQ else not_(has)

    def _field(self, key: str, op: str, value: str) -> ColumnElement:
        values = select(FieldValue.contact_id).join(FieldDef, FieldDef.id == FieldValue.field_id) \
            .where(FieldDef.workspace_id == self.ws, FieldDef.key == key)
        if not value:
            has = Contact.id.in_(values.where(FieldValue.value != ""))
            return not_(has) if op == q.EQ else has
        if op in q.COMPARISONS:
            number = self._number(FieldValue.value)
            target = cast(value, Numeric) if self.dialect == "postgresql" else float(value)
            test = {q.GT: number > target, q.GTE: number >= target, q.LT: number < target,
                    q.LTE: number <= target}[op]
            return Contact.id.in_(values.where(test))
        if op == q.HAS:
            return Contact.id.in_(values.where(_contains(FieldValue.value, value)))
        same = Contact.id.in_(values.where(func.lower(func.trim(FieldValue.value)) == value.strip().lower()))
        return same if op == q.EQ else not_(same)

    def _number(self, column) -> ColumnElement:
        """The value as a number, NULL when it is not one (never an error on either backend)."""
        if self.dialect == "postgresql":
            return case((column.regexp_match(_NUMBER_PG), cast(func.trim(column), Numeric)), else_=None)
        trimmed = func.trim(column)
        unsigned = func.ltrim(trimmed, "-")
        looks = and_(unsigned.op("GLOB")("*[0-9]*"), not_(unsigned.op("GLOB")("*[^0-9.]*")))
        return case((looks, cast(trimmed, Numeric)), else_=None)


def compile_query(node: q.Node | None, workspace_id: int, dialect: str, country: str | None) -> ColumnElement | None:
    """The condition on Contact for ``node`` (None: no condition)."""
    if node is None:
        return None
    return Compiler(workspace_id, dialect, country).clause(node)


def filter_clause(text: str | None, workspace_id: int, dialect: str, country: str | None) -> ColumnElement | None:
    """Parse and compile the query ``text``; raises ``core.query.QueryError`` for a bad one."""
    return compile_query(q.parse(text, country), workspace_id, dialect, country)


def ensure_statistics(engine) -> None:
    """SQLite: gather planner statistics (bounded ANALYZE) when contacts exist but none were ever
    gathered. Without them SQLite answers "the contact with this connection" by walking every contact
    in name order instead of asking the connection index (100 ms against 0.1 ms at a million
    contacts); statistics from any size of workspace point it the right way. Only an optimisation:
    when another process holds the database it is left for a later open. PostgreSQL keeps its own
    statistics (autovacuum)."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy.exc import OperationalError

    from ccconsole.store.db import WRITE_OPTION

    def wanted(c) -> bool:
        has_stats = c.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() and \
            c.exec_driver_sql("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'connection'").first()
        return not has_stats and c.exec_driver_sql("SELECT 1 FROM connection LIMIT 1").first() is not None

    try:
        with engine.connect() as c:
            if not wanted(c):
                return
        with engine.execution_options(**{WRITE_OPTION: True}).connect() as c:  # BEGIN IMMEDIATE
            if wanted(c):  # another process may have done it while this one waited
                c.exec_driver_sql("PRAGMA analysis_limit=2000")
                c.exec_driver_sql("ANALYZE")
            c.commit()
    except OperationalError:
        return
