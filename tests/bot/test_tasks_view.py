"""/tasks: a compact list, one button per task that opens it (Done and Snooze inside), paged; an unknown
name is answered with the names there are."""

from __future__ import annotations

from datetime import timedelta

from bot.core.callbacks import pack
from bot.core.messages import MAX_CALLBACK_BYTES, MAX_TEXT_CHARS
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import Task
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")
PER_PAGE = 8  # CHATCRM_PAGE_SIZE's default


async def _tasks(open_services: OpenServices, clock: FrozenClock, owner: str, count: int, *,
                 title: str = "Gọi lại khách số {i}") -> list[int]:
    ids = []
    async with open_services() as services:
        user = await services.users.by_name(owner)
        assert user is not None
        for i in range(count):
            task = await services.tasks.create(owner_id=user.id, title=title.format(i=i),
                                               due_at=clock.now() + timedelta(hours=i - count // 2))
            await services.session.flush()
            ids.append(task.id)
    return ids


def _task_buttons(chat: ChatDriver) -> list[str]:
    return [b.data for b in chat.buttons if b.data.startswith("task:")]


async def test_a_manager_naming_nobody_is_told_who_the_salespeople_are(quang: ChatDriver, open_services: OpenServices,
                                                                       clock: FrozenClock) -> None:
    await _tasks(open_services, clock, "Lan", 2)

    replies = await quang.say("/tasks Xyz")

    assert [r.text for r in replies] == [VI("task.unknown_rep", name="Xyz", names="Lan, Tuấn")]
    assert "Gọi lại khách" not in quang.text


async def test_a_manager_names_a_colleague_without_accents(quang: ChatDriver, open_services: OpenServices,
                                                           clock: FrozenClock) -> None:
    await _tasks(open_services, clock, "Tuấn", 1, title="Giao mẫu ghế")
    await _tasks(open_services, clock, "Lan", 1, title="Gửi hợp đồng")

    await quang.say("/tasks tuan")

    assert quang.text.startswith(VI("task.list_title", who="Tuấn"))
    assert "Giao mẫu ghế" in quang.text
    assert "Gửi hợp đồng" not in quang.text


async def test_a_name_two_people_share_asks_for_more_of_it(quang: ChatDriver, open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Trần Thị Lan", role="sales", force=True)

    await quang.say("/tasks lan")

    assert quang.text == VI("task.ambiguous_rep", name="lan", names="Lan, Trần Thị Lan")


async def test_the_list_has_one_line_and_one_button_per_task(lan: ChatDriver, open_services: OpenServices,
                                                             clock: FrozenClock) -> None:
    ids = await _tasks(open_services, clock, "Lan", 3)

    await lan.say("/tasks")

    assert [d.split(":")[2] for d in _task_buttons(lan)] == ["open"] * 3  # no Done/Snooze pairs in the list
    assert {int(d.split(":")[3]) for d in _task_buttons(lan)} == set(ids)
    assert len([line for line in lan.text.splitlines() if "Gọi lại khách" in line]) == 3


async def test_forty_tasks_are_paged_eight_at_a_time_within_telegrams_limits(
        lan: ChatDriver, open_services: OpenServices, clock: FrozenClock) -> None:
    long_title = "Gửi báo giá bàn họp AP-D120 và ghế AP-C300 kèm catalogue " * 6 + "{i}"
    ids = await _tasks(open_services, clock, "Lan", 40, title=long_title)

    await lan.say("/tasks")
    seen: list[int] = []
    for page in range(1, 6):
        assert f"trang {page}/5" in lan.text.splitlines()[0]
        assert all(len(r.text) <= MAX_TEXT_CHARS for r in lan.last)
        assert all(len(b.data.encode()) <= MAX_CALLBACK_BYTES for b in lan.buttons)
        assert len(_task_buttons(lan)) == PER_PAGE
        seen += [int(d.split(":")[3]) for d in _task_buttons(lan)]
        if page < 5:
            await lan.press(VI("btn.next"))
    assert sorted(seen) == sorted(ids)
    assert VI("btn.next") not in [b.label for b in lan.buttons]

    await lan.press(VI("btn.prev"))
    assert "trang 4/5" in lan.text


async def test_an_opened_task_has_done_and_snooze_and_leads_back_to_its_page(
        lan: ChatDriver, open_services: OpenServices, clock: FrozenClock) -> None:
    ids = await _tasks(open_services, clock, "Lan", 10)
    await lan.say("/tasks")
    await lan.press(VI("btn.next"))
    opened = _task_buttons(lan)[0]
    task_id = int(opened.split(":")[3])

    await lan.tap(opened)
    assert lan.text.startswith(f"📌 #{task_id} ")
    assert [b.label for b in lan.buttons] == [f"{VI('btn.done')} #{task_id}", f"{VI('btn.snooze')} #{task_id}",
                                              VI("btn.back")]
    await lan.press(VI("btn.back"))
    assert "trang 2/2" in lan.text

    await lan.tap(opened)
    await lan.press(VI("btn.done"))
    assert task_id in ids
    async with open_services() as services:
        task = await services.session.get(Task, task_id)
    assert task is not None
    assert task.done_at is not None


async def test_a_done_task_opened_from_an_old_list_says_it_is_done(lan: ChatDriver, open_services: OpenServices,
                                                                   clock: FrozenClock) -> None:
    [task_id] = await _tasks(open_services, clock, "Lan", 1)
    await lan.say("/tasks")
    opened = _task_buttons(lan)[0]
    await lan.tap(pack("task", "done", task_id))

    await lan.tap(opened)

    assert lan.text == VI("task.already_done")


async def test_a_managers_page_buttons_keep_the_colleague(quang: ChatDriver, open_services: OpenServices,
                                                          clock: FrozenClock) -> None:
    tuans = await _tasks(open_services, clock, "Tuấn", 10)
    await _tasks(open_services, clock, "Lan", 10, title="Việc của Lan {i}")

    await quang.say("/tasks Tuấn")
    await quang.press(VI("btn.next"))

    assert quang.text.startswith(VI("task.list_title", who="Tuấn"))
    assert {int(d.split(":")[3]) for d in _task_buttons(quang)} <= set(tuans)
    assert "Việc của Lan" not in quang.text


async def test_a_salesperson_turning_a_forged_page_of_a_colleague_sees_their_own(
        lan: ChatDriver, open_services: OpenServices, clock: FrozenClock) -> None:
    own = await _tasks(open_services, clock, "Lan", 2)
    await _tasks(open_services, clock, "Tuấn", 2, title="Việc của Tuấn {i}")
    async with open_services() as services:
        tuan = await services.users.by_name("Tuấn")
    assert tuan is not None

    await lan.tap(pack("tasks", "page", 1, tuan.id))

    assert {int(d.split(":")[3]) for d in _task_buttons(lan)} == set(own)
    assert "Việc của Tuấn" not in lan.text
