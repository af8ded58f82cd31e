"""deal close reason: why a deal was lost, on the deal and on the stage move that closed it

Issue 10: closing a deal asks to confirm, and a lost deal asks why (a key of the reasons list or the
salesperson's own words). Both columns are nullable; existing rows keep NULL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lost_reason', sa.String(length=200), nullable=True))
    with op.batch_alter_table('deal_stage_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deal_stage_changes', schema=None) as batch_op:
        batch_op.drop_column('reason')
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_column('lost_reason')
