"""A throwaway PostgreSQL server for the test run (Debian's binaries; run as the postgres user as root).

``start()`` returns a :class:`PgServer` or None when no server binaries exist; ``stop()`` always runs
from the session fixture's finaliser, so a failing test never leaves a server behind.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    bindir: Path
    workdir: Path
    port: int
    as_root: bool

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=60)

    @property
    def base_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def create_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        self._run(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"{self.base_url}/{name}"

    def start(self, same_port: bool = False) -> None:
        """Start the server (on a free port; ``same_port``: again on the port it had, as a restart)."""
        data = self.workdir / "data"
        for _ in range(5):
            if not (same_port and self.port):
                self.port = _free_port()
            opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.workdir} -c fsync=off "
                    f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            result = self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.workdir / "server.log"),
                               "-w", "-o", opts, "start", check=False)
            if result.returncode == 0:
                return
        raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{self.log()}")

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.workdir / "data"), "-m", "fast", "-w", "stop",
                  check=False)

    def close(self) -> None:
        """Stop the server and remove its files (a data directory per run filled the disk once)."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log(self) -> str:
        try:
            return (self.workdir / "server.log").read_text()[-2000:]
        except OSError:
            return ""


def start() -> PgServer | None:
    """Start a server in a temp dir, or return None when PostgreSQL is not installed."""
    bindir = _bindir()
    if bindir is None:
        return None
    as_root = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="ccconsole-pg-"))
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
        os.chmod(workdir, 0o700)
    server = PgServer(bindir, workdir, 0, as_root)
    try:
        server._run(str(bindir / "initdb"), "-D", str(workdir / "data"), "-U", "postgres", "-A", "trust", "-E",
                    "UTF8", "--locale=C.UTF-8", "--no-sync")
        server.start()
    except BaseException:
        server.close()
        raise
    return server
