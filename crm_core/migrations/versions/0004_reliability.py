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
    """Key dialog state by (channel, chat, user): an edit waiting for its author's text is not the group's.

    A dialog kept so far goes to the chat's own user: in a private chat (Telegram, the console) the
    chat id is the user's id; a group's waiting dialog was the bug this fixes.
    """
    with op.batch_alter_table('dialog_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.String(length=64), nullable=True))
    op.execute('UPDATE dialog_states SET user_id = chat_id')
    with op.batch_alter_table('dialog_states', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_dialog_states_channel'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_dialog_states_channel'), ['channel', 'chat_id', 'user_id'])


def _downgrade_dialog_state() -> None:
    """Back to one dialog per chat: the newest row of each chat stays."""
    op.execute('DELETE FROM dialog_states WHERE id NOT IN '
               '(SELECT keep.id FROM (SELECT MAX(id) AS id FROM dialog_states GROUP BY channel, chat_id) keep)')
    with op.batch_alter_table('dialog_states', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_dialog_states_channel'), type_='unique')
        batch_op.drop_column('user_id')
        batch_op.create_unique_constraint(batch_op.f('uq_dialog_states_channel'), ['channel', 'chat_id'])


# --- one company / contact per folded name ---------------------------------------------------------------


def _upgrade_unique_names() -> None:
    """One company per folded name; one contact per folded name within a company (erased ones aside).

    Rows that already share a name are renamed, not merged: the oldest keeps its name, the others get
    " (2)", " (3)", … Merging would have to re-point every interaction, deal, task, ticket and identity
    and choose whose phone or owner wins, and twins may really be two firms or two people; a visible
    "FPT (2)" keeps every row and link and lets an admin merge knowingly.
    """
    import logging

    from crm_core.textnorm import fold

    log = logging.getLogger('alembic.runtime.migration')
    bind = op.get_bind()

    def suffix_twins(table: str, scope: str | None, where: str) -> None:
        scope_column = f', {scope}' if scope else ''
        rows = bind.execute(sa.text(f'SELECT id, name, name_folded{scope_column} FROM {table} '
                                    f'WHERE {where} ORDER BY id')).all()
        taken = {(row[3] if scope else None, row[2]) for row in rows}
        seen: set[tuple[object, str]] = set()
        for row in rows:
            key = (row[3] if scope else None, row[2])
            if key not in seen:
                seen.add(key)
                continue
            number = 2
            while True:
                suffix = f' ({number})'
                name = row[1][:200 - len(suffix)].rstrip() + suffix
                folded = fold(name)
                if (key[0], folded) not in taken:
                    break
                number += 1
            taken.add((key[0], folded))
            bind.execute(sa.text(f'UPDATE {table} SET name = :name, name_folded = :folded WHERE id = :id'),
                         {'name': name, 'folded': folded, 'id': row[0]})
            log.warning('%s %s shares its name with an older row: renamed to %r', table, row[0], name)

    suffix_twins('companies', None, '1 = 1')
    suffix_twins('contacts', 'company_id', 'company_id IS NOT NULL AND erased_at IS NULL')
    op.drop_index('ix_companies_name_folded', table_name='companies')
    op.create_index('ix_companies_name_folded', 'companies', ['name_folded'], unique=True)
    not_erased = sa.text('erased_at IS NULL')
    op.create_index('ux_contacts_company_id_name_folded', 'contacts', ['company_id', 'name_folded'], unique=True,
                    sqlite_where=not_erased, postgresql_where=not_erased)


def _downgrade_unique_names() -> None:
    """Drop the uniqueness rules (renamed twins keep their suffixes)."""
    op.drop_index('ux_contacts_company_id_name_folded', table_name='contacts')
    op.drop_index('ix_companies_name_folded', table_name='companies')
    op.create_index('ix_companies_name_folded', 'companies', ['name_folded'], unique=False)


# --- the outbox ----------------------------------------------------------------------------------------


def _upgrade_outbox() -> None:
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('chat_id', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', crm_core.models.base.UtcDateTime(), nullable=False),
        sa.Column('claimed_until', crm_core.models.base.UtcDateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('message_id', sa.String(length=64), nullable=True),
        sa.Column('origin_channel', sa.String(length=20), nullable=True),
        sa.Column('origin_chat_id', sa.String(length=64), nullable=True),
        sa.Column('origin_language', sa.String(length=8), nullable=True),
        sa.Column('created_at', crm_core.models.base.UtcDateTime(), nullable=False),
        sa.Column('sent_at', crm_core.models.base.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    )
    op.create_index('ix_outbox_due', 'outbox', ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_outbox_created_at'), 'outbox', ['created_at'], unique=False)


def _downgrade_outbox() -> None:
    op.drop_index(op.f('ix_outbox_created_at'), table_name='outbox')
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_table('outbox')


# --- a revision of the directory's names, bumped by the database itself ---------------------------------

# Every process keeps the names of companies and contacts in memory (crm_core/services/names.py); a
# counter the database bumps on any insert, delete or rename tells them, whoever wrote (another
# process, a bulk import, psql), and cannot be fooled by SQLite reusing a deleted row's id.
_WATCHED = {"companies": "name, name_folded", "contacts": "name, name_folded, company_id, erased_at"}
_BUMP = "UPDATE directory_revision SET revision = revision + 1 WHERE id = 1"


def _upgrade_directory_revision() -> None:
    op.create_table(
        'directory_revision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('revision', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_revision')),
    )
    op.execute("INSERT INTO directory_revision (id, revision) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION bump_directory_revision() RETURNS trigger AS $$ BEGIN "
                   f"{_BUMP}; RETURN NULL; END; $$ LANGUAGE plpgsql")
        for table, columns in _WATCHED.items():
            op.execute(f"CREATE TRIGGER trg_{table}_revision AFTER INSERT OR DELETE OR UPDATE OF {columns} "
                       f"ON {table} FOR EACH ROW EXECUTE FUNCTION bump_directory_revision()")
        return
    for table, columns in _WATCHED.items():
        for event, name in (("INSERT", "ins"), ("DELETE", "del"), (f"UPDATE OF {columns}", "upd")):
            op.execute(f"CREATE TRIGGER trg_{table}_revision_{name} AFTER {event} ON {table} "
                       f"BEGIN {_BUMP}; END")


def _downgrade_directory_revision() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_revision ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_directory_revision()")
    else:
        for table in _WATCHED:
            for name in ("ins", "del", "upd"):
                op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_revision_{name}")
    op.drop_table('directory_revision')


def upgrade() -> None:
    _upgrade_dialog_state()
    _upgrade_unique_names()
    _upgrade_outbox()
    _upgrade_directory_revision()


def downgrade() -> None:
    _downgrade_directory_revision()
    _downgrade_outbox()
    _downgrade_unique_names()
    _downgrade_dialog_state()
