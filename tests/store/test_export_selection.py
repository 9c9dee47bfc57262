"""The export's selection (SQLite and PostgreSQL): evaluated a fixed number of times whatever the
number of pages (it was once per page: a million contacts took over ten minutes)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from ccconsole.store import exporter
from tests.store_helpers import demo_store


@pytest.fixture
def demo(backend_url):
    s = demo_store(backend_url)
    yield s
    s.close()


def statements(engine):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


# the marker finds the selection's statements by their SQL: a group compares folded names (issue 16:
# ccconsole_fold on both backends, where it was lower(), which PostgreSQL and SQLite fold differently)
@pytest.mark.parametrize("query, marker", [(None, "deleted_on IS NULL"),
                                           ("group = Nurses", "ccconsole_fold(contact_group.name)")])
def test_the_selection_runs_a_fixed_number_of_times_not_once_per_page(demo, tmp_path, monkeypatch, query, marker):
    monkeypatch.setattr(exporter, "PAGE", 5)
    expected = demo.browse.count(query)
    assert expected > 3 * 5  # several pages
    seen, stop = statements(demo.scope.engine)
    try:
        report = demo.transfer.export_file(tmp_path / "all.csv", query=query)
    finally:
        stop()
    assert report.contacts == expected
    with (tmp_path / "all.csv").open(encoding="utf-8-sig") as f:
        assert sum(1 for _ in f) == expected + 1
    # the count, the connection columns' widths and the stream of ids: 3, at any number of pages
    assert sum(marker in s for s in seen) == 3, [s for s in seen if marker in s][:5]
