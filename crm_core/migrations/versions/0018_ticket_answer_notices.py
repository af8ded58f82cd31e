"""tickets answers_noticed_at, answers_noticed_through, answers_due_at: the bot's answers on a ticket reach staff

While a ticket is open, questions the knowledge base answers are answered and copied to the ticket; its
assignee now hears of them too, at most once every few minutes per ticket (answers_noticed_at), each answer
once (answers_noticed_through, a question id); those held back are due from the scheduler at answers_due_at.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 17:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from crm_core.models.base import UtcDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('answers_noticed_at', UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('answers_noticed_through', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('answers_due_at', UtcDateTime(timezone=True), nullable=True))
        batch.create_index('ix_tickets_answers_due_at', ['answers_due_at'])


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_index('ix_tickets_answers_due_at')
        batch.drop_column('answers_due_at')
        batch.drop_column('answers_noticed_through')
        batch.drop_column('answers_noticed_at')
