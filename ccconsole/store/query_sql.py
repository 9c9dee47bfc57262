"""Compile a contact query (``core.query`` AST) to a SQLAlchemy condition on ``contact``.

Works on SQLite and PostgreSQL, and both give the same answer to every query: the rules that could
differ between them are core's and are applied the same way on both.

* Case: every case-insensitive comparison compares ``fold(column)`` with ``core.query.fold(value)``,
  the value folded in Python. ``fold`` in SQL is ``ccconsole_fold``: on SQLite core's own function,
  registered on each connection (``store.db``); on PostgreSQL an SQL function generated from it
  (:func:`postgres_fold_function`, created by migration 0004), equal to it on every code point. (Neither
  ``lower()`` will do: SQLite's folds only ASCII, PostgreSQL's follows the database's locale.)
  "Contains" compares the folded texts too (LIKE with every wildcard escaped, or ``instr``).
* Numbers: ``core.query.number`` says which texts are numbers, and both backends compare exactly those,
  exactly: PostgreSQL tests the rule with a regular expression and compares as numeric (exact
  decimals); SQLite compares ``core.query.number_key`` (registered as ``ccconsole_number_key``; a plain
  positive integer gets the same key in SQL), a text that sorts as the number does and is NULL for
  anything else. No float rounding, no overflow, no error for any stored text.

Indexes answer the searches that need them: an exact connection compares ``identity`` (the unique index
on (workspace_id, identity)); a phone prefix is a range ``path >= '+25078' AND path < '+25079'`` on
(workspace_id, scheme, path) on SQLite (whose LIKE never uses that index) and ``LIKE '+25078%'`` on
PostgreSQL (exact under any collation); a name prefix or an exact name is a range or an equality on
``ccconsole_fold(name)``, which migration 0004 indexes (in "C" order on PostgreSQL, code point order
like SQLite's).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    LargeBinary,
    Numeric,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from ccconsole.core import query as q
from ccconsole.store.db import FOLD_FUNCTION, NUMBER_KEY_FUNCTION
from ccconsole.store.models import (
    Connection,
    Contact,
    ContactGroup,
    ContactProblem,
    FieldDef,
    FieldValue,
    GroupMembership,
)

_NUMBER_PG = r"^ *-?[0123456789]+(\.[0123456789]+)? *$"  # core.query.number (with its length limit)
_GROUP = 64  # AND/OR lists longer than this are written as groups of groups (SQLite's expression depth)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fold_call(column) -> ColumnElement:
    return getattr(func, FOLD_FUNCTION)(column, type_=String)


def _ascii(column) -> ColumnElement:
    """SQLite: the text is ASCII (as many bytes as characters; a NUL, after which length() stops
    counting characters, fails it too)."""
    return func.length(cast(column, LargeBinary)) == func.length(column)


def name_key(dialect: str) -> ColumnElement:
    """The folded name exactly as migration 0004 indexes it (PostgreSQL: in "C" order)."""
    key = _fold_call(Contact.name)
    return key.collate("C") if dialect == "postgresql" else key


def equals(column, value: str, dialect: str) -> ColumnElement:
    """``fold(column) = fold(value)``. On SQLite the registered function costs a call into Python for
    each row, so ASCII text, whose fold only lowers A-Z, compares with NOCASE (which folds A-Z only)."""
    target = q.fold(value)
    if dialect == "postgresql":
        return _fold_call(column) == target  # ASCII is the function's first, inlined, branch already
    return case((_ascii(column), column.collate("NOCASE") == target), else_=_fold_call(column) == target)


def contains(column, value: str, dialect: str) -> ColumnElement:
    """``fold(value)`` is in ``fold(column)``. PostgreSQL: LIKE, whose pattern its planner can estimate
    (``strpos() > 0`` gets a blind third of the rows: a page of a rare match then walks the name
    index). SQLite: ASCII text with LIKE, case-insensitive for A-Z only, just what folding ASCII does;
    other text with ``instr`` on its fold."""
    target = q.fold(value)
    pattern = f"%{escape_like(target)}%"
    if dialect == "postgresql":
        return _fold_call(column).like(pattern, escape="\\")
    return case((_ascii(column), column.like(pattern, escape="\\")),
                else_=func.instr(_fold_call(column), target) > 0)


def postgres_fold_function() -> tuple[str, str]:
    """The CREATE FUNCTION statements of ``ccconsole_fold(text)`` for PostgreSQL: ``core.query.fold`` in
    SQL, generated from it for every code point (this Python's Unicode version; a test compares the two
    on every code point). Folding is per character, and folding twice changes nothing:

    * text without a character that folds to another (ASCII, caseless scripts, lower case) needs only
      A-Z folded: ``lower(t COLLATE "C")``, which folds exactly A-Z, at C speed;
    * other text (one regular expression tells) goes to ``ccconsole_fold_other``, which translates it
      character by character and replaces each character that folds to more than one (``ß`` → ``ss``).
      PostgreSQL's translate() looks each character up in its list from the start, so the list begins
      with the common characters (mapped to themselves), then Latin, Greek and Cyrillic letters.

    ``ccconsole_fold`` is an SQL function (not STRICT) that the planner inlines: no call overhead, and an
    index on it is an index on its expression. ``ccconsole_fold_other`` is PL/pgSQL, never inlined, with
    a small declared cost: inlined, its hundred replace() calls would count against every row of a scan
    and steer the planner away from scans that are cheap (most text is ASCII). The database must be
    UTF8 (as ``initdb -E UTF8`` makes it)."""
    return _postgres_fold_function()


def _char_class(chars) -> str:
    """A regular expression bracket matching exactly ``chars`` (no ASCII among them), as ranges."""
    points = sorted(ord(c) for c in chars)
    runs: list[list[int]] = []
    for point in points:
        if runs and point == runs[-1][1] + 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return "[" + "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in runs) + "]"


@lru_cache(maxsize=1)
def _postgres_fold_function() -> tuple[str, str]:
    for point in range(0x80):  # in ASCII fold() changes A-Z and nothing else: lower(t COLLATE "C")
        assert q.fold(chr(point)) == (chr(point).lower() if "A" <= chr(point) <= "Z" else chr(point))
    single: dict[str, str] = {}
    longer: dict[str, str] = {}
    for point in range(0x80, 0x110000):
        if 0xD800 <= point <= 0xDFFF:
            continue  # surrogates: no text holds them
        char = chr(point)
        folded_char = q.fold(char)
        if folded_char != char:
            (single if len(folded_char) == 1 else longer)[char] = folded_char
    # translate()'s list: common characters first (ASCII after lower(), then letters up to Cyrillic)
    order = [c for c in map(chr, range(0x20, 0x7F)) if not "A" <= c <= "Z" and c not in "'\\$%:"]
    order += [c for c in map(chr, range(0xA0, 0x530)) if c in single or (c.isalpha() and q.fold(c) == c)]
    order += [c for c in single if c not in order]
    listed = "".join(order)
    mapped = "".join(single.get(c, c) for c in order)
    for text in (listed, mapped, *longer, *longer.values()):
        assert not any(c in text for c in "'\0$%:")  # safe in the quoted body, for the driver too
    ascii_folded = 'lower(t COLLATE "C")'
    translated = f"translate({ascii_folded}, '{listed}', '{mapped}')"
    replaced = translated
    for char, folded_char in longer.items():
        replaced = f"replace({replaced}, '{char}', '{folded_char}')"
    other = f"{FOLD_FUNCTION}_other"
    return (f"CREATE OR REPLACE FUNCTION {other}(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT "
            f"PARALLEL SAFE COST 10 AS $fold$ BEGIN RETURN CASE WHEN t ~ '{_char_class(longer)}' THEN {replaced} "
            f"ELSE {translated} END; END $fold$",
            f"CREATE OR REPLACE FUNCTION {FOLD_FUNCTION}(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
            "AS $fold$ SELECT CASE "
            f"WHEN octet_length(t) = length(t) OR t !~ '{_char_class([*single, *longer])}' THEN {ascii_folded} "
            f"ELSE {other}(t) END $fold$")


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
    """The name starts with ``prefix``, any case (``fold(name)`` starts with ``fold(prefix)``), as a
    range that the index of folded names answers (migration 0004)."""
    low = q.fold(prefix)
    return _below(name_key(dialect), low, _successor(low))


def prefix_clause(column, prefix: str, dialect: str) -> ColumnElement:
    """``column`` starts with ``prefix``, in a form the dialect's index can answer."""
    if dialect == "postgresql":
        return column.like(f"{escape_like(prefix)}%", escape="\\")
    return _below(column, prefix, _successor(prefix))


def _joined(join, items: list[ColumnElement]) -> ColumnElement:
    """``join`` (and_ or or_) of ``items``; a long list as parenthesized groups, so that the expression
    stays shallow (SQLite parses ``a OR b OR c ...`` into a tree as deep as the list, at most 1000)."""
    while len(items) > _GROUP:
        items = [join(*items[i:i + _GROUP]).self_group() for i in range(0, len(items), _GROUP)]
    return join(*items)


class Compiler:
    """Turns an AST into a condition on Contact for one workspace."""

    def __init__(self, workspace_id: int, dialect: str, country: str | None,
                 common: Callable[[str], bool] | None = None):
        self.ws = workspace_id
        self.dialect = dialect
        self.country = country
        self.common = common  # see compile_query

    def clause(self, node: q.Node) -> ColumnElement:
        if isinstance(node, q.And):
            return _joined(and_, [self.clause(i) for i in node.items])
        if isinstance(node, q.Or):
            return _joined(or_, [self.clause(i) for i in node.items])
        return self.condition(node)

    # --- one condition ---------------------------------------------------------------------------

    def condition(self, c: q.Condition) -> ColumnElement:
        if c.attr.startswith(q.FIELD_PREFIX):
            return self._field(c.attr[len(q.FIELD_PREFIX):], c.op, c.value)
        if c.attr == "name":
            if c.op == q.STARTS:
                return name_prefix_clause(c.value, self.dialect) if c.value else true()
            return self._name(c.op, c.value)
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
        if c.attr == "problem":
            return self._problem(c.op, c.value)
        if c.attr == "urn":
            return self._urn(None, c.op, c.value)
        return self._urn(c.attr, c.op, c.value)

    def _name(self, op: str, value: str) -> ColumnElement:
        if not value:
            return Contact.name == "" if op == q.EQ else Contact.name != ""
        if op == q.HAS:
            return contains(Contact.name, value, self.dialect)
        same = name_key(self.dialect) == q.fold(value)
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
                found = self._has_connection(*scope, contains(Connection.path, value, self.dialect))
            else:
                found = self._has_connection(contains(Connection.identity, value, self.dialect))
            return found
        identity = value if scheme is None else f"{scheme}:{value}"
        has = self._has_connection(Connection.identity == identity)
        return has if op == q.EQ else not_(has)

    def _problem(self, op: str, value: str) -> ColumnElement:
        # the problems kept indexed by store.problems (domain.md section 8); "" means none at all
        wanted = (op == q.EQ) == bool(value)
        if self.dialect == "sqlite" and self.common is not None and (not wanted or self.common(value)):
            # a page of many matches: walk the contacts in order, asking each (by the primary key alone:
            # the contact is the workspace's already)
            mine = exists().where(ContactProblem.contact_id == Contact.id)
            if value:
                mine = mine.where(ContactProblem.problem == value)
            return mine if wanted else not_(mine)
        having = select(ContactProblem.contact_id).where(ContactProblem.workspace_id == self.ws).correlate(None)
        if value:
            having = having.where(ContactProblem.problem == value)
        has = Contact.id.in_(having)
        return has if wanted else not_(has)

    def _group(self, op: str, value: str) -> ColumnElement:
        members = select(GroupMembership.contact_id).join(ContactGroup, ContactGroup.id == GroupMembership.group_id) \
            .where(ContactGroup.workspace_id == self.ws)
        if not value:
            has = Contact.id.in_(members)
            return not_(has) if op == q.EQ else has
        has = Contact.id.in_(members.where(equals(ContactGroup.name, value, self.dialect)))
        return has if op == q.EQ else not_(has)

    def _field(self, key: str, op: str, value: str) -> ColumnElement:
        values = select(FieldValue.contact_id).join(FieldDef, FieldDef.id == FieldValue.field_id) \
            .where(FieldDef.workspace_id == self.ws, FieldDef.key == key)
        if not value:
            has = Contact.id.in_(values.where(FieldValue.value != ""))
            return not_(has) if op == q.EQ else has
        if op in q.COMPARISONS:
            return Contact.id.in_(values.where(self._compare(FieldValue.value, op, value)))
        if op == q.HAS:
            return Contact.id.in_(values.where(contains(FieldValue.value, value, self.dialect)))
        # spaces around either side do not count (SQL's trim() removes spaces, U+0020, on both backends)
        same = Contact.id.in_(values.where(equals(func.trim(FieldValue.value), value.strip(" "), self.dialect)))
        return same if op == q.EQ else not_(same)

    def _compare(self, column, op: str, value: str) -> ColumnElement:
        """``column op value`` for a stored text that is a number by ``core.query.number`` (any other
        text never matches), compared exactly: on PostgreSQL as numeric (exact decimals; the rule's
        length limit keeps every number within numeric's), on SQLite by ``core.query.number_key``, a
        text that sorts as the number does (SQLite has no exact decimals: its CAST rounds to a float)."""
        target = q.number(value)
        assert target is not None  # the parser accepts only numbers for comparisons
        if self.dialect == "postgresql":
            looks = and_(func.length(func.trim(column)) <= q.MAX_NUMBER_LENGTH, column.regexp_match(_NUMBER_PG))
            stored = case((looks, cast(func.trim(column), Numeric)), else_=None)
            bound: Any = cast(value.strip(" "), Numeric)
        else:  # a plain positive integer (most numbers) gets its key in SQL, anything else from Python
            text = func.trim(column)
            plain = and_(text.op("GLOB")("[1-9]*"), func.ltrim(text, "0123456789") == "",
                         func.length(text) <= q.MAX_NUMBER_LENGTH)
            stored = case((plain, literal("2").op("||")(func.printf("%04d", func.length(text))).op("||")(text)),
                          else_=getattr(func, NUMBER_KEY_FUNCTION)(column, type_=String))
            bound = target.key()
        return {q.GT: stored > bound, q.GTE: stored >= bound, q.LT: stored < bound, q.LTE: stored <= bound}[op]


def compile_query(node: q.Node | None, workspace_id: int, dialect: str, country: str | None,
                  common: Callable[[str], bool] | None = None) -> ColumnElement | None:
    """The condition on Contact for ``node`` (None: no condition).

    ``common`` (given for a page in (name, id) order): whether a problem (a name, "" for any) is
    common enough that the page finds its rows sooner walking the contacts in that order, asking
    each, than reading every contact with the problem and sorting them (SQLite only: PostgreSQL's
    statistics choose by themselves; a page of contacts *without* a problem always walks). Only the
    plan changes, never the answer. At 1M contacts, the first page of 38,000 unreachable ones takes
    5 ms walking against 62 ms sorting; of 1,200 bad numbers 170 ms against 1.4 ms."""
    if node is None:
        return None
    return Compiler(workspace_id, dialect, country, common).clause(node)


def filter_clause(text: str | None, workspace_id: int, dialect: str, country: str | None,
                  common: Callable[[str], bool] | None = None) -> ColumnElement | None:
    """Parse and compile the query ``text``; raises ``core.query.QueryError`` for a bad one."""
    return compile_query(q.parse(text, country), workspace_id, dialect, country, common)


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
