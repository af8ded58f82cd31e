"""import source: where a record came from when a spreadsheet brought it in

Issue 12: every imported record carries `source = "import:<file name>"`. Users, companies, contacts,
deals and tasks get a nullable `source` (existing rows keep NULL: typed in chat); the interactions'
`source` (chat, bot, ...) grows from 16 to 120 characters to hold a file name.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_TABLES = ('users', 'companies', 'contacts', 'deals', 'tasks')


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('source', sa.String(length=120), nullable=True))
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sa.String(length=16), type_=sa.String(length=120),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sa.String(length=120), type_=sa.String(length=16),
                              existing_nullable=False)
    for table in reversed(_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('source')
