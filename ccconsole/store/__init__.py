"""Persistence on SQLModel: tables, engines (SQLite and PostgreSQL), migrations, query compilation,
bulk loading and live signals — functions over a session or connection that return rows or frozen
results. The use cases that compose them are in ``ccconsole.app``; every write ends through
``store.unit`` (audit events, change sequence, NOTIFY). This package never imports ``ccconsole.app``.
"""
