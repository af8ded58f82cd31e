"""reliability: dialog state per user, one company/contact per folded name, the outbox

Three independent parts, each in its own pair of functions (upgrade/downgrade), written by the
work on issue 9: dialog state keyed by (chat, user); uniqueness rules so concurrent saves of the
same new company or contact converge; the transactional outbox of every outgoing message.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401  (used by the parts below)
from alembic import op  # noqa: F401

import crm_core.models.base  # noqa: F401

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


# --- dialog state per (chat, user) ---------------------------------------------------------------------


def _upgrade_dialog_state() -> None:
    pass


def _downgrade_dialog_state() -> None:
    pass


# --- one company / contact per folded name ---------------------------------------------------------------


def _upgrade_unique_names() -> None:
    pass


def _downgrade_unique_names() -> None:
    pass


# --- the outbox ----------------------------------------------------------------------------------------


def _upgrade_outbox() -> None:
    pass


def _downgrade_outbox() -> None:
    pass


def upgrade() -> None:
    _upgrade_dialog_state()
    _upgrade_unique_names()
    _upgrade_outbox()


def downgrade() -> None:
    _downgrade_outbox()
    _downgrade_unique_names()
    _downgrade_dialog_state()
