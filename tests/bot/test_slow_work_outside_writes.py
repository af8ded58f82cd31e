"""Slow work (a knowledge search, an LLM) runs outside the write transaction.

On SQLite one writer at a time holds the lock: if a customer's slow knowledge answer held it, a
salesperson in another chat could not save a log meanwhile (they would wait, then get "busy").
The knowledge base here answers only when the test lets it, after the salesperson has saved.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.db import create_engine, create_sessionmaker
from crm_core.models import Interaction
from crm_core.ports import Ports
from crm_core.retrieval.models import Answer
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

# Short, so a lock held through the knowledge search makes the salesperson's save fail fast, not hang.
BUSY_TIMEOUT_MS = 500
SAFETY_NET_S = 30


class GatedKnowledge:
    """A knowledge base that answers only once the test opens the gate (runs in the flow's thread)."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.gate = threading.Event()

    def ask(self, question: str) -> Answer:
        self.asked.set()
        if not self.gate.wait(SAFETY_NET_S):
            raise TimeoutError("the test never opened the gate")
        return Answer(body="Ghế được bảo hành 3 năm.", confidence=0.9, handoff=False, language="vi")


@pytest.fixture
def sqlite_file_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file of this test's own."""
    target = tmp_path / "crm.sqlite3"
    target.write_bytes(sqlite_template.read_bytes())
    return f"sqlite+aiosqlite:///{target}"


async def test_a_slow_knowledge_answer_does_not_block_a_log_saved_in_another_chat(
        sqlite_file_url: str, clock: FrozenClock) -> None:
    db = create_engine(sqlite_file_url, busy_timeout_ms=BUSY_TIMEOUT_MS)
    sessionmaker = create_sessionmaker(db)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            services = Services.build(uow.session, now=clock.now())
            await services.pipelines.ensure_default()
            await services.users.add(name="Lan", role="sales", telegram_id=1001)
        knowledge = GatedKnowledge()
        engine = Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(), router=ROUTER,
                        render_reminder=reminder_reply, ports=Ports(knowledge=knowledge))
        customer, lan = ChatDriver(engine, "555"), ChatDriver(engine, "1001")

        question = asyncio.create_task(customer.say("ghế bảo hành bao lâu?"))
        assert await asyncio.to_thread(knowledge.asked.wait, SAFETY_NET_S)

        await lan.say("Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu")
        await lan.press("Lưu")
        knowledge.gate.set()
        answered = await asyncio.wait_for(question, SAFETY_NET_S)

        async with UnitOfWork(sessionmaker) as uow:
            saved = await uow.session.scalar(select(func.count()).select_from(Interaction)
                                             .where(Interaction.source == "chat"))
        assert saved == 1, lan.text
        assert any("bảo hành 3 năm" in reply.text for reply in answered), [r.text for r in answered]
    finally:
        await db.dispose()
