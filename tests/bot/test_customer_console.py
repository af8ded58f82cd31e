"""A customer in the console (issue 11 review): numbered buttons everywhere, the answer's buttons still reachable
after the share-my-phone button, a clear word when no --phone was given, and no staff notices in their transcript."""

from __future__ import annotations

import io

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapters.console import ConsoleChannel
from bot.core.engine import Engine
from bot.scheduler import Scheduler
from bot.texts import Texts
from crm_core.models import CustomerQuestion, Lead
from tests.bot.test_customer_followups import _rows
from tests.conftest import OpenServices

VI = Texts("vi")
PRICE = "bàn AP-D120 giá bao nhiêu"


def _customer(engine: Engine, out: io.StringIO, aside: io.StringIO, *, phone: str | None = None) -> ConsoleChannel:
    return ConsoleChannel(engine, scheduler=Scheduler(engine, interval_s=30), user="Chị Hoa", customer=True,
                          out=out, echo=True, phone=phone, aside=aside)


async def test_the_answers_buttons_come_first_and_the_share_button_is_numbered_after_them(
        support_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    out, aside = io.StringIO(), io.StringIO()

    await _customer(support_engine, out, aside, phone="0912345678").run([PRICE, "4"])

    transcript = out.getvalue()
    assert f"  [4] {VI('support.btn_share_phone')}" in transcript
    assert len(await _rows(sessionmaker, CustomerQuestion)) == 1  # "4" pressed the share button, asked nothing
    assert len(await _rows(sessionmaker, Lead)) == 1


async def test_pressing_share_without_a_phone_says_to_pass_one(
        support_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    out, aside = io.StringIO(), io.StringIO()

    await _customer(support_engine, out, aside).run([PRICE, "4"])

    assert out.getvalue().rstrip().endswith(f"bot: {VI('common.share_phone_console')}")
    assert "--phone" in VI("common.share_phone_console")
    assert len(await _rows(sessionmaker, CustomerQuestion)) == 1  # "4" was not asked as a question


async def test_a_customers_console_prints_no_staff_notice(support_engine: Engine) -> None:
    out, aside = io.StringIO(), io.StringIO()

    await _customer(support_engine, out, aside).run(["gặp nhân viên"])

    assert "→ " not in out.getvalue()
    assert "🎫" not in out.getvalue()
    assert "🎫" in aside.getvalue()


async def test_a_staff_console_numbers_the_rating_stars_it_sends_a_customer(
        engine: Engine, open_services: OpenServices) -> None:
    async with open_services() as services:
        customer = await services.support.identify("console", "customer:Chị Hoa", "Chị Hoa")
        await services.support.open_ticket(customer, reason="asked_for_human", language="vi", transcript=[],
                                           assignee=None)
    out = io.StringIO()

    await ConsoleChannel(engine, scheduler=Scheduler(engine, interval_s=30), user="Quang", out=out,
                         echo=True).run(["/close 1"])

    assert "  [1] ⭐  [2] ⭐⭐  [3] ⭐⭐⭐  [4] ⭐⭐⭐⭐  [5] ⭐⭐⭐⭐⭐" in out.getvalue()
