"""``ccconsole export`` to a place it cannot write, through the real entry point (a subprocess, as
tests/test_cli.py): exactly one line ``ccconsole: Cannot write <file>: <reason>.`` on stderr, exit
1, no traceback and no second error after it, and no file or part file left.

A read-only folder is really read-only only without CAP_DAC_OVERRIDE: as root the command runs
under ``setpriv`` with that capability dropped (root otherwise writes anywhere)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ccconsole.app import open_workspace
from tests.test_cli import make_db

CCCONSOLE = Path(sys.executable).with_name("ccconsole")
DROP = ["--inh-caps=-dac_override,-fowner", "--bounding-set=-dac_override,-fowner"]


def without_override() -> list[str]:
    """The command prefix that makes permission bits apply to this test's user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None or subprocess.run([setpriv, *DROP, "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE (no usable setpriv)")
    return [setpriv, *DROP]


def export(*args: str, prefix: list[str] = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CCCONSOLE_DB"}
    return subprocess.run([*prefix, str(CCCONSOLE), "export", *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture
def url(tmp_path) -> str:
    url = make_db(tmp_path / "c.db")
    store = open_workspace(url, actor="setup")
    for i in range(30):
        store.contacts.create(f"Person {i}", [f"tel:+25078838{i:04d}"], fields={"age": str(20 + i)})
    store.close()
    return url


@pytest.mark.parametrize("name", ["x.xlsx", "x.csv"])
def test_export_into_a_read_only_folder_is_one_line(url, tmp_path, name):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = export(str(folder / name), "--db", url, prefix=without_override())
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == f"ccconsole: Cannot write {folder / name}: Permission denied.\n"
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)


def test_export_under_a_file_is_one_line(url, tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    result = export(str(tmp_path / "afile" / "x.xlsx"), "--db", url)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"ccconsole: Cannot write {tmp_path / 'afile' / 'x.xlsx'}: "
                             f"{tmp_path / 'afile'} is not a folder.\n")
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_the_same_export_into_a_writable_folder_works(url, tmp_path):
    """The control: the same command where it can write (so the failures above are the folder's)."""
    out = tmp_path / "rw" / "x.xlsx"
    result = export(str(out), "--db", url, prefix=without_override())
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"Exported 30 contacts to {out}.\n"
    assert os.listdir(out.parent) == ["x.xlsx"]
