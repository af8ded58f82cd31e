"""The unit of work: one session per inbound message, committed on success only."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session

from crm_core.errors import StoreBusy

_BUSY_MARKERS = ("database is locked", "database is busy", "lock timeout", "could not obtain lock", "deadlock")
# PostgreSQL: lock_not_available, deadlock_detected, serialization_failure. asyncpg's errors reach
# SQLAlchemy as a plain DBAPIError, not an OperationalError, so the SQLSTATE is what tells.
_BUSY_SQLSTATES = ("55P03", "40P01", "40001")


log = logging.getLogger(__name__)
_WROTE = "chatcrm_wrote"


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_write(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


class ReadPhase(Protocol):
    """What a flow needs to end its reading before slow work (the unit of work provides it)."""

    async def end_reads(self) -> None:
        """End a transaction that has only read."""
        ...


class StorePhase(ReadPhase, Protocol):
    """A read phase that also lends its store, for slow work that commits in its own units (an import)."""

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...


def has_written(session: AsyncSession) -> bool:
    """Tell whether this session's transaction wrote anything (flushed, bulk DML, or pending objects)."""
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def is_busy_error(error: BaseException) -> bool:
    """Tell whether a database error means "busy, try again" rather than a bug."""
    if not isinstance(error, DBAPIError):
        return False
    if getattr(error.orig, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    text = str(error).lower()
    return isinstance(error, OperationalError) and any(marker in text for marker in _BUSY_MARKERS)


class UnitOfWork:
    """Open a session; commit when the block succeeds, roll back when it raises."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """Return the store this unit of work opens sessions on (for flows whose slow work opens its own)."""
        return self._sessionmaker

    @property
    def session(self) -> AsyncSession:
        """Return the open session."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    async def end_reads(self) -> None:
        """End a transaction that has only read, before slow work (an LLM, a knowledge search).

        On SQLite a transaction keeps its read snapshot until it ends: writing after another
        connection committed fails at once, and a write lock held through slow work blocks every
        other chat. So a flow reads, calls this, thinks, then writes in a new, short transaction.
        A transaction that already wrote is left open (its writes stay one unit of work).
        """
        session = self.session
        if has_written(session):
            log.warning("slow work inside a writing transaction; its write lock is held meanwhile")
            return
        if session.in_transaction():
            await session.commit()

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessionmaker()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self.session
        try:
            if exc_type is None:
                try:
                    await session.commit()
                except DBAPIError as error:
                    await session.rollback()
                    if is_busy_error(error):
                        raise StoreBusy(str(error)) from error
                    raise
            else:
                await session.rollback()
                # A flush inside the block meets the lock first; report it as busy too.
                if exc is not None and is_busy_error(exc):
                    raise StoreBusy(str(exc)) from exc
        finally:
            session.info.pop(_WROTE, None)
            await session.close()
            self._session = None
