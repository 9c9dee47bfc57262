"""The export's writers when the file cannot be written: ``close`` raises the one real error (an
OSError), ``abort`` never raises, and nothing is left behind: no second error printed later by the
garbage collector ("Exception ignored in ..."), no temporary file of openpyxl's.

``/dev/full`` accepts opening and fails every write with "No space left on device", as a full disk does."""

from __future__ import annotations

import errno
import gc
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccconsole.files.writers import CsvWriter, XlsxWriter, column_kinds

FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full here")
ROW = ["0b7f0a51-6e3f-4f3b-9f0a-4d1f3c2e1a00", "=Jane", "eng", "active",
       datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), None, "+250788383383", "41", True]
KINDS = column_kinds({"tel": 1}, 1, 1)


@pytest.fixture
def leftovers(monkeypatch, tmp_path):
    """Errors raised where nobody can catch them (``sys.unraisablehook``), and the folder openpyxl
    puts its temporary sheet files in."""
    caught = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: caught.append(f"{u.exc_type.__name__}: {u.exc_value} "
                                                                       f"in {u.object!r}"))
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return caught, temp


def finish(writer) -> None:
    writer.abort()
    writer.abort()  # twice is harmless
    del writer
    gc.collect()


@needs_dev_full
def test_xlsx_on_a_full_disk_fails_once_and_leaves_nothing(leftovers):
    caught, temp = leftovers
    writer = XlsxWriter(FULL)
    writer.row(["Contact UUID", "Name", "Language", "Status", "Created On", "Last Seen On", "URN:Tel",
                "Field:Age", "Group:Nurses"], header=True)
    for _ in range(500):
        writer.row(ROW)
    assert len(os.listdir(temp)) == 1  # openpyxl's sheet, until the workbook is zipped
    with pytest.raises(OSError) as err:
        writer.close()
    assert err.value.errno == errno.ENOSPC
    finish(writer)
    assert caught == []
    assert os.listdir(temp) == []


def test_an_abandoned_xlsx_leaves_nothing(leftovers, tmp_path):
    caught, temp = leftovers
    out = tmp_path / "x.xlsx.part"
    writer = XlsxWriter(out)
    for _ in range(500):
        writer.row(ROW)
    finish(writer)  # as a cancelled export does
    assert caught == []
    assert os.listdir(temp) == []
    out.unlink()  # the exporter's part file: the writer only closed it


def test_an_xlsx_that_cannot_be_created_fails_at_once(leftovers, tmp_path):
    caught, temp = leftovers
    with pytest.raises(OSError) as err:
        XlsxWriter(tmp_path / "no such folder" / "x.xlsx")
    assert err.value.errno == errno.ENOENT
    gc.collect()
    assert caught == [] and os.listdir(temp) == []


@needs_dev_full
def test_csv_on_a_full_disk_fails_once(leftovers):
    caught, _ = leftovers
    writer = CsvWriter(FULL, KINDS)
    with pytest.raises(OSError) as err:
        for _ in range(5000):  # more than the file's buffer
            writer.row(ROW)
        writer.close()
    assert err.value.errno == errno.ENOSPC
    finish(writer)
    assert caught == []
