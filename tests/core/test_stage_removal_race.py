"""Removing a stage while a deal moves into it, from two processes at once (issue 15 attack review 4): the deal
never ends up in a removed stage. Whichever writer comes second waits for the first's commit (PostgreSQL row
locks on the stages; SQLite's IMMEDIATE transactions) and then sees it: a move into a removed stage is refused
(reason stage_removed), a removal finds the deal that moved in."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.clock import FrozenClock
from crm_core.db import create_engine, create_sessionmaker
from crm_core.errors import Conflict, InvalidInput, NotFound
from crm_core.models import Deal, Stage
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.conftest import OpenServices
from tests.core.conftest import Team

# Time for the second writer to reach its lock while the first holds its own uncommitted change (a safety net:
# without the locks the second writer finishes within it and the bad outcome shows).
_HEADSTART = 0.5


async def _setup(open_services: OpenServices, team: Team) -> tuple[int, int]:
    async with open_services() as services:
        deal = await services.deals.create(title="Bàn ghế", owner_id=team.lan.id, company_id=None, contact_id=None,
                                           stage_key="new", amount=Decimal(1), currency="VND", quantity=None)
        stages = {s.key: s.id for s in await services.pipelines.default_stages()}
        return deal.id, stages["qualified"]


async def _deal_stage(sessionmaker: async_sessionmaker[AsyncSession], deal_id: int) -> tuple[str, bool]:
    async with sessionmaker() as session:
        stage = (await session.execute(select(Stage.key, Stage.archived).join(Deal, Deal.stage_id == Stage.id)
                                       .where(Deal.id == deal_id))).one()
        return stage[0], stage[1]


@pytest.mark.parametrize("first", ["removal", "move"])
async def test_a_deal_never_lands_in_a_stage_removed_at_the_same_time(
        open_services: OpenServices, team: Team, migrated_url: str, clock: FrozenClock,
        sessionmaker: async_sessionmaker[AsyncSession], first: str) -> None:
    deal_id, qualified = await _setup(open_services, team)
    admin_engine, sales_engine = create_engine(migrated_url), create_engine(migrated_url)
    first_done, second_started = asyncio.Event(), asyncio.Event()

    async def remove() -> int:
        async with UnitOfWork(create_sessionmaker(admin_engine)) as uow:
            if first == "move":
                await first_done.wait()
                second_started.set()
            moved = await Services.build(uow.session, now=clock.now()).pipelines.remove_stage(
                qualified, move_to=None, actor_id=None)
            if first == "removal":
                first_done.set()
                await asyncio.sleep(_HEADSTART)  # uncommitted, while the move runs
            return moved

    async def move() -> str:
        async with UnitOfWork(create_sessionmaker(sales_engine)) as uow:
            if first == "removal":
                await first_done.wait()
            moved = await Services.build(uow.session, now=clock.now()).deals.move(deal_id, "qualified", team.lan)
            if first == "move":
                first_done.set()
                await asyncio.sleep(_HEADSTART)
            return moved.stage.key

    try:
        outcomes = await asyncio.gather(remove(), move(), return_exceptions=True)
    finally:
        await admin_engine.dispose()
        await sales_engine.dispose()

    key, archived = await _deal_stage(sessionmaker, deal_id)
    assert not archived
    if first == "removal":
        assert outcomes[0] == 0
        # Refused: the stage is gone by the time the move looks (SQLite waits at BEGIN) or by the time it locks
        refused = outcomes[1]
        assert isinstance(refused, NotFound) or (isinstance(refused, InvalidInput)
                                                 and refused.details["reason"] == "stage_removed")
        assert key == "new"
    else:
        assert outcomes[1] == "qualified"
        assert isinstance(outcomes[0], Conflict)  # the removal now asks where the deal goes
        assert outcomes[0].details["reason"] == "stage_has_deals"
        assert key == "qualified"
