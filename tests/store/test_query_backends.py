"""SQLite and PostgreSQL give the same answer to every query (issue 16 items 5 and 6).

One small data set, inserted alike into a SQLite and a PostgreSQL workspace: names, groups and field
values in upper and lower case beyond ASCII (É, ß/ẞ, İ, ǅ, Σ/ς, ﬁ, the Kelvin sign), field values that
look more or less like numbers (``1.5.2``, ``--5``, ``5.``, ``.5``, ``1_000``, ``٥``, ``1e999999``, forty
digits). Queries are generated from the grammar: conditions on names, groups, fields and connections,
AND/OR, side by side, parentheses, nesting. Each one either raises QueryError (with a column) on both
or finds the same contacts on both, counted as it pages.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ccconsole.app import open_workspace
from ccconsole.core.query import MAX_DEPTH, QueryError, canonical, parse

NOTES = ["ärztin", "ÄRZTIN", "Straße", "STRASSE", "ﬁnance", "FINANCE", "İstanbul", "istanbul", "ǅemal", "ΣΟΦΟΣ",
         "σοφος", "σοφοσ", "Kelvin", "kelvin", "50%_off", "a\\b", ""]
AGES = ["3", " 3 ", "3.0", "03", "-0", "0", "1.5.2", "--5", "5.", ".5", "1_000", "\u0665", "1e999999", "-4",
        "3.0000000000000000001", "1" + "0" * 39, "18.5", "-18.55", "+5", "inf", "NaN", "", "-0.5", "2.50"]
NAMES = ["École Kigali", "ÉCOLE KIGALI", "ecole kigali", "Straße", "STRASSE", "strasse", "STRAẞE", "İlker", "ilker",
         "ǅemal", "ǄEMAL", "ǆemal", "ΌΣΟΣ", "όσος", "ﬁona", "Fiona", "FIONA", "\u212aelvin", "kelvin",
         "Ärztin Uwase", "jane doe", "Jane", "", "Σίσυφος", "日本 Ω", "Émile ß"]
GROUPS = ["équipe", "ÉQUIPE", "Équipe", "Nurses", "NURSES", "Σοφία", "straße", "STRASSE"]


def _people():
    """(name, connections, groups, fields) of each contact: every name, note, age and group is used."""
    people = []
    for i, name in enumerate(NAMES):
        urns = [f"tel:+2507883{i:05d}", f"mailto:{['a', 'B', 'ç'][i % 3]}{i}@example.org"]
        groups = [GROUPS[i % len(GROUPS)]] + ([GROUPS[(i * 3) % len(GROUPS)]] if i % 4 == 0 else [])
        fields = {"note": NOTES[i % len(NOTES)], "age": AGES[i % len(AGES)]}
        if i % 5 == 0:
            del fields["note"]
        people.append((name, urns, groups, fields))
    return people


def _workspace(url: str):
    ws = open_workspace(url, actor="t", workspace_name="T", country="RW")
    ids = {}
    for index, (name, urns, groups, fields) in enumerate(_people()):
        ids[ws.contacts.create(name, urns, groups=groups, fields=fields).uuid] = index
    return ws, ids


@pytest.fixture(scope="module")
def backends(tmp_path_factory, pg_server):
    sqlite = _workspace(f"sqlite:///{tmp_path_factory.mktemp('backends') / 'test.db'}")
    postgres = _workspace(pg_server.create_database())
    yield sqlite, postgres
    sqlite[0].close()
    postgres[0].close()


def _answer(backend, query: str):
    """("found", the contacts by their place in the data set) or ("error", message, column)."""
    ws, ids = backend
    try:
        rows = ws.browse.page(text=query, limit=500)
        count = ws.browse.count(query)
    except QueryError as err:
        assert err.column is not None, (query, err.message)
        return "error", err.message, err.column
    assert count == len(rows), query
    return "found", frozenset(ids[r.uuid] for r in rows)


# --- queries from the grammar --------------------------------------------------------------------

PIECES = ["éc", "ÉC", "École", "ecole", "STRAS", "strasse", "ss", "ß", "ẞ", "i\u0307", "İ", "ı", "ǅ", "ǆ", "Ǆ", "σ",
          "ς", "Σ", "ΣΟΣ", "ﬁ", "fi", "FI", "\u212a", "k", "jane", "JA", "Ω", "日本", "ärztin", "ÄRZTIN", "équipe",
          "Équipe", "nurses", "%_", "a\\b", "", " ", "ilker", "İLKER"]
TEXT = st.one_of(st.sampled_from(PIECES),
                 st.text(alphabet="aAeEéÉsSßẞiIİıǅǆσςΣﬁfFkK\u212a0 %_\\\"", min_size=1, max_size=5))
NUMBERS = st.one_of(st.sampled_from([*AGES, "3.00000000000000000001", "-18.5", "9" * 38]),
                    st.from_regex(r"\A-?[0-9]{1,3}(\.[0-9]{1,3})?\Z"))


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _condition(attr: str, ops: list[str], values) -> st.SearchStrategy[str]:
    return st.builds(lambda op, value: f"{attr} {op} {_quoted(value)}", st.sampled_from(ops), values)


ATOMS = st.one_of(
    _condition("name", ["=", "!=", "~", "^"], TEXT),
    _condition("group", ["=", "!="], TEXT),
    _condition("fields.note", ["=", "!=", "~"], TEXT),
    _condition("fields.age", [">", ">=", "<", "<=", "=", "!="], NUMBERS),
    _condition("fields.age", [">", "<"], TEXT),
    _condition("urn", ["~"], TEXT),
    _condition("mailto", ["~"], TEXT),
    TEXT.map(_quoted),  # a bare value: names that start with it
    st.sampled_from(["tel ~ 0788300", "mailto = b1@example.org", "status = active", 'fields.nosuch = ""',
                     'fields.note = ""', 'group != ""', "0788300012"]),
)
QUERIES = st.recursive(ATOMS, lambda inner: st.one_of(
    st.lists(inner, min_size=2, max_size=3).map(" AND ".join),
    st.lists(inner, min_size=2, max_size=3).map(" OR ".join),
    st.lists(inner, min_size=2, max_size=3).map(" ".join),
    inner.map(lambda q: f"({q})"),
), max_leaves=8)


def _nested(depth: int, leaf: str) -> str:
    text = leaf
    for i in range(depth):
        text = f"name ~ {'ae'[i % 2]} {'OR' if i % 2 else 'AND'} ({text})"
    return text


DEEP = st.builds(_nested, st.integers(MAX_DEPTH - 2, MAX_DEPTH + 20), ATOMS)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(QUERIES, QUERIES, QUERIES, DEEP))
@example('group = "Équipe"')
@example('name = "ÉCOLE Kigali"')
@example('fields.note = "Ärztin"')
@example("name ^ ss")
@example('name ~ "ΣΟΣ" OR name ~ "\u212a"')
@example("fields.age > 3")
@example("fields.age < 0 OR fields.age >= 1000000000000000000000000000000000000000")
@example('fields.age > "1.5.2"')
@example(_nested(MAX_DEPTH + 1, "name ~ x"))
def test_sqlite_and_postgres_answer_alike(backends, query):
    sqlite, postgres = backends
    answer = _answer(sqlite, query)
    assert _answer(postgres, query) == answer, query
    if answer[0] == "found" and query.strip():
        assert parse(canonical(parse(query, "RW")), "RW") == parse(query, "RW")
