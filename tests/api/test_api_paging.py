"""The Contacts API's order (newest modified first) is read by key from migration 0005's index: a page
deep in the list costs what the first does (no sort, no offset), on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event

from tests.store_helpers import demo_store


def captured_plan(ws, **kw) -> str:
    """The query plan of the id query ``ws.browse.by_modified(**kw)`` runs."""
    seen: list = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT CONTACT.ID") and not seen:
            seen.append((statement, parameters))

    engine = ws.scope.engine
    event.listen(engine, "before_cursor_execute", grab)
    try:
        ws.browse.by_modified(**kw)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    statement, parameters = seen[0]
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":  # a 600-row table is cheaper to scan: ask what the index does
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
        explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        return "\n".join(str(r) for r in conn.exec_driver_sql(explain + statement, parameters).all())


def test_pages_are_read_by_key_from_the_index(backend_url):
    ws = demo_store(backend_url, 600)
    try:
        if ws.backend == "postgresql":
            with ws.scope.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE contact")
        key = (datetime(2026, 6, 1, tzinfo=UTC), 300)
        for ascending in (False, True):
            plan = captured_plan(ws, limit=251, key=key, ascending=ascending)
            assert "ix_contact_ws_modified_id" in plan, plan
            assert "TEMP B-TREE" not in plan.upper() and "Sort" not in plan, plan
        # and the pages are right: following keys visits every live contact once, in order
        seen, key2 = [], None
        while True:
            page = ws.browse.by_modified(limit=250, key=key2)
            if not page:
                break
            seen += page
            key2 = (page[-1].modified_on, page[-1].id)
        assert len(seen) == ws.browse.count() == len({c.id for c in seen})
        assert [(c.modified_on, c.id) for c in seen] == sorted(((c.modified_on, c.id) for c in seen), reverse=True)
    finally:
        ws.close()
