"""Dialog state never eats a log: field edits, /cancel, /drafts, the reminder of a forgotten preview,
logs with nothing understood, greetings (issue 10)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import Interaction, LogDraft
from crm_core.models.outbox import OutboxMessage as Outbox
from crm_core.policy import Audience
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices
from tests.support.scheduling import RecordedPushes

VI = Texts("vi")
HOA_PHAT_LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu"
VINAMILK_LOG = "Gặp chị Lan bên Vinamilk, muốn 100 ghế, hẹn thứ 3 gửi mẫu"


def _head(key: str, **values: object) -> str:
    """The part of a text before its first placeholder: what a reply carrying it must contain."""
    return VI(key, **values).split("{")[0]


async def _drafts(open_services: OpenServices) -> list[LogDraft]:
    async with open_services() as services:
        return list((await services.session.scalars(select(LogDraft).order_by(LogDraft.id))).all())


async def _edit(chat: ChatDriver, field_label: str) -> None:
    await chat.press("Sửa")
    await chat.press(field_label)


# --- a field edit open: a new log is not the field's value ---------------------------------------------------


async def test_a_new_log_typed_while_the_due_date_is_asked_becomes_a_new_preview(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await lan.say(HOA_PHAT_LOG)
    await _edit(lan, "Hạn")
    assert VI("log.ask_value", field="hạn") in lan.text

    await lan.say(VINAMILK_LOG)

    assert "Vinamilk" in lan.text
    assert VI("log.old_draft_kept", field="hạn") in lan.text
    old, new = await _drafts(open_services)
    assert (old.status, new.status) == ("draft", "draft")
    assert old.fields["due"] == "2026-11-27"  # the old draft's due date did not change
    assert new.raw_text == VINAMILK_LOG
    assert [b.label for b in lan.buttons][:3] == [VI("btn.save"), VI("btn.edit"), VI("btn.cancel")]


async def test_after_a_new_log_took_the_place_of_a_value_the_next_text_is_a_log_again(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await lan.say(HOA_PHAT_LOG)
    await _edit(lan, "Hạn")
    await lan.say(VINAMILK_LOG)

    await lan.say("thứ 2")  # no field edit is open any more: a (nearly empty) new log, not a due date

    old = (await _drafts(open_services))[0]
    assert old.fields["due"] == "2026-11-27"


@pytest.mark.parametrize(("field_label", "value", "key", "expected"), [
    ("Hạn", "thứ 2", "due", "2026-11-30"),
    ("Hạn", "thứ 2 gọi lại", "due", "2026-11-30"),
    ("Giá trị", "1,2 tỷ", "amount", "1200000000"),
    ("Liên hệ", "chị Hoa", "contact", "chị Hoa"),
    ("Bước tiếp", "gửi báo giá cho anh Minh bên Hòa Phát trước thứ 6", "next_step",
     "gửi báo giá cho anh Minh bên Hòa Phát trước thứ 6"),
])
async def test_a_short_value_is_still_the_fields_value(lan: ChatDriver, open_services: OpenServices, field_label: str,
                                                       value: str, key: str, expected: str) -> None:
    await lan.say(HOA_PHAT_LOG)
    await _edit(lan, field_label)

    await lan.say(value)

    drafts = await _drafts(open_services)
    assert len(drafts) == 1
    assert str(drafts[0].fields[key]).removesuffix(".0") == expected or expected in str(drafts[0].fields[key])
    assert VI("log.old_draft_kept", field=field_label.lower()) not in lan.text


async def test_it_was_the_value_after_all_sets_it_on_the_kept_draft_and_drops_the_new_one(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await lan.say(HOA_PHAT_LOG)
    await _edit(lan, "Bước tiếp")
    await lan.say(VINAMILK_LOG)

    await lan.press(VI("btn.use_as_value", field="bước tiếp")[:12])

    old, new = await _drafts(open_services)
    assert old.status == "draft"
    assert old.fields["next_step"] == VINAMILK_LOG
    assert new.status == "cancelled"
    assert VI("log.preview_title") in lan.text


async def test_an_unreadable_value_says_what_to_type_and_shows_the_card_again(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await lan.say(HOA_PHAT_LOG)
    await _edit(lan, "Hạn")

    await lan.say("chưa chốt")

    assert _head("log.bad_due") in lan.text
    assert VI("log.type_again", field="hạn") in lan.text
    assert VI("log.preview_title") in lan.text  # the card again, with its buttons
    assert [b.label for b in lan.buttons][:3] == [VI("btn.save"), VI("btn.edit"), VI("btn.cancel")]
    await lan.say("thứ 2")  # the edit is still open
    assert (await _drafts(open_services))[0].fields["due"] == "2026-11-30"


# --- /cancel ---------------------------------------------------------------------------------------------------


async def test_cancel_with_a_preview_open_cancels_that_preview(lan: ChatDriver, open_services: OpenServices) -> None:
    await lan.say(HOA_PHAT_LOG)
    await lan.say(VINAMILK_LOG)

    await lan.say("/cancel")

    assert _head("log.cancelled_latest") in lan.text
    assert "Vinamilk" in lan.text
    first, second = await _drafts(open_services)
    assert (first.status, second.status) == ("draft", "cancelled")


async def test_cancel_with_nothing_open_says_nothing_is_in_progress(lan: ChatDriver) -> None:
    await lan.say(HOA_PHAT_LOG)
    await lan.press("Lưu")

    await lan.say("/cancel")

    assert lan.text == VI("common.nothing_to_cancel")


async def test_cancel_cancels_only_the_previews_of_its_own_chat_and_person(engine: Engine, lan: ChatDriver,
                                                                           open_services: OpenServices) -> None:
    tuan = ChatDriver(engine, "1002")
    await tuan.say(VINAMILK_LOG)

    await lan.say("/cancel")

    assert lan.text == VI("common.nothing_to_cancel")
    assert [d.status for d in await _drafts(open_services)] == ["draft"]


async def test_cancel_during_a_field_edit_leaves_the_edit_and_keeps_the_preview(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await lan.say(HOA_PHAT_LOG)
    await _edit(lan, "Hạn")

    await lan.say("/cancel")

    assert VI("log.edit_left") in lan.text
    assert VI("log.preview_title") in lan.text
    assert [d.status for d in await _drafts(open_services)] == ["draft"]
    await lan.say("/cancel")  # now the preview itself
    assert [d.status for d in await _drafts(open_services)] == ["cancelled"]


# --- /drafts ---------------------------------------------------------------------------------------------------


def test_drafts_is_a_staff_command_in_the_router() -> None:
    assert ROUTER.commands["drafts"].audience is Audience.STAFF


async def test_drafts_lists_unsaved_previews_newest_first_each_reopening_its_card(
        engine: Engine, lan: ChatDriver, clock: FrozenClock) -> None:
    await lan.say(HOA_PHAT_LOG)
    clock.advance(timedelta(minutes=1))
    await lan.say(VINAMILK_LOG)
    clock.advance(timedelta(minutes=1))
    await lan.say("Gọi anh Tú bên ABC, báo giá 30 triệu")
    await lan.press("Lưu")  # saved: not a draft any more
    await ChatDriver(engine, "1002").say("Gọi anh Hải bên Thép Việt, hẹn thứ 5")  # a colleague's

    await lan.say("/drafts")

    assert VI("log.drafts_title", count=2) in lan.text
    labels = [b.label for b in lan.buttons]
    assert len(labels) == 2
    assert "Vinamilk" in labels[0]
    assert "Hòa Phát" in labels[1]
    await lan.press("Hòa Phát")
    assert VI("log.preview_title") in lan.text
    assert [b.label for b in lan.buttons][:3] == [VI("btn.save"), VI("btn.edit"), VI("btn.cancel")]
    await lan.press("Lưu")
    assert "Đã lưu" in lan.text


async def test_drafts_with_none_open_says_so(lan: ChatDriver) -> None:
    await lan.say("/drafts")
    assert lan.text == VI("log.drafts_none")


# --- the reminder of a forgotten preview ------------------------------------------------------------------------


async def test_an_unsaved_preview_is_reminded_once_after_30_minutes_through_the_outbox(
        lan: ChatDriver, pushes: RecordedPushes, clock: FrozenClock, open_services: OpenServices) -> None:
    await lan.say(HOA_PHAT_LOG)
    clock.advance(timedelta(minutes=29))
    assert await pushes.tick() == []

    clock.advance(timedelta(minutes=1))
    reminded = await pushes.tick()

    assert [(p.chat_id, p.channel) for p in reminded] == [("1001", "telegram")]
    assert _head("log.draft_reminder") in reminded[0].text
    assert reminded[0].keyboard is not None
    assert [b.label for b in reminded[0].keyboard.buttons()] == [VI("btn.save"), VI("btn.open_draft"),
                                                                 VI("btn.cancel")]
    async with open_services() as services:
        sent = list((await services.session.scalars(select(Outbox.status))).all())
    assert "sent" in sent  # written to the outbox with the claim, then reported delivered
    clock.advance(timedelta(hours=3))
    assert await pushes.tick() == []  # once


async def test_a_saved_or_cancelled_preview_is_not_reminded(lan: ChatDriver, pushes: RecordedPushes,
                                                            clock: FrozenClock) -> None:
    await lan.say(HOA_PHAT_LOG)
    await lan.press("Lưu")
    await lan.say(VINAMILK_LOG)
    await lan.press("Hủy")
    clock.advance(timedelta(hours=1))

    assert await pushes.tick() == []


async def test_the_reminder_opens_the_card(lan: ChatDriver, pushes: RecordedPushes, clock: FrozenClock) -> None:
    await lan.say(HOA_PHAT_LOG)
    clock.advance(timedelta(minutes=31))
    (reminder,) = await pushes.tick()
    assert reminder.keyboard is not None
    lan.buttons = reminder.keyboard.buttons()

    await lan.press(VI("btn.open_draft"))

    assert VI("log.preview_title") in lan.text
    assert "Hòa Phát" in lan.text


async def test_the_reminder_delay_is_a_setting(sessionmaker, clock: FrozenClock, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    quick = Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(draft_reminder_minutes=5), router=ROUTER,
                   render_reminder=reminder_reply)
    await ChatDriver(quick, "1001").say(HOA_PHAT_LOG)
    clock.advance(timedelta(minutes=5))

    assert len(await RecordedPushes(quick).tick()) == 1


async def test_two_schedulers_remind_a_forgotten_preview_once(
        lan: ChatDriver, engine: Engine, migrated_url: str, clock: FrozenClock) -> None:
    import asyncio

    from crm_core.db import create_engine, create_sessionmaker

    db = create_engine(migrated_url)
    try:
        other = Engine(sessionmaker=create_sessionmaker(db), clock=clock, settings=Settings(), router=ROUTER,
                       render_reminder=reminder_reply)
        first, second = RecordedPushes(engine), RecordedPushes(other)
        for text in (HOA_PHAT_LOG, VINAMILK_LOG, "Gọi anh Tú bên ABC, báo giá 30 triệu"):
            await lan.say(text)
        clock.advance(timedelta(minutes=30))

        await asyncio.gather(first.tick(), second.tick())
    finally:
        await db.dispose()

    assert len(first.delivered) + len(second.delivered) == 3


# --- nothing understood, greetings -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["ok", "đã gọi", "xong rồi"])
async def test_a_log_with_nothing_understood_asks_what_happened_instead_of_offering_save(
        lan: ChatDriver, open_services: OpenServices, text: str) -> None:
    await lan.say(text)

    assert lan.text in (VI("log.what_happened"), VI("log.what_happened_kind", kind=VI("kind.call")))
    assert VI("btn.save") not in [b.label for b in lan.last[0].keyboard.buttons()] if lan.last[0].keyboard else True
    (kept,) = await _drafts(open_services)
    assert kept.raw_text == text  # kept, but not an open draft: not listed, not reminded, not savable
    assert kept.status == "unclear"


async def test_the_answer_to_what_happened_is_read_together_with_the_log(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await lan.say("đã gọi")
    assert lan.text == VI("log.what_happened_kind", kind=VI("kind.call"))

    await lan.say("anh Minh bên Hòa Phát, gửi báo giá thứ 6")

    assert VI("log.preview_title") in lan.text
    assert VI("kind.call") in lan.text
    await lan.press("Lưu")
    async with open_services() as services:
        interaction = await services.session.scalar(select(Interaction))
    assert interaction is not None
    assert interaction.kind == "call"
    assert interaction.summary == "đã gọi\nanh Minh bên Hòa Phát, gửi báo giá thứ 6"
    assert [d.status for d in await _drafts(open_services)] == ["merged", "saved"]


async def test_a_log_with_nothing_understood_is_not_listed_or_reminded(
        lan: ChatDriver, pushes: RecordedPushes, clock: FrozenClock) -> None:
    await lan.say("ok")
    clock.advance(timedelta(hours=1))

    assert await pushes.tick() == []
    await lan.say("/drafts")
    assert lan.text == VI("log.drafts_none")


@pytest.mark.parametrize("text", ["chào", "hello", "chào em", "hi bot", "Xin chào!"])
async def test_a_greeting_from_staff_gets_a_greeting_not_a_preview(lan: ChatDriver, open_services: OpenServices,
                                                                   text: str) -> None:
    await lan.say(text)

    assert lan.text == VI("log.greeting", name="Lan")
    assert await _drafts(open_services) == []


async def test_a_log_that_starts_with_a_greeting_is_still_a_log(lan: ChatDriver) -> None:
    await lan.say("Chào anh Minh bên Hòa Phát, hẹn gửi báo giá thứ 6")

    assert VI("log.preview_title") in lan.text
    assert date(2026, 11, 27).strftime("%d/%m") in lan.text
