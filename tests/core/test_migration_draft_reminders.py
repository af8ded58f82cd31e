"""Migration 0006, draft reminders: drafts open before it count as reminded, so an upgrade pushes no backlog."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import JSON, Boolean, column, insert, table, text
from sqlalchemy.engine import Connection

from crm_core.db import alembic_config, create_engine, upgrade
from crm_core.models.base import UtcDateTime

_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
_USERS = table("users", column("id"), column("name"), column("name_folded"), column("role"), column("language"),
               column("active", Boolean()), column("created_at", UtcDateTime()))
_DRAFTS_0005 = table("log_drafts", column("id"), column("owner_id"), column("raw_text"), column("source_key"),
                     column("fields", JSON()), column("status"), column("created_at", UtcDateTime()))


async def _run(url: str, work: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _insert_0005_drafts(connection: Connection) -> None:
    connection.execute(insert(_USERS), [{"id": 1, "name": "Lan", "name_folded": "lan", "role": "sales",
                                         "language": "vi", "active": True, "created_at": _AT}])
    connection.execute(insert(_DRAFTS_0005), [
        {"id": 1, "owner_id": 1, "raw_text": "Gọi anh Minh", "source_key": "telegram:1001:5", "fields": {},
         "status": "draft", "created_at": _AT},
        {"id": 2, "owner_id": 1, "raw_text": "Gặp chị Hoa", "source_key": "telegram:1001:6", "fields": {},
         "status": "saved", "created_at": _AT}])
    connection.commit()


def _reminded(connection: Connection) -> list[tuple[Any, ...]]:
    rows = connection.execute(text("SELECT id, reminded_at IS NOT NULL FROM log_drafts ORDER BY id"))
    return [(row[0], bool(row[1])) for row in rows]


async def test_upgrade_marks_the_drafts_open_before_it_as_reminded(db_url: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(db_url), "0005")
    await _run(db_url, _insert_0005_drafts)

    await upgrade(db_url)

    assert await _run(db_url, _reminded) == [(1, True), (2, False)]


async def test_downgrade_drops_the_column_and_keeps_the_drafts(db_url: str) -> None:
    await upgrade(db_url)

    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "0005")

    def columns(connection: Connection) -> set[str]:
        from sqlalchemy import inspect

        return {c["name"] for c in inspect(connection).get_columns("log_drafts")}

    assert "reminded_at" not in await _run(db_url, columns)
