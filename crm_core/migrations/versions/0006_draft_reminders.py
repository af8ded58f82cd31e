"""draft reminders: log_drafts.reminded_at, when an unsaved preview was reminded (once)

Issue 10: a preview left unsaved is reminded once after CHATCRM_DRAFT_REMINDER_MINUTES. Drafts that
were open before this revision predate the feature: they are marked reminded (at their creation),
so the first tick after the upgrade does not remind every old draft at once; /drafts still lists them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import crm_core.models.base
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('log_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', crm_core.models.base.UtcDateTime(), nullable=True))
    op.execute("UPDATE log_drafts SET reminded_at = created_at WHERE status = 'draft'")


def downgrade() -> None:
    with op.batch_alter_table('log_drafts', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')
