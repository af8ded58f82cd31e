"""The manager's summary over real HTTP: aiogram polling against the local Bot API server.

The evening push arrives when the clock reaches 18:00 (not before), as a photo (sendPhoto, the chart)
followed by the summary's text with its drill-in buttons; `/summary` typed by the manager gets the same,
and a drill-in button opens one salesperson's activity. Every request the bot sends is validated against
the Bot API spec (`api.problems`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import PushSettings, Settings
from crm_core.models import Interaction
from tests.conftest import OpenServices
from tests.support.aiogram_harness import handled, running
from tests.support.fake_bot_api import FakeBotApi, TgMessage

LAN, TUAN, QUANG = 1001, 1002, 2001
VI = Texts("vi")
MONDAY = "T2 23/11"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def first(messages: list[TgMessage], wanted: Callable[[TgMessage], bool]) -> TgMessage:
    """Return the first message that is `wanted`; LookupError ("not yet" for `wait_for`) when none is."""
    for message in messages:
        if wanted(message):
            return message
    raise LookupError("no such message yet")


@pytest_asyncio.fixture
async def pushing(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
                  open_services: OpenServices) -> Engine:
    """The staff of `engine` (Lan, Tuấn sales; Quang manager) with pushes on; Lan called three customers
    this morning and has a task overdue since yesterday."""
    async with open_services() as services:
        lan = await services.users.by_name("Lan")
        assert lan is not None
        await services.tasks.create(owner_id=lan.id, title="Gọi lại anh Minh", due_at=clock.now() - timedelta(days=1))
        for n in range(3):
            services.session.add(Interaction(kind="call", occurred_at=clock.now() - timedelta(hours=n + 1),
                                             owner_id=lan.id, summary=f"Gọi khách số {n}", created_at=clock.now()))
    # The morning digest still goes out late in the day here: it is how a test sees that the scheduler has ticked.
    pushes = PushSettings(enabled=True, digest_catch_up_hours=12)
    return Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(pushes=pushes),
                  router=ROUTER, render_reminder=reminder_reply)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_user(LAN, first_name="Lan", language_code="vi")
        server.add_user(TUAN, first_name="Tuấn", language_code="vi")
        server.add_user(QUANG, first_name="Quang", language_code="vi")
        yield server


def _assert_summary_pair(api: FakeBotApi, photo: TgMessage, text: TgMessage) -> None:
    """A photo of the chart (a real PNG, captioned), then the day's summary with the drill-in buttons."""
    assert photo.kind == "photo"
    assert photo.caption == VI("summary.chart_caption")
    assert photo.file_id is not None
    assert api.file_bytes(photo.file_id).startswith(PNG_MAGIC)
    assert (text.text or "").startswith(VI("summary.title_day", day=MONDAY))
    assert VI("summary.btn_rep", name="Lan") in text.buttons
    assert VI("summary.btn_overdue", name="Lan") in text.buttons
    assert text.message_id > photo.message_id


async def test_the_evening_summary_is_pushed_to_the_manager_when_the_clock_reaches_six(
        api: FakeBotApi, pushing: Engine, clock: FrozenClock) -> None:
    clock.set(clock.now().replace(hour=17, minute=59))
    digest_title = VI("summary.digest_title", name="Lan", day=MONDAY)
    async with running(api, pushing, push_interval_s=0.05) as (dispatcher, _bot):
        # Lan's morning digest (due since 08:00) proves the scheduler has ticked at 17:59 ...
        await api.wait_for(lambda: first(api.sent(LAN), lambda m: digest_title in (m.text or "")), chat_id=LAN)
        assert api.sent(QUANG) == []  # ... and the summary waits for 18:00

        clock.advance(timedelta(minutes=2))
        [photo, text] = await api.wait_for(2, chat_id=QUANG)
        await handled(dispatcher)

    _assert_summary_pair(api, photo, text)
    [send_photo] = api.calls("sendPhoto")
    assert send_photo.params["chat_id"] == QUANG
    assert send_photo.problems == []
    assert len(api.sent(QUANG)) == 2  # pushed once, whatever the ticks since
    assert api.problems == []


async def test_summary_typed_by_a_manager_gets_the_chart_and_a_button_opens_a_salespersons_day(
        api: FakeBotApi, pushing: Engine) -> None:
    async with running(api, pushing) as (dispatcher, _bot):
        photo, text = await api.say(QUANG, "/summary", expect=2)
        _assert_summary_pair(api, photo, text)

        [activity] = await api.press(QUANG, VI("summary.btn_rep", name="Lan"), message_id=text.message_id)
        await handled(dispatcher)

    body = activity.text or ""
    assert body.startswith("👤 Lan: 3 ")
    assert body.count("Gọi khách số") == 3
    assert [r.params["chat_id"] for r in api.calls("sendPhoto")] == [QUANG]
    assert api.problems == []
