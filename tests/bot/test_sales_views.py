"""Deals, tasks, customers and reminders in chat, with the role checks."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bot.core.engine import Engine
from bot.core.messages import MAX_TEXT_CHARS
from crm_core.clock import FrozenClock
from crm_core.models import Deal, Task
from tests.bot.conftest import ChatDriver
from tests.support.scheduling import RecordedPushes


async def _seed_deals(open_services, owner: str, count: int, *, company_prefix: str = "Công ty") -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    async with open_services() as services:
        user = await services.users.by_name(owner)
        for i in range(count):
            company = await services.directory.create_company(f"{company_prefix} số {i}", owner_id=user.id)
            deal = await services.deals.create(title=f"{company.name} — {10 + i} bộ bàn ghế văn phòng cao cấp",
                                               owner_id=user.id, company_id=company.id, contact_id=None,
                                               stage_key=("new", "quote", "negotiation")[i % 3],
                                               amount=Decimal(100_000_000 + i), currency="VND", quantity=10 + i)
            ids.append(deal.id)
    return ids


async def test_deals_are_paged_and_every_page_fits_telegram(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await _seed_deals(open_services, "Lan", 30)
    await lan.say("/deals")
    assert "trang 1/4" in lan.text
    seen = set()
    for _ in range(4):
        assert all(len(r.text) <= MAX_TEXT_CHARS for r in lan.last)
        seen.update(b.data for b in lan.buttons if b.data.startswith("deal:"))
        if any("Sau" in b.label for b in lan.buttons):
            await lan.press("Sau")
    assert len(seen) == 30
    assert "trang 4/4" in lan.text


async def test_deals_list_shows_stage_totals_in_vietnamese_money(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await _seed_deals(open_services, "Lan", 3)
    await lan.say("/deals")
    assert "▸ Mới (1) · 100.000.000 ₫" in lan.text


async def test_a_salespersons_deal_list_holds_only_their_own_deals(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await _seed_deals(open_services, "Tuấn", 2, company_prefix="Khách của Tuấn")
    await lan.say("/deals")
    assert "Khách của Tuấn" not in lan.text
    # /deal, /customer, /find and /ask show colleagues' deals by the visibility rule: tests/bot/test_deal_visibility.py


async def test_a_manager_sees_the_team_and_filters_by_salesperson(quang: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await _seed_deals(open_services, "Tuấn", 2, company_prefix="Khách của Tuấn")
    await _seed_deals(open_services, "Lan", 2, company_prefix="Khách của Lan")
    await quang.say("/deals")
    assert "Khách của Tuấn" in quang.text
    assert "Khách của Lan" in quang.text
    await quang.press("Lan")
    assert "Khách của Tuấn" not in quang.text
    assert "Khách của Lan" in quang.text


async def test_deal_card_moves_stage_and_marks_won(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    [deal_id] = await _seed_deals(open_services, "Lan", 1, company_prefix="Hòa Phát")
    await lan.say("/deal hoa phat")
    assert "Hòa Phát số 0" in lan.text
    await lan.press("Chuyển giai đoạn")
    await lan.press("Đàm phán")
    assert "Đàm phán" in lan.text
    await lan.press("Thắng")
    assert "Đánh dấu thắng" in lan.text  # asked first
    await lan.press("Xác nhận")
    assert "Chúc mừng" in lan.text
    async with open_services() as services:
        deal = await services.session.get(Deal, deal_id)
    assert deal is not None
    assert deal.status == "won"


async def test_a_manager_reassigns_a_deal_and_the_new_owner_is_told(quang: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    [deal_id] = await _seed_deals(open_services, "Lan", 1)
    await quang.tap(f"deal:v1:open:{deal_id}")
    await quang.press("Giao cho")
    replies = await quang.press("Tuấn")
    assert any(r.chat_id == "1002" and "Quang" in r.text for r in replies)
    async with open_services() as services:
        deal = await services.session.get(Deal, deal_id)
        tuan = await services.users.by_name("Tuấn")
    assert deal is not None
    assert tuan is not None
    assert deal.owner_id == tuan.id


async def test_a_salesperson_cannot_reassign_even_with_a_crafted_button(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    [deal_id] = await _seed_deals(open_services, "Lan", 1)
    await lan.tap(f"deal:v1:to:{deal_id}:2")
    assert "không có quyền" in lan.text


async def _task(open_services, owner: str, title: str, due: datetime | None) -> int:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        user = await services.users.by_name(owner)
        task = await services.tasks.create(owner_id=user.id, title=title, due_at=due)
        await services.session.flush()
        return task.id


async def test_tasks_are_grouped_overdue_today_and_next_week(lan: ChatDriver, clock: FrozenClock,  # type: ignore[no-untyped-def]
                                                           open_services) -> None:
    now = clock.now()
    await _task(open_services, "Lan", "Gửi hợp đồng", now - timedelta(days=2))
    await _task(open_services, "Lan", "Gọi chị Hà", now + timedelta(hours=3))
    await _task(open_services, "Lan", "Demo ghế", now + timedelta(days=3))
    await lan.say("/tasks")
    text = lan.text
    assert text.index("Quá hạn") < text.index("Gửi hợp đồng") < text.index("Hôm nay") < text.index("Gọi chị Hà")
    assert text.index("7 ngày tới") < text.index("Demo ghế")


async def test_done_then_done_again_says_it_is_already_done(lan: ChatDriver, clock: FrozenClock,  # type: ignore[no-untyped-def]
                                                          open_services) -> None:
    task_id = await _task(open_services, "Lan", "Gửi hợp đồng", clock.now())
    await lan.tap(f"task:v1:done:{task_id}")
    assert "Đã xong" in lan.text
    await lan.tap(f"task:v1:done:{task_id}")
    assert "đã xong rồi" in lan.text


async def test_snooze_moves_the_task_to_tomorrow_morning(lan: ChatDriver, clock: FrozenClock,  # type: ignore[no-untyped-def]
                                                       open_services) -> None:
    task_id = await _task(open_services, "Lan", "Gửi hợp đồng", clock.now())
    await lan.tap(f"task:v1:snz:{task_id}")
    await lan.press("Sáng mai")
    async with open_services() as services:
        task = await services.session.get(Task, task_id)
    assert task is not None
    assert task.due_at is not None
    assert task.due_at.astimezone(clock.now().tzinfo).isoformat().startswith("2026-11-24T09:00")


async def test_a_reminder_reaches_the_owner_when_the_task_falls_due(pushes: RecordedPushes, clock: FrozenClock,  # type: ignore[no-untyped-def]
                                                                  open_services) -> None:
    await _task(open_services, "Lan", "Gọi lại chị Hà", clock.now() + timedelta(hours=2))
    assert await pushes.tick() == []
    clock.advance(timedelta(hours=2, minutes=1))
    delivered = await pushes.tick()
    assert len(delivered) == 1
    assert delivered[0].chat_id == "1001"
    assert "Gọi lại chị Hà" in delivered[0].text
    assert delivered[0].keyboard is not None
    assert any("Xong" in b.label for b in delivered[0].keyboard.buttons())
    assert await pushes.tick() == []


async def test_customer_view_shows_company_contacts_deals_and_tasks(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await lan.say("Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá thứ Sáu")
    await lan.press("Lưu")
    await lan.say("/customer HOA PHAT")
    text = lan.text
    assert "🏢 Hòa Phát" in text
    assert "Minh" in text
    assert "500.000.000 ₫" in text
    assert "báo giá" in text


async def test_find_ignores_accents_and_case(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        company = await services.directory.create_company("Hòa Phát", owner_id=None)
        await services.directory.create_contact("Nguyễn Văn Minh", company_id=company.id, owner_id=None)
    await lan.say("/find nguyen van minh")
    assert "Nguyễn Văn Minh — Hòa Phát" in lan.text


async def test_command_menus_differ_by_role(engine: Engine) -> None:
    menus = {m.chat_id: [c for c, _ in m.commands] for m in await engine.command_menus("telegram")}
    assert "deals" in menus["1001"]
    assert "deals" not in menus[None]
    assert all(1 <= len(c) <= 32 for commands in menus.values() for c in commands)
