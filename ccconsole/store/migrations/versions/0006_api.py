"""the Contacts API: group and field UUIDs, tokens, throttle counters, contacts by modification

- ``contact_group.uuid`` and ``field_def.uuid``: the handles RapidPro's API gives groups and fields
  (existing rows get a random one; unique indexes).
- ``api_token``: a token's SHA-256 (never the token) and the user name the audit log records; one live
  token per name (a partial unique index), revoked ones kept.
- ``api_throttle``: request counts per workspace, scope and time window, in the database so that
  several server processes (or machines on one PostgreSQL) throttle as one.
- ``ix_contact_ws_modified_id``: the API lists contacts newest-modified first, by key: a page deep in a
  million contacts reads the index from the cursor on, as the first page does.

Revision ID: 0006
Revises: 0005
"""
import uuid

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

LIVE = sa.text('revoked_on IS NULL')


def _backfill(table: str) -> None:
    bind = op.get_bind()
    ids = [r[0] for r in bind.exec_driver_sql(f'SELECT id FROM {table} WHERE uuid IS NULL')]
    if ids:
        bind.execute(sa.text(f'UPDATE {table} SET uuid = :uuid WHERE id = :id'),
                     [{'uuid': str(uuid.uuid4()), 'id': i} for i in ids])


def upgrade() -> None:
    for table in ('contact_group', 'field_def'):
        op.add_column(table, sa.Column('uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        _backfill(table)
        op.create_index(f'ix_{table}_uuid', table, ['uuid'], unique=True)
    op.create_index('ix_contact_ws_modified_id', 'contact', ['workspace_id', 'modified_on', 'id', 'deleted_on'])
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_on', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('revoked_on', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key_hash'),
    )
    op.create_index('uq_api_token_ws_name_live', 'api_token', ['workspace_id', 'name'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_table(
        'api_throttle',
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('window', sa.Integer(), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id']),
        sa.PrimaryKeyConstraint('workspace_id', 'scope', 'window'),
    )


def downgrade() -> None:
    op.drop_table('api_throttle')
    op.drop_index('uq_api_token_ws_name_live', table_name='api_token')
    op.drop_table('api_token')
    op.drop_index('ix_contact_ws_modified_id', table_name='contact')
    for table in ('field_def', 'contact_group'):
        op.drop_index(f'ix_{table}_uuid', table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column('uuid')
