"""The contact query language (domain.md section 7): text -> AST, AST -> canonical text.

A useful subset of RapidPro's contact queries::

    name ~ "bob"     name ^ "jo"     tel = +250788383383     tel ~ 0788     urn ~ joe     mailto = a@b.org
    status = blocked     group = "Nurses"     fields.age > 18     language = eng     problem = duplicate
    x = ""  (not set)     x != ""  (set)     AND / OR (AND binds tighter; side by side means AND)
    ( ... )

``~`` is "contains" (case-insensitive) for names, connections and fields, and "starts with" for
phone numbers (national formats read with the workspace country); ``^`` is "starts with" for names.

A bare value is a search too: phone-like text (``0788 38``, ``+25078``) searches phone numbers,
``scheme:path`` means that connection, anything else searches names that start with it (``name ^``,
any case; an index answers it). A query made only of bare words (no operator, quote, parenthesis or
AND/OR) is one name search for the whole text (``jane doe``).

Parsing uses lark (LALR). Every problem becomes a :class:`QueryError` that says what is wrong and at
which column; nothing else is raised. :func:`canonical` prints the explicit form of a query (the one
the console shows), and parsing the canonical form gives the same AST: a typed query may be
:data:`MAX_LENGTH` characters long, and its canonical form (which can be longer: ``a b c`` inside a
structured query is ``name ^ a AND name ^ b AND name ^ c``) is accepted up to
:data:`MAX_CANONICAL_LENGTH`, more than any typed query's can reach. Parentheses nest at most
:data:`MAX_DEPTH` deep (the databases' SQL parsers have limits of their own).

Two matching rules live here so that every backend applies the same one (``store.query_sql``):

* :func:`fold` is the case rule of every "any case" comparison (``name =``, ``name ~``, ``name ^``,
  ``group =``, ``fields.x =``, ``fields.x ~``, ``urn ~``): both sides are compared after Python's
  :meth:`str.casefold` (Unicode full case folding: ``É`` → ``é``, ``ß`` → ``ss``, ``ﬁ`` → ``fi``,
  ``Σ`` and ``ς`` → ``σ``, ``ǅ`` → ``ǆ``, ``İ`` → ``i̇``).
* :func:`number` says which texts are numbers for ``>``, ``>=``, ``<``, ``<=``: ASCII digits with an
  optional leading ``-`` and at most one decimal point between digits (``18``, ``-2.5``, ``007``),
  spaces around ignored, at most 1000 characters; ``1.5.2``, ``--5``, ``5.``, ``.5``, ``+5``,
  ``1_000``, ``1e3``, ``٥``, ``inf`` are not. Numbers compare exactly, as decimals; a stored value that
  is not a number never matches a comparison, and a query must compare with a number.

Pure: no database here. ``store.query_sql`` compiles the AST to SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ccconsole.core import urns as urnlib
from ccconsole.core.model import Status
from ccconsole.core.problems import Problem

EQ, NEQ, HAS, STARTS, GT, GTE, LT, LTE = "=", "!=", "~", "^", ">", ">=", "<", "<="
COMPARISONS = (GT, GTE, LT, LTE)
MAX_LENGTH = 1000  # what a person may type
# a canonical form is accepted up to this length: canonical() of a query of MAX_LENGTH characters is
# at most about 10 times as long (a one-character bare word between two quotes, `1""1""`, prints as
# `tel ~ 1 AND name ^ "" AND ...`), so the canonical form of every query that parses parses again
MAX_CANONICAL_LENGTH = 30 * MAX_LENGTH
MAX_DEPTH = 20  # parentheses inside parentheses; SQLite's parser overflows near 40
MAX_NUMBER_LENGTH = 1000  # characters of a number (PostgreSQL's numeric takes 131072 digits, then fails)

# attributes: what each accepts
TEXT_ATTRS = {"name": (EQ, NEQ, HAS, STARTS), "urn": (EQ, NEQ, HAS), "status": (EQ, NEQ), "group": (EQ, NEQ),
              "language": (EQ, NEQ), "uuid": (EQ, NEQ), "problem": (EQ, NEQ)}
SCHEME_OPS = (EQ, NEQ, HAS)
FIELD_OPS = (EQ, NEQ, HAS, GT, GTE, LT, LTE)
FIELD_PREFIX = "fields."


class QueryError(ValueError):
    """A query that cannot be run: ``message`` says what is wrong, ``column`` (1-based) where."""

    def __init__(self, message: str, column: int | None = None):
        self.message = message
        self.column = column
        super().__init__(f"{message} (column {column})" if column else message)


@dataclass(frozen=True, slots=True)
class Condition:
    """``attr op value``; ``attr`` is lowercase: name, urn, a scheme, status, group, language, uuid,
    or ``fields.<key>``."""

    attr: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


Node = Condition | And | Or

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (OR and_expr)*
?and_expr: atom (AND? atom)*
?atom: WORD OP value          -> condition
     | value                  -> bare
     | "(" or_expr ")"
value: WORD | STRING
OP: "!=" | ">=" | "<=" | "=" | "~" | "^" | ">" | "<"
AND.2: /and(?![^\s()"=<>~^!])/i
OR.2: /or(?![^\s()"=<>~^!])/i
WORD: /(?:[^\s()"=<>~^!]|!(?!=))+/
STRING: /"(?:[^"\\]|\\.)*"/
%import common.WS
%ignore WS
"""

@lru_cache(maxsize=1)
def _parser() -> Lark:
    """Built on the first query, not at import: start-up shows the first page before any query."""
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)

# a query with none of these is plain text: one bare value for the whole text
_STRUCTURE = re.compile(r'["()=<>~^]|!=|(?:^|\s)(?:and|or)(?:\s|$)', re.IGNORECASE)
_PHONE_LIKE = re.compile(r"^\+?[\d\s()\-.]*\d[\d\s()\-.]*$")
_SIMPLE = re.compile(r"^[A-Za-z0-9_@.+\-:/#]+$")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"?')  # a STRING token (or an unclosed one, up to the end)


# --- the matching rules shared by every backend ----------------------------------------------------


def fold(text: str) -> str:
    """The case rule of every case-insensitive comparison: Python's :meth:`str.casefold` (Unicode full
    case folding, context-free: each character folds on its own, and folding twice changes nothing).
    SQLite calls this very function (registered on each connection, ``store.db``); PostgreSQL runs an
    SQL function generated from it (``store.query_sql.postgres_fold_function``)."""
    return text.casefold()


@dataclass(frozen=True, slots=True)
class Number:
    """A number by the rule of :func:`number`: its sign and its digits without the zeros that do not
    count (``-007.50``: negative, ``7``, ``5``; zero is ``"", ""`` and never negative)."""

    negative: bool
    whole: str
    fraction: str

    @property
    def sign(self) -> int:
        return 0 if not (self.whole or self.fraction) else -1 if self.negative else 1

    def key(self) -> str:
        """A text that sorts (code point by code point) as the number does: ``1`` for zero, ``2`` and
        the magnitude for a positive number, ``0`` and the magnitude's digits complemented (``~`` at
        the end, above every digit) for a negative one. The magnitude is the whole part's length in
        four digits, the whole part and the fraction: equal lengths compare digit by digit, and a
        shorter fraction that is a prefix of a longer one is the smaller."""
        return _key(self.negative, self.whole, self.fraction)


_COMPLEMENT = str.maketrans("0123456789", "9876543210")


def _key(negative: bool, whole: str, fraction: str) -> str:
    if not (whole or fraction):
        return "1"
    magnitude = f"{len(whole):04d}{whole}{fraction}"
    return "0" + magnitude.translate(_COMPLEMENT) + "~" if negative else "2" + magnitude


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # isdigit alone takes ٥ and ²


def _number_parts(text: str) -> tuple[bool, str, str] | None:
    """(negative, whole, fraction) of a number, without the zeros that do not count; None: not one.
    Written out rather than as a regular expression: SQLite calls it for every stored value."""
    text = text.strip(" ")
    if len(text) > MAX_NUMBER_LENGTH:
        return None
    negative = text.startswith("-")
    whole, point, fraction = (text[1:] if negative else text).partition(".")
    if not _digits(whole) or (point and not _digits(fraction)):
        return None
    whole, fraction = whole.lstrip("0"), fraction.rstrip("0")
    return negative and bool(whole or fraction), whole, fraction


def number(text: str) -> Number | None:
    """``text`` as a number (None: it is not one). The rule: after removing spaces (U+0020) around it,
    at most :data:`MAX_NUMBER_LENGTH` characters matching ``-?[0-9]+(\\.[0-9]+)?``, ASCII digits only;
    no ``+``, exponent, separators, other digits, leading or trailing point."""
    parts = _number_parts(text)
    return Number(*parts) if parts is not None else None


def number_key(text: str) -> str | None:
    """:meth:`Number.key` of ``text`` (None: not a number): SQLite compares stored values by it."""
    parts = _number_parts(text)
    return _key(*parts) if parts is not None else None


@dataclass(frozen=True, slots=True)
class _Bare:
    value: str
    quoted: bool
    column: int


class _Build(Transformer):
    def __init__(self, country: str | None):
        super().__init__()
        self.country = country

    def value(self, items):
        token: Token = items[0]
        assert token.column is not None  # tokens from the lexer carry their position
        if token.type == "STRING":
            return _Bare(_unquote(token.value), True, token.column)
        return _Bare(token.value, False, token.column)

    @v_args(inline=True)
    def condition(self, attr: Token, op: Token, value: _Bare):
        assert attr.column is not None  # tokens from the lexer carry their position
        return _condition(attr.value, attr.column, op.value, value.value, value.column, self.country)

    @v_args(inline=True)
    def bare(self, value: _Bare):
        return bare_condition(value.value, self.country)

    def and_expr(self, items):
        return _flat(And, [i for i in items if not isinstance(i, Token)])

    def or_expr(self, items):
        return _flat(Or, [i for i in items if not isinstance(i, Token)])


def _flat(kind, items: list) -> Node:
    out: list = []
    for item in items:
        out.extend(item.items if isinstance(item, kind) else (item,))
    return out[0] if len(out) == 1 else kind(tuple(out))


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(text: str | None, country: str | None = None) -> Node | None:
    """The AST of a query (None for an empty one). ``country`` (the workspace's) reads national phone
    numbers. Raises :class:`QueryError` and nothing else."""
    try:
        return _parse(text, country)
    except QueryError:
        raise
    except Exception as err:  # a bug must not crash the console: report it as a query problem
        raise QueryError(f"Cannot read this query ({type(err).__name__})") from err


def _parse(text: str | None, country: str | None) -> Node | None:
    if text is None or not text.strip():
        return None
    too_long = QueryError(f"The query is longer than {MAX_LENGTH} characters", MAX_LENGTH + 1)
    if len(text) > MAX_CANONICAL_LENGTH:
        raise too_long
    bad = next((i for i, ch in enumerate(text) if ord(ch) < 32 and ch not in "\t\n\r"), None)
    if bad is not None:
        raise QueryError("Control characters are not allowed in a query", bad + 1)
    node = _parse_text(text, country)
    # a longer text is accepted only as the canonical form of a query that can be typed
    if len(text) > MAX_LENGTH and (canonical(node) != text or _least_typed(node) > MAX_LENGTH):
        raise too_long
    return node


def _least_typed(node: Node) -> int:
    """At most how short a typed query with this AST can be: every condition takes a character, and a
    value that is kept as typed (all but a connection's, which is normalized) takes its length."""
    total = 0
    for c in conditions(node):
        normalized = (c.attr == "urn" or c.attr in urnlib.SCHEMES) and c.op in (EQ, NEQ)
        total += 1 if normalized else max(1, len(c.value))
    return total


def _parse_text(text: str, country: str | None) -> Node:
    stripped = text.strip()
    if _PHONE_LIKE.match(stripped) or not _STRUCTURE.search(stripped):
        return bare_condition(" ".join(stripped.split()), country)
    _check_depth(text)
    try:
        tree = _parser().parse(text)
        return _Build(country).transform(tree)
    except UnexpectedInput as err:
        raise _syntax_error(err, text) from None
    except LarkError as err:  # VisitError wraps our own QueryError raised while building
        inner = getattr(err, "orig_exc", None)
        if isinstance(inner, QueryError):
            raise inner from None
        raise QueryError(f"Cannot read this query: {err}") from None


def _check_depth(text: str) -> None:
    """Parentheses (outside quotes) may nest :data:`MAX_DEPTH` deep."""
    depth = 0
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == '"':
            quoted = _QUOTED.match(text, pos)
            assert quoted is not None  # it matches at every quote
            pos = quoted.end()
            continue
        if char == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise QueryError(f"Parentheses are nested too deeply (at most {MAX_DEPTH} levels)", pos + 1)
        elif char == ")":
            depth = max(0, depth - 1)  # an unmatched ')' is the parser's to report
        pos += 1


def _syntax_error(err: UnexpectedInput, text: str) -> QueryError:
    column = getattr(err, "column", None)
    column = column if isinstance(column, int) and column > 0 else None
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        return QueryError(_end_message(text), len(text.rstrip()) + 1)
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        char = text[pos] if pos is not None and 0 <= pos < len(text) else ""
        if char == '"':
            return QueryError("Unclosed quote", column)
        return QueryError(f"Unexpected {char!r}", column)
    if isinstance(err, UnexpectedToken):
        token = err.token
        kind = token.type
        if kind == "RPAR":
            return QueryError("Unexpected ')': no '(' to close", column)
        if kind == "OP":
            return QueryError(f"Operator {token.value!r} needs an attribute before it, e.g. name {token.value} \"bob\"",
                              column)
        if kind in ("AND", "OR"):
            return QueryError(f"{token.value.upper()} needs a condition on both sides", column)
        return QueryError(f"Unexpected {token.value!r}", column)
    return QueryError("Cannot read this query", column)


def _end_message(text: str) -> str:
    tail = text.rstrip()
    if tail.count("(") > tail.count(")"):
        return "Missing ')' at the end"
    if re.search(r"(?:[=<>~^]|!=)$", tail):
        return "A value is missing after the operator (use \"\" for 'not set')"
    if re.search(r"(?:^|\s)(?:and|or)$", tail, re.IGNORECASE):
        return "A condition is missing after AND/OR"
    return "The query ends too early"


def _attr_names() -> str:
    return "name, urn, tel, mailto, twitter, …, status, group, language, uuid, problem, fields.<key>"


def _condition(attr: str, attr_col: int, op: str, value: str, value_col: int, country: str | None) -> Condition:
    key = attr.lower()
    if key.startswith(FIELD_PREFIX):
        field = key[len(FIELD_PREFIX):]
        if not re.fullmatch(r"[a-z0-9_]+", field):
            raise QueryError(f"Field key {field!r} is not valid (lowercase letters, digits and _)", attr_col)
        if op in COMPARISONS:
            if not value:
                raise QueryError(f"{op} needs a number, not \"\"", value_col)
            if number(value) is None:
                raise QueryError(f"{op} compares numbers: {value!r} is not a number (digits, an optional - "
                                 "and one decimal point, e.g. 18 or -2.5)", value_col)
        return Condition(key, op, value)
    allowed: tuple[str, ...]
    if key in urnlib.SCHEMES:
        allowed = SCHEME_OPS
    elif key in TEXT_ATTRS:
        allowed = TEXT_ATTRS[key]
    else:
        raise QueryError(f"Unknown attribute {attr!r} (try {_attr_names()})", attr_col)
    if op not in allowed:
        raise QueryError(f"{key} does not take {op}: use {' or '.join(allowed)}", attr_col + len(attr) + 1)
    if key == "status" and value and value.lower() not in {s.value for s in Status}:
        raise QueryError(f"Unknown status {value!r} (active, blocked, stopped, archived)", value_col)
    if key == "status":
        value = value.lower()
    if key == "problem" and value:
        value = value.lower()
        if value not in {p.value for p in Problem}:
            raise QueryError(f"Unknown problem {value!r} ({', '.join(p.value for p in Problem)})", value_col)
    if key == "language" and value:
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise QueryError(f"Language {value!r} is not a three-letter ISO-639-3 code such as eng", value_col)
        value = value.lower()
    if key in urnlib.SCHEMES and value and op in (EQ, NEQ):
        value = _clean_path(key, value, country, value_col)
    if key == "tel" and op == HAS and value:
        if not phone_prefixes(value, country):
            raise QueryError(f"tel ~ needs digits or letters, got {value!r}", value_col)
    if key == "urn" and value and op in (EQ, NEQ):
        scheme, sep, path = value.partition(":")
        if not sep or scheme.lower() not in urnlib.SCHEMES:
            raise QueryError(f"urn = needs scheme:path such as tel:+250788383383, got {value!r}", value_col)
        value = f"{scheme.lower()}:{_clean_path(scheme.lower(), path, country, value_col + len(scheme) + 1)}"
    return Condition(key, op, value)


def _clean_path(scheme: str, path: str, country: str | None, column: int) -> str:
    try:
        return urnlib.clean(scheme, path, country).path
    except urnlib.URNError as err:
        raise QueryError(f"{scheme}:{path} is not a valid connection: {err}", column) from None


def bare_condition(value: str, country: str | None = None) -> Condition:
    """What a bare value means: a phone search, a connection, or names starting with it."""
    if _PHONE_LIKE.match(value):
        return Condition("tel", HAS, value)
    scheme, sep, path = value.partition(":")
    if sep and scheme.lower() in urnlib.SCHEMES and path:
        try:
            urn = urnlib.clean(scheme.lower(), path, country)
        except urnlib.URNError:
            pass  # not a valid connection: search names for the text
        else:
            return Condition(urn.scheme, EQ, urn.path)
    return Condition("name", STARTS, value)


def phone_prefixes(value: str, country: str | None = None) -> tuple[str, ...]:
    """The stored-path prefixes a phone fragment stands for, national formats read with ``country``:
    ``0788 38`` in RW -> ``+25078838`` (and ``078838`` for numbers stored as typed); ``25078`` ->
    ``+25078`` and ``25078``; ``+25078`` -> ``+25078``; a sender id such as ``MTN`` -> ``mtn``."""
    text = value.strip()
    digits = re.sub(r"\D", "", text)
    if not digits or not _PHONE_LIKE.match(text):
        cleaned = re.sub(r"[^0-9a-z]", "", text.lower())
        return (cleaned,) if cleaned else ()
    if text.startswith("+"):
        return ("+" + digits,)
    if digits.startswith("0") and country:
        code = phonenumbers.country_code_for_region(country.upper())
        if code:
            return (f"+{code}{digits[1:]}", digits)
    return ("+" + digits, digits)


# --- printing ------------------------------------------------------------------------------------


def _quote(value: str) -> str:
    if value and _SIMPLE.match(value) and value.lower() not in ("and", "or"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def canonical(node: Node | None) -> str:
    """The explicit form of a query: every condition written out, AND/OR in capitals, parentheses only
    where OR sits inside AND. ``parse(canonical(n)) == n``."""
    if node is None:
        return ""
    if isinstance(node, Condition):
        return f"{node.attr} {node.op} {_quote(node.value)}"
    if isinstance(node, And):
        return " AND ".join(f"({canonical(i)})" if isinstance(i, Or) else canonical(i) for i in node.items)
    return " OR ".join(canonical(i) for i in node.items)


def conditions(node: Node | None) -> list[Condition]:
    """Every condition of a query, left to right."""
    if node is None:
        return []
    if isinstance(node, Condition):
        return [node]
    return [c for item in node.items for c in conditions(item)]
