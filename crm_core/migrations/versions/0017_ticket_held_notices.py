"""tickets notice_due_at, held_announced_at: a held-back customer message is always announced

A customer's further messages reach staff at most once a minute per ticket; one held back rode along only
with the next message, so a last message written within the minute never reached staff. The ticket now
records when its held-back messages are due (notice_due_at), and the scheduler claims due tickets (a
conditional UPDATE, once each) and announces them, noting when (held_announced_at).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from crm_core.models.base import UtcDateTime

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('notice_due_at', UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('held_announced_at', UtcDateTime(timezone=True), nullable=True))
        batch.create_index('ix_tickets_notice_due_at', ['notice_due_at'])


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_index('ix_tickets_notice_due_at')
        batch.drop_column('held_announced_at')
        batch.drop_column('notice_due_at')
