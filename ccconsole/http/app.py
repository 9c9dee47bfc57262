"""The ASGI application: Starlette routes ``/api/v2/<endpoint>.json`` to :class:`endpoints.Api`, with the
body size capped and the (synchronous) database work in a thread pool. ``create_app()`` with no
argument reads its configuration from the environment: the factory uvicorn's workers import."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import Route

from ccconsole.app import Workspace, open_workspace
from ccconsole.app.tokens import DEFAULT_RATE, parse_rate
from ccconsole.http.endpoints import Answer, Api, Request
from ccconsole.http.wire import MAX_BODY

log = logging.getLogger("ccconsole.http")

ENV_DB = "CCCONSOLE_API_DB"
ENV_READ_ONLY = "CCCONSOLE_API_READ_ONLY"
ENV_RATE = "CCCONSOLE_API_THROTTLE_RATE"


@dataclass(frozen=True)
class Config:
    db: str
    read_only: bool = False
    throttle_rate: str = DEFAULT_RATE

    @classmethod
    def from_env(cls) -> Config:
        db = os.environ.get(ENV_DB)
        if not db:
            raise RuntimeError(f"{ENV_DB} is not set: start the server with `ccconsole serve`.")
        return cls(db, os.environ.get(ENV_READ_ONLY) == "1", os.environ.get(ENV_RATE) or DEFAULT_RATE)

    def to_env(self) -> dict[str, str]:
        return {ENV_DB: self.db, ENV_READ_ONLY: "1" if self.read_only else "0", ENV_RATE: self.throttle_rate}


def json_response(answer: Answer, elapsed: float) -> Response:
    headers = dict(answer.headers or {})
    headers["Server-Timing"] = f"app;dur={elapsed * 1000:.2f}"
    if answer.body is None:
        return Response(status_code=answer.status, headers=headers)
    body = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=answer.status, headers=headers, media_type="application/json")


async def read_body(request: HttpRequest) -> bytes | None:
    """The body, or None when it is larger than MAX_BODY."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def build(ws: Workspace, rate: tuple[int, int]) -> Starlette:
    api = Api(ws, rate)

    async def endpoint(request: HttpRequest) -> Response:
        started = time.perf_counter()
        body = await read_body(request)
        if body is None:
            return json_response(Answer(413, {"detail": f"Request body is larger than {MAX_BODY // 1024} KiB."}),
                                 time.perf_counter() - started)
        name = request.path_params["name"]
        req = Request(method=request.method, endpoint=name, params=dict(request.query_params), body=body,
                      authorization=request.headers.get("authorization", ""),
                      url=str(request.url.replace(query="", fragment="")))
        try:
            answer = await run_in_threadpool(api.handle, req)
        except Exception:  # a bug: logged here, one line to the client, never a traceback
            log.exception("error answering %s %s", request.method, request.url.path)
            answer = Answer(500, {"detail": "Server error; nothing was changed."})
        return json_response(answer, time.perf_counter() - started)

    async def not_found(request: HttpRequest) -> Response:
        return json_response(Answer(404, {"detail": "Not found."}), 0.0)

    methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
    app = Starlette(routes=[Route("/api/v2/{name:str}.json", endpoint, methods=methods),
                            Route("/{path:path}", not_found, methods=methods)])
    app.state.api = api
    return app


def create_app(config: Config | None = None, ws: Workspace | Any = None) -> Starlette:
    """The application over ``config``'s database (default: from the environment, see Config)."""
    config = config or Config.from_env()
    rate = parse_rate(config.throttle_rate)
    workspace = ws or open_workspace(config.db, actor="api", read_only=config.read_only)
    return build(workspace, rate)
