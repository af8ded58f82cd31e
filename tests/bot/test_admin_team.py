"""Admins from the phone (issue 15): invites, roles and menus, the last admin, deactivating and handing over."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import AuditEntry, Invite
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
TOKEN_RE = re.compile(r"\?start=([A-Za-z0-9_-]+)")


@pytest.fixture
async def thao(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> ChatDriver:
    """Thảo, the one admin, on Telegram."""
    async with UnitOfWork(sessionmaker) as uow:
        await Services.build(uow.session, now=clock.now()).users.add(name="Thảo", role="admin", telegram_id=3001)
    return ChatDriver(engine, "3001")


async def _invite(admin: ChatDriver, role: str) -> str:
    await admin.say(f"/invite {role}")
    found = TOKEN_RE.search(admin.text)
    assert found, admin.text
    return found.group(1)


async def _audit(sessionmaker: async_sessionmaker[AsyncSession], action: str) -> list[AuditEntry]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                          .order_by(AuditEntry.id)))


async def test_an_invite_link_registers_whoever_opens_it_with_its_role_and_tells_the_admin(
        engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    token = await _invite(thao, "sales")
    assert "https://t.me/<bot_username>?start=" in thao.text  # no channel username here: the placeholder
    newcomer = ChatDriver(engine, "4242")
    replies = await newcomer.say(f"/start {token}", display_name="Mai Anh")
    own = [r for r in replies if r.chat_id is None]
    assert own[0].text == VI("team.joined", name="Mai Anh", role=VI("team.role.sales"))
    assert own[0].menu is not None
    assert ("deals", VI("cmd.deals")) in own[0].menu
    assert ("invite", VI("cmd.invite")) not in own[0].menu
    assert [r.text for r in newcomer.pushed_to("3001")] == [VI("team.joined_admin", name="Mai Anh",
                                                                role=VI("team.role.sales"))]
    async with sessionmaker() as session:
        invite = (await session.scalars(select(Invite))).one()
    assert invite.token_hash != token  # only the hash is kept
    assert len(invite.token_hash) == 64
    assert invite.used_by_id is not None
    assert [e.actor_label for e in await _audit(sessionmaker, "invite.use")] == ["Mai Anh"]
    await newcomer.say("/deals")
    assert VI("common.not_allowed") not in newcomer.text


async def test_a_used_invite_is_refused_to_the_next_person(engine: Engine, thao: ChatDriver) -> None:
    token = await _invite(thao, "manager")
    await ChatDriver(engine, "4242").say(f"/start {token}", display_name="Mai")
    late = ChatDriver(engine, "4343")
    await late.say(f"/start {token}", display_name="Hùng")
    assert late.text == VI("errors.conflict_invite_used")
    await late.say("/deals")
    assert late.text == VI("common.staff_only")  # still a customer


async def test_an_invite_opened_after_72_hours_has_expired(engine: Engine, thao: ChatDriver,
                                                          clock: FrozenClock) -> None:
    token = await _invite(thao, "sales")
    clock.advance(timedelta(hours=72))
    late = ChatDriver(engine, "4242")
    await late.say(f"/start {token}", display_name="Mai")
    assert late.text == VI("errors.conflict_invite_expired")


async def test_an_unknown_invite_token_is_told_so_and_registers_nobody(engine: Engine) -> None:
    stranger = ChatDriver(engine, "4242")

    await stranger.say("/start " + "A" * 32, display_name="Mai")

    assert stranger.text == VI("errors.conflict_invite_unknown")
    await stranger.say("/deals")
    assert stranger.text == VI("common.staff_only")


async def test_someone_registered_opening_an_invite_is_told_so_and_the_invite_stays_unused(
        engine: Engine, thao: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    token = await _invite(thao, "admin")
    await lan.say(f"/start {token}")
    assert lan.text == VI("errors.conflict_already_registered", name="Lan")
    async with sessionmaker() as session:
        assert (await session.scalars(select(Invite))).one().used_at is None
    await lan.say("/users")
    assert lan.text == VI("common.not_allowed")  # Lan did not become admin


async def test_nobody_but_an_admin_invites_changes_roles_or_deactivates(quang: ChatDriver, lan: ChatDriver,
                                                                        thao: ChatDriver) -> None:
    for command in ("/invite admin", "/users", "/role Lan admin", "/deactivate Lan", "/pipelines", "/audit"):
        await quang.say(command)
        assert quang.text == VI("common.not_allowed"), command
    await quang.tap("team:v1:invite:admin")  # a forged button
    assert quang.text == VI("common.not_allowed")
    await lan.tap("team:v1:give:1002:1001")
    assert lan.text == VI("common.not_allowed")


async def test_a_role_change_refreshes_that_persons_menu_and_is_audited(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    replies = await thao.say("/role Lan manager")
    assert thao.text == VI("team.role_changed", name="Lan", before=VI("team.role.sales"),
                           role=VI("team.role.manager"))
    pushed = [r for r in replies if r.chat_id == "1001"]
    assert [p.channel for p in pushed] == ["telegram"]
    assert pushed[0].menu is not None
    assert ("summary", VI("cmd.summary")) in pushed[0].menu
    [entry] = await _audit(sessionmaker, "admin.set_role")
    assert (entry.actor_label, entry.channel, entry.before, entry.after) == (
        "Thảo", "telegram", {"role": "sales"}, {"role": "manager"})
    assert await _audit(sessionmaker, "user.set_role") == []  # one change, one entry
    await lan.say("/summary")
    assert lan.text != VI("common.not_allowed")


async def test_the_last_admin_can_neither_demote_nor_deactivate_themselves(thao: ChatDriver) -> None:
    await thao.say("/role Thảo sales")
    assert thao.text == VI("errors.invalid_input_last_admin", name="Thảo")
    await thao.say("/deactivate Thảo")
    assert thao.text == VI("errors.invalid_input_last_admin", name="Thảo")
    await thao.say("/users")
    assert VI("team.role.admin") in thao.text
    assert VI("team.inactive") not in thao.text


async def test_with_a_second_admin_the_first_may_step_down(thao: ChatDriver, quang: ChatDriver) -> None:
    await thao.say("/role Quang admin")
    await thao.say("/role Thảo sales")
    replies = await thao.press(VI("team.btn_confirm"))
    assert thao.text == VI("team.role_changed", name="Thảo", before=VI("team.role.admin"),
                           role=VI("team.role.sales"))
    assert replies[0].menu is not None
    assert ("invite", VI("cmd.invite")) not in replies[0].menu
    await quang.say("/role Quang manager")
    assert quang.text == VI("errors.invalid_input_last_admin", name="Quang")


async def test_a_deactivation_is_audited_once(lan: ChatDriver, thao: ChatDriver,
                                             sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await thao.say("/deactivate Lan")
    await thao.press(VI("team.btn_confirm"))

    [entry] = await _audit(sessionmaker, "admin.deactivate")
    assert (entry.actor_label, entry.before, entry.after) == ("Thảo", {"active": True}, {"active": False})
    assert await _audit(sessionmaker, "user.deactivate") == []


async def test_deactivating_offers_the_open_work_to_a_colleague_and_the_leaver_gets_nothing(
        lan: ChatDriver, thao: ChatDriver, engine: Engine) -> None:
    await lan.say("Gọi chị Hoa bên Hòa Phát, báo giá 200 bộ bàn 500tr, hẹn thứ 6 gửi hợp đồng")
    await lan.press("Lưu")
    await thao.say("/deactivate Lan")
    replies = await thao.press(VI("team.btn_confirm"))
    assert VI("team.deactivated", name="Lan") in thao.text
    assert VI("team.hand_over_ask", deals=1, tasks=1) in thao.text
    assert [r.menu for r in replies if r.chat_id == "1001"] == [()]  # back to the default menu, no message
    await thao.press("Tuấn")
    assert thao.text == VI("team.handed_over", name="Lan", to="Tuấn", deals=1, tasks=1)
    await lan.say("/deals")
    assert lan.text == VI("common.staff_only")  # answered as a customer now
    tuan = ChatDriver(engine, "1002")
    await tuan.say("/deals")
    assert "Hòa Phát" in tuan.text


async def _leaver_with_work(lan: ChatDriver, thao: ChatDriver) -> str:
    """Lan logs a call (a deal and a task), is deactivated; return the [Tuấn] hand-over button's data."""
    await lan.say("Gọi chị Hoa bên Hòa Phát, báo giá 200 bộ bàn 500tr, hẹn thứ 6 gửi hợp đồng")
    await lan.press("Lưu")
    await thao.say("/deactivate Lan")
    await thao.press(VI("team.btn_confirm"))
    return next(b.data for b in thao.buttons if b.label == "Tuấn")


async def test_the_same_hand_over_button_tapped_again_says_nothing_is_left(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    give = await _leaver_with_work(lan, thao)
    await thao.tap(give)
    assert thao.text == VI("team.handed_over", name="Lan", to="Tuấn", deals=1, tasks=1)

    await thao.tap(give)

    assert thao.text == VI("errors.conflict_nothing_to_hand_over", name="Lan")
    assert len(await _audit(sessionmaker, "admin.hand_over")) == 1
    assert len(await _audit(sessionmaker, "deal.reassign")) == 1


async def test_two_taps_of_one_hand_over_button_at_once_hand_over_once(
        lan: ChatDriver, thao: ChatDriver, migrated_url: str, clock: FrozenClock,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Two processes (two engines on one database); the first holds its hand-over uncommitted a moment."""
    import asyncio

    from crm_core.config import Settings
    from crm_core.db import create_engine, create_sessionmaker
    from crm_core.errors import Conflict
    from crm_core.flows.team import TeamFlow

    await _leaver_with_work(lan, thao)
    async with sessionmaker() as session:
        users = await Services.build(session, now=clock.now()).users.list()
    by_name = {u.name: u for u in users}
    first_done = asyncio.Event()

    async def tap(engine_url: str, first: bool) -> int:
        engine = create_engine(engine_url)
        try:
            if not first:
                await first_done.wait()
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                flow = TeamFlow(services=Services.build(uow.session, now=clock.now()), settings=Settings())
                done = await flow.hand_over(by_name["Thảo"], by_name["Lan"].id, by_name["Tuấn"].id)
                if first:
                    first_done.set()
                    await asyncio.sleep(0.5)  # uncommitted while the second tap runs (a safety net, see above)
                return done.deals + done.tasks
        finally:
            await engine.dispose()

    outcomes = await asyncio.gather(tap(migrated_url, True), tap(migrated_url, False), return_exceptions=True)

    assert outcomes[0] == 2
    assert isinstance(outcomes[1], Conflict)
    assert outcomes[1].details["reason"] == "nothing_to_hand_over"
    assert len(await _audit(sessionmaker, "deal.reassign")) == 1


async def _second_admin(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession],
                        clock: FrozenClock) -> ChatDriver:
    async with UnitOfWork(sessionmaker) as uow:
        await Services.build(uow.session, now=clock.now()).users.add(name="Hà", role="admin", telegram_id=3002)
    return ChatDriver(engine, "3002")


async def _user_named(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, name: str) -> bool:
    async with sessionmaker() as session:
        return await Services.build(session, now=clock.now()).users.by_name(name) is not None


@pytest.mark.parametrize("command", ["/deactivate Thảo", "/role Thảo manager"])
async def test_an_admins_open_invites_are_cancelled_when_they_stop_being_admin(
        engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
        command: str) -> None:
    ha = await _second_admin(engine, sessionmaker, clock)
    tokens = [await _invite(thao, "admin"), await _invite(thao, "sales")]

    await ha.say(command)
    await ha.press(VI("team.btn_confirm"))

    for n, token in enumerate(tokens):
        opener = ChatDriver(engine, f"900{n}")
        await opener.say(f"/start {token}", display_name=f"Nam {n}")
        assert opener.text == VI("errors.conflict_invite_revoked")
        assert not await _user_named(sessionmaker, clock, f"Nam {n}")
    cancelled = await _audit(sessionmaker, "invite.cancel")
    assert [(e.actor_label, (e.details or {})["reason"]) for e in cancelled] == [
        ("Hà", "maker_deactivated" if "deactivate" in command else "maker_demoted")] * 2
    assert all(e.before and e.after and e.before["expires_at"] > e.after["expires_at"] for e in cancelled)


async def test_an_invite_is_refused_once_its_maker_can_no_longer_invite_whatever_changed_them(
        engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _second_admin(engine, sessionmaker, clock)
    token = await _invite(thao, "manager")
    async with UnitOfWork(sessionmaker) as uow:  # from the server (`chatcrm users deactivate`), no chat flow
        await Services.build(uow.session, now=clock.now()).users.deactivate("Thảo")
    nam = ChatDriver(engine, "9001")

    await nam.say(f"/start {token}", display_name="Nam")

    assert nam.text == VI("errors.conflict_invite_revoked")
    assert not await _user_named(sessionmaker, clock, "Nam")


async def test_an_invite_opened_in_a_group_is_refused_and_stays_usable_in_a_private_chat(
        engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    token = await _invite(thao, "admin")
    nhom = ChatDriver(engine, "9002")

    replies = await nhom.say(f"/start {token}", chat_id="-100123", display_name="Nhóm")

    assert [r.text for r in replies] == [VI("team.invite_private_only")]
    assert not await _user_named(sessionmaker, clock, "Nhóm")
    await nhom.say(f"/start {token}", display_name="Nhóm")
    assert nhom.text == VI("team.joined", name="Nhóm", role=VI("team.role.admin"))
