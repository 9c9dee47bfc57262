"""The channels screen: add a channel through the form, disable one through the confirmation."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from ccconsole.app import open_workspace
from ccconsole.tui.app import make_app
from ccconsole.tui.screens.channels import AddChannel, ChannelsScreen
from ccconsole.tui.screens.dialogs import Confirm
from tests.tui.helpers import wait_for


def _cells(app, row: int) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [str(c) for c in table.get_row_at(row)]


async def test_add_a_channel_with_a_bad_country_then_a_good_one(demo_url):
    app = make_app(demo_url, label="demo.db")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ChannelsScreen)
                       and app.screen.query_one(DataTable).row_count == 11, what="the channels")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AddChannel), what="the form")
        app.screen.query_one("#ch-name", Input).value = "Tigo Rwanda"
        app.screen.query_one("#ch-schemes", Input).value = "tel"
        app.screen.query_one("#ch-country", Input).value = "RWA"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "two-letter" in str(app.screen.query_one("#err-country").render()),
                       what="the country message")
        assert "Tigo Rwanda" not in [c.name for c in open_workspace(demo_url).channels.list()]
        app.screen.query_one("#ch-country", Input).value = "RW"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChannelsScreen)
                       and app.screen.query_one(DataTable).row_count == 12, what="the new row")
        assert _cells(app, 11)[:2] == ["Tigo Rwanda", "Twilio"]
    added = open_workspace(demo_url).channels.find("Tigo Rwanda")
    assert (added.schemes, added.country, added.active) == (("tel",), "RW", True)
    open_workspace(demo_url).channels.set_active("Tigo Rwanda", False)  # leave the module's demo as it was


async def test_disabling_asks_first_and_no_is_the_default(demo_url):
    app = make_app(demo_url, label="demo.db")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ChannelsScreen)
                       and app.screen.query_one(DataTable).row_count >= 11, what="the channels")
        assert _cells(app, 0)[0] == "MTN Rwanda"
        locked_before = _cells(app, 0)[3]
        assert locked_before != "—"  # the demo locks contacts in to MTN Rwanda
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the confirmation")
        await pilot.press("enter")  # the focused button is No
        await wait_for(pilot, lambda: isinstance(app.screen, ChannelsScreen), what="back")
        assert open_workspace(demo_url).channels.find("MTN Rwanda").active
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: _cells(app, 0)[2] == "disabled", what="the disabled row")
        # its affinities are now stale: ignored by routing, counted as such
        assert _cells(app, 0)[3] == "—" and _cells(app, 0)[4] == locked_before
    assert not open_workspace(demo_url).channels.find("MTN Rwanda").active
    open_workspace(demo_url).channels.set_active("MTN Rwanda", True)
