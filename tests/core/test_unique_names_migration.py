"""Migration 0004 adds one company per folded name and one contact per folded name within a company.

Old databases may hold twins already: the migration renames them (" (2)", " (3)", …) instead of
failing or merging, so every row and every link survives.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import column, insert, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from crm_core.db import alembic_config, create_engine, upgrade
from crm_core.models.base import UtcDateTime

_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
_COMPANIES = table("companies", column("id"), column("name"), column("name_folded"),
                   column("created_at", UtcDateTime()))
_CONTACTS = table("contacts", column("id"), column("name"), column("name_folded"), column("company_id"),
                  column("erased_at", UtcDateTime()), column("created_at", UtcDateTime()))
_INTERACTIONS = table("interactions", column("id"), column("kind"), column("occurred_at", UtcDateTime()),
                      column("company_id"), column("contact_id"), column("summary"), column("source"),
                      column("created_at", UtcDateTime()))


async def _run(url: str, work: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    move = command.downgrade if down else command.upgrade
    await asyncio.to_thread(move, alembic_config(url), revision)


def _insert_twins(connection: Connection) -> None:
    """Zeta Corp three times (one spelled differently) beside a real "Zeta Corp (2)"; contact twins."""
    connection.execute(insert(_COMPANIES), [
        {"id": 1, "name": "Zeta Corp", "name_folded": "zeta corp", "created_at": _AT},
        {"id": 2, "name": "ZETA corp", "name_folded": "zeta corp", "created_at": _AT},
        {"id": 3, "name": "Zeta Corp (2)", "name_folded": "zeta corp (2)", "created_at": _AT},
        {"id": 4, "name": "Zeta Corp", "name_folded": "zeta corp", "created_at": _AT},
        {"id": 5, "name": "Hòa Phát", "name_folded": "hoa phat", "created_at": _AT}])
    person = {"erased_at": None, "created_at": _AT}
    connection.execute(insert(_CONTACTS), [
        {**person, "id": 1, "name": "Khoa", "name_folded": "khoa", "company_id": 1},
        {**person, "id": 2, "name": "Khoa", "name_folded": "khoa", "company_id": 1},
        {**person, "id": 3, "name": "Khoa", "name_folded": "khoa", "company_id": 5},
        {**person, "id": 4, "name": "Minh", "name_folded": "minh", "company_id": None},
        {**person, "id": 5, "name": "Minh", "name_folded": "minh", "company_id": None},
        {**person, "id": 6, "name": "(erased customer)", "name_folded": "(erased customer)", "company_id": 1,
         "erased_at": _AT},
        {**person, "id": 7, "name": "(erased customer)", "name_folded": "(erased customer)", "company_id": 1,
         "erased_at": _AT}])
    connection.execute(insert(_INTERACTIONS), [
        {"id": 1, "kind": "call", "occurred_at": _AT, "company_id": 4, "contact_id": 2, "summary": "gọi Khoa",
         "source": "chat", "created_at": _AT}])
    connection.commit()


def _names(connection: Connection) -> dict[str, Any]:
    return {
        "companies": [tuple(r) for r in connection.execute(text("SELECT id, name, name_folded FROM companies "
                                                               "ORDER BY id"))],
        "contacts": [tuple(r) for r in connection.execute(text("SELECT id, name, company_id FROM contacts "
                                                              "ORDER BY id"))],
        "links": [tuple(r) for r in connection.execute(text("SELECT company_id, contact_id FROM interactions"))],
    }


async def test_upgrade_renames_twins_instead_of_failing_and_keeps_every_row(db_url: str) -> None:
    await _migrate(db_url, "0003")
    await _run(db_url, _insert_twins)

    await upgrade(db_url)

    found = await _run(db_url, _names)
    assert found["companies"] == [(1, "Zeta Corp", "zeta corp"), (2, "ZETA corp (3)", "zeta corp (3)"),
                                  (3, "Zeta Corp (2)", "zeta corp (2)"), (4, "Zeta Corp (4)", "zeta corp (4)"),
                                  (5, "Hòa Phát", "hoa phat")]
    assert found["contacts"] == [(1, "Khoa", 1), (2, "Khoa (2)", 1), (3, "Khoa", 5), (4, "Minh", None),
                                 (5, "Minh", None), (6, "(erased customer)", 1), (7, "(erased customer)", 1)]
    assert found["links"] == [(4, 2)]


def _insert_company(name_folded: str) -> Any:
    def work(connection: Connection) -> None:
        connection.execute(insert(_COMPANIES), [{"name": name_folded, "name_folded": name_folded,
                                                 "created_at": _AT}])
        connection.commit()
    return work


async def test_after_the_upgrade_the_database_refuses_a_company_twin(db_url: str) -> None:
    await upgrade(db_url)
    await _run(db_url, _insert_company("zeta corp"))

    with pytest.raises(IntegrityError):
        await _run(db_url, _insert_company("zeta corp"))


async def test_downgrade_drops_the_rules_and_upgrade_adds_them_again(db_url: str) -> None:
    await upgrade(db_url)
    await _migrate(db_url, "0003", down=True)
    await _run(db_url, _insert_company("zeta corp"))
    await _run(db_url, _insert_company("zeta corp"))  # allowed again

    await upgrade(db_url)

    found = await _run(db_url, _names)
    assert [name for _id, name, _folded in found["companies"]] == ["zeta corp", "zeta corp (2)"]
