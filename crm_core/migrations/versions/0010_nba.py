"""nba: each salesperson's answers to next-best-action suggestions, and the customers' value tiers

Issue 14: a suggestion marked done or snoozed stays hidden until its subject changes (its fingerprint,
a new interaction) or the snooze runs out; shown/done/snoozed per rule give the acceptance figures.
Value tiers (A/B/C) are recomputed nightly and read by the ranking.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

import crm_core.models.base
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'nba_outcomes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=40), nullable=False),
        sa.Column('rule', sa.String(length=40), nullable=False),
        sa.Column('outcome', sa.String(length=8), nullable=False),
        sa.Column('state', sa.String(length=200), nullable=False),
        sa.Column('at', crm_core.models.base.UtcDateTime(), nullable=False),
        sa.Column('until', crm_core.models.base.UtcDateTime(), nullable=True),
        sa.Column('note', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_nba_outcomes_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nba_outcomes')),
    )
    op.create_index('ix_nba_outcomes_user_id_subject', 'nba_outcomes', ['user_id', 'subject'])
    op.create_index(op.f('ix_nba_outcomes_rule'), 'nba_outcomes', ['rule'])
    op.create_index(op.f('ix_nba_outcomes_at'), 'nba_outcomes', ['at'])
    op.create_table(
        'customer_tiers',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('tier', sa.String(length=1), nullable=False),
        sa.Column('score', sa.Numeric(precision=8, scale=4), nullable=False),
        sa.Column('revenue_won', sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column('open_pipeline', sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column('interactions', sa.Integer(), nullable=False),
        sa.Column('last_contact_at', crm_core.models.base.UtcDateTime(), nullable=True),
        sa.Column('computed_at', crm_core.models.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_customer_tiers_company_id_companies'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('company_id', name=op.f('pk_customer_tiers')),
    )


def downgrade() -> None:
    op.drop_table('customer_tiers')
    op.drop_index(op.f('ix_nba_outcomes_at'), table_name='nba_outcomes')
    op.drop_index(op.f('ix_nba_outcomes_rule'), table_name='nba_outcomes')
    op.drop_index('ix_nba_outcomes_user_id_subject', table_name='nba_outcomes')
    op.drop_table('nba_outcomes')
