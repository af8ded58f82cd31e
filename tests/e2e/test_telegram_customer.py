"""A customer over real HTTP: aiogram polling against the local Bot API server, every request validated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import Lead
from tests.support.bot_harness import RunBot, handled
from tests.support.fake_bot_api import FakeBotApi

LAN = 1001
THAO = 3001  # admin
CUSTOMER = 555
VI = Texts("vi")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_user(LAN, first_name="Lan", language_code="vi")
        server.add_user(THAO, first_name="Thảo", language_code="vi")
        server.add_user(CUSTOMER, first_name="Hoa", last_name="Phạm", language_code="vi")
        yield server


async def test_a_customer_is_answered_leaves_a_phone_and_talks_to_lan_through_the_bot(running: RunBot,
        api: FakeBotApi, support_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with running(api, support_engine) as tg:
        answer, _offer = await api.say(CUSTOMER, "bàn AP-D120 giá bao nhiêu", expect=2)
        assert "1.850.000" in (answer.text or "")
        assert "Theo:" in (answer.text or "")
        assert answer.buttons == ["👍 Hữu ích", "👎 Chưa đúng", "Gặp nhân viên"]
        assert api.reply_keyboard(CUSTOMER) is not None  # the share-contact button

        api.send_contact(CUSTOMER, "+84912345678")
        await api.wait_for(lambda: any("Lan" in (m.text or "") for m in api.sent(CUSTOMER)[2:]), chat_id=CUSTOMER)
        await api.wait_for(lambda: any("+84912345678" in (m.text or "") for m in api.sent(LAN)), chat_id=LAN)

        await api.press(CUSTOMER, "Gặp nhân viên", message_id=answer.message_id)
        await api.wait_for(lambda: any("Phiếu #1" in (m.text or "") for m in api.sent(LAN)), chat_id=LAN)
        notice = next(m for m in api.sent(LAN) if "Phiếu #1" in (m.text or ""))
        await handled(tg)

        mark = len(api.sent(CUSTOMER))
        api.send_text(LAN, "Dạ chị, em gọi lại ngay ạ", reply_to=notice.message_id)
        await api.wait_for(lambda: len(api.sent(CUSTOMER)) > mark, chat_id=CUSTOMER)

    assert api.sent(CUSTOMER)[-1].text == "💬 Nhân viên Lan: Dạ chị, em gọi lại ngay ạ"
    async with sessionmaker() as session:
        assert len(list(await session.scalars(select(Lead)))) == 1
    assert api.problems == []


async def test_lan_hears_of_the_bots_answers_on_her_ticket_once_in_five_minutes_and_answers_by_replying(
        running: RunBot, api: FakeBotApi, support_engine: Engine, clock: FrozenClock) -> None:
    one = VI("staff.ticket_answered_one", ticket=1, customer="Hoa Phạm", count=1, transcript="").split("\n")[0]
    two = VI("staff.ticket_answered", ticket=1, customer="Hoa Phạm", count=2, transcript="").split("\n")[0]
    async with running(api, support_engine) as tg:
        await api.say(CUSTOMER, "gặp nhân viên")
        await api.wait_for(lambda: any("Phiếu #1" in (m.text or "") for m in api.sent(LAN)), chat_id=LAN)
        await api.say(CUSTOMER, "bàn AP-D120 giá bao nhiêu")  # the answer; no call-back offer on an open ticket
        await api.wait_for(lambda: any((m.text or "").startswith(one) for m in api.sent(LAN)), chat_id=LAN)
        clock.advance(timedelta(minutes=1))
        await api.say(CUSTOMER, "giờ mở cửa")
        await api.say(CUSTOMER, "ship ra ha noi bao lau")
        await handled(tg)
        assert not any((m.text or "").startswith(two) for m in api.sent(LAN))  # within five minutes

        clock.advance(timedelta(minutes=5))
        await api.say(CUSTOMER, "ghe c300 gia bn")  # past them: one notice, the held-back answer with it
        three = VI("staff.ticket_answered", ticket=1, customer="Hoa Phạm", count=3, transcript="").split("\n")[0]
        await api.wait_for(lambda: any((m.text or "").startswith(three) for m in api.sent(LAN)), chat_id=LAN)
        notice = next(m for m in api.sent(LAN) if (m.text or "").startswith(three))
        await handled(tg)

        mark = len(api.sent(CUSTOMER))
        api.send_text(LAN, "Dạ ghế C300 bên em còn hàng ạ", reply_to=notice.message_id)
        await api.wait_for(lambda: len(api.sent(CUSTOMER)) > mark, chat_id=CUSTOMER)

    assert api.sent(CUSTOMER)[-1].text == "💬 Nhân viên Lan: Dạ ghế C300 bên em còn hàng ạ"
    assert [m.text.split("\n")[0] for m in api.sent(LAN) if (m.text or "").startswith((one, two, three))] == [
        one, three]
    assert api.problems == []


async def test_the_erased_notice_takes_the_share_your_phone_keyboard_off_the_customers_screen(running: RunBot,
        api: FakeBotApi, support_engine: Engine) -> None:
    async with running(api, support_engine) as tg:
        await api.say(CUSTOMER, "bàn AP-D120 giá bao nhiêu", expect=2)
        assert api.reply_keyboard(CUSTOMER) is not None  # the share-contact button
        await api.say(CUSTOMER, "/privacy")
        await api.press(CUSTOMER, VI("privacy.btn_erase"))
        await api.wait_for(lambda: any(m.buttons for m in api.sent(THAO)), chat_id=THAO)
        await handled(tg)
        assert api.reply_keyboard(CUSTOMER) is not None  # still there while the request waits

        mark = len(api.sent(CUSTOMER))
        await api.press(THAO, VI("privacy.btn_approve", request=1))  # what will be erased, then the confirmation
        await api.press(THAO, VI("privacy.btn_erase_for_good", request=1))
        await api.wait_for(lambda: len(api.sent(CUSTOMER)) > mark, chat_id=CUSTOMER)
        await handled(tg)

    assert api.sent(CUSTOMER)[-1].text == VI("privacy.approved", request=1)
    assert api.reply_keyboard(CUSTOMER) is None
    assert api.problems == []
