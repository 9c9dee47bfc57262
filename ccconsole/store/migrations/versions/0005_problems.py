"""problems: the cleanup workbench's facts, kept indexed (domain.md section 8)

``contact_problem`` holds one row per live contact and problem it has, with the reason shown beside it
(and, for a duplicate, the partner contact); ``contact_key`` the keys two contacts are duplicates by
(``core.problems.duplicate_keys``). ``contact.merged_into`` points a merged contact at its survivor.
``workspace.problems_version`` says which version of the rules the stored problems were computed
with: opening a workspace whose problems are older (or never computed, as after this upgrade)
computes them again.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'contact_problem',
        sa.Column('contact_id', sa.Integer(), sa.ForeignKey('contact.id'), primary_key=True),
        sa.Column('problem', sa.String(length=32), primary_key=True),
        sa.Column('workspace_id', sa.Integer(), sa.ForeignKey('workspace.id'), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('identity', sa.Text(), nullable=True),
        sa.Column('other_id', sa.Integer(), nullable=True),
    )
    op.create_index('ix_contact_problem_ws', 'contact_problem', ['workspace_id', 'problem', 'contact_id'])
    op.create_table(
        'contact_key',
        sa.Column('contact_id', sa.Integer(), sa.ForeignKey('contact.id'), primary_key=True),
        sa.Column('key', sa.String(length=400), primary_key=True),
        sa.Column('workspace_id', sa.Integer(), sa.ForeignKey('workspace.id'), nullable=False),
    )
    op.create_index('ix_contact_key_ws_key', 'contact_key', ['workspace_id', 'key', 'contact_id'])
    with op.batch_alter_table('contact') as batch:
        batch.add_column(sa.Column('merged_into', sa.Integer(), nullable=True))
    with op.batch_alter_table('workspace') as batch:
        batch.add_column(sa.Column('problems_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('workspace') as batch:
        batch.drop_column('problems_version')
    with op.batch_alter_table('contact') as batch:
        batch.drop_column('merged_into')
    op.drop_index('ix_contact_key_ws_key', table_name='contact_key')
    op.drop_table('contact_key')
    op.drop_index('ix_contact_problem_ws', table_name='contact_problem')
    op.drop_table('contact_problem')
