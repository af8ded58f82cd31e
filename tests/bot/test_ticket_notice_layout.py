"""Staff notices about a ticket show why it was opened first, then its latest messages, compactly."""

from __future__ import annotations

from datetime import timedelta

import pytest_asyncio

from bot.core.engine import Engine
from bot.core.messages import MAX_TEXT_CHARS, Reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from tests.bot.conftest import ChatDriver
from tests.support.scheduling import RecordedPushes

vi = Texts("vi")
COMPLAINT = "shop ơi e đặt 5 cái ghế mà giao thiếu 1 cái, e muốn hoàn tiền"
PRICE = "bàn AP-D120 giá bao nhiêu"
LATER = ["giờ mở cửa", "hom nay troi co mua ko shop", "ship ra ha noi bao lau", "giờ mở cửa",
         "bảo hành ghế bao lâu", PRICE, "có xuất hóa đơn không"]


@pytest_asyncio.fixture
async def customer(support_engine: Engine) -> ChatDriver:
    """A customer in a private Telegram chat."""
    return ChatDriver(support_engine, "555001")


async def _complaint_then_questions(customer: ChatDriver, clock: FrozenClock, later: list[str]) -> None:
    """A price question, a refund complaint (ticket #1, Lan), her asking for Lan, then questions the bot answers."""
    for text in [PRICE, COMPLAINT, "cho e gặp chị Lan", *later]:
        await customer.say(text, display_name="Chị Hoa")
        clock.advance(timedelta(minutes=2))


def _header(key: str, **values: object) -> str:
    return vi(key, **values, transcript="").split("\n")[0]


async def _escalation(support_engine: Engine, clock: FrozenClock) -> Reply:
    clock.advance(timedelta(minutes=31))
    return next(r for r in await RecordedPushes(support_engine).tick()
                if r.chat_id == "2001" and r.text.startswith(_header("staff.ticket_escalated", ticket=1, minutes=30,
                                                                        customer="", phone="", assignee="")))


async def test_an_escalation_shows_the_messages_that_opened_the_ticket_before_the_latest_ones(
        customer: ChatDriver, support_engine: Engine, clock: FrozenClock) -> None:
    await _complaint_then_questions(customer, clock, LATER)

    text = (await _escalation(support_engine, clock)).text

    assert COMPLAINT in text
    assert "👤 cho e gặp chị Lan" in text
    assert text.index(COMPLAINT) < text.index(vi("staff.lines_between")) < text.index("có xuất hóa đơn không")
    assert "/close 1" in text  # the notice is whole, within one Telegram message
    assert len(text) <= MAX_TEXT_CHARS


async def test_an_answer_given_again_is_shown_once_and_answers_by_their_opening(
        customer: ChatDriver, support_engine: Engine, clock: FrozenClock) -> None:
    await _complaint_then_questions(customer, clock, ["giờ mở cửa", "giờ mở cửa"])

    text = (await _escalation(support_engine, clock)).text

    assert text.count("showroom Tân Bình") == 1  # the opening-hours answer, once
    assert vi("staff.line_bot", text=vi("staff.same_answer")) in text
    answers = text.split("\n🤖 ")[1:]
    assert all(len(block.split("\n👤")[0].split("\n\n")[0]) < 200 for block in answers)


async def test_a_long_ticket_still_fits_one_message_with_its_opening(
        customer: ChatDriver, support_engine: Engine, clock: FrozenClock) -> None:
    long = "e hỏi thêm về đơn hàng " + "rất dài " * 110
    await _complaint_then_questions(customer, clock, [f"{long} {n}" for n in range(12)])

    text = (await _escalation(support_engine, clock)).text

    assert COMPLAINT in text
    assert f"{long} 11"[:100] in text  # the latest
    assert "/close 1" in text
    assert len(text) <= MAX_TEXT_CHARS


async def test_the_bots_answers_notice_starts_with_why_the_ticket_was_opened(
        customer: ChatDriver, clock: FrozenClock) -> None:
    await _complaint_then_questions(customer, clock, [])
    clock.advance(timedelta(minutes=5))

    await customer.say("giờ mở cửa")

    notice = customer.pushed_to("1001")[0].text
    assert notice.startswith(_header("staff.ticket_answered_one", ticket=1, customer="Chị Hoa", count=1))
    assert notice.index(COMPLAINT) < notice.index("👤 giờ mở cửa")


async def test_a_new_tickets_notice_shows_the_bots_earlier_answers_by_their_opening(
        customer: ChatDriver, clock: FrozenClock) -> None:
    await customer.say(PRICE, display_name="Chị Hoa")

    await customer.say(COMPLAINT)

    notice = customer.pushed_to("1001")[0].text
    assert COMPLAINT in notice
    assert "Tải trọng mặt bàn" not in notice  # the price answer's later lines
