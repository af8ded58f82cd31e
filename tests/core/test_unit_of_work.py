"""The unit of work: all or nothing, and a locked database is reported as busy, not as a crash."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.clock import FrozenClock
from crm_core.db import create_engine, create_sessionmaker, upgrade
from crm_core.errors import StoreBusy
from crm_core.uow import UnitOfWork, is_busy_error
from tests.conftest import OpenServices, services_in

SHORT_BUSY_TIMEOUT_MS = 50


async def test_a_unit_of_work_commits_when_the_block_succeeds(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Lan", role="sales")

    async with open_services() as services:
        assert [u.name for u in await services.users.list()] == ["Lan"]


async def _write_then_fail(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Lan", role="sales")
        await services.directory.create_company("Hòa Phát", owner_id=None)
        raise RuntimeError("handler failed")


async def test_a_unit_of_work_that_raises_keeps_nothing(open_services: OpenServices) -> None:
    with pytest.raises(RuntimeError, match="handler failed"):
        await _write_then_fail(open_services)

    async with open_services() as services:
        assert await services.users.list() == []
        assert await services.directory.counts() == (0, 0)


async def test_the_session_is_closed_after_the_unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    uow = UnitOfWork(sessionmaker)
    async with uow:
        pass

    with pytest.raises(RuntimeError, match="not open"):
        _ = uow.session


@pytest_asyncio.fixture
async def sqlite_path(tmp_path: Path) -> Path:
    """Return a migrated SQLite file."""
    path = tmp_path / "busy.sqlite3"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def write_lock(sqlite_path: Path) -> Iterator[sqlite3.Connection]:
    """Hold the database's write lock from another connection, as a second process would."""
    holder = sqlite3.connect(sqlite_path, timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    holder.execute("ROLLBACK")
    holder.close()


@pytest_asyncio.fixture
async def short_timeout_sessions(sqlite_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Yield sessions over the SQLite file that give up waiting for a lock after a few milliseconds."""
    engine = create_engine(f"sqlite+aiosqlite:///{sqlite_path}", busy_timeout_ms=SHORT_BUSY_TIMEOUT_MS)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.mark.usefixtures("write_lock")
async def test_a_write_to_a_locked_sqlite_database_raises_store_busy(
    short_timeout_sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    with pytest.raises(StoreBusy) as raised:
        async with services_in(short_timeout_sessions, now=clock.now()) as services:
            await services.users.add(name="Lan", role="sales")

    assert raised.value.code == "store_busy"
    assert isinstance(raised.value.__cause__, OperationalError)


async def test_the_write_succeeds_once_the_lock_is_released(
    short_timeout_sessions: async_sessionmaker[AsyncSession],
    write_lock: sqlite3.Connection,
    clock: FrozenClock,
) -> None:
    with pytest.raises(StoreBusy):
        async with services_in(short_timeout_sessions, now=clock.now()) as services:
            await services.users.add(name="Lan", role="sales")
    write_lock.execute("ROLLBACK")
    write_lock.execute("BEGIN")

    async with services_in(short_timeout_sessions, now=clock.now()) as services:
        await services.users.add(name="Lan", role="sales")

    async with services_in(short_timeout_sessions, now=clock.now()) as services:
        assert [u.name for u in await services.users.list()] == ["Lan"]


def test_a_programming_error_is_not_mistaken_for_busy() -> None:
    error = OperationalError("INSERT INTO nowhere", {}, sqlite3.OperationalError("no such table: nowhere"))

    assert not is_busy_error(error)


@pytest_asyncio.fixture
async def postgres_table_lock(
    migrated_url: str, open_services: OpenServices
) -> AsyncIterator[None]:
    """Hold an exclusive lock on the users table from another PostgreSQL connection.

    Taken after `open_services` is set up (its default pipeline is written first), so only the test waits on it.
    """
    if not migrated_url.startswith("postgresql"):
        pytest.skip("table locks with a lock timeout are a PostgreSQL case")
    engine = create_engine(migrated_url)
    async with engine.connect() as connection:
        await connection.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
        yield
        await connection.rollback()
    await engine.dispose()


@pytest.mark.usefixtures("postgres_table_lock")
async def test_a_postgres_lock_timeout_raises_store_busy(open_services: OpenServices) -> None:
    with pytest.raises(StoreBusy):
        await _add_user_waiting_briefly_for_locks(open_services)


async def _add_user_waiting_briefly_for_locks(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.session.execute(text("SET LOCAL lock_timeout = '50ms'"))
        await services.users.add(name="Lan", role="sales")
