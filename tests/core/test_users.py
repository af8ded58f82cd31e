"""Staff users: register, list, reject duplicates and unknown roles, audit every registration."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_core.clock import FrozenClock
from crm_core.errors import Conflict, InvalidInput, NotFound
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
        # The actions; the record changes they made are captured too (`record.*`, tests/bot/test_audit_trail.py).
        entries = (await services.session.scalars(select(AuditEntry).where(AuditEntry.action.not_like("record.%"))
                                                  )).all()

    assert [(e.action, e.entity, e.entity_id, e.actor_label) for e in entries] == [
        ("user.add", "user", str(user.id), "admin:Hùng")
    ]
    assert entries[0].details == {"name": "Lan", "role": "sales", "telegram_id": 11}


async def test_user_is_found_by_name_without_accents_or_case(open_services: OpenServices) -> None:
    async with open_services() as services:
        added = await services.users.add(name="Nguyễn Thị Lan", role="sales")

    async with open_services() as services:
        assert await services.users.by_name("nguyen thi LAN") == added


# --- namesakes, roles, deactivation (issue 10) ---------------------------------------------------------------


@pytest.mark.parametrize("again", ["Lan", "lan", "LÂN", "Lân"], ids=["same", "case", "accents-upper", "accents"])
async def test_a_name_a_colleague_has_is_refused_naming_them(open_services: OpenServices, again: str) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales", telegram_id=1001)

    with pytest.raises(InvalidInput) as refused:
        async with open_services() as services:
            await services.users.add(name=again, role="sales")

    message = str(refused.value)
    assert f"#{lan.id} Lan (sales, telegram 1001)" in message
    assert "--force" in message
    assert "\n" not in message
    async with open_services() as services:
        assert [u.name for u in await services.users.list()] == ["Lan"]


async def test_a_given_name_alone_is_taken_for_the_colleague_who_has_it(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Nguyễn Thị Lan", role="sales")

    with pytest.raises(InvalidInput, match="Nguyễn Thị Lan"):
        async with open_services() as services:
            await services.users.add(name="Lan", role="sales")


async def test_two_full_names_sharing_a_given_name_are_two_people(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Trần Văn Minh", role="sales")
        await services.users.add(name="Lê Minh", role="sales")

    async with open_services() as services:
        assert [u.name for u in await services.users.list()] == ["Trần Văn Minh", "Lê Minh"]


async def test_force_adds_a_namesake_and_both_are_listed(open_services: OpenServices) -> None:
    async with open_services() as services:
        first = await services.users.add(name="Lan", role="sales")
        second = await services.users.add(name="Lan", role="manager", force=True)

    async with open_services() as services:
        assert [(u.id, u.role) for u in await services.users.list()] == [(first.id, "sales"), (second.id, "manager")]
        assert await services.users.namesakes("lan") == [first, second]


async def test_an_inactive_namesake_does_not_block_a_name(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Lan", role="sales")
        await services.users.deactivate("Lan")
        await services.users.add(name="Lan", role="sales")

    async with open_services() as services:
        assert [u.active for u in await services.users.list()] == [False, True]


async def _audit(open_services: OpenServices, action: str) -> list[tuple[str, str | None, dict[str, object]]]:
    async with open_services() as services:
        entries = (await services.session.scalars(select(AuditEntry).where(AuditEntry.action == action))).all()
    return [(e.actor_label, e.entity_id, e.details) for e in entries]


async def test_a_role_is_changed_by_name_and_audited(open_services: OpenServices) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Nguyễn Thị Lan", role="sales")

    async with open_services() as services:
        changed, before = await services.users.set_role("nguyen thi LAN", "manager", actor="cli")

    assert (changed.id, changed.role, before) == (lan.id, "manager", "sales")
    assert await _audit(open_services, "user.set_role") == [
        ("cli", str(lan.id), {"name": "Nguyễn Thị Lan", "from": "sales", "to": "manager"})]


async def test_a_role_is_changed_by_number(open_services: OpenServices) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales")

    async with open_services() as services:
        changed, _before = await services.users.set_role(f"#{lan.id}", "admin")

    assert changed.role == "admin"


async def test_an_unknown_role_changes_nothing(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Lan", role="sales")

    with pytest.raises(InvalidInput, match="sales, manager, admin"):
        async with open_services() as services:
            await services.users.set_role("Lan", "boss")

    assert await _audit(open_services, "user.set_role") == []


async def test_a_name_two_people_share_is_refused_asking_for_the_number(open_services: OpenServices) -> None:
    async with open_services() as services:
        first = await services.users.add(name="Lan", role="sales")
        second = await services.users.add(name="Lan", role="sales", force=True)

    with pytest.raises(InvalidInput) as refused:
        async with open_services() as services:
            await services.users.set_role("Lan", "manager")

    assert f"#{first.id} Lan" in str(refused.value)
    assert f"#{second.id} Lan" in str(refused.value)


async def test_an_unknown_user_is_not_found(open_services: OpenServices) -> None:
    with pytest.raises(NotFound, match="Xyz"):
        async with open_services() as services:
            await services.users.deactivate("Xyz")


async def test_a_deactivated_user_is_staff_no_more_and_it_is_audited(open_services: OpenServices) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales", telegram_id=1001)

    async with open_services() as services:
        gone, was_active = await services.users.deactivate("Lan", actor="cli")
    async with open_services() as services:
        _again, still_active = await services.users.deactivate(str(lan.id))

    assert (gone.active, was_active, still_active) == (False, True, False)
    async with open_services() as services:
        assert await services.identities.staff_by("telegram", "1001") is None
        assert await services.users.salespeople() == []
    assert await _audit(open_services, "user.deactivate") == [("cli", str(lan.id), {"name": "Lan", "role": "sales"})]


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
        open_services: OpenServices, migrated_url: str, clock: FrozenClock) -> None:
    from crm_core.db import create_engine, create_sessionmaker
    from crm_core.services import Services
    from crm_core.uow import UnitOfWork

    async with open_services() as services:
        await services.users.add(name="An", role="admin")
        await services.users.add(name="Bình", role="admin")

    async def demote(engine: AsyncEngine, name: str) -> str:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            await Services.build(uow.session, now=clock.now()).users.set_role(name, "sales")
        return name

    first, second = create_engine(migrated_url), create_engine(migrated_url)
    try:
        outcomes = await asyncio.gather(demote(first, "Bình"), demote(second, "An"), return_exceptions=True)
    finally:
        await first.dispose()
        await second.dispose()

    refused = [o for o in outcomes if isinstance(o, InvalidInput)]
    assert [o.details["reason"] for o in refused] == ["last_admin"]
    async with open_services() as services:
        assert len(await services.users.active_admins()) == 1
