"""A customer reads the knowledge on lines: a polite opening, table rows as "label: value", list items kept, the line
answering what was asked first, the source by its title."""

from __future__ import annotations

import pytest_asyncio

from bot.core.engine import Engine
from bot.texts import Texts
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
EN = Texts("en")


@pytest_asyncio.fixture
async def customer(support_engine: Engine) -> ChatDriver:
    """A customer in a private Telegram chat."""
    return ChatDriver(support_engine, "555101")


async def test_a_table_answer_arrives_as_label_value_lines(customer: ChatDriver) -> None:
    text = (await customer.say("mua 50 bộ bàn ghế có chiết khấu không?"))[0].text

    lines = text.splitlines()[1:]  # after the opening
    assert lines[0] == "50-99 bộ: 5%"  # the row holding the customer's quantity first
    assert "10-49 bộ: 3%" in lines
    assert "|" not in text
    assert "---" not in text


async def test_a_price_answer_starts_with_the_price_and_keeps_the_list(customer: ChatDriver) -> None:
    text = (await customer.say("ghế AP-C210 giá bao nhiêu"))[0].text

    lines = text.splitlines()[1:]  # after the opening
    assert "2.150.000" in lines[0]
    assert sum(1 for line in lines if line.startswith("- ")) >= 3


async def test_a_vietnamese_answer_opens_politely_and_ends_with_its_source(customer: ChatDriver) -> None:
    text = (await customer.say("ap-c210 bao nhiu"))[0].text

    lines = text.splitlines()
    assert lines[0] == VI("support.answer_opening")
    assert "2.150.000" in lines[1]  # a bare "how much" of a model asks its price
    assert lines[-1].startswith(VI("support.source", title=""))


async def test_an_english_answer_opens_in_english(support_engine: Engine) -> None:
    english = ChatDriver(support_engine, "555102", language_code="vi")

    text = (await english.say("What are your opening hours on Sunday?"))[0].text

    assert text.splitlines()[0] == EN("support.answer_opening")


async def test_a_faq_answer_names_no_file(customer: ChatDriver) -> None:
    text = (await customer.say("showroom ở đâu vậy"))[0].text

    assert "Faq" not in text
    assert "faq.csv" not in text
