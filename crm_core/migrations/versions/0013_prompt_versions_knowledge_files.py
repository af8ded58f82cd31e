"""prompt versions and knowledge files: admins edit prompts and send knowledge from the phone

Issue 15 (part A): each saved text of a prompt (who, when; version 1 is the shipped file) and which version is
in force; the knowledge files admins sent in a chat (who, when, the bytes' hash to refuse a duplicate); the
prompt version that wrote a customer's answer.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_core.models.base import UtcDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'prompt_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('template', sa.Text(), nullable=False),
        sa.Column('author', sa.String(length=120), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_prompt_versions_author_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_prompt_versions')),
        sa.UniqueConstraint('name', 'version', name=op.f('uq_prompt_versions_name')),
    )
    with op.batch_alter_table('prompt_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prompt_versions_name'), ['name'], unique=False)
    op.create_table(
        'prompt_heads',
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('changed_at', UtcDateTime(), nullable=False),
        sa.Column('changed_by', sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_prompt_heads')),
    )
    op.create_table(
        'knowledge_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('doc', sa.String(length=300), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('bytes', sa.Integer(), nullable=False),
        sa.Column('sections', sa.Integer(), nullable=False),
        sa.Column('sent_by', sa.String(length=120), nullable=False),
        sa.Column('sent_by_id', sa.Integer(), nullable=True),
        sa.Column('sent_at', UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_knowledge_files_sent_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_files')),
        sa.UniqueConstraint('doc', name=op.f('uq_knowledge_files_doc')),
    )
    with op.batch_alter_table('knowledge_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_files_sha256'), ['sha256'], unique=False)
    with op.batch_alter_table('customer_questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prompt', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customer_questions', schema=None) as batch_op:
        batch_op.drop_column('prompt')
    with op.batch_alter_table('knowledge_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_knowledge_files_sha256'))
    op.drop_table('knowledge_files')
    op.drop_table('prompt_heads')
    with op.batch_alter_table('prompt_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prompt_versions_name'))
    op.drop_table('prompt_versions')
