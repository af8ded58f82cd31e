"""Times of day in logs and reminders (issue 10): "3h chiều" is 15:00, not the default 09:00."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm_core.clock import FrozenClock
from crm_core.models import Task
from tests.bot.conftest import ChatDriver

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


async def _only_task(open_services) -> Task:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        tasks = list(await services.session.scalars(select(Task)))
    assert len(tasks) == 1
    task: Task = tasks[0]
    return task


async def test_a_reminder_with_a_time_of_day_is_due_and_reminded_then(  # type: ignore[no-untyped-def]
    lan: ChatDriver, open_services, clock: FrozenClock
) -> None:
    await lan.say("nhắc tôi 3h chiều mai gọi anh Minh")
    assert "Đã tạo việc" in lan.text
    task = await _only_task(open_services)
    assert task.due_at is not None
    assert task.due_at.astimezone(HCM) == datetime(2026, 11, 24, 15, 0, tzinfo=HCM)
    assert task.title == "gọi anh Minh"  # no "3h chiều mai" left in the title

    async with open_services(now=datetime(2026, 11, 24, 14, 59, tzinfo=HCM)) as services:
        assert await services.tasks.claim_reminders() == []
    async with open_services(now=datetime(2026, 11, 24, 15, 0, tzinfo=HCM)) as services:
        assert [t.id for t, _owner in await services.tasks.claim_reminders()] == [task.id]


async def test_a_saved_log_with_a_time_of_day_makes_its_task_due_then(  # type: ignore[no-untyped-def]
    lan: ChatDriver, open_services
) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, 3h chiều thứ 6 gửi báo giá 200 bộ")
    assert "27/11 15:00" in lan.text  # the card shows the time it will save
    await lan.press("Lưu")
    assert "Đã lưu" in lan.text
    task = await _only_task(open_services)
    assert task.due_at is not None
    assert task.due_at.astimezone(HCM) == datetime(2026, 11, 27, 15, 0, tzinfo=HCM)
    assert "thứ 6" not in task.title
    assert "3h" not in task.title


async def test_a_log_without_a_time_keeps_the_default_hour(  # type: ignore[no-untyped-def]
    lan: ChatDriver, open_services
) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá trước thứ Sáu")
    await lan.press("Lưu")
    task = await _only_task(open_services)
    assert task.due_at is not None
    assert task.due_at.astimezone(HCM) == datetime(2026, 11, 27, 9, 0, tzinfo=HCM)
    assert task.title == "gửi báo giá"
