"""Leave no old copy of erased data in the SQLite files once the unit of work that erased it commits.

    in the transaction:  `secure_deletes(session)`       what it deletes or overwrites is zeroed, not freed
    after its commit:    `purge_after_commit(session)`   VACUUM and a truncating checkpoint (`purge_freed_pages`):
                                                         no free page, no write-ahead log keeps the old rows

An erasure uses both, and so does the delivery of a message that must not outlive it (the customer's "erased"
notice, `OutboxService.sent(forget=True)`, and `failed(forget=True)` once it will never arrive). Nothing to do on
PostgreSQL, whose files we do not keep.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

from crm_core.services.privacy import purge_freed_pages

log = logging.getLogger(__name__)


async def secure_deletes(session: AsyncSession) -> None:
    """Have what this session deletes or overwrites from now on zeroed in the SQLite file, not only freed."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("PRAGMA secure_delete = ON"))


def purge_after_commit(session: AsyncSession) -> None:
    """Once this unit of work commits, rewrite the SQLite files from the live rows (`purge_freed_pages`).

    SQLite keeps the pages as they were in its write-ahead log and free space until a checkpoint and a VACUUM,
    which must run outside any transaction: so after the commit (nothing to do on PostgreSQL).
    """
    engine = session.bind
    if isinstance(engine, AsyncEngine):
        event.listen(session.sync_session, "after_commit", _purge_when_committed(engine))


def _purge_when_committed(engine: AsyncEngine) -> Callable[[Session], None]:
    """An `after_commit` hook that rewrites the SQLite files from the live rows (`purge_freed_pages`).

    Awaited inside the session's commit (`when_committed`): whoever commits hears it done only once no old copy is
    left on disk.
    """
    return when_committed(lambda: purge_freed_pages(engine), failed="could not purge the freed pages after an erasure")


def when_committed(work: Callable[[], Awaitable[object]], *, failed: str) -> Callable[[Session], None]:
    """An `after_commit` hook that awaits `work()` once, after the outer transaction committed.

    It runs inside the session's commit, with no transaction open, so it awaits the work there (`await_only`). A
    savepoint released meanwhile fires `after_commit` too, with the write still open: that one is passed by. A
    failure is logged as `failed`, never raised: what was committed stands.
    """
    done = False

    def run(session: Session) -> None:
        nonlocal done
        if done or session.get_nested_transaction() is not None:
            return
        done = True
        try:
            await_only(work())
        except Exception:
            log.warning(failed, exc_info=True)
    return run
