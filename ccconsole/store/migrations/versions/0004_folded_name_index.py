"""folded name index: one case rule for names on both backends

Searches compare names (and group names, field values, connections) "in any case" by one rule,
``core.query.fold`` (Python's ``str.casefold``), as ``ccconsole_fold(...)`` in SQL. Before, SQLite's
NOCASE and lower() folded only ASCII while PostgreSQL's lower() followed the locale, so ``name ^ "éc"``
or ``group = "Équipe"`` found different contacts on each.

This revision creates ``ccconsole_fold(text)`` (and its helper ``ccconsole_fold_other``) on PostgreSQL,
generated from core's rule by ``store.query_sql.postgres_fold_function`` (on SQLite ccconsole registers
the function on each connection), and replaces 0002's index with one on ``ccconsole_fold(name)``
(PostgreSQL: in "C" order), again holding name, id and deleted_on so that a page of matches is sorted
inside it. On SQLite a
program that writes contacts without ccconsole's function now fails ('unknown function'); reading
needs nothing.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from ccconsole.store.query_sql import postgres_fold_function

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OLD = 'ix_contact_ws_name_nocase'
NAME = 'ix_contact_ws_name_fold'
# what "contains" and field "=" compare (store.query_sql): without statistics on them PostgreSQL guesses
# how many rows match and may walk the name index for a page of a rare match (1 s instead of 0.2 s
# at 200k contacts); the name has its index, whose statistics serve
STATISTICS = [
    ('st_connection_identity_fold', 'connection', 'ccconsole_fold(identity)'),
    ('st_connection_path_fold', 'connection', 'ccconsole_fold(path)'),
    ('st_field_value_fold', 'field_value', 'ccconsole_fold(value)'),
    ('st_field_value_trim_fold', 'field_value', 'ccconsole_fold(btrim(value))'),
]


def upgrade() -> None:
    bind = op.get_bind()
    op.drop_index(OLD, table_name='contact')
    if bind.dialect.name == 'sqlite':
        op.execute(f'CREATE INDEX {NAME} ON contact (workspace_id, ccconsole_fold(name), name, id, deleted_on)')
        return
    encoding = bind.exec_driver_sql('SHOW server_encoding').scalar_one()
    if encoding != 'UTF8':
        raise RuntimeError(f'ccconsole needs a UTF8 database (this one is {encoding})')
    for statement in postgres_fold_function():
        bind.exec_driver_sql(statement)
    op.execute(f'CREATE INDEX {NAME} ON contact (workspace_id, (ccconsole_fold(name) COLLATE "C"), name, id, '
               'deleted_on)')
    if int(bind.exec_driver_sql('SHOW server_version_num').scalar_one()) >= 140000:  # statistics on expressions
        for name, table, expression in STATISTICS:
            op.execute(f'CREATE STATISTICS {name} ON ({expression}) FROM {table}')


def downgrade() -> None:
    op.drop_index(NAME, table_name='contact')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'CREATE INDEX {OLD} ON contact (workspace_id, name COLLATE NOCASE, name, id, deleted_on)')
        return
    for name, _table, _expression in STATISTICS:
        op.execute(f'DROP STATISTICS IF EXISTS {name}')
    op.execute('DROP FUNCTION ccconsole_fold(text)')
    op.execute('DROP FUNCTION ccconsole_fold_other(text)')
    op.create_index(OLD, 'contact', ['workspace_id', sa.text('lower(name)'), 'name', 'id', 'deleted_on'])
