"""The Alembic migrations build the whole schema on every backend, and only once."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from crm_core.db import alembic_config, create_engine, upgrade
from crm_core.models import Base
from tests.conftest import OpenServices


async def _run(url: str, work: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _differences(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _head(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def test_upgrade_creates_every_table_of_the_models(db_url: str) -> None:
    await upgrade(db_url)

    tables = await _run(db_url, _tables)

    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


async def test_upgrade_stamps_the_head_revision(db_url: str) -> None:
    await upgrade(db_url)

    assert await _run(db_url, _revision) == _head(db_url)


async def test_upgrade_twice_changes_nothing_and_keeps_data(migrated_url: str, open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Lan", role="sales")

    await upgrade(migrated_url)

    async with open_services() as services:
        assert [u.name for u in await services.users.list()] == ["Lan"]
    assert await _run(migrated_url, _revision) == _head(migrated_url)


async def test_migrated_schema_matches_the_models(db_url: str) -> None:
    await upgrade(db_url)

    assert await _run(db_url, _differences) == []
