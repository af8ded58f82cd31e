"""The Alembic migrations build the whole schema on every backend, only once, and move the data they reshape."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import column, insert, inspect, table, text
from sqlalchemy.engine import Connection

from crm_core.db import alembic_config, create_engine, create_sessionmaker, upgrade
from crm_core.models import Base
from crm_core.models.base import UtcDateTime
from tests.conftest import OpenServices, services_in


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


# --- 0003: identities per channel --------------------------------------------------------------------------

_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
_USERS_0002 = table("users", column("id"), column("name"), column("name_folded"), column("role"),
                    column("telegram_id"), column("language"), column("active"), column("created_at", UtcDateTime()))
_CONTACTS_0002 = table("contacts", column("id"), column("name"), column("name_folded"), column("telegram_id"),
                       column("chat_channel"), column("chat_user_id"), column("erased_at", UtcDateTime()),
                       column("created_at", UtcDateTime()))
_TICKETS_0002 = table("tickets", column("id"), column("contact_id"), column("channel"), column("chat_id"),
                      column("language"), column("status"), column("reason"), column("opened_at", UtcDateTime()))


async def _migrate_to(url: str, revision: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


def _insert_0002_rows(connection: Connection) -> None:
    """Staff with and without a Telegram id; customers by chat columns, by telegram_id, twice, erased; a ticket."""
    user = {"role": "sales", "language": "vi", "active": True, "created_at": _AT}
    connection.execute(insert(_USERS_0002), [
        {"id": 1, "name": "Lan", "name_folded": "lan", "telegram_id": 1001, **user},
        {"id": 2, "name": "Hùng", "name_folded": "hung", "telegram_id": None, **user}])
    contact = {"telegram_id": None, "chat_channel": None, "chat_user_id": None, "erased_at": None, "created_at": _AT}
    connection.execute(insert(_CONTACTS_0002), [
        {**contact, "id": 1, "name": "Chị Hoa", "name_folded": "chi hoa", "telegram_id": 555001,
         "chat_channel": "telegram", "chat_user_id": "555001"},
        {**contact, "id": 2, "name": "Anh Nam", "name_folded": "anh nam", "chat_channel": "console",
         "chat_user_id": "customer:Anh Nam"},
        {**contact, "id": 3, "name": "Chú Tư", "name_folded": "chu tu", "telegram_id": 777},
        {**contact, "id": 4, "name": "Chị Hoa", "name_folded": "chi hoa", "telegram_id": 555001,
         "chat_channel": "telegram", "chat_user_id": "555001"},
        {**contact, "id": 5, "name": "(erased customer)", "name_folded": "(erased customer)", "erased_at": _AT,
         "chat_channel": "telegram"}])
    connection.execute(insert(_TICKETS_0002), [{"id": 1, "contact_id": 1, "channel": "telegram", "chat_id": "555001",
                                                "language": "vi", "status": "open", "reason": "asked_for_human",
                                                "opened_at": _AT}])
    connection.commit()


def _identities(connection: Connection) -> dict[str, set[tuple[Any, ...]]]:
    return {
        "staff": set(connection.execute(text("SELECT user_id, channel, external_id FROM staff_identities"))),
        "contacts": set(connection.execute(text("SELECT contact_id, channel, external_id FROM contact_identities"))),
        "ticket_contacts": set(connection.execute(text("SELECT id, contact_id FROM tickets"))),
        "users_columns": {c["name"] for c in inspect(connection).get_columns("users")},
        "contacts_columns": {c["name"] for c in inspect(connection).get_columns("contacts")},
    }


async def test_upgrade_moves_telegram_ids_and_chat_columns_into_identities(db_url: str) -> None:
    await _migrate_to(db_url, "0002")
    await _run(db_url, _insert_0002_rows)

    await upgrade(db_url)

    found = await _run(db_url, _identities)
    assert found["staff"] == {(1, "telegram", "1001")}
    # The duplicate (4) leaves the identity with the oldest contact, the one the bot used to find; erased keep none.
    assert found["contacts"] == {(1, "telegram", "555001"), (2, "console", "customer:Anh Nam"), (3, "telegram", "777")}
    assert found["ticket_contacts"] == {(1, 1)}  # rebuilding the contacts table kept what points at it
    assert "telegram_id" not in found["users_columns"]
    assert not {"telegram_id", "chat_channel", "chat_user_id"} & found["contacts_columns"]


async def test_after_the_upgrade_the_moved_identities_find_the_same_people(db_url: str) -> None:
    await _migrate_to(db_url, "0002")
    await _run(db_url, _insert_0002_rows)
    await upgrade(db_url)

    engine = create_engine(db_url)
    try:
        async with services_in(create_sessionmaker(engine), now=_AT) as services:
            lan = await services.identities.staff_by("telegram", "1001")
            hoa = await services.support.identify("telegram", "555001", "someone else")
            listed = await services.users.list()
    finally:
        await engine.dispose()

    assert lan is not None
    assert (lan.name, lan.telegram_id, lan.addresses) == ("Lan", 1001, {"console": "Lan", "telegram": "1001"})
    assert (hoa.contact_id, hoa.name) == (1, "Chị Hoa")
    assert [(u.name, u.telegram_id) for u in listed] == [("Lan", 1001), ("Hùng", None)]


async def test_downgrade_puts_the_telegram_ids_back(db_url: str) -> None:
    await _migrate_to(db_url, "0002")
    await _run(db_url, _insert_0002_rows)
    await upgrade(db_url)

    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "0002")

    def columns(connection: Connection) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
        users = set(connection.execute(text("SELECT id, telegram_id FROM users")))
        contacts = set(connection.execute(text("SELECT id, chat_channel, chat_user_id, telegram_id FROM contacts")))
        return users, contacts

    users, contacts = await _run(db_url, columns)
    assert users == {(1, 1001), (2, None)}
    assert contacts == {(1, "telegram", "555001", 555001), (2, "console", "customer:Anh Nam", None),
                        (3, "telegram", "777", 777), (4, None, None, None), (5, None, None, None)}
