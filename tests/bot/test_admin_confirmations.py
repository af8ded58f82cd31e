"""Locking someone out is confirmed first (issue 15 new-user review 5): /deactivate, and /role demoting an admin
(oneself included), show who, their role and open work ("you will lose access" for oneself) with [Confirm]
[Cancel]; nothing changes before the confirmation, and a confirmation that is not an admin's, forged, out of
date (the person changed since, or it waited too long) or tapped twice changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.callbacks import pack
from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.schemas import UserOut
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
ADMIN, SALES = VI("team.role.admin"), VI("team.role.sales")


@pytest.fixture
async def thao(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> ChatDriver:
    """Thảo and Hà, admins, on Telegram."""
    async with UnitOfWork(sessionmaker) as uow:
        users = Services.build(uow.session, now=clock.now()).users
        await users.add(name="Thảo", role="admin", telegram_id=3001)
        await users.add(name="Hà", role="admin", telegram_id=3002)
    return ChatDriver(engine, "3001")


async def _user(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, name: str) -> UserOut:
    async with sessionmaker() as session:
        return await Services.build(session, now=clock.now()).users.resolve(name)


async def _lan_with_work(lan: ChatDriver) -> None:
    """Lan logs a call: one open deal and one task."""
    await lan.say("Gọi chị Hoa bên Hòa Phát, báo giá 200 bộ bàn 500tr, hẹn thứ 6 gửi hợp đồng")
    await lan.press("Lưu")


async def test_deactivate_says_who_their_role_and_open_work_and_changes_nothing_before_the_confirmation(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await _lan_with_work(lan)

    replies = await thao.say("/deactivate lan")

    assert thao.text == "\n".join([VI("team.deactivate_confirm", name="Lan", role=SALES, to=SALES),
                                   VI("team.confirm_open_work", name="Lan", deals=1, tasks=1)])
    assert [b.label for b in thao.buttons] == [VI("team.btn_confirm"), VI("team.btn_keep")]
    assert [r for r in replies if r.chat_id is not None] == []  # Lan's menu is untouched
    assert (await _user(sessionmaker, clock, "Lan")).active
    await thao.press(VI("team.btn_confirm"))
    assert thao.text.startswith(VI("team.deactivated", name="Lan"))
    assert not (await _user(sessionmaker, clock, "Lan")).active


async def test_cancel_keeps_the_colleague_as_they_are(lan: ChatDriver, thao: ChatDriver,
                                                      sessionmaker: async_sessionmaker[AsyncSession],
                                                      clock: FrozenClock) -> None:
    await thao.say("/deactivate Lan")

    await thao.press(VI("team.btn_keep"))

    assert thao.text == VI("team.confirm_cancelled")
    assert (await _user(sessionmaker, clock, "Lan")).active
    await lan.say("/deals")
    assert lan.text != VI("common.staff_only")


async def test_deactivating_oneself_warns_of_losing_access_and_offers_no_hand_over(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await thao.say("/deactivate Thảo")

    assert VI("team.deactivate_confirm", name="Thảo", role=ADMIN, to=ADMIN) in thao.text
    assert VI("team.confirm_self_deactivate") in thao.text
    assert (await _user(sessionmaker, clock, "Thảo")).active
    await thao.press(VI("team.btn_confirm"))
    assert thao.text == "\n".join([VI("team.deactivated", name="Thảo"), VI("team.deactivated_self")])
    assert not (await _user(sessionmaker, clock, "Thảo")).active


async def test_demoting_an_admin_or_oneself_is_confirmed_first_and_promotions_are_not(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await thao.say("/role Hà bán hàng")
    assert thao.text.startswith(VI("team.demote_confirm", name="Hà", role=ADMIN, to=SALES))
    assert VI("team.confirm_self_demote") not in thao.text
    await thao.say("/role Thảo sales")
    assert VI("team.demote_confirm", name="Thảo", role=ADMIN, to=SALES) in thao.text
    assert VI("team.confirm_self_demote") in thao.text
    assert (await _user(sessionmaker, clock, "Thảo")).role == "admin"
    await thao.press(VI("team.btn_confirm"))
    assert thao.text == VI("team.role_changed", name="Thảo", before=ADMIN, role=SALES)
    assert (await _user(sessionmaker, clock, "Thảo")).role == "sales"
    await thao.say("/users")
    assert thao.text == VI("common.not_allowed")


async def test_a_promotion_needs_no_confirmation(lan: ChatDriver, thao: ChatDriver) -> None:
    await thao.say("/role Lan quản lý")
    assert thao.text == VI("team.role_changed", name="Lan", before=SALES, role=VI("team.role.manager"))


async def test_a_confirmation_tapped_by_someone_not_an_admin_changes_nothing(
        lan: ChatDriver, quang: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await thao.say("/deactivate Lan")
    confirm = thao.buttons[0].data
    await thao.say("/role Hà sales")
    demote = thao.buttons[0].data

    for data in (confirm, demote):
        await quang.tap(data)
        assert quang.text == VI("common.not_allowed")
        await lan.tap(data)
        assert lan.text == VI("common.not_allowed")
    assert (await _user(sessionmaker, clock, "Lan")).active
    assert (await _user(sessionmaker, clock, "Hà")).role == "admin"


@pytest.mark.parametrize("stamp", ["s1.0.0", "s1.0", "s1.99999999", "x", "s1.0.1e9", "s1.0.-5", "", "s1.0.29000000"])
async def test_a_forged_confirmation_is_refused(lan: ChatDriver, thao: ChatDriver, stamp: str,
                                                sessionmaker: async_sessionmaker[AsyncSession],
                                                clock: FrozenClock) -> None:
    lan_id = (await _user(sessionmaker, clock, "Lan")).id

    await thao.tap(pack("team", "deact", lan_id, stamp))

    assert thao.text == VI("errors.conflict_stale_confirmation", name="Lan")
    assert (await _user(sessionmaker, clock, "Lan")).active


async def test_a_demotion_without_a_confirmation_or_to_no_role_is_refused(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    ha_id = (await _user(sessionmaker, clock, "Hà")).id
    await thao.say("/role Hà sales")
    stamp = thao.buttons[0].data.split(":")[-1]

    await thao.tap(pack("team", "demote", ha_id, "boss", stamp))
    await thao.tap(pack("team", "demote", ha_id, "sales"))

    assert (await _user(sessionmaker, clock, "Hà")).role == "admin"


async def test_a_confirmation_made_before_the_person_changed_is_refused(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await thao.say("/deactivate Lan")
    confirm = thao.buttons[0].data
    await thao.say("/role Lan manager")  # Lan is someone else now than what was shown

    await thao.tap(confirm)

    assert thao.text == VI("errors.conflict_stale_confirmation", name="Lan")
    assert (await _user(sessionmaker, clock, "Lan")).active


async def test_the_same_confirmation_tapped_twice_acts_once(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await thao.say("/role Hà sales")
    confirm = thao.buttons[0].data
    await thao.tap(confirm)
    await thao.say("/role Hà admin")  # promoted back: the old confirmation must not demote her again

    await thao.tap(confirm)

    assert thao.text == VI("errors.conflict_stale_confirmation", name="Hà")
    assert (await _user(sessionmaker, clock, "Hà")).role == "admin"


async def test_a_confirmation_left_waiting_too_long_is_refused(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await thao.say("/deactivate Lan")
    clock.advance(timedelta(minutes=Settings().admin_dialog_minutes + 1))

    await thao.press(VI("team.btn_confirm"))

    assert thao.text == VI("errors.conflict_stale_confirmation", name="Lan")
    assert (await _user(sessionmaker, clock, "Lan")).active


async def test_the_last_admin_is_refused_at_once_with_no_confirmation(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await thao.say("/deactivate Hà")
    await thao.press(VI("team.btn_confirm"))

    await thao.say("/role Thảo sales")

    assert thao.text == VI("errors.invalid_input_last_admin", name="Thảo")
    assert [r.keyboard for r in thao.last] == [None]
