"""A burst of chats at once: every message stored and answered, none told "busy", none handled twice."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.core.messages import Inbound, Reply
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.db import create_engine, create_sessionmaker
from crm_core.models import CustomerQuestion, LogDraft
from crm_core.ports import Ports
from crm_core.retrieval.models import Answer
from crm_core.services import Services
from crm_core.uow import UnitOfWork

CUSTOMERS = 30
LOGS = 10
BAD_ANSWERS = {Texts(lang)(key) for lang in ("vi", "en") for key in ("common.busy", "common.unexpected")}


class SlowKnowledge:
    """Answers after a pause, in its thread, as a loaded knowledge base would."""

    def ask(self, question: str) -> Answer:
        time.sleep(0.05)
        return Answer(body="Ghế được bảo hành 3 năm.", confidence=0.9, handoff=False, language="vi")


async def _burst(engine: Engine) -> list[list[Reply]]:
    customers = [Inbound(channel="telegram", chat_id=str(800_000 + i), user_id=str(800_000 + i),
                         text="ghế bảo hành bao lâu?", update_id=str(70_000 + i), message_id=str(70_000 + i),
                         display_name=f"Khách {i}") for i in range(CUSTOMERS)]
    logs = [Inbound(channel="telegram", chat_id="1001", user_id="1001", update_id=str(71_000 + i),
                    message_id=str(71_000 + i), text=f"Gọi anh Minh bên Công ty Số {i}, gửi báo giá thứ Sáu")
            for i in range(LOGS)]
    return list(await asyncio.gather(*(engine.handle(inbound) for inbound in customers + logs)))


async def _count(sessionmaker: async_sessionmaker[AsyncSession], table: type) -> int:
    async with UnitOfWork(sessionmaker) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_burst_of_forty_chats_is_stored_and_answered_without_busy(
        migrated_url: str, clock: FrozenClock) -> None:
    db = create_engine(migrated_url)
    sessionmaker = create_sessionmaker(db)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            services = Services.build(uow.session, now=clock.now())
            await services.pipelines.ensure_default()
            await services.users.add(name="Lan", role="sales", telegram_id=1001)
        engine = Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(), router=ROUTER,
                        render_reminder=reminder_reply, ports=Ports(knowledge=SlowKnowledge()))

        answers = await _burst(engine)

        bad = [r.text for replies in answers for r in replies if r.text in BAD_ANSWERS]
        assert bad == []
        assert all(answers)
        assert await _count(sessionmaker, CustomerQuestion) == CUSTOMERS
        assert await _count(sessionmaker, LogDraft) == LOGS
    finally:
        await db.dispose()
