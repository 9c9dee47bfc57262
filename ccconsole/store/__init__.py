"""Persistence on SQLModel: tables, engines (SQLite and PostgreSQL), migrations and services.

Each service runs one unit of work in its own transaction and returns plain frozen dataclasses.
"""
