"""privacy_requests: one pending erasure request per contact (a unique index over the pending ones)

Two processes that share no chat lock could each file a request for the same tap; the index makes the second
insert fail, and the service then answers with the first. Pending duplicates already stored (that race, before
this revision) are marked 'duplicate', the oldest left pending.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.execute(
        "UPDATE privacy_requests SET status = 'duplicate' WHERE status = 'pending' AND contact_id IS NOT NULL"
        " AND id > (SELECT MIN(p.id) FROM privacy_requests p"
        " WHERE p.contact_id = privacy_requests.contact_id AND p.status = 'pending')"
    )
    op.create_index('ux_privacy_requests_one_pending', 'privacy_requests', ['contact_id'], unique=True,
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_index('ux_privacy_requests_one_pending', table_name='privacy_requests')
