"""One import at a time per database: two at once (two chats, two `chatcrm import`) would each decide from the
same snapshot of the CRM and both create what the file holds.

PostgreSQL: a session advisory lock on a connection held for the import. SQLite: an exclusive `flock` on a file
beside the database (two threads of one process conflict too: each opens the file anew). Both are released by
the server or the kernel when the holder dies, even by kill -9, so a crash never leaves the book locked. A second
import is refused at once (reason "busy") rather than queued: its report would describe a CRM that has changed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm_core.errors import SpreadsheetRefused

# pg_advisory_lock's key: any constant no other part of the CRM uses ("chatcrm import" as a number).
_PG_LOCK_KEY = 0x6368_6174_1201
_memory_locks: dict[str, threading.Lock] = {}
_memory_locks_guard = threading.Lock()


@asynccontextmanager
async def import_lock(sessionmaker: async_sessionmaker[AsyncSession], file: str) -> AsyncIterator[None]:
    """Hold the database's import lock while the block runs; SpreadsheetRefused("busy") when another holds it."""
    engine = sessionmaker.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        raise TypeError("the sessionmaker is not bound to an async engine")
    if engine.url.get_backend_name() == "postgresql":
        async with _postgres_lock(engine, file):
            yield
        return
    database = engine.url.database
    if database in (None, "", ":memory:"):
        with _memory_lock(str(id(engine)), file):
            yield
        return
    with _file_lock(Path(f"{database}.import-lock"), file):
        yield


def _busy(file: str) -> SpreadsheetRefused:
    return SpreadsheetRefused(f"{file}: another import is running; try again when it has finished",
                              reason="busy", file=file)


@asynccontextmanager
async def _postgres_lock(engine: AsyncEngine, file: str) -> AsyncIterator[None]:
    async with engine.connect() as connection:
        got = (await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})).scalar()
        await connection.commit()  # a session lock outlives the transaction; the connection stays idle meanwhile
        if not got:
            raise _busy(file)
        try:
            yield
        finally:
            with suppress(Exception):  # a broken connection has dropped the lock with it
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
                await connection.commit()


class _FileLock:
    def __init__(self, path: Path, file: str) -> None:
        self._path, self._file, self._fd = path, file, -1

    def __enter__(self) -> None:
        import fcntl

        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise _busy(self._file) from None

    def __exit__(self, *_: object) -> None:
        os.close(self._fd)  # closing the descriptor releases the lock; the file stays (removing it would race)


def _file_lock(path: Path, file: str) -> _FileLock:
    return _FileLock(path, file)


class _MemoryLock:
    def __init__(self, key: str, file: str) -> None:
        with _memory_locks_guard:
            self._lock = _memory_locks.setdefault(key, threading.Lock())
        self._file = file

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            raise _busy(self._file)

    def __exit__(self, *_: object) -> None:
        self._lock.release()


def _memory_lock(key: str, file: str) -> _MemoryLock:
    return _MemoryLock(key, file)
