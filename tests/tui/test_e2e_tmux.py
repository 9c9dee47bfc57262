"""End to end: the installed ``ccconsole`` in a real terminal (tmux), driven with keys, read off the screen."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.tui.helpers import demo_workspace


def _tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        if os.environ.get("CCCONSOLE_REQUIRE_PG") == "1":
            pytest.fail("tmux is missing but CCCONSOLE_REQUIRE_PG=1 (scripts/test.sh installs it)")
        pytest.skip("tmux is not installed")
    return tmux


def _console_command() -> list[str]:
    """The real entry point: the venv's script, else one on PATH, else ``python -m ccconsole``."""
    beside = Path(sys.executable).with_name("ccconsole")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ccconsole")
    if found:
        return [found]
    return [sys.executable, "-m", "ccconsole"]


class Terminal:
    """A private tmux server (its own socket, no user config) with one session (100x30 unless told)."""

    def __init__(self, tmux: str, env: dict[str, str]):
        self.tmux = tmux
        self.socket = f"ccconsole-test-{uuid.uuid4().hex[:12]}"
        self.env = env
        self.socket_path: str | None = None

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([self.tmux, "-L", self.socket, "-f", "/dev/null", *args], env=self.env,
                              capture_output=True, text=True, timeout=30, check=check)

    def start(self, command: str, size: tuple[int, int] = (100, 30)) -> None:
        # remain-on-exit keeps the last screen readable if the console dies
        self.run("new-session", "-d", "-s", "app", "-x", str(size[0]), "-y", str(size[1]), command,
                 ";", "set-option", "-t", "app", "remain-on-exit", "on")
        self.socket_path = self.run("display-message", "-p", "#{socket_path}", check=False).stdout.strip() or None

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "app", check=False).stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "app", *keys)

    def paste(self, text: str) -> None:
        """The whole text in one write, as a paste or a laggy link delivers it (not as a bracketed paste)."""
        self.run("send-keys", "-t", "app", "-l", text)

    def pane(self, field: str) -> str:
        return self.run("display-message", "-p", "-t", "app", f"#{{{field}}}", check=False).stdout.strip()

    def wait(self, predicate, what: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if predicate(text):
                return text
            if self.pane("pane_dead") == "1":
                raise AssertionError(f"the console exited while waiting for {what}:\n{text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen is:\n{text}")
            time.sleep(0.1)

    def kill(self) -> None:
        self.run("kill-server", check=False)
        if self.socket_path:  # tmux may leave the socket file behind
            Path(self.socket_path).unlink(missing_ok=True)


@pytest.mark.e2e
def test_installed_console_in_a_real_terminal(tmp_path):
    tmux = _tmux()
    db = tmp_path / "demo.db"
    demo_workspace(f"sqlite:///{db}")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    env.pop("CCCONSOLE_DB", None)
    # stderr is not redirected: Textual draws on it
    # the shell prints the console's exit status after it quits, so the test can read it off the screen
    command = shlex.join([*_console_command(), "--db", f"sqlite:///{db}"]) + '; echo "EXITED:$?"; sleep 60'

    term = Terminal(tmux, env)
    try:
        term.start(command)
        # every check is part of the wait: a capture can catch a frame half drawn
        table = ("Kigali Health", "Akinyi Chen", "0731 540 486", "Airtel Rwanda", "200 contacts",
                 "Route for Akinyi Chen")
        screen = term.wait(lambda s: all(t in s for t in table), "the contacts table")
        assert "Traceback" not in screen
        term.keys("e")
        modal = ("Update Contact — Akinyi Chen", "+250731540486", "Save Changes",
                 "Next message would go: tel:+250731540486 via Airtel Rwanda")
        term.wait(lambda s: all(t in s for t in modal), "the Update Contact modal")
        term.keys("Escape")
        term.wait(lambda s: "Update Contact" not in s and "Route for" in s, "the modal to close")
        term.keys("C-q")
        screen = term.wait(lambda s: "EXITED:" in s, "the console to quit on ctrl+q", timeout=10)
        assert "EXITED:0" in screen, screen
    finally:
        term.kill()
