"""/customer for a customer who came through the bot: her lead deal, call-back task, tickets and rating, line by line
(the card itself: crm_core.flows.customers, tests/core/test_customer_card.py)."""

from __future__ import annotations

from typing import Any

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import format as fmt
from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import Deal, Task, Ticket
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
PRICE_QUESTION = "bàn AP-D120 giá bao nhiêu"
PHONE = "0912345678"


@pytest_asyncio.fixture
async def customer(support_engine: Engine) -> ChatDriver:
    """A customer in a private Telegram chat."""
    return ChatDriver(support_engine, "555001")


@pytest_asyncio.fixture
async def lan(support_engine: Engine) -> ChatDriver:
    """Lan, salesperson: the first lead goes to her."""
    return ChatDriver(support_engine, "1001")


async def _only(sessionmaker: async_sessionmaker[AsyncSession], model: Any) -> Any:
    async with sessionmaker() as session:
        rows = list(await session.scalars(select(model)))
    assert len(rows) == 1
    return rows[0]


async def test_a_customer_who_left_her_phone_shows_her_deal_task_and_open_ticket_in_customer(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await customer.say(PRICE_QUESTION, display_name="Chị Hoa")
    await customer.say(None, shared_phone=PHONE)
    await customer.say("gặp nhân viên")
    deal, task, ticket = (await _only(sessionmaker, Deal), await _only(sessionmaker, Task),
                          await _only(sessionmaker, Ticket))

    await lan.say(f"/customer {PHONE}")

    lines = lan.text.splitlines()
    assert lines[0] == VI("customer.person_header", name="Chị Hoa", phone=PHONE, email="—")
    deals_at, tasks_at, tickets_at = (lines.index(VI("customer.open_deals")), lines.index(VI("customer.tasks")),
                                      lines.index(VI("customer.tickets")))
    assert lines[deals_at + 1] == VI("customer.deal_line", id=deal.id, title=deal.title, stage="Mới", amount="—")
    assert lines[tasks_at + 1].startswith(VI("customer.task_line", title=task.title, due="").rstrip(" —"))
    assert lines[tickets_at + 1] == VI(
        "customer.ticket_line", id=ticket.id, status=VI("customer.ticket_open"), customer="",
        opened=fmt.moment(ticket.opened_at, "vi", clock.now().tzinfo, today=clock.now().date()),
        assignee=VI("customer.ticket_assignee", name="Lan"))
    assert lines.index(VI("customer.interactions")) > tickets_at  # the conversation, the longest part, comes last
    assert PRICE_QUESTION in lan.text
    assert any(b.data == f"deal:v1:open:{deal.id}" for b in lan.buttons)


async def test_her_latest_rating_shows_in_customer_once_she_rated_the_closed_ticket(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await customer.say(PRICE_QUESTION, display_name="Chị Hoa")
    await customer.say(None, shared_phone=PHONE)
    await customer.say("gặp nhân viên")
    await lan.say(f"/customer {PHONE}")
    assert "⭐" not in lan.text
    ticket = await _only(sessionmaker, Ticket)
    await lan.say(f"/close {ticket.id}")
    rating = lan.pushed_to("555001")[0]
    assert rating.keyboard is not None
    customer.buttons = rating.keyboard.buttons()
    await customer.press("⭐⭐⭐⭐")

    await lan.say(f"/customer {PHONE}")

    lines = lan.text.splitlines()
    assert VI("customer.ticket_closed") in lines[lines.index(VI("customer.tickets")) + 1]
    assert VI("customer.rating", score=4, ticket=ticket.id, when=fmt.day(clock.now().date(), "vi")) in lines


async def test_a_colleagues_task_on_her_with_no_deal_is_not_on_a_salespersons_customer_card(
        support_engine: Engine, customer: ChatDriver, lan: ChatDriver,
        sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    secret = "BÍ MẬT: giảm 30% riêng cho chị Hoa"
    await customer.say(PRICE_QUESTION, display_name="Chị Hoa")
    await customer.say(None, shared_phone=PHONE)  # her lead, its deal and call-back: Lan's
    contact_id = (await _only(sessionmaker, Deal)).contact_id
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        tuan = await services.users.by_name("Tuấn")
        assert tuan is not None
        await services.tasks.create(owner_id=tuan.id, title=secret, due_at=None, contact_id=contact_id)

    await lan.say(f"/customer {PHONE}")
    await (tuan_chat := ChatDriver(support_engine, "1002")).say(f"/customer {PHONE}")

    assert VI("customer.person_header", name="Chị Hoa", phone=PHONE, email="—") in lan.text
    assert "BÍ MẬT" not in lan.text
    assert VI("customer.task_summary_line", owner="Tuấn") in lan.text.splitlines()  # whose it is, as /task allows
    assert secret in tuan_chat.text
