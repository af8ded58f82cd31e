"""inbox: updates kept before the channel is told they arrived

Issue 9: polling confirms an update to Telegram with the next poll, whether or not it was handled;
the update is written here first, and one a crashed process did not finish is handled when it starts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:20:00
"""

from __future__ import annotations

import crm_core.models.base
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('received_at', crm_core.models.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel', 'key', name='uq_inbox_channel_key'),
    )
    op.create_index('ix_inbox_received_at', 'inbox', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbox_received_at', table_name='inbox')
    op.drop_table('inbox')
