"""Approving an erasure takes two taps (issue 11 item 5): it cannot be undone.

The first tap (Approve) shows whose data goes and how much of it, with [Erase permanently] [Cancel], and erases
nothing; only the second erases. The confirmation is an admin's button like any other (the role policy), bound
to the request it was shown for: a forged one, one for another request, an old one, or one for a request already
decided erases nothing and says so in a line; tapped twice, it erases once. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest_asyncio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.callbacks import pack
from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import AuditEntry, Contact, PrivacyRequest, User
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
NGOC, HUNG = "Nguyễn Thị Bích Ngọc", "Trần Văn Hùng"


@pytest_asyncio.fixture
async def thao(support_engine: Engine) -> ChatDriver:
    """Thảo, admin."""
    return ChatDriver(support_engine, "3001")


async def _requests_erasure(engine: Engine, chat_id: str, name: str) -> ChatDriver:
    """A customer who asked for a person (one ticket, her question and the bot's answer on it, a conversation
    logged) and then to be erased; the admins have her request."""
    customer = ChatDriver(engine, chat_id)
    await customer.say("gặp nhân viên", display_name=name)
    await customer.say("/privacy", display_name=name)
    await customer.press(VI("privacy.btn_erase"))
    return customer


async def _request_status(sessionmaker: async_sessionmaker[AsyncSession], request_id: int) -> str:
    async with sessionmaker() as session:
        request = await session.get(PrivacyRequest, request_id)
        assert request is not None
        return request.status


async def _names(sessionmaker: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessionmaker() as session:
        return set(await session.scalars(select(Contact.name)))


async def _count(sessionmaker: async_sessionmaker[AsyncSession], action: str) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).where(AuditEntry.action == action)) or 0)


async def test_approve_shows_whose_data_and_how_much_goes_and_erases_nothing_yet(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _requests_erasure(support_engine, "555001", NGOC)

    await thao.tap(pack("priv", "ok", 1))

    assert thao.text.startswith(VI("privacy.confirm_erase", customer=NGOC, request=1))
    counts = ", ".join([VI("privacy.count_interactions", count=1), VI("privacy.count_tickets_messages", count=1,
                                                                      messages=2),
                        VI("privacy.count_questions", count=1)])
    assert VI("privacy.confirm_counts", counts=counts) in thao.text  # nothing she does not have ("0 tasks")
    assert VI("privacy.count_deals", count=0) not in thao.text
    assert [b.label for b in thao.buttons] == [VI("privacy.btn_erase_for_good", request=1), VI("privacy.btn_keep")]
    assert thao.last[0].edit  # in place of the request's Approve/Reject
    assert [r for r in thao.last if r.chat_id is not None] == []  # the customer is told nothing yet
    assert await _request_status(sessionmaker, 1) == "pending"
    assert NGOC in await _names(sessionmaker)


async def test_the_preview_says_open_deals_close_as_lost_only_when_she_has_one(
        support_engine: Engine, thao: ChatDriver) -> None:
    customer = ChatDriver(support_engine, "555001")
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name=NGOC)
    await customer.say(None, shared_phone="0912345678", display_name=NGOC)  # a lead: her open deal, a call-back
    await customer.say("/privacy", display_name=NGOC)
    await customer.press(VI("privacy.btn_erase"))

    await thao.tap(pack("priv", "ok", 1))

    assert VI("privacy.count_deals_open", count=1, open=1) in thao.text
    assert VI("privacy.count_tasks", count=1) in thao.text
    preview = thao.text

    await thao.press(VI("privacy.btn_erase_for_good", request=1))

    # The approval confirms what the preview promised, part for part.
    promised = preview.split("\n")[1].removeprefix(VI("privacy.confirm_counts", counts="|").split("|")[0])
    assert promised.split(";")[0] in thao.text


async def test_a_customer_with_no_records_is_told_only_her_name_and_numbers_go(
        support_engine: Engine, thao: ChatDriver) -> None:
    customer = ChatDriver(support_engine, "555001")
    await customer.say("/privacy", display_name=NGOC)
    await customer.press(VI("privacy.btn_erase"))

    await thao.tap(pack("priv", "ok", 1))

    assert VI("privacy.confirm_no_counts") in thao.text
    assert "0" not in thao.text.replace(VI("privacy.confirm_erase", customer=NGOC, request=1), "")

    await thao.press(VI("privacy.btn_erase_for_good", request=1))

    assert thao.text == VI("privacy.admin_done_no_counts", request=1)


async def test_only_erase_permanently_erases_and_tells_the_customer(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _requests_erasure(support_engine, "555001", NGOC)
    await thao.tap(pack("priv", "ok", 1))

    await thao.press(VI("privacy.btn_erase_for_good", request=1))

    assert thao.text.startswith(VI("privacy.admin_done", request=1, counts=", ".join(
        [VI("privacy.count_interactions", count=1), VI("privacy.count_tickets_messages", count=1, messages=2),
         VI("privacy.count_questions", count=1)])))
    assert [r.text for r in thao.pushed_to("555001")] == [VI("privacy.approved", request=1)]
    assert await _request_status(sessionmaker, 1) == "approved"
    assert NGOC not in await _names(sessionmaker)


async def test_cancel_erases_nothing_and_the_request_still_waits(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _requests_erasure(support_engine, "555001", NGOC)
    await thao.tap(pack("priv", "ok", 1))

    await thao.press(VI("privacy.btn_keep"))

    assert thao.text == VI("privacy.confirm_cancelled", request=1)
    assert thao.last[0].edit
    assert await _request_status(sessionmaker, 1) == "pending"
    assert NGOC in await _names(sessionmaker)
    await thao.say("/privacy")
    assert VI("privacy.admin_title") in thao.text


async def test_a_confirmation_forged_for_another_request_erases_nothing(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _requests_erasure(support_engine, "555001", NGOC)
    await _requests_erasure(support_engine, "555002", HUNG)
    await thao.tap(pack("priv", "ok", 1))  # Ngọc's request shown
    [confirm] = [b.data for b in thao.buttons if b.label == VI("privacy.btn_erase_for_good", request=1)]
    shown = confirm.rsplit(":", 1)[1]

    for forged in (pack("priv", "yes", 2, shown),  # her preview's confirmation put on Hùng's request
                   pack("priv", "yes", 2, int(shown) + 1), pack("priv", "yes", 2, 1),  # guessed ones
                   pack("priv", "yes", 2)):  # none at all
        await thao.tap(forged)
        assert thao.text in (VI("errors.conflict_erasure_unconfirmed", request=2), VI("common.stale_button")), forged

    assert await _request_status(sessionmaker, 2) == "pending"
    assert {NGOC, HUNG} <= await _names(sessionmaker)
    assert await _count(sessionmaker, "privacy.approved") == 0


async def test_a_confirmation_older_than_the_admin_dialog_window_erases_nothing(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await _requests_erasure(support_engine, "555001", NGOC)
    await thao.tap(pack("priv", "ok", 1))
    clock.advance(timedelta(minutes=support_engine.settings.admin_dialog_minutes + 1))

    await thao.press(VI("privacy.btn_erase_for_good", request=1))

    assert thao.text == VI("errors.conflict_erasure_unconfirmed", request=1)
    assert await _request_status(sessionmaker, 1) == "pending"
    assert NGOC in await _names(sessionmaker)


async def test_a_confirmation_for_a_request_rejected_meanwhile_erases_nothing(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _requests_erasure(support_engine, "555001", NGOC)
    await thao.tap(pack("priv", "ok", 1))
    confirm = thao.buttons
    await thao.tap(pack("priv", "no", 1))  # another admin's tap, or her own on the request's notice

    thao.buttons = confirm
    await thao.press(VI("privacy.btn_erase_for_good", request=1))

    assert thao.text == VI("errors.conflict_request_decided", request=1)
    assert await _request_status(sessionmaker, 1) == "rejected"
    assert NGOC in await _names(sessionmaker)


async def test_erase_permanently_tapped_twice_erases_once(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _requests_erasure(support_engine, "555001", NGOC)
    await thao.tap(pack("priv", "ok", 1))
    [confirm] = [b.data for b in thao.buttons if b.label == VI("privacy.btn_erase_for_good", request=1)]

    first = await thao.tap(confirm)
    second = await thao.tap(confirm)

    assert [r.text for r in first if r.chat_id == "555001"] == [VI("privacy.approved", request=1)]
    assert [r.text for r in second] == [VI("errors.conflict_request_decided", request=1)]
    assert await _count(sessionmaker, "privacy.approved") == 1


async def test_the_confirmation_is_an_admins_button_only(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _requests_erasure(support_engine, "555001", NGOC)
    await thao.tap(pack("priv", "ok", 1))
    [confirm] = [b.data for b in thao.buttons if b.label == VI("privacy.btn_erase_for_good", request=1)]
    quang, customer = ChatDriver(support_engine, "2001"), ChatDriver(support_engine, "555001")  # manager; herself

    await quang.tap(confirm)
    await quang.tap(pack("priv", "ok", 1))
    await customer.tap(confirm)

    assert VI("common.not_allowed_staff") in quang.text or VI("common.not_allowed") in quang.text
    assert await _request_status(sessionmaker, 1) == "pending"
    assert NGOC in await _names(sessionmaker)
    assert await _count(sessionmaker, "privacy.previewed") == 1  # only Thảo's


async def test_two_processes_sharing_no_lock_file_her_request_once(
        support_engine: Engine, clock: FrozenClock, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer = ChatDriver(support_engine, "555001")
    await customer.say("/privacy", display_name=NGOC)
    other_process = Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(), router=ROUTER,
                           render_reminder=reminder_reply, ports=support_engine.ports)

    taps = await asyncio.gather(customer.tap(pack("privreq", "erase")),
                                ChatDriver(other_process, "555001").tap(pack("privreq", "erase")))

    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(PrivacyRequest)) == 1
    told = sorted(reply.text for replies in taps for reply in replies if reply.chat_id is None)
    assert told == sorted([VI("privacy.requested", request=1), VI("privacy.already", request=1)])


async def test_the_owner_of_a_deal_the_erasure_closes_hears_of_it(support_engine: Engine, thao: ChatDriver) -> None:
    customer = ChatDriver(support_engine, "555001")
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name=NGOC)
    await customer.say(None, shared_phone="0912345678", display_name=NGOC)  # her lead: Lan's deal #1
    await customer.say("/privacy", display_name=NGOC)
    await customer.press(VI("privacy.btn_erase"))
    await thao.tap(pack("priv", "ok", 1))

    await thao.press(VI("privacy.btn_erase_for_good", request=1))

    [told] = thao.pushed_to("1001")
    assert told.text.startswith(VI("deal.erased_notice", id=1, title="|", manager="Thảo").split("|")[0])
    assert NGOC not in told.text
    assert "0912345678" not in told.text


async def test_a_deal_whose_owner_has_left_is_told_to_the_managers_instead(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer = ChatDriver(support_engine, "555001")
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name=NGOC)
    await customer.say(None, shared_phone="0912345678", display_name=NGOC)  # her lead: Lan's deal #1
    async with sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.name == "Lan").values(active=False))  # left, deals kept
    await customer.say("/privacy", display_name=NGOC)
    await customer.press(VI("privacy.btn_erase"))
    await thao.tap(pack("priv", "ok", 1))

    await thao.press(VI("privacy.btn_erase_for_good", request=1))

    assert thao.pushed_to("1001") == []
    [told] = thao.pushed_to("2001")  # Quang, manager
    assert told.text.startswith(VI("deal.erased_notice_team", id=1, title="|", owner="Lan", manager="Thảo")
                                .split("|")[0])
    assert told.text.endswith(VI("deal.erased_notice_team", id=1, title="|", owner="Lan", manager="Thảo")
                              .split("|")[1])
    assert NGOC not in told.text
