"""win rate snapshots: the forecast's history counted once per month, not per summary

Issue 13 (`chatcrm bench summary`): the team's win rate from each stage counted the closed deals through every
stage change of the whole history (~310,000 rows) on each summary, 60-75 % of the day summary. The counts of
the deals closed before a month's first instant are stored (with a fingerprint of which deals they are); this
month's closes are counted live and added (crm_core.reports.winrates).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from crm_core.models.base import UtcDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'win_rate_snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('boundary', UtcDateTime(), nullable=False),
        sa.Column('fingerprint', sa.String(length=200), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_win_rate_snapshots')),
        sa.UniqueConstraint('boundary', name=op.f('uq_win_rate_snapshots_boundary')),
    )


def downgrade() -> None:
    op.drop_table('win_rate_snapshots')
