"""A salesperson's day over real HTTP: aiogram polling against the local Bot API server.

Every request the bot sends is validated against the Bot API spec (`api.problems`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.core.engine import Engine
from crm_core.clock import FrozenClock
from crm_core.models import Interaction
from tests.support.bot_harness import RunBot
from tests.support.fake_bot_api import FakeBotApi

LAN = 1001
STRANGER = 555
LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_user(LAN, first_name="Lan", language_code="vi")
        server.add_user(STRANGER, first_name="Khách", language_code="vi")
        yield server


async def test_a_log_is_previewed_saved_and_listed_over_telegram(running: RunBot, api: FakeBotApi, engine: Engine,
                                                                 open_services) -> None:  # type: ignore[no-untyped-def]
    async with running(api, engine):
        [preview] = await api.say(LAN, LOG)
        assert "Hòa Phát" in (preview.text or "")
        assert preview.buttons[:3] == ["✅ Lưu", "✏️ Sửa", "✖️ Hủy"]
        [saved] = await api.press(LAN, "✅ Lưu")
        assert "Đã lưu" in (saved.text or "")
        [tasks] = await api.say(LAN, "/tasks")
        assert "gửi báo giá" in (tasks.text or "").lower()
    assert api.problems == []
    async with open_services() as services:
        assert await services.session.scalar(select(func.count()).select_from(Interaction)) == 1


async def test_a_redelivered_save_tap_saves_once(running: RunBot, api: FakeBotApi, engine: Engine,
                                                 open_services) -> None:  # type: ignore[no-untyped-def]
    async with running(api, engine):
        await api.say(LAN, LOG)
        api.tap(LAN, "✅ Lưu")
        tap_update = api.all_updates[-1]["update_id"]
        await api.wait_confirmed(tap_update)
        api.redeliver(tap_update)
        await api.wait_confirmed(tap_update)
        await api.say(LAN, "/tasks")
    async with open_services() as services:
        assert await services.session.scalar(select(func.count()).select_from(Interaction)) == 1
    assert api.problems == []


async def test_a_reminder_arrives_when_the_clock_reaches_the_due_time(running: RunBot, api: FakeBotApi, engine: Engine,
                                                                      clock: FrozenClock) -> None:
    async with running(api, engine, push_interval_s=0.05):
        await api.say(LAN, "nhắc tôi gọi lại anh Minh ngày mai")
        await api.wait_for(lambda: any("Đã tạo việc" in (m.text or "") for m in api.sent(LAN)), chat_id=LAN)
        assert not any("Nhắc việc" in (m.text or "") for m in api.sent(LAN))  # not before its time
        clock.advance(timedelta(days=1))
        reminder = await api.wait_for(
            lambda: next((m for m in api.sent(LAN) if "Nhắc việc" in (m.text or "")), None), chat_id=LAN)
        assert any("Xong" in label for label in reminder.buttons)
    assert api.problems == []


async def test_command_menus_are_set_per_role(running: RunBot, api: FakeBotApi, engine: Engine) -> None:
    async with running(api, engine):
        pass
    staff_menu = [c[0] for c in api.commands_for("chat", chat_id=LAN)]
    default_menu = [c[0] for c in api.commands_for("default")]
    assert "deals" in staff_menu
    assert "deals" not in default_menu
    assert api.problems == []


async def test_a_stranger_gets_their_id_and_no_crm_data(running: RunBot, api: FakeBotApi, engine: Engine) -> None:
    async with running(api, engine):
        [welcome] = await api.say(STRANGER, "/start")
        [own_id] = await api.say(STRANGER, "/id")
        [refusal] = await api.say(STRANGER, "/deals")
    assert str(STRANGER) not in (welcome.text or "")  # no staff-only note in a customer's welcome (issue 11)
    assert str(STRANGER) in (own_id.text or "")
    assert "Cơ hội" not in (refusal.text or "")
    assert api.problems == []


async def test_a_sticker_where_text_was_expected_gets_a_clear_answer(running: RunBot, api: FakeBotApi,
                                                                     engine: Engine) -> None:
    async with running(api, engine):
        api.send_sticker(LAN)
        await api.wait_for(lambda: api.sent(LAN), chat_id=LAN)
    assert "nhãn dán" in (api.last(LAN).text or "")
    assert api.problems == []


async def test_a_list_too_long_for_one_message_is_paged(running: RunBot, api: FakeBotApi, engine: Engine,
                                                        open_services) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    async with open_services() as services:
        lan = await services.users.by_name("Lan")
        for i in range(40):
            company = await services.directory.create_company(f"Công ty Thương mại Dịch vụ số {i}", owner_id=lan.id)
            await services.deals.create(title=f"{company.name} — " + "bàn ghế " * 20, owner_id=lan.id,
                                        company_id=company.id, contact_id=None, stage_key="quote",
                                        amount=Decimal(1_000_000 * (i + 1)), currency="VND", quantity=i + 1)
    async with running(api, engine):
        [page] = await api.say(LAN, "/deals")
        assert "1/5" in (page.text or "")
        [page2] = await api.press(LAN, "Sau ▶️")
        assert "2/5" in (page2.text or "")
    assert api.problems == []
