"""Staff users: register, list, reject duplicates and unknown roles, audit every registration."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_core.errors import Conflict, InvalidInput
from crm_core.models import AuditEntry
from tests.conftest import OpenServices


async def test_added_users_are_listed_in_registration_order(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Lan", role="sales", telegram_id=11)
        await services.users.add(name="Hùng", role="manager", language="en")

    async with open_services() as services:
        users = await services.users.list()

    assert [(u.name, u.role, u.telegram_id, u.language, u.active) for u in users] == [
        ("Lan", "sales", 11, "vi", True),
        ("Hùng", "manager", None, "en", True),
    ]


async def test_user_is_found_by_telegram_id(open_services: OpenServices) -> None:
    async with open_services() as services:
        added = await services.users.add(name="Lan", role="sales", telegram_id=5_000_000_001)

    async with open_services() as services:
        found = await services.identities.staff_by("telegram", "5000000001")

    assert found == added


async def test_duplicate_telegram_id_is_a_conflict(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Lan", role="sales", telegram_id=11)

    with pytest.raises(Conflict):
        async with open_services() as services:
            await services.users.add(name="Minh", role="sales", telegram_id=11)

    async with open_services() as services:
        assert [u.name for u in await services.users.list()] == ["Lan"]


async def test_unknown_role_is_invalid_input(open_services: OpenServices) -> None:
    with pytest.raises(InvalidInput):
        async with open_services() as services:
            await services.users.add(name="Lan", role="boss")


async def test_blank_name_is_invalid_input(open_services: OpenServices) -> None:
    with pytest.raises(InvalidInput):
        async with open_services() as services:
            await services.users.add(name="   ", role="sales")


async def test_adding_a_user_is_audited_with_actor_and_details(open_services: OpenServices) -> None:
    async with open_services() as services:
        user = await services.users.add(name="Lan", role="sales", telegram_id=11, actor="admin:Hùng")

    async with open_services() as services:
        entries = (await services.session.scalars(select(AuditEntry))).all()

    assert [(e.action, e.entity, e.entity_id, e.actor_label) for e in entries] == [
        ("user.add", "user", str(user.id), "admin:Hùng")
    ]
    assert entries[0].details == {"name": "Lan", "role": "sales", "telegram_id": 11}


async def test_user_is_found_by_name_without_accents_or_case(open_services: OpenServices) -> None:
    async with open_services() as services:
        added = await services.users.add(name="Nguyễn Thị Lan", role="sales")

    async with open_services() as services:
        assert await services.users.by_name("nguyen thi LAN") == added
