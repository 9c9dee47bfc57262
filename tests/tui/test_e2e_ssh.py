"""End to end over a real OpenSSH session on loopback (issue 15): the installed console at 80x24 with
TERM=xterm (16 colours), no mouse; every key that opens an input gets the rest of a pasted burst, and
nothing else happens (no screen switch, no dialog, no mark).

A throwaway ``sshd`` (own host key, own client key, own port, 127.0.0.1 only) runs for the module;
``ssh -tt`` runs inside tmux (recipes.md: without a local terminal the remote side has no screen).
"""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.tui.helpers import demo_workspace
from tests.tui.test_e2e_tmux import Terminal, _console_command, _tmux

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")


def _need(found: str | None, what: str) -> str:
    if found is None:
        if os.environ.get("CCCONSOLE_REQUIRE_PG") == "1":
            pytest.fail(f"{what} is missing but CCCONSOLE_REQUIRE_PG=1 (apt-get install openssh-server)")
        pytest.skip(f"{what} is not installed")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port = _free_port()
        self.key = folder / "client_key"
        self.pid_file = folder / "sshd.pid"
        self.log = folder / "sshd.log"

    def start(self) -> None:
        sshd = _need(next((p for p in SSHD_CANDIDATES if Path(p).exists()), shutil.which("sshd")), "sshd")
        keygen = _need(shutil.which("ssh-keygen"), "ssh-keygen")
        for name in ("host_key", "client_key"):
            subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(self.folder / name)], check=True)
        (self.folder / "authorized_keys").write_text((self.folder / "client_key.pub").read_text())
        config = self.folder / "sshd_config"
        config.write_text("\n".join([
            "ListenAddress 127.0.0.1", f"Port {self.port}", f"HostKey {self.folder / 'host_key'}",
            f"PidFile {self.pid_file}", f"AuthorizedKeysFile {self.folder / 'authorized_keys'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "StrictModes no", "UsePAM no",
            "PermitRootLogin prohibit-password", "PrintMotd no", "PrintLastLog no", ""]))
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation directory
        subprocess.run([sshd, "-t", "-f", str(config)], check=True, capture_output=True)
        subprocess.run([sshd, "-f", str(config), "-E", str(self.log)], check=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    log = self.log.read_text() if self.log.exists() else ""
                    raise AssertionError(f"sshd did not start: {log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.pid_file.exists():
            os.kill(int(self.pid_file.read_text().strip()), signal.SIGTERM)

    def ssh_command(self, remote: str) -> str:
        ssh = _need(shutil.which("ssh"), "ssh")
        return shlex.join([
            "env", "TERM=xterm", ssh, "-tt", "-F", "/dev/null", "-i", str(self.key), "-p", str(self.port),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "IdentitiesOnly=yes", f"{getpass.getuser()}@127.0.0.1", remote])


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    server.start()
    yield server
    server.stop()


CONTACTS = ("Kigali Health", "Akinyi Chen", "200 contacts")


def in_box(screen: str, text: str) -> bool:
    """A bordered input (its lines start with ▊) shows ``text``."""
    return any(text in line.partition("▊")[2] for line in screen.splitlines())


@pytest.mark.e2e
def test_bursts_over_ssh_at_80x24_reach_the_input_they_open(sshd, tmp_path):
    tmux = _tmux()
    db = tmp_path / "demo.db"
    demo_workspace(f"sqlite:///{db}")
    home = tmp_path / "home"
    home.mkdir()
    remote_env = [f"HOME={home}", f"XDG_CONFIG_HOME={home / '.config'}", f"XDG_DATA_HOME={home / '.local/share'}",
                  "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TERM=xterm"]
    if os.environ.get("PYTHONPATH"):  # the code under test (a worktree) rather than the installed copy
        remote_env.append(f"PYTHONPATH={os.environ['PYTHONPATH']}")
    remote = (shlex.join(["env", "-u", "COLORTERM", *remote_env, *_console_command(), "--db", f"sqlite:///{db}",
                          "--no-mouse"]) + '; echo "EXITED:$?"')
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    term = Terminal(tmux, env)
    try:
        term.start(sshd.ssh_command(remote) + "; sleep 60", size=(80, 24))
        term.wait(lambda s: all(t in s for t in CONTACTS) and "Route for Akinyi Chen" in s, "the contacts table")

        def escape() -> None:
            # a lone ESC byte is also how escape sequences start: a key right behind it would be read as
            # alt+key, as for any terminal program, so give the console a moment to take it as esc
            term.keys("Escape")
            time.sleep(0.3)

        def home_again() -> None:
            term.keys("H")
            term.wait(lambda s: all(t in s for t in CONTACTS) and "Route for Akinyi Chen" in s
                      and "jane" not in s, "the contacts screen again")

        # contacts filter: "a" (audit log), "j" (down), space (mark) must all land in the filter
        escape()
        term.paste("/jane doe")
        screen = term.wait(lambda s: in_box(s, "jane doe") and "= name" in s, "the filter to hold 'jane doe'")
        assert "Audit log" not in screen and "History of" not in screen and "marked" not in screen, screen
        escape()
        term.wait(lambda s: "= " not in s and "Route for Akinyi Chen" in s, "the filter to clear")
        term.paste("/0788 37")
        screen = term.wait(lambda s: in_box(s, "0788 37"), "the filter to hold '0788 37'")
        assert "marked" not in screen, screen
        escape()
        home_again()

        # the import path: H, A, L, C are screen keys
        term.paste("i/tmp/HALC contacts.xlsx")
        screen = term.wait(lambda s: "Import contacts" in s and "/tmp/HALC contacts.xlsx" in s, "the import path")
        assert "Lock-ins" not in screen.splitlines()[0] and "Channels" not in screen.splitlines()[0], screen
        escape()
        home_again()

        # the export path (the suggested path is selected: typing replaces it)
        term.paste("x~/CAL.csv")
        term.wait(lambda s: "Export the 200 contacts" in s and in_box(s, "~/CAL.csv"), "the export path")
        escape()
        home_again()

        # channels: "a" opens Add channel; "d" in the name must not disable the highlighted channel
        term.keys("C")
        term.wait(lambda s: "Channels" in s and "Airtel Rwanda" in s, "the channels screen")
        term.paste("adark Airtel")
        screen = term.wait(lambda s: "Add channel" in s and "dark Airtel" in s, "the new channel's name")
        assert "Disable channel" not in screen, screen
        escape()
        term.wait(lambda s: "dark Airtel" not in s and "Airtel Rwanda" in s, "the dialog to close")
        home_again()

        # lock-ins filter: c (Clear), m (Move), space (mark)
        term.keys("L")
        term.wait(lambda s: "Lock-ins" in s and "All channels" in s, "the lock-ins screen")
        term.paste("/Patrick cm")
        screen = term.wait(lambda s: in_box(s, "Patrick cm"), "the lock-ins filter")
        assert "Clear affinities" not in screen and "Move affinities" not in screen and "marked" not in screen
        escape()
        home_again()

        # audit log text filter: G (oldest), c (clear filters)
        term.keys("A")
        term.wait(lambda s: "Audit log of the workspace" in s, "the audit log")
        term.paste("/Gc alice")
        term.wait(lambda s: "Gc alice" in s, "the audit text filter")
        escape()
        home_again()

        # the command palette
        term.paste("\x10Lock")  # ctrl+p and the text
        term.wait(lambda s: "Lock" in s and "Show lock-ins" in s, "the palette's search")
        escape()
        home_again()

        # Update Contact: the typed text replaces the selected name once the contact has loaded
        term.paste("e Jr CAL")
        screen = term.wait(lambda s: "Update Contact" in s and " Jr CAL" in s, "the name box")
        assert "Channels" not in screen.splitlines()[0], screen
        term.keys("C-q")
        screen = term.wait(lambda s: "EXITED:" in s, "the console to quit on ctrl+q", timeout=10)
        assert "EXITED:0" in screen, screen
    finally:
        term.kill()
