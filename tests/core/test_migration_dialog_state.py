"""Migration 0004, dialog state per (chat, user): a waiting dialog survives the upgrade; the downgrade keeps one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import JSON, column, insert, table, text
from sqlalchemy.engine import Connection

from crm_core.db import alembic_config, create_engine, create_sessionmaker, upgrade
from crm_core.models.base import UtcDateTime
from tests.conftest import services_in

_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
_STATES_0003 = table("dialog_states", column("id"), column("channel"), column("chat_id"), column("name"),
                     column("data", JSON()), column("updated_at", UtcDateTime()))


async def _run(url: str, work: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def _alembic(url: str, verb: str, revision: str) -> None:
    await asyncio.to_thread(getattr(command, verb), alembic_config(url), revision)


def _insert_0003_states(connection: Connection) -> None:
    connection.execute(insert(_STATES_0003), [
        {"id": 1, "channel": "telegram", "chat_id": "1001", "name": "log_edit",
         "data": {"draft": 7, "field": "company"}, "updated_at": _AT},
        {"id": 2, "channel": "console", "chat_id": "Lan", "name": "log_edit", "data": {"draft": 8, "field": "amount"},
         "updated_at": _AT}])
    connection.commit()


async def test_upgrade_gives_a_waiting_dialog_to_the_user_of_its_private_chat(db_url: str) -> None:
    await _alembic(db_url, "upgrade", "0003")
    await _run(db_url, _insert_0003_states)

    await upgrade(db_url)

    engine = create_engine(db_url)
    try:
        async with services_in(create_sessionmaker(engine), now=_AT) as services:
            telegram = await services.state.get("telegram", "1001", "1001")
            console = await services.state.get("console", "Lan", "Lan")
            someone_else = await services.state.get("telegram", "1001", "1002")
    finally:
        await engine.dispose()
    assert telegram == ("log_edit", {"draft": 7, "field": "company"})
    assert console == ("log_edit", {"draft": 8, "field": "amount"})
    assert someone_else is None


async def test_downgrade_keeps_one_dialog_per_chat(db_url: str) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        async with services_in(create_sessionmaker(engine), now=_AT) as services:
            await services.state.set("telegram", "-100", "1001", "log_edit", {"draft": 7, "field": "company"})
            await services.state.set("telegram", "-100", "1002", "log_edit", {"draft": 8, "field": "amount"})
            await services.state.set("telegram", "1001", "1001", "log_edit", {"draft": 9, "field": "due"})
    finally:
        await engine.dispose()

    await _alembic(db_url, "downgrade", "0003")

    def states(connection: Connection) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in connection.execute(text("SELECT channel, chat_id FROM dialog_states "
                                                               "ORDER BY chat_id"))]

    assert await _run(db_url, states) == [("telegram", "-100"), ("telegram", "1001")]
    await upgrade(db_url)  # and up again
