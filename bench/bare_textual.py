"""The reference for bench/startup_bench.py: a bare Textual app (Header, a DataTable with one row, Footer)
that shows the demo's first contact name. What Textual itself costs to put a row on screen; run by
``startup_bench.py --reference``, alongside the console, so both see the same load."""

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header


class Bare(App):
    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Connection")
        table.add_row("Akinyi", "0788 383 383")


if __name__ == "__main__":
    Bare().run(mouse=False)
