"""A small sales team, registered in the migrated database of each test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest_asyncio

from crm_core.schemas import UserOut
from tests.conftest import OpenServices


@dataclass(frozen=True)
class Team:
    """Two salespeople and their manager."""

    lan: UserOut
    minh: UserOut
    boss: UserOut


@pytest_asyncio.fixture
async def team(open_services: OpenServices) -> Team:
    """Register Lan and Minh (sales) and Hùng (manager)."""
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales", telegram_id=1001)
        minh = await services.users.add(name="Minh", role="sales", telegram_id=1002)
        boss = await services.users.add(name="Hùng", role="manager", telegram_id=1003)
    return Team(lan=lan, minh=minh, boss=boss)
