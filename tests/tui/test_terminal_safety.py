"""Update Contact's inputs never write stored text to the terminal raw (issue 16, item 1): a name,
a connection and a group holding ESC sequences show as their visible pictures, and saving keeps the
stored value exactly."""

from __future__ import annotations

from textual.widgets import Input

from ccconsole.app import open_workspace
from ccconsole.tui.app import make_app
from ccconsole.tui.safe import SafeInput
from tests.store_helpers import rw_store
from tests.tui.helpers import open_editor, table_ready, wait_for

RETITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"


def line_text(widget: Input) -> str:
    return "".join(segment.text for segment in widget.render_line(0))


async def test_inputs_show_control_characters_visibly_and_save_them_unchanged(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    ws = rw_store(url)
    ws.channels.add("Ext", "External", ["ext"])
    view = ws.contacts.create(f"{RETITLE}Jane{CLEAR}", [f"ext:a{CLEAR}b"], groups=[f"G{RETITLE}"])
    ws.close()
    app = make_app(url, actor="me")
    async with app.run_test(size=(120, 40)) as pilot:
        await table_ready(pilot)
        editor = await open_editor(pilot)
        inputs = {w.id: w for w in editor.query(SafeInput)}
        assert inputs["name"].value == f"{RETITLE}Jane{CLEAR}"  # the value is the stored text
        shown = {key: line_text(inputs[key]) for key in ("name", "conn-0", "groups")}
        for text in shown.values():
            assert "\x1b" not in text and "\x07" not in text, shown
        assert shown["name"].startswith("␛]0;pwned␇Jane␛[2J␛[H")
        assert "a␛[2J␛[Hb" in shown["conn-0"]
        assert "G␛]0;pwned␇" in shown["groups"]
        # the cursor keeps its place: one picture per control character
        assert len(inputs["name"].value) == len(shown["name"].rstrip())
        await pilot.press("end", "!")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not editor, timeout=10, what="the save")
    with open_workspace(url) as again:
        saved = again.contacts.get(view.uuid)
        assert saved.name == f"{RETITLE}Jane{CLEAR}!"
        assert [c.identity for c in saved.connections] == [f"ext:a{CLEAR}b"]
        assert saved.groups == (f"G{RETITLE}",)


def test_a_failed_query_is_reported_without_its_sql_or_parameters(tmp_path):
    """What a worker shows for a database error (issue 16, item 3): one line, no SQL, no parameters."""
    import pytest
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from ccconsole.tui.base import failure_text

    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(OperationalError) as caught, engine.connect() as c:
        c.execute(text("SELECT secret FROM nowhere WHERE name = :n"), {"n": "Jane \x1b[2J"})
    engine.dispose()
    assert "[SQL:" in str(caught.value)  # SQLAlchemy's own text carries the statement and parameters
    shown = failure_text(caught.value)
    assert shown == "Database error: no such table: nowhere"
    assert "SELECT" not in shown and "Jane" not in shown and "\n" not in shown
