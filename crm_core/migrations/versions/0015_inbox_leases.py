"""inbox leases: webhook workers take kept updates on a lease, one per chat at a time

Issue 16 (scale-out): the webhook ingress keeps each update before answering 200; workers claim the
oldest update of each chat with a conditional UPDATE on `claimed_until` (works on SQLite and
PostgreSQL alike), so a chat's updates are handled in order while other chats run in parallel, and a
crashed worker's update is taken again once its lease runs out.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from crm_core.models.base import UtcDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbox') as batch:
        batch.add_column(sa.Column('chat_key', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('claimed_until', UtcDateTime(), nullable=True))
        batch.create_index('ix_inbox_chat_key', ['chat_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbox') as batch:
        batch.drop_index('ix_inbox_chat_key')
        batch.drop_column('claimed_until')
        batch.drop_column('claimed_by')
        batch.drop_column('chat_key')
