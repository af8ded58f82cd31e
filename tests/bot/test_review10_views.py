"""Views (review of issue 10, new user 10): /tasks NAME pages on to the tasks after the next 7 days with a
"Sau ▶️" button; a salesperson's /tasks with an unknown name says so; namesakes in the /deals filter buttons
are told apart by their number."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.texts import Texts
from crm_core.clock import FrozenClock
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")
PER_PAGE = 8  # CHATCRM_PAGE_SIZE's default


async def _tasks(open_services: OpenServices, owner: str, titles_and_days: list[tuple[str, float]],
                 clock: FrozenClock) -> None:
    async with open_services() as services:
        user = await services.users.by_name(owner)
        assert user is not None
        for title, days in titles_and_days:
            await services.tasks.create(owner_id=user.id, title=title, due_at=clock.now() + timedelta(days=days))
        await services.session.flush()


async def test_the_tasks_after_the_next_week_come_with_a_next_button(quang: ChatDriver, open_services: OpenServices,
                                                                     clock: FrozenClock) -> None:
    soon = [(f"Gọi lại khách số {i}", 1 + i / 10) for i in range(PER_PAGE)]
    later = [(f"Gửi thiệp Tết khách số {i}", 20.0 + i) for i in range(3)]
    await _tasks(open_services, "Lan", soon + later, clock)

    await quang.say("/tasks Lan")

    assert VI("task.later", count=3) in quang.text
    await quang.press(VI("btn.next"))
    assert VI("task.later_heading") in quang.text
    assert "Gửi thiệp Tết khách số 0" in quang.text
    assert "Gửi thiệp Tết khách số 2" in quang.text


async def test_a_few_later_tasks_are_listed_on_the_same_page(lan: ChatDriver, open_services: OpenServices,
                                                             clock: FrozenClock) -> None:
    await _tasks(open_services, "Lan", [("Gọi lại anh Minh", 1), ("Gửi thiệp Tết", 30)], clock)
    await lan.say("/tasks")
    assert "Gửi thiệp Tết" in lan.text
    assert VI("task.later", count=1) not in lan.text


async def test_a_salesperson_naming_nobody_is_told_the_name_is_unknown(lan: ChatDriver, open_services: OpenServices,
                                                                       clock: FrozenClock) -> None:
    await _tasks(open_services, "Lan", [("Gọi lại anh Minh", 1)], clock)
    await lan.say("/tasks Xyz")
    assert "Gọi lại anh Minh" not in lan.text
    assert lan.text.startswith(VI("task.unknown_rep", name="Xyz", names="§").split("§")[0])


async def test_namesakes_in_the_deals_filter_are_told_apart(quang: ChatDriver, open_services: OpenServices) -> None:
    async with open_services() as services:
        first = await services.users.by_name("Lan")
        assert first is not None
        second = await services.users.add(name="Lan", role="sales", force=True)
        row = await services.directory.create_company("Hòa Phát", owner_id=first.id)
        await services.deals.create(title="Hòa Phát — 100 ghế", owner_id=first.id, company_id=row.id,
                                    contact_id=None, stage_key="quote", amount=Decimal(100_000_000), currency="VND",
                                    quantity=100)

    await quang.say("/deals")

    labels = [b.label for b in quang.buttons]
    assert f"Lan (#{first.id})" in labels
    assert f"Lan (#{second.id})" in labels
    assert "Lan" not in labels
