"""name search index: case-insensitive name prefixes answered by an index

A bare word in the query bar searches names that start with it, whatever the case. SQLite answers
``name COLLATE NOCASE >= 'jane' AND name COLLATE NOCASE < 'janf'`` from an index in NOCASE order;
PostgreSQL uses one on ``lower(name)``. The table order itself (name, id) does not change: the index
also holds name, id and deleted_on, so a page of matches is sorted inside it without reading rows
(the contacts page query picks the page's ids first).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

NAME = 'ix_contact_ws_name_nocase'


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'CREATE INDEX {NAME} ON contact (workspace_id, name COLLATE NOCASE, name, id, deleted_on)')
    else:
        op.create_index(NAME, 'contact', ['workspace_id', sa.text('lower(name)'), 'name', 'id', 'deleted_on'])


def downgrade() -> None:
    op.drop_index(NAME, table_name='contact')
