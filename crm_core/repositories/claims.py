"""Claiming due rows so that, among several schedulers (processes), each row is taken by exactly one.

    PostgreSQL  SELECT … FOR UPDATE SKIP LOCKED: a row another scheduler is claiming is skipped,
                not waited for, and stays locked until that scheduler's transaction ends.
    SQLite      one writer at a time: a conditional UPDATE … WHERE <mark> IS NULL takes a row only
                when nobody took it, and the row is ours only when the UPDATE changed it.

A catch on SQLite (WAL): a transaction that has read cannot start writing after another process
committed (its snapshot is stale; SQLite answers "database is locked" at once instead of waiting).
So a claim starts with its write: the reminders' claim is one UPDATE … RETURNING as the transaction's
first statement, which waits for the write lock and then reads the newest rows; the claims after it
in the same transaction (escalations) hold that lock. A claim that reads first is still exactly-once,
but may fail busy and be retried on the next tick.
"""

from __future__ import annotations

from sqlalchemy import Update
from sqlalchemy.ext.asyncio import AsyncSession


def skips_locked_rows(session: AsyncSession) -> bool:
    """Tell whether the database takes SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL does, SQLite not)."""
    return session.get_bind().dialect.name == "postgresql"


async def claimed(session: AsyncSession, conditional_update: Update) -> bool:
    """Run an UPDATE whose WHERE says "not claimed yet"; tell whether it claimed the row."""
    result = await session.execute(conditional_update.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0) == 1
