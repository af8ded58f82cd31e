"""Deals: who sees which, moving through stages, closing, reassigning."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.clock import FrozenClock
from crm_core.errors import Forbidden, NotFound
from crm_core.models import AuditEntry
from crm_core.repositories.sales import DealRepository
from crm_core.schemas import UserOut
from tests.conftest import OpenServices
from tests.core.conftest import Team


async def _deal(
    open_services: OpenServices, owner: UserOut, company: str, *, stage: str = "quote", amount: str | None = "500000000"
) -> int:
    async with open_services() as services:
        company_id = (await services.directory.create_company(company, owner_id=owner.id)).id
        deal = await services.deals.create(
            title=company,
            owner_id=owner.id,
            company_id=company_id,
            contact_id=None,
            stage_key=stage,
            amount=Decimal(amount) if amount else None,
            currency="VND",
            quantity=None,
        )
        await services.session.flush()
        return deal.id


async def test_a_salesperson_sees_only_own_open_deals(open_services: OpenServices, team: Team) -> None:
    own = await _deal(open_services, team.lan, "Hòa Phát")
    await _deal(open_services, team.minh, "Vinamilk")
    won = await _deal(open_services, team.lan, "Hoa Sen")
    async with open_services() as services:
        await services.deals.move(won, "won", team.lan)

    async with open_services() as services:
        deals = await services.deals.list_open(team.lan)

    assert [d.id for d in deals] == [own]


async def test_a_salesperson_asking_for_another_owner_still_sees_only_own(
    open_services: OpenServices, team: Team
) -> None:
    own = await _deal(open_services, team.lan, "Hòa Phát")
    await _deal(open_services, team.minh, "Vinamilk")

    async with open_services() as services:
        deals = await services.deals.list_open(team.lan, owner_id=team.minh.id)

    assert [d.id for d in deals] == [own]


async def test_a_manager_sees_every_open_deal(open_services: OpenServices, team: Team) -> None:
    lan_deal = await _deal(open_services, team.lan, "Hòa Phát")
    minh_deal = await _deal(open_services, team.minh, "Vinamilk")

    async with open_services() as services:
        deals = await services.deals.list_open(team.boss)

    assert {d.id for d in deals} == {lan_deal, minh_deal}


async def test_a_manager_can_filter_open_deals_by_owner(open_services: OpenServices, team: Team) -> None:
    await _deal(open_services, team.lan, "Hòa Phát")
    minh_deal = await _deal(open_services, team.minh, "Vinamilk")

    async with open_services() as services:
        deals = await services.deals.list_open(team.boss, owner_id=team.minh.id)

    assert [(d.id, d.owner) for d in deals] == [(minh_deal, "Minh")]


async def test_open_deals_are_listed_by_stage_order(open_services: OpenServices, team: Team) -> None:
    negotiation = await _deal(open_services, team.lan, "Hòa Phát", stage="negotiation")
    new = await _deal(open_services, team.lan, "Vinamilk", stage="new")
    quote = await _deal(open_services, team.lan, "Hoa Sen", stage="quote")

    async with open_services() as services:
        deals = await services.deals.list_open(team.lan)

    assert [d.id for d in deals] == [new, quote, negotiation]


async def test_moving_to_won_closes_the_deal(open_services: OpenServices, team: Team, clock: FrozenClock) -> None:
    deal_id = await _deal(open_services, team.lan, "Hòa Phát")
    clock.advance(timedelta(days=2))

    async with open_services() as services:
        moved = await services.deals.move(deal_id, "won", team.lan)

    assert (moved.status, moved.stage.key, moved.stage_changed_at) == ("won", "won", clock.now())
    async with open_services() as services:
        assert await services.deals.list_open(team.lan) == []
        assert (await services.deals.get(deal_id, team.lan)).status == "won"


async def test_moving_records_a_stage_change_by_the_mover(
    open_services: OpenServices, team: Team, clock: FrozenClock
) -> None:
    deal_id = await _deal(open_services, team.lan, "Hòa Phát", stage="quote")
    clock.advance(timedelta(hours=1))

    async with open_services() as services:
        await services.deals.move(deal_id, "won", team.lan)

    async with open_services() as services:
        stages = {s.id: s.key for s in await services.pipelines.default_stages()}
        changes = await DealRepository(services.session).stage_changes(deal_id)
    assert [(stages.get(c.from_stage_id or 0), stages[c.to_stage_id], c.user_id, c.changed_at) for c in changes] == [
        (None, "quote", team.lan.id, clock.now() - timedelta(hours=1)),
        ("quote", "won", team.lan.id, clock.now()),
    ]


async def test_a_stage_is_found_by_its_vietnamese_name(open_services: OpenServices, team: Team) -> None:
    deal_id = await _deal(open_services, team.lan, "Hòa Phát", stage="quote")

    async with open_services() as services:
        moved = await services.deals.move(deal_id, "Đàm phán", team.lan)

    assert (moved.stage.key, moved.status) == ("negotiation", "open")


async def test_a_salesperson_cannot_move_someone_elses_deal(open_services: OpenServices, team: Team) -> None:
    deal_id = await _deal(open_services, team.minh, "Vinamilk", stage="quote")

    with pytest.raises(Forbidden):
        async with open_services() as services:
            await services.deals.move(deal_id, "won", team.lan)

    async with open_services() as services:
        assert (await services.deals.get(deal_id, team.minh)).stage.key == "quote"


async def test_a_salesperson_cannot_read_someone_elses_deal(open_services: OpenServices, team: Team) -> None:
    deal_id = await _deal(open_services, team.minh, "Vinamilk")

    with pytest.raises(Forbidden):
        async with open_services() as services:
            await services.deals.get(deal_id, team.lan)


async def test_a_salesperson_cannot_reassign_a_deal(open_services: OpenServices, team: Team) -> None:
    deal_id = await _deal(open_services, team.lan, "Hòa Phát")

    with pytest.raises(Forbidden):
        async with open_services() as services:
            await services.deals.reassign(deal_id, team.minh.id, team.lan)

    async with open_services() as services:
        assert (await services.deals.get(deal_id, team.boss)).owner_id == team.lan.id


async def test_a_manager_reassigns_a_deal_and_it_is_audited(open_services: OpenServices, team: Team) -> None:
    deal_id = await _deal(open_services, team.lan, "Hòa Phát")

    async with open_services() as services:
        reassigned = await services.deals.reassign(deal_id, team.minh.id, team.boss)

    assert (reassigned.owner_id, reassigned.owner) == (team.minh.id, "Minh")
    async with open_services() as services:
        assert [d.id for d in await services.deals.list_open(team.minh)] == [deal_id]
        entries = (await services.session.scalars(select(AuditEntry).where(AuditEntry.action == "deal.reassign"))).all()
    assert [(e.actor_id, e.entity, e.entity_id, e.details) for e in entries] == [
        (team.boss.id, "deal", str(deal_id), {"from": team.lan.id, "to": team.minh.id})
    ]


async def test_deals_are_found_by_company_name_without_accents(open_services: OpenServices, team: Team) -> None:
    deal_id = await _deal(open_services, team.lan, "Hòa Phát")
    await _deal(open_services, team.lan, "Vinamilk")

    async with open_services() as services:
        found = await services.deals.find("hoa phat", team.lan)

    assert [d.id for d in found] == [deal_id]


async def test_a_deal_idle_longer_than_its_stage_allows_is_stalled(
    open_services: OpenServices, team: Team, clock: FrozenClock
) -> None:
    deal_id = await _deal(open_services, team.lan, "Hòa Phát", stage="quote")  # quote stalls after 7 days
    clock.advance(timedelta(days=9))

    async with open_services() as services:
        deal = await services.deals.get(deal_id, team.lan)

    assert deal.stalled_days == 9


async def test_a_log_moves_a_teammates_deal_and_records_who_logged_it(
    open_services: OpenServices, team: Team, clock: FrozenClock
) -> None:
    deal_id = await _deal(open_services, team.minh, "Vinamilk", stage="quote")

    async with open_services() as services:
        moved = await services.deals.move_for_log(deal_id, "negotiation", team.lan)

    assert (moved.stage.key, moved.owner_id) == ("negotiation", team.minh.id)
    async with open_services() as services:
        changes = await DealRepository(services.session).stage_changes(deal_id)
    assert [(c.user_id, c.changed_at) for c in changes][-1] == (team.lan.id, clock.now())


async def test_a_log_move_of_a_missing_deal_is_not_found(open_services: OpenServices, team: Team) -> None:
    with pytest.raises(NotFound):
        async with open_services() as services:
            await services.deals.move_for_log(999_999, "won", team.lan)
