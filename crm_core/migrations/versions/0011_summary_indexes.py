"""summary indexes: the summary's aggregates read from covering indexes at a 200-person team's size

Issue 13 (`chatcrm bench summary`, 1,000,000 interactions, 100,000 deals, 200,000 tasks): overdue tasks by
owner scanned every task's row (owner_id, due_at, done_at covers it); the forecast's history joined every
stage change to its deal's row (status, closed_at and deal_id, to_stage_id cover it); the activity of a
month and the month before read 170,000 interaction rows (occurred_at, owner_id, kind, source covers it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:20:00
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_INDEXES = (
    ('ix_tasks_owner_id_due_at_done_at', 'tasks', ['owner_id', 'due_at', 'done_at']),
    ('ix_deals_status_closed_at', 'deals', ['status', 'closed_at']),
    ('ix_deal_stage_changes_deal_id_to_stage_id', 'deal_stage_changes', ['deal_id', 'to_stage_id']),
    ('ix_interactions_occurred_at_owner_id_kind_source', 'interactions', ['occurred_at', 'owner_id', 'kind', 'source']),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
