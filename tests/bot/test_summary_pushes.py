"""The summary in chat (/summary, /pipeline, /forecast, drill-ins, /settings) and its scheduled pushes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.core.messages import MAX_TEXT_CHARS, Reply
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import PushSettings, Settings
from crm_core.db import create_engine, create_sessionmaker
from crm_core.models import Interaction
from crm_core.reports.chart import DPI, HEIGHT_IN, WIDTH_IN
from crm_core.reports.pushes import PushStore
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices
from tests.support.scheduling import RecordedPushes

PUSHING = Settings(pushes=PushSettings(enabled=True))


def _engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Engine:
    return Engine(sessionmaker=sessionmaker, clock=clock, settings=PUSHING, router=ROUTER,
                  render_reminder=reminder_reply)


@pytest_asyncio.fixture
async def pushing(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Engine:
    """The staff of `engine` (Lan, Tuấn sales; Quang manager) on an engine whose pushes are on."""
    return _engine(sessionmaker, clock)


@pytest_asyncio.fixture
async def second_process(migrated_url: str, clock: FrozenClock, pushing: Engine) -> AsyncIterator[Engine]:
    """Another engine over the same database with its own connections, as in a second bot process."""
    db = create_engine(migrated_url)
    try:
        yield _engine(create_sessionmaker(db), clock)
    finally:
        await db.dispose()


async def _overdue_task(open_services: OpenServices, clock: FrozenClock, owner: str) -> None:
    async with open_services() as services:
        user = await services.users.by_name(owner)
        assert user is not None
        await services.tasks.create(owner_id=user.id, title="Gọi lại anh Minh", due_at=clock.now() - timedelta(days=1))


def _photo(replies: list[Reply]) -> Reply:
    return next(r for r in replies if r.file is not None)


async def test_a_manager_gets_the_summary_as_one_message_with_a_phone_sized_chart(pushing: Engine) -> None:
    quang = ChatDriver(pushing, "2001")

    replies = await quang.say("/summary")

    reply = _photo(replies)
    assert reply.file is not None
    assert reply.file.kind == "photo"
    assert len(reply.text) <= MAX_TEXT_CHARS
    assert Texts("vi")("summary.title_day", day="T2 23/11") in reply.text
    with Image.open(reply.file.path) as image:
        assert image.size == (round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI))
        assert image.getextrema() != ((255, 255), (255, 255), (255, 255), (255, 255))  # something is drawn


async def test_summary_reads_yesterday_a_date_a_week_and_a_month(pushing: Engine) -> None:
    quang, t = ChatDriver(pushing, "2001"), Texts("vi")

    assert t("summary.title_day", day="CN 22/11") in _photo(await quang.say("/summary hôm qua")).text
    assert t("summary.title_day", day="T6 20/11") in _photo(await quang.say("/summary 20/11")).text
    assert t("summary.title_day", day="T6 20/11") in _photo(await quang.say("/summary 2026-11-20")).text
    assert t("summary.title_week", first="23/11", last="29/11") in _photo(await quang.say("/summary tuần")).text
    assert t("summary.title_month", month="11/2026") in _photo(await quang.say("/summary tháng")).text
    assert (await quang.say("/summary linh tinh"))[0].text == t("summary.usage")


async def test_customers_get_no_summary(pushing: Engine) -> None:
    stranger = ChatDriver(pushing, "777")

    replies = await stranger.say("/summary")

    assert all(r.file is None for r in replies)
    assert replies[0].text == Texts("vi")("common.staff_only")


async def test_a_long_team_stays_under_telegrams_limit(pushing: Engine, open_services: OpenServices,
                                                       clock: FrozenClock) -> None:
    async with open_services() as services:
        for n in range(60):
            user = await services.users.add(name=f"Nhân viên Số {n:02d} Nguyễn Văn Rất Dài", role="sales",
                                            force=True)
            services.session.add(Interaction(kind="call", occurred_at=clock.now() - timedelta(hours=1),
                                             owner_id=user.id, summary="gọi", created_at=clock.now()))
    quang = ChatDriver(pushing, "2001")

    reply = _photo(await quang.say("/summary"))

    assert len(reply.text) <= MAX_TEXT_CHARS
    assert Texts("vi")("summary.more", count=50) in reply.text


async def test_drill_in_buttons_page_a_salespersons_activity_and_overdue_tasks(
        pushing: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    await _overdue_task(open_services, clock, "Lan")
    async with open_services() as services:
        lan = await services.users.by_name("Lan")
        assert lan is not None
        for n in range(10):
            services.session.add(Interaction(kind="call", occurred_at=clock.now() - timedelta(minutes=n + 1),
                                             owner_id=lan.id, summary=f"gọi {n}", created_at=clock.now()))
    quang = ChatDriver(pushing, "2001")
    await quang.say("/summary")

    page_one = await quang.press("👤 Lan")
    page_two = await quang.press("Sau")
    overdue = (await quang.say("/summary"), await quang.press("⏰ Lan"))[1]

    assert "1/2" in page_one[0].text
    assert "2/2" in page_two[0].text
    assert "Gọi lại anh Minh" in overdue[0].text


async def test_the_summary_is_pushed_once_to_managers_across_ticks_and_processes(
        pushing: Engine, second_process: Engine, clock: FrozenClock) -> None:
    first, second = RecordedPushes(pushing), RecordedPushes(second_process)
    clock.set(clock.now().replace(hour=17, minute=59))
    assert await first.tick() == []

    clock.advance(timedelta(minutes=6))
    sent = await first.tick() + await second.tick() + await first.tick()

    assert [(p.chat_id, p.file is not None) for p in sent] == [("2001", True)]


async def test_a_bot_back_the_same_evening_sends_the_missed_summary_once_and_not_the_old_ones(
        pushing: Engine, clock: FrozenClock) -> None:
    pushes = RecordedPushes(pushing)
    clock.set(clock.now().replace(hour=22))  # down since the morning

    assert [p.chat_id for p in await pushes.tick()] == ["2001"]
    clock.advance(timedelta(days=1))  # Tuesday 22:00: Tuesday's only
    assert [p.chat_id for p in await pushes.tick()] == ["2001"]


async def test_no_summary_on_a_day_off(pushing: Engine, clock: FrozenClock) -> None:
    pushes = RecordedPushes(pushing)
    clock.set(clock.now().replace(day=29, hour=19))  # Sunday; support hours Mon-Sat

    assert await pushes.tick() == []


async def test_a_salesperson_gets_a_morning_digest_of_their_own_work(
        pushing: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    await _overdue_task(open_services, clock, "Lan")
    pushes = RecordedPushes(pushing)

    title = Texts("vi")("summary.digest_title", name="Lan", day="T2 23/11")

    digests = [p for p in await pushes.tick() if title.split("!")[0] in p.text.split("!")[0]]

    assert [p.chat_id for p in digests] == ["1001"]  # Tuấn has nothing to do: no digest
    assert title in digests[0].text
    assert "Gọi lại anh Minh" in digests[0].text
    assert await pushes.tick() == []


async def test_a_bot_back_in_the_evening_skips_the_mornings_digest_but_sends_the_summary(
        pushing: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    await _overdue_task(open_services, clock, "Lan")
    pushes, t = RecordedPushes(pushing), Texts("vi")
    clock.set(clock.now().replace(hour=18, minute=58))  # down since before 08:00: the day's plan is no news now

    sent = await pushes.tick()

    assert [p.chat_id for p in sent if t("summary.digest_title", name="Lan", day="T2 23/11") in p.text] == []
    assert "2001" in [p.chat_id for p in sent]
    clock.set(clock.now().replace(hour=11, minute=30) + timedelta(days=1))  # Tuesday, 3.5 hours late: still news
    tuesday = t("summary.digest_title", name="Lan", day="T3 24/11")
    assert [p.chat_id for p in await pushes.tick() if tuesday in p.text] == ["1001"]


async def test_a_muted_summary_is_not_pushed(pushing: Engine, clock: FrozenClock) -> None:
    quang = ChatDriver(pushing, "2001")
    await quang.say("/settings")
    await quang.press("🔕")
    pushes = RecordedPushes(pushing)
    clock.set(clock.now().replace(hour=18, minute=30))

    assert await pushes.tick() == []


async def test_a_salesperson_moves_the_digest_to_a_later_time(
        pushing: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    await _overdue_task(open_services, clock, "Lan")
    lan = ChatDriver(pushing, "1001")
    clock.set(clock.now().replace(hour=7))
    await lan.say("/settings")
    await lan.press("🕒")
    await lan.say("10h30")
    pushes = RecordedPushes(pushing)

    digest = Texts("vi")("summary.digest_title", name="Lan", day="T2 23/11")

    clock.set(clock.now().replace(hour=10))
    assert [p for p in await pushes.tick() if digest in p.text] == []
    clock.set(clock.now().replace(hour=10, minute=31))
    assert [p.chat_id for p in await pushes.tick() if digest in p.text] == ["1001"]


async def test_pipeline_and_forecast_on_demand_say_which_probabilities(pushing: Engine) -> None:
    quang, t = ChatDriver(pushing, "2001"), Texts("vi")

    pipeline = await quang.say("/pipeline")
    forecast = await quang.say("/forecast")

    assert t("summary.pipeline_title", whose="") in pipeline[0].text
    assert t("summary.basis_configured") in forecast[0].text


async def test_on_postgresql_a_summary_another_process_is_still_computing_is_skipped_without_waiting(
        backend: str, pushing: Engine, second_process: Engine, open_services: OpenServices,
        clock: FrozenClock) -> None:
    if backend != "postgres":
        pytest.skip("PostgreSQL's row locks: an insert of a key another transaction inserted waits for it")
    clock.set(clock.now().replace(hour=18, minute=5))
    period = clock.now().astimezone(PUSHING.tz).date().isoformat()
    other = RecordedPushes(second_process)

    async with open_services() as services:  # the first process's tick, its claim open while it computes
        quang = await services.users.by_name("Quang")
        assert quang is not None
        store = PushStore(services.session, services.now, summary_time="18:00", digest_time="08:00")
        assert await store.claim(quang.id, "summary", period)
        assert await asyncio.wait_for(other.tick(), timeout=10) == []  # no lock timeout: done meanwhile

    assert await other.tick() == []  # the first process has it
