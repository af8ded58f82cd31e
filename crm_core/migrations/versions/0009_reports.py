"""reports: scheduled pushes claimed once, push preferences, the summary's date indexes, feedback time

Issue 13: the manager's summary and the salesperson's digest are claimed per user, kind and period
(a unique key) in the transaction that writes their outbox row; each person may move or mute them;
the summary filters deals, stage moves, contacts and ratings by date; a 👎 records when it was pressed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12 09:00:00
"""

from __future__ import annotations

import crm_core.models.base
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_INDEXES = (('ix_deals_created_at', 'deals', 'created_at'), ('ix_deals_closed_at', 'deals', 'closed_at'),
            ('ix_deal_stage_changes_changed_at', 'deal_stage_changes', 'changed_at'),
            ('ix_contacts_created_at', 'contacts', 'created_at'), ('ix_tickets_csat_at', 'tickets', 'csat_at'))


def upgrade() -> None:
    op.create_table(
        'scheduled_pushes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('claimed_at', crm_core.models.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_scheduled_pushes_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_pushes')),
        sa.UniqueConstraint('user_id', 'kind', 'period', name='uq_scheduled_pushes_user_kind_period'),
    )
    op.create_index(op.f('ix_scheduled_pushes_claimed_at'), 'scheduled_pushes', ['claimed_at'], unique=False)
    op.create_table(
        'push_preferences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('summary_time', sa.String(length=5), nullable=True),
        sa.Column('summary_muted', sa.Boolean(), nullable=False),
        sa.Column('digest_time', sa.String(length=5), nullable=True),
        sa.Column('digest_muted', sa.Boolean(), nullable=False),
        sa.Column('updated_at', crm_core.models.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_preferences_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_preferences')),
        sa.UniqueConstraint('user_id', name=op.f('uq_push_preferences_user_id')),
    )
    for name, table, column in _INDEXES:
        op.create_index(name, table, [column], unique=False)
    with op.batch_alter_table('customer_questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feedback_at', crm_core.models.base.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customer_questions', schema=None) as batch_op:
        batch_op.drop_column('feedback_at')
    for name, table, _column in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table('push_preferences')
    op.drop_index(op.f('ix_scheduled_pushes_claimed_at'), table_name='scheduled_pushes')
    op.drop_table('scheduled_pushes')
