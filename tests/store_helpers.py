"""Small builders for store tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ccconsole.store.services import Store

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def rw_store(url: str) -> Store:
    """A Rwandan workspace with two phone channels (distinct prefixes), Twitter, Telegram and Email."""
    store = Store.open(url, actor="tester", workspace_name="Test", country="RW")
    store.add_channel("MTN", "Twilio", ["tel"], address="+250788000000", country="RW",
                      match_prefixes=["25078"], created_on=T0)
    store.add_channel("Airtel", "Africa's Talking", ["tel"], address="+250730000000", country="RW",
                      match_prefixes=["25073"], created_on=T0 + timedelta(days=1))
    store.add_channel("Twitter", "Twitter", ["twitter"], address="cc", created_on=T0 + timedelta(days=2))
    store.add_channel("Telegram", "Telegram", ["telegram"], address="bot", created_on=T0 + timedelta(days=3))
    store.add_channel("Email", "Email", ["mailto"], address="a@b.org", created_on=T0 + timedelta(days=4))
    return store


def indexes(store: Store) -> list:
    """Every index of the database, with its definition (to prove a bulk load left them as they were)."""
    with store.engine.connect() as c:
        if store.engine.dialect.name == "sqlite":
            return sorted(c.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all())
        return sorted(c.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'").all())
