"""A console session never takes the reminders of people reached on Telegram."""

from __future__ import annotations

from datetime import timedelta

from bot.core.engine import Engine
from crm_core.clock import FrozenClock
from tests.conftest import OpenServices
from tests.support.scheduling import RecordedPushes


async def _due_task(open_services: OpenServices, clock: FrozenClock, owner: str, title: str) -> None:
    async with open_services() as services:
        user = await services.users.by_name(owner)
        assert user is not None
        await services.tasks.create(owner_id=user.id, title=title, due_at=clock.now() + timedelta(minutes=1))


async def test_a_console_scheduler_leaves_telegram_users_reminders_to_telegram(
        engine: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    await _due_task(open_services, clock, "Lan", "gọi lại anh Minh")  # Lan is on Telegram
    clock.advance(timedelta(minutes=2))

    console = await RecordedPushes(engine, channels=("console",)).tick()
    telegram = await RecordedPushes(engine, channels=("telegram",)).tick()

    assert console == []
    assert [(p.channel, p.chat_id) for p in telegram] == [("telegram", "1001")]


async def test_someone_reached_only_on_the_console_is_reminded_there(
        engine: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    async with open_services() as services:
        await services.users.add(name="Mai", role="sales")  # no Telegram id
    await _due_task(open_services, clock, "Mai", "gửi hợp đồng")
    clock.advance(timedelta(minutes=2))

    pushed = await RecordedPushes(engine, channels=("console", "telegram")).tick()

    assert [(p.channel, p.chat_id) for p in pushed] == [("console", "Mai")]


async def test_a_staff_name_cannot_pose_as_a_console_customer_or_a_colleague(open_services: OpenServices) -> None:
    import pytest

    from crm_core.errors import InvalidInput

    async with open_services() as services:
        await services.users.add(name="Lan", role="sales")
        with pytest.raises(InvalidInput):
            await services.users.add(name="customer:Bob", role="admin")
        with pytest.raises(InvalidInput):
            await services.users.add(name="lan", role="admin")
