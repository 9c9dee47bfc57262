"""affinity index: the lock-ins screen reads only connections that have a channel affinity

A partial index on (workspace, channel, type, contact, priority) of the connections with an affinity:
the per-channel counts and the lock-in lists read it instead of every connection of the workspace
(at 1M contacts: 8 s → 0.4 s for the counts on SQLite).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

NAME = 'ix_connection_affinity'
WHERE = sa.text('affinity_channel_id IS NOT NULL')


def upgrade() -> None:
    op.create_index(NAME, 'connection', ['workspace_id', 'affinity_channel_id', 'scheme', 'contact_id', 'priority'],
                    sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade() -> None:
    op.drop_index(NAME, table_name='connection')
