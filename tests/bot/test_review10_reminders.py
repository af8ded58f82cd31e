"""Reminders (review of issue 10, new user 5): every everyday way to ask ("nhac t", "nhắc e", "nhớ nhắc",
"remind me") makes a reminder, not a log; a reminder is linked to its person and company with a log's matching
(unaccented, short names); a reminder much like an open one for the same person says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import Task
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")


async def _people(open_services: OpenServices) -> dict[str, int]:
    async with open_services() as services:
        lan = await services.users.by_name("Lan")
        assert lan is not None
        thuan = await services.directory.create_company("Thuận Thành", owner_id=lan.id)
        quan = await services.directory.create_contact("Nguyễn Văn Quân", company_id=thuan.id, owner_id=lan.id)
        kaizen = await services.directory.create_company("Kaizen Precision Vietnam", owner_id=lan.id)
        daniel = await services.directory.create_contact("Daniel Yamamoto", company_id=kaizen.id, owner_id=lan.id)
        await services.session.flush()
        return {"thuan": thuan.id, "quan": quan.id, "kaizen": kaizen.id, "daniel": daniel.id, "lan": lan.id}


async def _newest_task(open_services: OpenServices) -> Task:
    async with open_services() as services:
        return (await services.session.execute(select(Task).order_by(Task.id.desc()).limit(1))).scalar_one()


@pytest.mark.parametrize("text", [
    "nhac t trua mai gui mau ghe cho c Xuan",
    "nhắc e 9h sáng t2 gửi hđ cho chị Hà",
    "nhắc t mai gọi anh Minh",
    "nhac e mai goi anh Minh",
    "nhắc mình mai gọi anh Minh",
    "nhớ nhắc mai gọi anh Minh",
    "remind me to call Mr. John tomorrow",
])
async def test_everyday_reminder_words_make_a_reminder(text: str, lan: ChatDriver,
                                                       open_services: OpenServices) -> None:
    await lan.say(text)
    assert VI("btn.save") not in [b.label for b in lan.buttons]  # not a log preview
    task = await _newest_task(open_services)
    assert task.title
    assert not task.title.lower().startswith(("nhac", "nhắc", "nhớ", "remind"))


async def test_a_reminder_is_linked_to_the_person_and_company_as_a_log_is(lan: ChatDriver,
                                                                         open_services: OpenServices) -> None:
    ids = await _people(open_services)
    await lan.say("nhac toi thu 6 goi lai a Quan ben Thuan Thanh")
    task = await _newest_task(open_services)
    assert (task.contact_id, task.company_id) == (ids["quan"], ids["thuan"])


async def test_an_english_reminder_is_linked_too(lan: ChatDriver, open_services: OpenServices) -> None:
    ids = await _people(open_services)
    await lan.say("remind me to email Daniel at Kaizen tomorrow 10am")
    task = await _newest_task(open_services)
    assert (task.contact_id, task.company_id) == (ids["daniel"], ids["kaizen"])


async def test_a_reminder_like_an_open_task_for_the_same_person_says_so(
        lan: ChatDriver, open_services: OpenServices, clock: FrozenClock) -> None:
    ids = await _people(open_services)
    async with open_services() as services:
        old = await services.tasks.create(owner_id=ids["lan"], title="Gọi lại anh Quân về báo giá 50 ghế",
                                          due_at=clock.now() + timedelta(days=1), contact_id=ids["quan"],
                                          company_id=ids["thuan"])
        await services.session.flush()
        old_id = old.id

    await lan.say("nhac toi thu 6 goi lai a Quan ben Thuan Thanh")

    assert "Gọi lại anh Quân về báo giá 50 ghế" in lan.text
    assert VI("btn.open_similar_task", id=old_id) in [b.label for b in lan.buttons]


async def test_a_reminder_for_someone_else_says_nothing_of_other_tasks(
        lan: ChatDriver, open_services: OpenServices, clock: FrozenClock) -> None:
    ids = await _people(open_services)
    async with open_services() as services:
        await services.tasks.create(owner_id=ids["lan"], title="Gọi lại anh Quân về báo giá", contact_id=ids["quan"],
                                    due_at=clock.now() + timedelta(days=1), company_id=ids["thuan"])
    await lan.say("remind me to email Daniel at Kaizen tomorrow 10am")
    assert "Gọi lại anh Quân" not in lan.text
