"""The unit of work: one session per inbound message, committed on success only."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.errors import StoreBusy

_BUSY_MARKERS = ("database is locked", "database is busy", "lock timeout", "could not obtain lock", "deadlock")
# PostgreSQL: lock_not_available, deadlock_detected, serialization_failure. asyncpg's errors reach
# SQLAlchemy as a plain DBAPIError, not an OperationalError, so the SQLSTATE is what tells.
_BUSY_SQLSTATES = ("55P03", "40P01", "40001")


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
    def session(self) -> AsyncSession:
        """Return the open session."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

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
            await session.close()
            self._session = None
