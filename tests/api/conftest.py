"""A real Contacts API server on a real port (uvicorn in a thread), over SQLite and PostgreSQL.

One server per test module and backend (``api``); tests make their own data (unique numbers, their own
group) so they do not see each other's contacts. ``serve(url, ...)`` starts more servers where a test
needs another configuration (read-only, a tiny throttle rate)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn

from ccconsole.app import Workspace
from ccconsole.http.app import Config, create_app
from tests.store_helpers import rw_store

FAST = "1000000/hour"  # the module servers are not meant to throttle


@dataclass
class Server:
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    stopped: bool = field(default=False)

    def stop(self) -> None:
        if not self.stopped:
            self.server.should_exit = True
            self.thread.join(timeout=10)
            app = self.server.config.app
            app.state.api.ws.close()
            self.stopped = True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db_url: str, *, read_only: bool = False, throttle_rate: str = FAST) -> Server:
    app = create_app(Config(db_url, read_only=read_only, throttle_rate=throttle_rate))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    return Server(f"http://127.0.0.1:{port}", server, thread)


@dataclass
class Api:
    url: str
    token: str
    ws: Workspace  # the same database, opened directly: to set up data and check what the API wrote
    db_url: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}

    def endpoint(self, name: str) -> str:
        return f"{self.url}/api/v2/{name}.json"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api_db(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}"
    return request.getfixturevalue("pg_server").create_database()


@pytest.fixture(scope="module")
def api(api_db) -> Iterator[Api]:
    """A Rwandan workspace (channels MTN, Airtel, Twitter, Telegram, Email; groups Nurses and Donors;
    fields age and district), a token for user alice, and a server over it."""
    ws = rw_store(api_db)
    ws.groups.create("Nurses")
    ws.groups.create("Donors")
    ws.fields.create("Age", "number")
    ws.fields.create("District", "text")
    _, token = ws.tokens.add("alice")
    server = serve(api_db)
    try:
        yield Api(server.url, token, ws, api_db)
    finally:
        server.stop()
        ws.close()
