"""The summary in chat, as the issue 13 review read it: words managers read, dates in range, fair comparisons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import Contact, CustomerQuestion
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

VI = Texts("vi")


async def _handoffs(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, *reasons: str) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        customer = Contact(name="Khách", name_folded="khach", created_at=clock.now())
        uow.session.add(customer)
        await uow.session.flush()
        uow.session.add_all([CustomerQuestion(contact_id=customer.id, question="Cho gặp người thật", answer="",
                                              handoff=True, reason=reason, asked_at=clock.now() - timedelta(hours=1))
                             for reason in reasons])


async def test_hand_off_reasons_are_said_in_the_catalogues_words_not_their_codes(
        quang: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _handoffs(sessionmaker, clock, "asked_for_human", "unsafe")

    summary = (await quang.say("/summary"))[-1].text
    listed = (await quang.press(VI("summary.btn_handoffs")))[0].text

    for text in (summary, listed):
        assert VI("staff.reason_asked_for_human") in text
        assert VI("staff.reason_unsafe") in text
        assert "asked_for_human" not in text
        assert "unsafe" not in text
