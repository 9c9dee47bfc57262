"""Small builders for store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ccconsole.app import Workspace, open_workspace

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def rw_store(url: str) -> Workspace:
    """A Rwandan workspace with two phone channels (distinct prefixes), Twitter, Telegram and Email."""
    store = open_workspace(url, actor="tester", workspace_name="Test", country="RW")
    store.channels.add("MTN", "Twilio", ["tel"], address="+250788000000", country="RW",
                      match_prefixes=["25078"], created_on=T0)
    store.channels.add("Airtel", "Africa's Talking", ["tel"], address="+250730000000", country="RW",
                      match_prefixes=["25073"], created_on=T0 + timedelta(days=1))
    store.channels.add("Twitter", "Twitter", ["twitter"], address="cc", created_on=T0 + timedelta(days=2))
    store.channels.add("Telegram", "Telegram", ["telegram"], address="bot", created_on=T0 + timedelta(days=3))
    store.channels.add("Email", "Email", ["mailto"], address="a@b.org", created_on=T0 + timedelta(days=4))
    return store


def demo_store(url: str, contacts: int = 400, dirt: bool = True) -> Workspace:
    """The demo workspace of ``contacts`` contacts (built by the demo's own bulk builder; ``dirt``:
    with its last 3% dirty, domain.md section 8)."""
    from ccconsole.store.demo import build_demo

    store = open_workspace(url, actor="tester", workspace_name="Kigali Health", country="RW")
    build_demo(store.scope, contacts, dirt=dirt)
    return store


def indexes(store: Workspace) -> list:
    """Every index of the database, with its definition (to prove a bulk load left them as they were)."""
    with store.scope.engine.connect() as c:
        if store.scope.engine.dialect.name == "sqlite":
            return sorted(c.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all())
        return sorted(c.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'").all())
