"""Tasks: the day's plan relative to now, done, snooze, and reminders claimed once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crm_core.clock import FrozenClock
from crm_core.errors import AlreadyDone, Forbidden
from crm_core.schemas import UserOut
from tests.conftest import OpenServices
from tests.core.conftest import Team

HCM = ZoneInfo("Asia/Ho_Chi_Minh")  # the clock says Monday 23/11/2026 10:00 here


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=HCM)


async def _tasks(open_services: OpenServices, owner: UserOut, due: dict[str, datetime | None]) -> dict[str, int]:
    async with open_services() as services:
        rows = {
            title: await services.tasks.create(owner_id=owner.id, title=title, due_at=at) for title, at in due.items()
        }
        await services.session.flush()
        return {title: row.id for title, row in rows.items()}


async def test_open_tasks_fall_into_overdue_today_and_next_seven_days(open_services: OpenServices, team: Team) -> None:
    await _tasks(
        open_services,
        team.lan,
        {
            "yesterday": _at(22, 9),
            "this morning": _at(23, 9),
            "this afternoon": _at(23, 15),
            "tonight": _at(23, 23, 30),
            "tomorrow early": _at(24, 6),
            "in a week": _at(30, 9),
            "in nine days": datetime(2026, 12, 2, 9, tzinfo=HCM),
            "someday": None,
        },
    )

    async with open_services() as services:
        buckets = await services.tasks.buckets(team.lan)

    assert [t.title for t in buckets.overdue] == ["yesterday", "this morning"]
    assert [t.title for t in buckets.today] == ["this afternoon", "tonight"]
    assert [t.title for t in buckets.upcoming] == ["tomorrow early", "in a week"]
    assert buckets.later == 2


async def test_buckets_follow_the_clock(open_services: OpenServices, team: Team, clock: FrozenClock) -> None:
    await _tasks(open_services, team.lan, {"this afternoon": _at(23, 15)})
    clock.set(_at(23, 16))

    async with open_services() as services:
        buckets = await services.tasks.buckets(team.lan)

    assert ([t.title for t in buckets.overdue], buckets.today) == (["this afternoon"], [])


async def test_a_salesperson_plans_only_own_tasks(open_services: OpenServices, team: Team) -> None:
    await _tasks(open_services, team.lan, {"call Hòa Phát": _at(23, 15)})
    await _tasks(open_services, team.minh, {"call Vinamilk": _at(23, 15)})

    async with open_services() as services:
        lan = await services.tasks.buckets(team.lan, owner_id=team.minh.id)
        boss = await services.tasks.buckets(team.boss)

    assert [t.title for t in lan.today] == ["call Hòa Phát"]
    assert sorted(t.title for t in boss.today) == ["call Hòa Phát", "call Vinamilk"]


async def test_a_done_task_leaves_the_plan(open_services: OpenServices, team: Team) -> None:
    ids = await _tasks(open_services, team.lan, {"send quote": _at(23, 15)})

    async with open_services() as services:
        done = await services.tasks.done(ids["send quote"], team.lan)
    async with open_services() as services:
        buckets = await services.tasks.buckets(team.lan)

    assert done.done
    assert (buckets.overdue, buckets.today, buckets.upcoming, buckets.later) == ([], [], [], 0)


async def test_marking_a_task_done_twice_raises_already_done(open_services: OpenServices, team: Team) -> None:
    ids = await _tasks(open_services, team.lan, {"send quote": _at(23, 15)})
    async with open_services() as services:
        await services.tasks.done(ids["send quote"], team.lan)

    with pytest.raises(AlreadyDone):
        async with open_services() as services:
            await services.tasks.done(ids["send quote"], team.lan)


async def test_a_salesperson_cannot_close_someone_elses_task(open_services: OpenServices, team: Team) -> None:
    ids = await _tasks(open_services, team.minh, {"call Vinamilk": _at(23, 15)})

    with pytest.raises(Forbidden):
        async with open_services() as services:
            await services.tasks.done(ids["call Vinamilk"], team.lan)


async def test_due_tasks_are_claimed_for_reminding_once(open_services: OpenServices, team: Team) -> None:
    await _tasks(open_services, team.lan, {"call Hòa Phát": _at(23, 9), "send quote": _at(23, 15), "someday": None})

    async with open_services() as services:
        first = await services.tasks.claim_reminders()
    async with open_services() as services:
        second = await services.tasks.claim_reminders()

    assert [(task.title, owner.id if owner else None) for task, owner in first] == [("call Hòa Phát", team.lan.id)]
    assert second == []


async def test_a_task_is_claimed_when_its_time_comes(
    open_services: OpenServices, team: Team, clock: FrozenClock
) -> None:
    await _tasks(open_services, team.lan, {"send quote": _at(23, 15)})
    clock.set(_at(23, 15))

    async with open_services() as services:
        claimed = await services.tasks.claim_reminders()

    assert [task.title for task, _owner in claimed] == ["send quote"]


async def test_a_done_task_is_never_reminded(open_services: OpenServices, team: Team) -> None:
    ids = await _tasks(open_services, team.lan, {"call Hòa Phát": _at(23, 9)})
    async with open_services() as services:
        await services.tasks.done(ids["call Hòa Phát"], team.lan)

    async with open_services() as services:
        assert await services.tasks.claim_reminders() == []


async def test_snooze_moves_the_due_time_and_reminds_again_then(
    open_services: OpenServices, team: Team, clock: FrozenClock
) -> None:
    ids = await _tasks(open_services, team.lan, {"call Hòa Phát": _at(23, 9)})
    async with open_services() as services:
        assert len(await services.tasks.claim_reminders()) == 1

    async with open_services() as services:
        snoozed = await services.tasks.snooze(ids["call Hòa Phát"], team.lan, until=_at(23, 14))
    async with open_services() as services:
        before = await services.tasks.claim_reminders()
    clock.set(_at(23, 14))
    async with open_services() as services:
        after = await services.tasks.claim_reminders()

    assert snoozed.due_at == _at(23, 14)
    assert before == []
    assert [task.id for task, _owner in after] == [ids["call Hòa Phát"]]


async def test_snoozing_a_done_task_raises_already_done(open_services: OpenServices, team: Team) -> None:
    ids = await _tasks(open_services, team.lan, {"call Hòa Phát": _at(23, 9)})
    async with open_services() as services:
        await services.tasks.done(ids["call Hòa Phát"], team.lan)

    with pytest.raises(AlreadyDone):
        async with open_services() as services:
            await services.tasks.snooze(ids["call Hòa Phát"], team.lan, until=_at(24, 9))
