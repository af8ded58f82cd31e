"""Identities per channel: staff are found by (channel, external id), customers keep theirs on their contact."""

from __future__ import annotations

import pytest

from crm_core.errors import Conflict, InvalidInput
from crm_core.models import User
from tests.conftest import OpenServices


async def test_staff_are_found_by_their_identity_on_a_channel(open_services: OpenServices) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales", telegram_id=1001)

    async with open_services() as services:
        assert await services.identities.staff_by("telegram", "1001") == lan
        assert await services.identities.staff_by("telegram", "1002") is None
        assert await services.identities.staff_by("zalo", "1001") is None  # an id means nothing on another channel


async def test_on_the_console_a_staff_members_identity_is_their_name(open_services: OpenServices) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Nguyễn Thị Lan", role="sales")

    async with open_services() as services:
        assert await services.identities.staff_by("console", "nguyen thi LAN") == lan
        assert await services.identities.staff_by("console", "customer:Nguyễn Thị Lan") is None
    assert lan.addresses == {"console": "Nguyễn Thị Lan"}


async def test_a_staff_members_addresses_list_every_channel_they_are_reached_on(open_services: OpenServices) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales", telegram_id=1001)
        lan = await services.identities.link_staff(lan.id, "zalo", "zl-77")

    assert lan.addresses == {"console": "Lan", "telegram": "1001", "zalo": "zl-77"}
    assert lan.telegram_id == 1001


async def test_linking_again_on_a_channel_replaces_the_old_identity(open_services: OpenServices) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales", telegram_id=1001)
        await services.identities.link_staff(lan.id, "telegram", "1009")

    async with open_services() as services:
        assert await services.identities.staff_by("telegram", "1001") is None
        found = await services.identities.staff_by("telegram", "1009")
    assert found is not None
    assert found.telegram_id == 1009


async def test_an_identity_belongs_to_one_staff_member(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Lan", role="sales", telegram_id=1001)
        minh = await services.users.add(name="Minh", role="sales")

    with pytest.raises(Conflict):
        async with open_services() as services:
            await services.identities.link_staff(minh.id, "telegram", "1001")


async def test_nobody_links_a_console_identity(open_services: OpenServices) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales")

    with pytest.raises(InvalidInput):
        async with open_services() as services:
            await services.identities.link_staff(lan.id, "console", "Lan")


async def test_an_inactive_staff_member_is_nobody(open_services: OpenServices) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales", telegram_id=1001)
    async with open_services() as services:
        row = await services.session.get(User, lan.id)
        assert row is not None
        row.active = False

    async with open_services() as services:
        assert await services.identities.staff_by("telegram", "1001") is None
        assert await services.identities.staff_by("console", "Lan") is None


async def test_a_customer_keeps_one_contact_per_identity(open_services: OpenServices) -> None:
    async with open_services() as services:
        first = await services.support.identify("telegram", "555001", "Chị Hoa")
    async with open_services() as services:
        again = await services.support.identify("telegram", "555001", "Hoa Phạm")
        elsewhere = await services.support.identify("console", "555001", "Chị Hoa")

    assert (again.contact_id, again.name, again.channel, again.chat_id) == (first.contact_id, "Chị Hoa", "telegram",
                                                                             "555001")
    assert elsewhere.contact_id != first.contact_id
