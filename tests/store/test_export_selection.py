"""The export's selection (SQLite and PostgreSQL): evaluated a fixed number of times whatever the
number of pages (it was once per page: a million contacts took over ten minutes), and built from the
engine and the workspace alone, so a plain object with ``.engine`` and ``.workspace`` exports too."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import event

from ccconsole.store import exporter
from ccconsole.store.demo import build_demo
from ccconsole.store.exporter import export_file
from ccconsole.store.services import Store


@pytest.fixture
def demo(backend_url):
    s = Store.open(backend_url, actor="tester", workspace_name="Kigali Health", country="RW")
    build_demo(s, 400)
    yield s
    s.close()


def statements(engine):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("query, marker", [(None, "deleted_on IS NULL"), ("group = Nurses", "lower(contact_group.name)")])
def test_the_selection_runs_a_fixed_number_of_times_not_once_per_page(demo, tmp_path, monkeypatch, query, marker):
    monkeypatch.setattr(exporter, "PAGE", 5)
    expected = demo.count(query)
    assert expected > 3 * 5  # several pages
    seen, stop = statements(demo.engine)
    try:
        report = export_file(demo, tmp_path / "all.csv", query=query)
    finally:
        stop()
    assert report.contacts == expected
    with (tmp_path / "all.csv").open(encoding="utf-8-sig") as f:
        assert sum(1 for _ in f) == expected + 1
    # the count, the connection columns' widths and the stream of ids: 3, at any number of pages
    assert sum(marker in s for s in seen) == 3, [s for s in seen if marker in s][:5]


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
@pytest.mark.parametrize("query", [None, "Jane", "group = Nurses"])
def test_a_plain_object_with_engine_and_workspace_exports_the_same_file(demo, tmp_path, ext, query):
    plain = SimpleNamespace(engine=demo.engine, workspace=SimpleNamespace(
        id=demo.workspace.id, country=demo.workspace.country, timezone=demo.workspace.timezone))
    a = export_file(demo, tmp_path / f"store.{ext}", query=query)
    b = export_file(plain, tmp_path / f"plain.{ext}", query=query)
    assert a.contacts == b.contacts == demo.count(query) > 0
    if ext == "csv":
        assert (tmp_path / "store.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    else:
        import openpyxl

        rows = [[c.value for c in r] for r in openpyxl.load_workbook(tmp_path / "store.xlsx").active.iter_rows()]
        assert rows == [[c.value for c in r] for r in openpyxl.load_workbook(tmp_path / "plain.xlsx").active.iter_rows()]
        assert len(rows) == a.contacts + 1
