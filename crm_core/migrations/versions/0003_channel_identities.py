"""channel identities: staff and contact identities per (channel, external id), sent messages

Moves users.telegram_id, contacts.telegram_id and contacts.chat_channel/chat_user_id into
identities, then drops those columns. A customer's chat identity goes to the oldest contact
that held it (the one the bot used to find); erased contacts keep none.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 06:06:15.436525
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crm_core.models.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Portable SQL (SQLite and PostgreSQL). Identities are strings: Telegram's numeric ids become their digits.
_STAFF_FROM_USERS = """
INSERT INTO staff_identities (user_id, channel, external_id, created_at)
SELECT id, 'telegram', CAST(telegram_id AS VARCHAR(64)), created_at FROM users WHERE telegram_id IS NOT NULL
"""
_CONTACTS_FROM_CHAT_COLUMNS = """
INSERT INTO contact_identities (contact_id, channel, external_id, created_at)
SELECT c.id, c.chat_channel, c.chat_user_id, c.created_at FROM contacts c
WHERE c.chat_channel IS NOT NULL AND c.chat_user_id IS NOT NULL AND c.erased_at IS NULL
  AND c.id = (SELECT MIN(o.id) FROM contacts o
              WHERE o.chat_channel = c.chat_channel AND o.chat_user_id = c.chat_user_id AND o.erased_at IS NULL)
"""
_CONTACTS_FROM_TELEGRAM_IDS = """
INSERT INTO contact_identities (contact_id, channel, external_id, created_at)
SELECT c.id, 'telegram', CAST(c.telegram_id AS VARCHAR(64)), c.created_at FROM contacts c
WHERE c.telegram_id IS NOT NULL AND c.erased_at IS NULL
  AND c.id = (SELECT MIN(o.id) FROM contacts o WHERE o.telegram_id = c.telegram_id AND o.erased_at IS NULL)
  AND NOT EXISTS (SELECT 1 FROM contact_identities i
                  WHERE i.channel = 'telegram' AND i.external_id = CAST(c.telegram_id AS VARCHAR(64)))
"""
_USERS_FROM_STAFF = """
UPDATE users SET telegram_id = (SELECT CAST(i.external_id AS BIGINT) FROM staff_identities i
                                WHERE i.user_id = users.id AND i.channel = 'telegram')
"""
_CONTACTS_FROM_IDENTITIES = """
UPDATE contacts SET
  chat_channel = (SELECT i.channel FROM contact_identities i WHERE i.contact_id = contacts.id
                  ORDER BY i.id LIMIT 1),
  chat_user_id = (SELECT i.external_id FROM contact_identities i WHERE i.contact_id = contacts.id
                  ORDER BY i.id LIMIT 1),
  telegram_id = (SELECT CAST(i.external_id AS BIGINT) FROM contact_identities i
                 WHERE i.contact_id = contacts.id AND i.channel = 'telegram' ORDER BY i.id LIMIT 1)
"""


def upgrade() -> None:
    op.create_table('sent_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('ref', sa.String(length=60), nullable=False),
    sa.Column('sent_at', crm_core.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_messages')),
    sa.UniqueConstraint('channel', 'chat_id', 'message_id', name=op.f('uq_sent_messages_channel'))
    )
    with op.batch_alter_table('sent_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sent_messages_sent_at'), ['sent_at'], unique=False)

    op.create_table('staff_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', crm_core.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_identities')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_staff_identities_channel')),
    sa.UniqueConstraint('user_id', 'channel', name=op.f('uq_staff_identities_user_id'))
    )
    op.create_table('contact_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', crm_core.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_identities_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_identities')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_contact_identities_channel'))
    )
    with op.batch_alter_table('contact_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_identities_contact_id'), ['contact_id'], unique=False)

    op.execute(_STAFF_FROM_USERS)
    op.execute(_CONTACTS_FROM_CHAT_COLUMNS)
    op.execute(_CONTACTS_FROM_TELEGRAM_IDS)

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_chat_user_id'))
        batch_op.drop_index(batch_op.f('ix_contacts_telegram_id'))
        batch_op.drop_column('chat_user_id')
        batch_op.drop_column('telegram_id')
        batch_op.drop_column('chat_channel')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_telegram_id'), type_='unique')
        batch_op.drop_column('telegram_id')


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telegram_id', sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_telegram_id'), ['telegram_id'])

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat_channel', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('telegram_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('chat_user_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_contacts_telegram_id'), ['telegram_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_chat_user_id'), ['chat_user_id'], unique=False)

    op.execute(_USERS_FROM_STAFF)
    op.execute(_CONTACTS_FROM_IDENTITIES)

    with op.batch_alter_table('contact_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_identities_contact_id'))

    op.drop_table('contact_identities')
    op.drop_table('staff_identities')
    with op.batch_alter_table('sent_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_messages_sent_at'))

    op.drop_table('sent_messages')
