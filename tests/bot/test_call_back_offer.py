"""The call-back offer (share your phone) comes once a conversation, never while a person has her ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest_asyncio

from bot.core.engine import Engine
from bot.core.messages import Reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from tests.bot.conftest import ChatDriver

vi = Texts("vi")
PRICE = "bàn AP-D120 giá bao nhiêu"
OTHER_PRICE = "ghế AP-C300 giá bao nhiêu"


@pytest_asyncio.fixture
async def customer(support_engine: Engine) -> ChatDriver:
    """A customer in a private Telegram chat."""
    return ChatDriver(support_engine, "555001")


def _offers(replies: list[Reply]) -> list[Reply]:
    return [r for r in replies if r.text == vi("support.offer_phone")]


async def test_a_second_price_question_gets_its_answer_without_the_offer_again(
        customer: ChatDriver, clock: FrozenClock) -> None:
    assert len(_offers(await customer.say(PRICE))) == 1
    clock.advance(timedelta(minutes=3))

    replies = await customer.say(OTHER_PRICE)

    assert replies[0].keyboard is not None  # answered, with its buttons
    assert _offers(replies) == []


async def test_a_price_question_while_her_ticket_is_open_gets_no_offer(customer: ChatDriver) -> None:
    await customer.say("shop ơi e đặt 5 cái ghế mà giao thiếu 1 cái, e muốn hoàn tiền")

    replies = await customer.say(PRICE)

    assert vi("support.answered_on_ticket", ticket=1) in replies[0].text  # answered, on her ticket
    assert _offers(replies) == []


async def test_once_she_has_given_her_phone_she_is_not_offered_a_call_back_again(
        customer: ChatDriver, clock: FrozenClock) -> None:
    await customer.say(PRICE)
    await customer.say(None, shared_phone="+84912345678")
    clock.advance(timedelta(days=3))

    assert _offers(await customer.say(OTHER_PRICE)) == []


async def test_a_new_conversation_days_later_may_get_the_offer_again(customer: ChatDriver,
                                                                     clock: FrozenClock) -> None:
    await customer.say(PRICE)
    clock.advance(timedelta(days=2))

    assert len(_offers(await customer.say(OTHER_PRICE))) == 1
