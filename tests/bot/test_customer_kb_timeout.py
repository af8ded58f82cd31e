"""A knowledge base that hangs neither strands the customer nor starves other chats' threaded work (issue 11).

A hung store cannot be made real, so the knowledge base here is a fake that blocks until the test lets it
go; everything else (the engine, the database, staff /ask over the real history index) is real.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import CustomerQuestion, Interaction, Ticket, TicketMessage
from crm_core.retrieval.models import Answer
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

QUESTION = "ghế bảo hành bao lâu?"
SAFETY_NET_S = 60.0


class HungKnowledge:
    """A knowledge base that answers nobody until `release` is set.

    A flow looks `ask` up on the event loop right before it hands the call to a thread pool, so once it has
    been looked up `expected` times (`all_handed_over` set), every search is running or queued in its pool.
    """

    def __init__(self, expected: int = 1, *, answers_first: int = 0) -> None:
        self.release = threading.Event()
        self.all_handed_over = asyncio.Event()
        self._left = expected
        self._answers_first = answers_first  # searches answered at once before it hangs

    @property
    def ask(self) -> Any:
        self._left -= 1
        if self._left <= 0:
            self.all_handed_over.set()
        return self._ask

    def _ask(self, question: str, *, language: str | None = None) -> Answer:
        if self._answers_first > 0:
            self._answers_first -= 1
        else:
            self.release.wait(SAFETY_NET_S)  # a safety net: the test always releases
        return Answer(body="Ghế được bảo hành 3 năm.", confidence=0.9, handoff=False, language="vi")


async def test_a_hung_knowledge_base_gives_the_customer_the_kb_unavailable_hand_off_and_keeps_the_question(
        support_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    knowledge = HungKnowledge(answers_first=1)  # it answered someone, then stopped answering
    support_engine.ports = replace(support_engine.ports, knowledge=knowledge)
    support_engine.settings = support_engine.settings.model_copy(update={"kb_timeout_seconds": 0.2})
    await ChatDriver(support_engine, "880000").say(QUESTION)
    customer = ChatDriver(support_engine, "880001")
    try:
        await asyncio.wait_for(customer.say(QUESTION), SAFETY_NET_S)
    finally:
        knowledge.release.set()

    assert customer.text.startswith(Texts("vi")("support.handoff_down"))
    async with sessionmaker() as session:
        question = (await session.scalars(select(CustomerQuestion).order_by(CustomerQuestion.id.desc()))).first()
        ticket = (await session.scalars(select(Ticket))).one()
        on_ticket = list(await session.scalars(select(TicketMessage.text).where(TicketMessage.author == "customer")))
    assert question is not None
    assert (question.question, question.reason, question.ticket_id) == (QUESTION, "kb_unavailable", ticket.id)
    assert ticket.reason == "kb_unavailable"
    assert on_ticket == [QUESTION]
    assert [r for r in customer.last if r.chat_id is not None] != []  # staff were told


async def test_customers_waiting_on_a_hung_knowledge_base_do_not_hold_up_a_staff_ask(
        support_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        lan_id = (await services.users.by_name("Lan")).id  # type: ignore[union-attr]
        company = await services.directory.create_company("Hòa Phát", owner_id=lan_id)
        uow.session.add(Interaction(kind="call", occurred_at=clock.now(), company_id=company.id, owner_id=lan_id,
                                    summary="Anh Minh phàn nàn giao hàng chậm 3 ngày", source="chat",
                                    created_at=clock.now()))
    # More customers than the default thread pool has threads: before, they took every one of them.
    default_threads = min(32, (os.cpu_count() or 1) + 4)
    customers = [ChatDriver(support_engine, str(881_000 + i)) for i in range(default_threads + 2)]
    knowledge = HungKnowledge(expected=len(customers))
    support_engine.ports = replace(support_engine.ports, knowledge=knowledge)
    support_engine.settings = support_engine.settings.model_copy(update={"kb_timeout_seconds": SAFETY_NET_S})
    lan = ChatDriver(support_engine, "1001")
    waiting = [asyncio.create_task(c.say(QUESTION)) for c in customers]
    try:
        await asyncio.wait_for(knowledge.all_handed_over.wait(), SAFETY_NET_S)

        await asyncio.wait_for(lan.say("/ask Hòa Phát nói gì về giao hàng?"), SAFETY_NET_S)

        assert "giao hàng chậm" in lan.text
        assert not any(task.done() for task in waiting)  # the customers were still waiting on the store
    finally:
        knowledge.release.set()
        await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), SAFETY_NET_S)
    assert all("bảo hành 3 năm" in c.text for c in customers)  # once it answers, everyone is answered


async def test_a_knowledge_base_still_loading_for_its_first_answer_is_not_cut_off_at_the_timeout(
        support_engine: Engine) -> None:
    class LoadingKnowledge:
        """Loads (the models, the indexes) on its first search, for longer than the timeout."""

        def __init__(self) -> None:
            self.asked, self.loaded = threading.Event(), threading.Event()

        def ask(self, question: str, *, language: str | None = None) -> Answer:
            self.asked.set()
            self.loaded.wait(SAFETY_NET_S)  # the test lets it finish loading once the timeout has long passed
            return Answer(body="Ghế được bảo hành 3 năm.", confidence=0.9, handoff=False, language="vi")

    knowledge = LoadingKnowledge()
    support_engine.ports = replace(support_engine.ports, knowledge=knowledge)
    support_engine.settings = support_engine.settings.model_copy(update={"kb_timeout_seconds": 0.05})
    customer = ChatDriver(support_engine, "882001")
    first = asyncio.create_task(customer.say(QUESTION))
    try:
        assert await asyncio.to_thread(knowledge.asked.wait, SAFETY_NET_S)
        await asyncio.sleep(0.5)  # ten times the timeout: a loaded knowledge base would have been given up
        assert not first.done()
    finally:
        knowledge.loaded.set()
    await asyncio.wait_for(first, SAFETY_NET_S)
    assert "bảo hành 3 năm" in customer.text
