"""A customer's card (crm_core.flows.customers) shows the same things whoever created her: a customer who left her
phone with the bot, or whose questions went to a person, has her deals, tasks, tickets and rating on it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_core.clock import FrozenClock
from crm_core.errors import Forbidden
from crm_core.flows.customers import CustomerFlow
from crm_core.schemas import CustomerOut, DealOut, DealSummary, TaskOut, TaskSummary, UserOut
from crm_core.services import Services
from crm_core.services.support import customer_out
from tests.conftest import OpenServices
from tests.core.conftest import Team


async def _bot_customer(services: Services, *, chat: str = "555", name: str = "Chị Hạnh") -> CustomerOut:
    """A customer who wrote to the bot and left her phone: a contact with no company, a lead deal, a call-back."""
    customer = await services.support.identify("telegram", chat, name)
    await services.leads.capture(customer, phone="0901234567", interest="giá bàn AP-D120", title=f"Khách {name}",
                                 task_title="Gọi lại khách", rules={})
    return customer


async def _handed_off_and_rated(services: Services, customer: CustomerOut, staff: UserOut, score: int) -> int:
    """Open a ticket for `customer`, close it, and record her rating; return the ticket's number."""
    ticket, _new = await services.support.open_ticket(customer, reason="asked_for_human", language="vi",
                                                      transcript=[], assignee=staff)
    await services.support.close(ticket.id, staff)
    await services.support.rate_ticket(ticket.id, customer, score)
    return ticket.id


async def test_a_customer_who_left_her_phone_with_the_bot_has_her_lead_deal_and_call_back_on_her_card(
        open_services: OpenServices, team: Team) -> None:
    async with open_services() as services:
        customer = await _bot_customer(services)

    async with open_services() as services:
        card = await CustomerFlow(services=services).person(customer.contact_id, viewer=team.boss)

    assert card.contact.company_id is None
    assert [(d.title, d.stage.key, d.amount) for d in card.deals if isinstance(d, DealOut)] == [
        ("Khách Chị Hạnh", "new", None)]
    assert [t.title for t in card.open_tasks] == ["Gọi lại khách"]
    assert card.open_tasks[0].due_at is not None


async def test_a_bot_customers_open_and_past_tickets_and_latest_rating_are_on_her_card(
        open_services: OpenServices, team: Team, clock: FrozenClock) -> None:
    async with open_services() as services:
        customer = await _bot_customer(services)
        first = await _handed_off_and_rated(services, customer, team.lan, 2)
    clock.advance(timedelta(days=1))
    async with open_services() as services:
        second = await _handed_off_and_rated(services, customer, team.lan, 5)
    clock.advance(timedelta(days=1))
    async with open_services() as services:
        third, _new = await services.support.open_ticket(customer, reason="complaint", language="vi", transcript=[],
                                                         assignee=None)

    async with open_services() as services:
        card = await CustomerFlow(services=services).person(customer.contact_id, viewer=team.lan)

    assert [(t.id, t.status) for t in card.tickets] == [(third.id, "open"), (second, "closed"), (first, "closed")]
    assert card.rated is not None
    assert (card.rated.id, card.rated.csat) == (second, 5)


async def test_a_customer_who_never_rated_has_no_rating_on_her_card(open_services: OpenServices, team: Team) -> None:
    async with open_services() as services:
        customer = await _bot_customer(services)
        await services.support.open_ticket(customer, reason="asked_for_human", language="vi", transcript=[],
                                           assignee=None)

    async with open_services() as services:
        card = await CustomerFlow(services=services).person(customer.contact_id, viewer=team.lan)

    assert [t.status for t in card.tickets] == ["open"]
    assert card.rated is None


async def test_a_colleague_sees_a_bot_customers_deal_and_the_owners_task_by_owner_only(
        open_services: OpenServices, team: Team) -> None:
    async with open_services() as services:
        customer = await _bot_customer(services)
    async with open_services() as services:
        owner_card = await CustomerFlow(services=services).person(customer.contact_id, viewer=team.boss)
    deal = owner_card.deals[0]
    assert isinstance(deal, DealOut)
    colleague = team.minh if deal.owner_id == team.lan.id else team.lan

    async with open_services() as services:
        card = await CustomerFlow(services=services).person(customer.contact_id, viewer=colleague)

    assert [(type(d), d.id, d.owner_id) for d in card.deals] == [(DealSummary, deal.id, deal.owner_id)]
    assert [(type(t), t.owner_id) for t in card.open_tasks] == [(TaskSummary, deal.owner_id)]


SECRET = "BÍ MẬT: giảm 30% riêng cho chị Hoa"


async def test_a_colleagues_task_on_her_with_no_deal_stays_off_a_salespersons_card_as_task_refuses_it(
        open_services: OpenServices, team: Team) -> None:
    async with open_services() as services:
        customer = await _bot_customer(services)
        task = await services.tasks.create(owner_id=team.minh.id, title=SECRET, due_at=None,
                                           contact_id=customer.contact_id)

    async with open_services() as services:
        with pytest.raises(Forbidden):
            await services.tasks.get(task.id, team.lan)
        card = await CustomerFlow(services=services).person(customer.contact_id, viewer=team.lan)
        boss_card = await CustomerFlow(services=services).person(customer.contact_id, viewer=team.boss)
        minh_card = await CustomerFlow(services=services).person(customer.contact_id, viewer=team.minh)

    assert SECRET not in [t.title for t in card.open_tasks if isinstance(t, TaskOut)]
    assert TaskSummary(id=task.id, owner_id=team.minh.id, owner="Minh") in card.open_tasks  # whose, not what
    assert SECRET in [t.title for t in boss_card.open_tasks if isinstance(t, TaskOut)]
    assert SECRET in [t.title for t in minh_card.open_tasks if isinstance(t, TaskOut)]


async def test_a_colleagues_task_on_a_company_with_no_deal_stays_off_a_salespersons_company_card(
        open_services: OpenServices, team: Team) -> None:
    async with open_services() as services:
        company = await services.directory.create_company("Hòa Phát", owner_id=team.lan.id)
        await services.tasks.create(owner_id=team.minh.id, title=SECRET, due_at=None, company_id=company.id)
        await services.tasks.create(owner_id=team.lan.id, title="Gửi báo giá", due_at=None, company_id=company.id)

    async with open_services() as services:
        card = await CustomerFlow(services=services).company(company.id, viewer=team.lan)
        boss_card = await CustomerFlow(services=services).company(company.id, viewer=team.boss)

    assert [(type(t), t.owner) for t in card.open_tasks] == [(TaskSummary, "Minh"), (TaskOut, "Lan")]
    assert [t.title for t in card.open_tasks if isinstance(t, TaskOut)] == ["Gửi báo giá"]
    assert sorted(t.title for t in boss_card.open_tasks if isinstance(t, TaskOut)) == sorted([SECRET, "Gửi báo giá"])


async def test_a_closed_deal_and_a_done_task_leave_her_card(open_services: OpenServices, team: Team) -> None:
    async with open_services() as services:
        customer = await _bot_customer(services)
    async with open_services() as services:
        card = await CustomerFlow(services=services).person(customer.contact_id, viewer=team.boss)
        deal, task = card.deals[0], card.open_tasks[0]
        assert isinstance(deal, DealOut)
        owner = await services.users.get(deal.owner_id or 0)
        await services.tasks.done(task.id, owner)
        mark = await services.closing.mark(deal.id, "lost", owner)
        assert await services.closing.close(mark, "lost", owner, reason="price") is not None

    async with open_services() as services:
        card = await CustomerFlow(services=services).person(customer.contact_id, viewer=team.boss)

    assert (card.deals, card.open_tasks) == ([], [])


async def test_a_companys_card_shows_its_peoples_tickets_and_latest_rating(
        open_services: OpenServices, team: Team) -> None:
    async with open_services() as services:
        company = await services.directory.create_company("Hòa Phát", owner_id=team.lan.id)
        minh = await services.directory.create_contact("Minh", company_id=company.id, owner_id=team.lan.id)
        customer = customer_out(minh, "telegram", "556")
        ticket = await _handed_off_and_rated(services, customer, team.lan, 4)

    async with open_services() as services:
        card = await CustomerFlow(services=services).company(company.id, viewer=team.lan)

    assert [(t.id, t.customer, t.status) for t in card.tickets] == [(ticket, "Minh", "closed")]
    assert card.rated is not None
    assert card.rated.csat == 4
