"""A link inside an admin's sentence (issue 15 review, item 3): asked to be added, read or learned, it gets the
"the bot opens no link, send the file" reply like a bare link, never a sales-log card; a log that only carries a
link is still a log. Both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import LogDraft
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

VI = Texts("vi")


@pytest.fixture
async def thao(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> ChatDriver:
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        thao = await services.users.add(name="Thảo", role="admin", telegram_id=3001)
        company = await services.directory.create_company("Kế toán Thuế Tín Nghĩa", owner_id=thao.id)
        await services.directory.create_contact("Lý Phương Trang", company_id=company.id, owner_id=thao.id)
    return ChatDriver(engine, "3001")


async def _drafts(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return len(list(await session.scalars(select(LogDraft.id))))


@pytest.mark.parametrize("text", [
    "e thêm giúp c trang này vào kho nhé https://docs.google.com/document/d/abc/edit",
    "e them giup c trang nay vao kho nhe https://docs.google.com/document/d/abc/edit",
    "please add https://anphat.vn/faq to the knowledge base",
    "Could you read this page? https://anphat.vn/faq",
])
async def test_a_link_an_admin_asks_to_add_gets_the_send_the_file_reply_not_a_log_card(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], text: str) -> None:
    [reply] = await thao.say(text)

    assert reply.text == VI("kb.url_not_fetched")
    assert await _drafts(sessionmaker) == 0


async def test_a_call_log_carrying_a_link_is_still_a_log(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    [reply] = await thao.say("gọi chị Trang bên Tín Nghĩa, đã gửi báo giá https://drive.google.com/file/d/xyz")

    assert reply.text.startswith(VI("log.preview_title"))
    assert await _drafts(sessionmaker) == 1
