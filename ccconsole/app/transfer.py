"""Import and export in RapidPro's format (domain.md section 6): the entry points front ends call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ccconsole.store import exporter, importer
from ccconsole.store.exporter import ExportReport
from ccconsole.store.importer import ImportCancelled, ImportReport

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace

__all__ = ["ExportReport", "ImportCancelled", "ImportReport", "Transfer"]


class Transfer:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def import_file(self, path: str | Path, *, dry_run: bool = False,
                    progress: Callable[[int, int | None], object] | None = None,
                    cancelled: Callable[[], bool] | None = None, chunk: int = importer.CHUNK,
                    parallel: bool | None = None) -> ImportReport:
        """Import ``path`` in one transaction (all or nothing; a dry run rolls back and reports)."""
        return importer.import_file(self.ws.scope, path, dry_run=dry_run, progress=progress, cancelled=cancelled,
                                    chunk=chunk, parallel=parallel)

    def export_file(self, path: str | Path, *, query: str | None = None,
                    progress: Callable[[int, int], object] | None = None,
                    cancelled: Callable[[], bool] | None = None) -> ExportReport:
        """Write the contacts matching ``query`` to ``path`` (.csv by extension, else .xlsx)."""
        return exporter.export_file(self.ws.scope, path, query=query, progress=progress, cancelled=cancelled)
