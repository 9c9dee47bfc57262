"""Hostile text never reaches the terminal raw from the command line (issue 16, items 2 and 7): stored
names, message texts, connections and actors with ESC sequences are shown visibly in text output;
arguments that are not UTF-8 are refused in one line with nothing written; a BOM on stdin is not data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ccconsole.app import open_workspace
from tests.test_cli import make_db, ok, user_error

CCCONSOLE = Path(sys.executable).with_name("ccconsole")
RETITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"
CSI_C1 = "\x9b31m"  # an 8-bit CSI: some terminals act on it too
HOSTILE = f"{RETITLE}Jane{CLEAR}\u202e{CSI_C1}"


def run_bytes(*args: bytes | str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """The real entry point with raw bytes for arguments, output kept as bytes."""
    argv = [str(CCCONSOLE).encode(), *(a if isinstance(a, bytes) else a.encode() for a in args)]
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=120)


def assert_terminal_safe(output: bytes) -> str:
    text = output.decode("utf-8")
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in text, (raw, text)
    return text


@pytest.fixture
def hostile_db(tmp_path):
    url = make_db(tmp_path / "h.db")
    with open_workspace(url, actor=f"ev{RETITLE}il") as ws:
        ws.channels.add("MTN", "Twilio", ["tel"], country="RW")
        ws.channels.add("Ext", "External", ["ext"])
        view = ws.contacts.create(HOSTILE, ["tel:+250788383383", f"ext:a{CLEAR}b"], groups=[f"G{RETITLE}"],
                                  fields={"note": f"n{CLEAR}"})
        ws.messages.receive("MTN", "tel:+250788383383", f"hi{RETITLE}{CLEAR}")
    return str(tmp_path / "h.db"), view.uuid


@pytest.mark.parametrize("command", [
    ("contacts", "show", "tel:+250788383383"),
    ("history", "tel:+250788383383"),
    ("audit",),
    ("lockins",),
    ("route", "tel:+250788383383"),
])
def test_text_output_shows_hostile_text_visibly(hostile_db, command):
    path, _ = hostile_db
    result = run_bytes(*command, "--db", path)
    assert result.returncode == 0, result.stderr
    text = assert_terminal_safe(result.stdout)
    if command[0] in ("contacts", "lockins", "route"):  # the name, visible character for character
        assert "␛]0;pwned␇Jane␛[2J␛[H<U+202E><U+009B>31m" in text
    if command[0] == "history":
        assert "hi␛]0;pwned␇␛[2J␛[H" in text  # the message text, visible
    if command[0] == "audit":
        assert "ev␛]0;pwned␇il" in text  # the actor, visible


def test_json_output_keeps_the_data_exact(hostile_db):
    path, uuid = hostile_db
    import json

    result = run_bytes("contacts", "show", uuid, "--db", path, "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["name"] == HOSTILE  # escaped by JSON, exact once parsed


def test_an_error_line_shows_what_was_typed_visibly(tmp_path):
    path = str(tmp_path / "e.db")
    make_db(Path(path))
    result = run_bytes("contacts", "show", f"tel:{RETITLE}", "--db", path)
    assert result.returncode == 1
    line = assert_terminal_safe(result.stderr).strip()
    assert line.startswith("ccconsole: ") and "␛]0;pwned␇" in line and "\n" not in line


def test_arguments_that_are_not_utf8_are_refused_with_nothing_written(tmp_path):
    path = tmp_path / "u.db"
    url = make_db(path)
    for args in ((b"contacts", b"add", b"--name", b"bad\xffname", b"--db", str(path).encode()),
                 (b"audit", b"--text", b"\xff", b"--db", str(path).encode())):
        result = run_bytes(*args)
        assert result.returncode == 1 and b"Traceback" not in result.stderr
        lines = result.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and "is not valid UTF-8" in lines[0], lines
    with open_workspace(url) as ws:
        assert ws.browse.count() == 0


def test_a_byte_order_mark_on_stdin_is_not_part_of_the_first_value():
    result = subprocess.run([str(CCCONSOLE), "urns", "check", "--country", "RW"],
                            input="\ufefftel:0788383383\nmailto:A@B.org\n", capture_output=True, text=True,
                            timeout=60)
    assert ok(result).splitlines() == ["tel:0788383383\ttel:+250788383383", "mailto:A@B.org\tmailto:a@b.org"]


def test_user_error_helper_still_sees_one_line(tmp_path):
    """The shared one-line check holds for a hostile mistake too."""
    make_db(tmp_path / "n.db")
    result = subprocess.run([str(CCCONSOLE), "contacts", "show", "nobody\x1b[2J", "--db", str(tmp_path / "n.db")],
                            capture_output=True, text=True, timeout=60)
    assert "␛[2J" in user_error(result)
