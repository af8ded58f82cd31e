"""The console as a channel: the scheduler's pushes are printed, and `>N text` replies to message #N."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from sqlalchemy import func, select

from bot.adapters.console import ConsoleChannel
from bot.core.engine import Engine
from bot.scheduler import Scheduler
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import LogDraft
from tests.conftest import OpenServices

VI = Texts("vi")


async def _console_ticket(open_services: OpenServices) -> None:
    """A console customer, Chị Hoa, asked for a person; nobody answered."""
    async with open_services() as services:
        customer = await services.support.identify("console", "customer:Chị Hoa", "Chị Hoa")
        await services.support.open_ticket(customer, reason="asked_for_human", language="vi", transcript=[],
                                           assignee=None)


async def test_a_manager_answers_an_escalation_in_the_console_by_replying_to_its_number(
        engine: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    await _console_ticket(open_services)
    clock.advance(timedelta(hours=2))
    out = io.StringIO()
    console = ConsoleChannel(engine, scheduler=Scheduler(engine, interval_s=30), user="Quang", out=out, echo=True)

    await console.run(["/tickets", ">1 Dạ em là Quang, em hỗ trợ chị ngay"])

    transcript = out.getvalue()
    assert "bot [#1]: ⏰ Phiếu #1" in transcript
    assert "→ customer:Chị Hoa: 💬 Nhân viên Quang: Dạ em là Quang, em hỗ trợ chị ngay" in transcript


async def test_replying_to_a_number_this_chat_was_not_shown_says_so_and_logs_nothing(
        engine: Engine, open_services: OpenServices) -> None:
    out = io.StringIO()
    console = ConsoleChannel(engine, scheduler=Scheduler(engine, interval_s=30), user="Lan", out=out, echo=False)

    await console.run([">7 gọi lại anh Minh bên Hòa Phát ngày mai", ">3"])

    said = out.getvalue()
    assert said.count(Texts("vi")("common.reply_unknown", number="7").split("[")[0]) == 2
    assert "Hòa Phát" not in said  # not read as a log about something else
    async with open_services() as services:
        assert await services.session.scalar(select(func.count()).select_from(LogDraft)) == 0


async def test_a_console_customer_is_shown_the_rating_stars_of_a_ticket_closed_in_the_same_run_and_presses_one(
        engine: Engine, open_services: OpenServices) -> None:
    await _console_ticket(open_services)
    scheduler = Scheduler(engine, interval_s=30)
    out = io.StringIO()
    await ConsoleChannel(engine, scheduler=scheduler, user="Quang", out=out, echo=True).run(["/close 1"])
    customer = ConsoleChannel(engine, scheduler=scheduler, user="Chị Hoa", customer=True, out=out, echo=True)

    await customer.run(["4"])

    transcript = out.getvalue()
    closed = Texts("vi")("support.closed", ticket=1)
    assert f"bot: {closed}\n  [1] ⭐  [2] ⭐⭐  [3] ⭐⭐⭐  [4] ⭐⭐⭐⭐  [5] ⭐⭐⭐⭐⭐" in transcript
    assert Texts("vi")("support.rated", score=4) in transcript
    async with open_services() as services:
        ticket = await services.support.get(1)
    assert ticket.csat == 4


def _number_of(transcript: str, label: str) -> str:
    """The number the latest printed button `label` has: `[3] Đàm phán` → "3"."""
    found = re.findall(r"\[(\d+)\] " + re.escape(label), transcript)
    assert found, transcript
    return str(found[-1])


async def test_a_number_typed_while_the_bot_waits_for_one_is_the_answer_not_a_button(
        engine: Engine, open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Thảo", role="admin", telegram_id=3001)
    out = io.StringIO()
    console = ConsoleChannel(engine, scheduler=Scheduler(engine, interval_s=30), user="Thảo", out=out, echo=False)
    await console.send("/pipelines")
    await console.send(_number_of(out.getvalue(), "Bán hàng chung"))
    await console.send(_number_of(out.getvalue(), "Đàm phán"))
    await console.send(_number_of(out.getvalue(), VI("pipes.btn_stall")))
    assert out.getvalue().rstrip().endswith(VI("pipes.ask_stall"))

    await console.send("5")  # the stage card's [5] is no longer what a number presses

    assert VI("pipes.stall_days", days=5) in out.getvalue().split(VI("pipes.ask_stall"))[-1]
    await console.send(_number_of(out.getvalue(), VI("btn.back")))  # the new card's buttons take numbers again
    assert "[1]" in out.getvalue().split(VI("pipes.stall_days", days=5))[-1]
