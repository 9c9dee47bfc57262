"""Snapshots of the five screens at 80x24 (the SSH case) and 120x40, on the demo workspace.

Deterministic: the demo is built from a fixed seed and clock, the title bar shows a fixed label, the
root conftest turns animations off and scrubs the environment, and each ``run_before`` waits for the
workers and stops the cursor blinking before the screenshot.
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from ccconsole.tui.app import make_app
from ccconsole.tui.screens.channels import ChannelsScreen
from ccconsole.tui.screens.dialogs import HelpScreen
from tests.tui.helpers import no_blink, open_editor, preview_title, settle, table_ready, wait_for

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

FIRST = "Akinyi Chen"  # the first contact of the demo (seed 7), where the cursor starts


async def contacts_ready(pilot) -> None:
    await table_ready(pilot)
    await wait_for(pilot, lambda: preview_title(pilot.app) == f"Route for {FIRST}",
                   what="the preview of the first contact")
    await settle(pilot)
    no_blink(pilot.app)
    await pilot.pause()


async def editor_ready(pilot) -> None:
    await contacts_ready(pilot)
    await open_editor(pilot)
    await settle(pilot)
    no_blink(pilot.app)
    await pilot.pause()


async def channels_ready(pilot) -> None:
    await contacts_ready(pilot)
    await pilot.press("C")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChannelsScreen)
                   and pilot.app.screen.query_one(DataTable).row_count == 11, what="the channels")
    await settle(pilot)
    await pilot.pause()


async def help_ready(pilot) -> None:
    await contacts_ready(pilot)
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="the help screen")
    await settle(pilot)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_contacts_screen(snap_compare, demo_url, size):
    assert snap_compare(make_app(demo_url, label="demo.db"), terminal_size=size, run_before=contacts_ready)


@pytest.mark.parametrize("size", SIZES)
def test_update_contact_modal(snap_compare, demo_url, size):
    assert snap_compare(make_app(demo_url, label="demo.db"), terminal_size=size, run_before=editor_ready)


async def editor_fields_ready(pilot) -> None:
    """Update Contact at 80x24 for a contact with three connections and two field values, scrolled
    down to language, status and the custom fields."""
    await contacts_ready(pilot)
    await pilot.press("slash", *"Noah Ochieng", "enter")
    await table_ready(pilot, "Noah Ochieng")
    await wait_for(pilot, lambda: preview_title(pilot.app) == "Route for Noah Ochieng", what="Noah's route")
    await open_editor(pilot)
    await settle(pilot)
    pilot.app.screen.query_one("#field-0").focus()
    await pilot.pause()
    pilot.app.screen.query_one("#editor-body").scroll_end(animate=False)
    await settle(pilot)
    no_blink(pilot.app)
    await pilot.pause()


async def new_contact_ready(pilot) -> None:
    from ccconsole.tui.screens.editor import ContactEditor

    await contacts_ready(pilot)
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ContactEditor) and pilot.app.screen.loaded,
                   what="the New contact modal")
    await settle(pilot)
    no_blink(pilot.app)
    await pilot.pause()


async def delete_question_ready(pilot) -> None:
    from ccconsole.tui.screens.dialogs import Confirm

    await contacts_ready(pilot)
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, Confirm), what="the delete question")
    await settle(pilot)
    await pilot.pause()


def test_update_contact_fields_80x24(snap_compare, demo_url):
    assert snap_compare(make_app(demo_url, label="demo.db"), terminal_size=(80, 24), run_before=editor_fields_ready)


def test_new_contact_modal_80x24(snap_compare, demo_url):
    assert snap_compare(make_app(demo_url, label="demo.db"), terminal_size=(80, 24), run_before=new_contact_ready)


def test_delete_question_80x24(snap_compare, demo_url):
    assert snap_compare(make_app(demo_url, label="demo.db"), terminal_size=(80, 24), run_before=delete_question_ready)


@pytest.mark.parametrize("size", SIZES)
def test_channels_screen(snap_compare, demo_url, size):
    assert snap_compare(make_app(demo_url, label="demo.db"), terminal_size=size, run_before=channels_ready)


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, demo_url, size):
    assert snap_compare(make_app(demo_url, label="demo.db"), terminal_size=size, run_before=help_ready)


async def lockins_ready(pilot) -> None:
    from ccconsole.tui.screens.lockins import LockInsScreen

    await contacts_ready(pilot)
    await pilot.press("L")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LockInsScreen)
                   and pilot.app.screen.query_one("#lockins", DataTable).row_count > 0, what="the lock-ins")
    await settle(pilot)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_lockins_screen(snap_compare, demo_url, size):
    assert snap_compare(make_app(demo_url, label="demo.db"), terminal_size=size, run_before=lockins_ready)


# --- issue 15: the other screens and dialogs at 80x24 (the SSH case) -----------------------------------


async def add_channel_ready(pilot) -> None:
    from ccconsole.tui.screens.channels import AddChannel

    await channels_ready(pilot)
    await pilot.press("a")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AddChannel), what="the Add channel dialog")
    await settle(pilot)
    no_blink(pilot.app)
    await pilot.pause()


async def history_ready(pilot) -> None:
    from ccconsole.tui.screens.history import HistoryScreen

    await contacts_ready(pilot)
    await pilot.press("h")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), what="the history")
    await settle(pilot)
    await pilot.pause()


# (not the audit log: the demo's one event is stamped with the real time of the build)
@pytest.mark.parametrize("ready", [add_channel_ready, history_ready], ids=["add_channel", "history"])
def test_more_screens_at_80x24(snap_compare, demo_url, ready):
    assert snap_compare(make_app(demo_url, label="demo.db"), terminal_size=(80, 24), run_before=ready)


# --- issue 13: the cleanup workbench at 80x24, on the demo with its dirt ---------------------------


async def problems_ready(pilot) -> None:
    from ccconsole.tui.screens.cleanup import ProblemsScreen

    await table_ready(pilot)
    await pilot.press("P")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ProblemsScreen)
                   and pilot.app.screen.query_one(DataTable).row_count == 7, what="the problems")
    await settle(pilot)
    await pilot.pause()


async def duplicates_ready(pilot) -> None:
    from ccconsole.tui.screens.cleanup import ProblemContactsScreen

    await problems_ready(pilot)
    for _ in range(3):
        await pilot.press("down")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ProblemContactsScreen)
                   and pilot.app.screen.query_one(DataTable).row_count > 0, what="the duplicates")
    await settle(pilot)
    await pilot.pause()


async def merge_ready(pilot) -> None:
    from ccconsole.tui.screens.cleanup import MergePreview

    await duplicates_ready(pilot)
    await pilot.press("m")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, MergePreview) and pilot.app.screen.result is not None,
                   what="the merge preview")
    await settle(pilot)
    await pilot.pause()


async def renormalize_ready(pilot) -> None:
    from ccconsole.tui.screens.cleanup import Renormalize

    await problems_ready(pilot)
    await pilot.press("R")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, Renormalize) and pilot.app.screen.plan is not None,
                   what="the dry run")
    await settle(pilot)
    await pilot.pause()


@pytest.mark.parametrize("ready", [problems_ready, duplicates_ready, merge_ready, renormalize_ready],
                         ids=["problems", "duplicates", "merge", "renormalize"])
def test_cleanup_screens_at_80x24(snap_compare, dirty_demo_url, ready):
    assert snap_compare(make_app(dirty_demo_url, label="demo.db"), terminal_size=(80, 24), run_before=ready)
