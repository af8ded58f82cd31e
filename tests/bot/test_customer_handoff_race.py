"""A customer's message that asks for a person while another process opens their ticket is not lost (issue 11).

Two engines over one database stand for two bot processes. The customer's second message is read by the
second process before the first has opened the ticket, and handed off after: it must reach that ticket
(its message and its staff notice) exactly once, not stay a question with no ticket.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.db import create_engine, create_sessionmaker
from crm_core.models import CustomerQuestion, Ticket, TicketMessage
from crm_core.ports import Ports
from crm_core.retrieval.models import Answer
from tests.bot.conftest import ChatDriver

SAFETY_NET_S = 60.0
CUSTOMER = "660001"
FIRST, SECOND = "cho tôi gặp nhân viên", "gặp nhân viên giúp"


class GatedKnowledge:
    """The real knowledge base, answering only once the test opens the gate (the search is slow today)."""

    def __init__(self, knowledge: Any) -> None:
        self._knowledge = knowledge
        self.asked = threading.Event()
        self.gate = threading.Event()

    def ask(self, question: str, *, language: Any = None) -> Answer:
        self.asked.set()
        if not self.gate.wait(SAFETY_NET_S):
            raise TimeoutError("the test never opened the gate")
        answer: Answer = self._knowledge.ask(question, language=language)
        return answer


@pytest_asyncio.fixture
async def second_process(migrated_url: str, support_engine: Engine, clock: FrozenClock) -> AsyncIterator[Engine]:
    """Another bot process over the same database, its own connections and chat locks, a slow knowledge search."""
    db = create_engine(migrated_url)
    knowledge = GatedKnowledge(support_engine.ports.knowledge)
    try:
        yield Engine(sessionmaker=create_sessionmaker(db), clock=clock, settings=support_engine.settings,
                     router=ROUTER, render_reminder=reminder_reply,
                     ports=Ports(knowledge=knowledge, history=support_engine.ports.history))
    finally:
        await db.dispose()


async def test_a_hand_off_that_finds_the_ticket_just_opened_elsewhere_is_relayed_to_it_once(
        support_engine: Engine, second_process: Engine,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    gated: GatedKnowledge = second_process.ports.knowledge  # type: ignore[assignment]
    here, there = ChatDriver(support_engine, CUSTOMER), ChatDriver(second_process, CUSTOMER)
    await here.say("chào shop")  # a customer already, no ticket yet

    second = asyncio.create_task(there.say(SECOND))  # read: no ticket open; now searching
    try:
        assert await asyncio.to_thread(gated.asked.wait, SAFETY_NET_S)
        await here.say(FIRST)  # meanwhile the first process opens the ticket and commits
    finally:
        gated.gate.set()
    await asyncio.wait_for(second, SAFETY_NET_S)

    async with sessionmaker() as session:
        tickets = list(await session.scalars(select(Ticket)))
        typed = list(await session.scalars(select(TicketMessage.text).where(TicketMessage.author == "customer")
                                           .order_by(TicketMessage.id)))
        linked = {q.question: q.ticket_id for q in await session.scalars(select(CustomerQuestion))}
    assert [t.status for t in tickets] == ["open"]
    assert typed.count(FIRST) == 1
    assert typed.count(SECOND) == 1
    assert (linked[FIRST], linked[SECOND]) == (tickets[0].id, tickets[0].id)
    assert there.text == Texts("vi")("support.already_open", ticket=tickets[0].id)
    to_staff = [r.text for r in there.last if r.chat_id is not None and r.chat_id != CUSTOMER]
    assert [text for text in to_staff if SECOND in text] != []  # staff heard it
