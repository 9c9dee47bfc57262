"""Contacts API tokens (only a hash is kept; the token's user name is the audit log's actor) and the
per-workspace request throttle whose counters live in the database."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from typing import TYPE_CHECKING

from ccconsole.core.text import visible
from ccconsole.core.views import ApiToken
from ccconsole.errors import NotFound, ValidationFailed
from ccconsole.store import api as rows

if TYPE_CHECKING:
    from ccconsole.app.workspace import Workspace

MAX_NAME = 64
PERIODS = {"second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "h": 3600,
           "day": 86400, "d": 86400}
DEFAULT_RATE = "3600/hour"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def parse_rate(text: str) -> tuple[int, int]:
    """``"3600/hour"`` → (3600 requests, 3600 seconds); ValueError with a one-line message."""
    count, _, period = text.strip().partition("/")
    try:
        n = int(count)
    except ValueError:
        n = -1
    seconds = PERIODS.get(period.strip().lower())
    if n < 1 or seconds is None:
        raise ValueError(f"Bad throttle rate '{visible(text)}': use N/second, N/minute, N/hour or N/day "
                         "(e.g. 3600/hour).")
    return n, seconds


class Tokens:
    def __init__(self, ws: Workspace):
        self.ws = ws

    def add(self, name: str) -> tuple[ApiToken, str]:
        """A new token for user ``name``: (its listing, the token, shown this once)."""
        name = (name or "").strip()
        if not name or len(name) > MAX_NAME or not name.isprintable():
            raise ValidationFailed({"name": f"A token's user name is 1 to {MAX_NAME} printable characters."})
        key = secrets.token_hex(20)
        with self.ws.transaction() as uow:
            if rows.live_token(uow.session, self.ws.scope, name) is not None:
                raise ValidationFailed({"name": f"{name} already has a token (revoke it first)."})
            token = rows.insert_token(uow.session, self.ws.scope, name, key_hash(key), uow.now)
            uow.audit("token.add", after={"name": name})
        return token, key

    def list(self) -> list[ApiToken]:
        return rows.tokens(self.ws.scope)

    def revoke(self, name: str) -> ApiToken:
        with self.ws.transaction() as uow:
            row = rows.live_token(uow.session, self.ws.scope, (name or "").strip())
            if row is None:
                raise NotFound(f"No live token for '{name}'.")
            token = rows.revoke_token(uow.session, row, uow.now)
            uow.audit("token.revoke", before={"name": token.name})
        return token

    def user(self, key: str) -> str | None:
        """The user name of a live token (None: unknown or revoked)."""
        if not key or len(key) > 200:
            return None
        return rows.token_user(self.ws.scope, key_hash(key))

    def throttle(self, scope: str, rate: tuple[int, int], now: float | None = None) -> int:
        """Count one request of ``scope`` against ``rate`` (requests, seconds) for the whole workspace,
        whichever process serves it. 0: allowed; else the seconds until the next window."""
        limit, period = rate
        now = time.time() if now is None else now
        window = int(now // period) * period
        hits = rows.count_hit(self.ws.scope, scope, window)
        if hits <= limit:
            return 0
        return max(1, math.ceil(window + period - now))
