"""outbox claimed_by: a sender confirms its claim on a message right before sending it

Issue 16 (load bench): a scheduler claims a batch of messages and sends them one by one; those still
unsent when the lease ran out were claimed again by another process and sent by both. Each claim now
names its claimer, and a sender renews the claim just before each send (UPDATE … WHERE claimed_by = me
AND claimed_until > now); a message whose renewal changes no row is someone else's and is skipped.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('claimed_by')
