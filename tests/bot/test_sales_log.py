"""Logging a call from free text: preview, save in one go, fix a field, undo, ambiguity."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from crm_core.clock import FrozenClock
from crm_core.models import Company, Contact, Deal, Interaction, LogDraft, Task
from tests.bot.conftest import ChatDriver

HOA_PHAT_LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu"


async def _count(open_services, model) -> int:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        return int(await services.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_log_preview_shows_what_was_understood_with_save_first(lan: ChatDriver) -> None:
    await lan.say(HOA_PHAT_LOG)
    assert "Minh" in lan.text
    assert "Hòa Phát" in lan.text
    assert "27/11" in lan.text  # Friday after Monday 23/11
    assert [b.label for b in lan.buttons][:3] == ["✅ Lưu", "✏️ Sửa", "✖️ Hủy"]


async def test_save_writes_interaction_task_and_deal_together(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await lan.say(HOA_PHAT_LOG)
    await lan.press("Lưu")
    assert "Đã lưu" in lan.text
    async with open_services() as services:
        interaction = await services.session.scalar(select(Interaction))
        task = await services.session.scalar(select(Task))
        deal = await services.session.scalar(select(Deal))
        company = await services.session.scalar(select(Company))
    assert interaction is not None
    assert interaction.summary == HOA_PHAT_LOG
    assert task is not None
    assert task.due_at is not None
    assert task.due_at.date().isoformat() == "2026-11-27"
    assert deal is not None
    assert deal.company_id == company.id
    assert company is not None
    assert company.name == "Hòa Phát"


async def test_second_tap_on_save_saves_nothing_twice(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await lan.say(HOA_PHAT_LOG)
    save = lan.buttons[0].data
    await lan.tap(save)
    await lan.tap(save)
    assert "đã được lưu rồi" in lan.text
    assert await _count(open_services, Interaction) == 1
    assert await _count(open_services, Deal) == 1


async def test_the_same_update_delivered_twice_is_handled_once(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    first = await lan.say(HOA_PHAT_LOG, update_id=42)
    second = await lan.say(HOA_PHAT_LOG, update_id=42)
    assert first
    assert second == []
    assert await _count(open_services, LogDraft) == 1


async def test_undo_within_the_window_removes_everything_the_log_created(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await lan.say(HOA_PHAT_LOG)
    await lan.press("Lưu")
    await lan.press("Hoàn tác")
    assert "Đã hoàn tác" in lan.text
    for model in (Interaction, Task, Deal, Contact, Company):
        assert await _count(open_services, model) == 0


async def test_undo_after_the_window_is_refused(lan: ChatDriver, clock: FrozenClock, open_services) -> None:  # type: ignore[no-untyped-def]
    await lan.say(HOA_PHAT_LOG)
    await lan.press("Lưu")
    clock.advance(timedelta(minutes=6))
    await lan.press("Hoàn tác")
    assert "không thể hoàn tác" in lan.text
    assert await _count(open_services, Interaction) == 1


async def test_cancel_keeps_the_raw_text_but_saves_nothing(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await lan.say(HOA_PHAT_LOG)
    await lan.press("Hủy")
    async with open_services() as services:
        draft = await services.session.scalar(select(LogDraft))
    assert draft is not None
    assert draft.raw_text == HOA_PHAT_LOG
    assert draft.status == "cancelled"
    assert await _count(open_services, Interaction) == 0


async def test_edit_lets_the_user_fix_the_amount_by_typing_it(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await lan.say(HOA_PHAT_LOG)
    await lan.press("Sửa")
    await lan.press("Giá trị")
    assert "Nhập giá trị mới" in lan.text
    await lan.say("1,2 tỷ")
    assert "1.200.000.000 ₫" in lan.text
    await lan.press("Lưu")
    async with open_services() as services:
        deal = await services.session.scalar(select(Deal))
    assert deal is not None
    assert deal.amount == Decimal("1200000000")


async def test_an_unreadable_amount_while_editing_says_what_to_type(lan: ChatDriver) -> None:
    await lan.say(HOA_PHAT_LOG)
    await lan.press("Sửa")
    await lan.press("Giá trị")
    await lan.say("không biết")
    assert "Không đọc được số tiền" in lan.text


async def test_a_lookalike_company_is_asked_about_inside_the_preview(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        await services.directory.create_company("Hòa Phát Steel", owner_id=None)
        await services.directory.create_company("Hòa Phát Nội thất", owner_id=None)  # two: really ambiguous
    await lan.say("Gọi anh Minh bên Hoa Phat, hẹn gặp thứ 6")
    assert "Có phải công ty đã có" in lan.text
    await lan.press("Tạo mới")
    await lan.press("Lưu")
    async with open_services() as services:
        names = sorted((await services.session.scalars(select(Company.name))).all())
    assert names == ["Hoa Phat", "Hòa Phát Nội thất", "Hòa Phát Steel"]


async def test_confirming_a_lookalike_uses_the_existing_company(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        await services.directory.create_company("Hòa Phát Steel", owner_id=None)
    await lan.say("Gọi anh Minh bên Hoa Phat, hẹn gặp thứ 6")
    await lan.press("Lưu")
    assert await _count(open_services, Company) == 1


async def test_two_contacts_with_the_same_name_are_asked_about(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        first = await services.directory.create_company("Hòa Phát", owner_id=None)
        second = await services.directory.create_company("Thép Việt", owner_id=None)
        await services.directory.create_contact("Nguyễn Văn Minh", company_id=first.id, owner_id=None)
        await services.directory.create_contact("Trần Quang Minh", company_id=second.id, owner_id=None)
    await lan.say("Gọi anh Minh, hẹn gửi báo giá ngày mai")
    assert "Có nhiều người tên Minh" in lan.text
    await lan.press("Trần Quang Minh")
    await lan.press("Lưu")
    async with open_services() as services:
        interaction = await services.session.scalar(select(Interaction))
    assert interaction is not None
    assert interaction.company_id == second.id


async def test_editing_an_unsaved_log_message_reparses_it(lan: ChatDriver) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai", message_id=900)
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá thứ Sáu", message_id=900, is_edit=True)
    assert "27/11" in lan.text


async def test_editing_a_message_that_is_not_an_open_log_does_nothing(lan: ChatDriver) -> None:
    assert await lan.say("/tasks", message_id=901, is_edit=True) == [] or "Việc" in lan.text


async def test_a_reminder_request_creates_a_task_directly(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await lan.say("nhắc tôi gọi lại anh Minh thứ 6")
    assert "Đã tạo việc" in lan.text
    async with open_services() as services:
        task = await services.session.scalar(select(Task))
    assert task is not None
    assert task.due_at is not None
    assert task.due_at.date().isoformat() == "2026-11-27"
    assert await _count(open_services, Interaction) == 0
