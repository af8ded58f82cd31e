"""/audit reads as what people did (issue 15 new-user review 6): one sentence per action in the admin's language
(audit.did.*), values as people read them (Có/Không, local times, money, names for record numbers), no
bookkeeping fields, one line per action (an admin.* entry and the record change it made are one), the demo's
seeding left out, ten a page newest first with ◀️ ▶️, `/audit NAME`, `/audit today` and `/audit NAME PERIOD`;
someone coming back through an invite is named as the one who acted, never "customer". On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import format as fmt
from bot.core.callbacks import pack
from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import AuditEntry, User
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
SALES, MANAGER, ADMIN = VI("team.role.sales"), VI("team.role.manager"), VI("team.role.admin")
TOKEN_RE = re.compile(r"\?start=([A-Za-z0-9_-]+)")
PROGRAMMERS_WORDS = ("record.", "admin.", "user#", "deal#", "contact#", "telegram", "created_at", "True", "False")


@pytest.fixture
async def thao(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> ChatDriver:
    """Thảo and Hà, admins, on Telegram (with Lan, Tuấn, Quang of the shared fixtures)."""
    async with UnitOfWork(sessionmaker) as uow:
        users = Services.build(uow.session, now=clock.now()).users
        await users.add(name="Thảo", role="admin", telegram_id=3001)
        await users.add(name="Hà", role="admin", telegram_id=3002)
    return ChatDriver(engine, "3001")


def _lines(admin: ChatDriver) -> list[str]:
    """The entries of the /audit page shown last (the lines after its header)."""
    return [line[2:] for line in admin.text.split("\n")[1:] if line.startswith("• ")]


def _what(line: str) -> str:
    return line.split(" — ", 1)[1]


async def _record(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, **entry: Any) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        await Services.build(uow.session, now=clock.now()).audit.record(**entry)


async def test_a_role_change_is_one_line_in_words(lan: ChatDriver, thao: ChatDriver, clock: FrozenClock) -> None:
    clock.advance(timedelta(minutes=1))  # each message is a unit of work at its own time, as in the bot
    await thao.say("/role Lan quản lý")

    await thao.say("/audit")

    said = [_what(line) for line in _lines(thao)]
    changed = VI("audit.did.admin_set_role", actor="Thảo", target="Lan", before=SALES, after=MANAGER)
    assert said[0] == changed
    assert sorted(said[1:]) == sorted(  # the fixtures' `chatcrm users add`
        VI("audit.did.user_add", actor=VI("audit.actor.cli"), target=name, role=role)
        for name, role in (("Hà", ADMIN), ("Thảo", ADMIN), ("Tuấn", SALES), ("Quang", MANAGER), ("Lan", SALES)))
    for word in PROGRAMMERS_WORDS:
        assert word not in thao.text


async def test_a_deactivation_confirmed_and_handed_over_reads_as_two_actions(
        lan: ChatDriver, thao: ChatDriver, clock: FrozenClock) -> None:
    await lan.say("Gọi chị Hoa bên Hòa Phát, báo giá 200 bộ bàn 500tr, hẹn thứ 6 gửi hợp đồng")
    await lan.press("Lưu")
    clock.advance(timedelta(minutes=1))
    await thao.say("/deactivate Lan")
    await thao.press(VI("team.btn_confirm"))
    clock.advance(timedelta(minutes=1))
    await thao.press("Tuấn")

    await thao.say("/audit Thảo")

    assert [_what(line) for line in _lines(thao)] == [
        VI("audit.did.admin_hand_over", actor="Thảo", deals=1, tasks=1, **{"from": "Lan"}, to="Tuấn"),
        VI("audit.did.admin_deactivate", actor="Thảo", target="Lan")]
    for word in PROGRAMMERS_WORDS:
        assert word not in thao.text


async def test_someone_back_through_an_invite_is_named_not_a_customer(
        engine: Engine, lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    clock.advance(timedelta(minutes=1))
    await thao.say("/deactivate Lan")
    await thao.press(VI("team.btn_confirm"))
    clock.advance(timedelta(minutes=1))
    await thao.say("/invite sales")
    token = TOKEN_RE.search(thao.text)
    assert token is not None

    clock.advance(timedelta(minutes=1))
    await lan.say(f"/start {token.group(1)}")
    await thao.say("/audit today")

    assert _what(_lines(thao)[0]) == VI("audit.did.user_rejoin", actor="Lan", role=SALES)
    assert VI("audit.actor.customer") not in thao.text
    async with sessionmaker() as session:
        rejoin = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "record.update",
                                                                 AuditEntry.entity == "user")
                                        .order_by(AuditEntry.id.desc()))).first()
    assert rejoin is not None
    assert (rejoin.actor_label, rejoin.after) == ("Lan", {"active": True})


async def test_values_read_as_people_say_them_and_bookkeeping_is_left_out(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await lan.say("Gọi chị Hoa bên Hòa Phát, báo giá 200 bộ bàn 500tr, hẹn thứ 6 gửi hợp đồng")
    await lan.press("Lưu")
    clock.advance(timedelta(minutes=1))
    async with sessionmaker() as session:
        deal = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "record.create",
                                                               AuditEntry.entity == "deal"))).one()
        lan_id = deal.actor_id
    await _record(sessionmaker, clock, actor="Lan", actor_id=lan_id, action="record.update", entity="deal",
                  entity_id=deal.entity_id, before={"amount": "500000000.00", "currency": "VND",
                                                    "updated_at": "2026-11-23T09:00:00+00:00"},
                  after={"amount": "450000000.00", "currency": "VND", "updated_at": "2026-11-23T10:00:00+00:00"})
    await _record(sessionmaker, clock, actor="Thảo", actor_id=None, action="record.update", entity="user",
                  entity_id=lan_id, before={"active": False}, after={"active": True})

    await thao.say("/audit")

    text = thao.text
    assert VI("audit.change", field=VI("audit.field.active"), before=VI("audit.value_no"),
              after=VI("audit.value_yes")) not in text  # a change nobody on the team made: left out
    assert VI("audit.change", field=VI("audit.field.amount"), before="500.000.000 ₫", after="450.000.000 ₫") in text
    title = (deal.after or {})["title"]
    assert VI("audit.did.record_create", actor="Lan", entity=VI("audit.entity.deal"), target=title) in text
    for word in (*PROGRAMMERS_WORDS, "updated_at", "2026-11-23T"):
        assert word not in text


async def test_a_change_whose_values_an_erasure_took_out_ends_without_a_dangling_colon(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await lan.say("Gọi chị Hoa bên Hòa Phát, báo giá 200 bộ bàn 500tr, hẹn thứ 6 gửi hợp đồng")
    await lan.press("Lưu")
    clock.advance(timedelta(minutes=1))
    async with sessionmaker() as session:
        contact = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "record.create",
                                                                  AuditEntry.entity == "contact"))).one()
    name = (contact.after or {})["name"]
    # Lan's earlier change, its values blanked by the erasure; the erasure's own change, recorded without values
    await _record(sessionmaker, clock, actor="Lan", actor_id=contact.actor_id, action="record.update",
                  entity="contact", entity_id=contact.entity_id)
    await _record(sessionmaker, clock, actor="Lan", actor_id=contact.actor_id, action="record.update",
                  entity="contact", entity_id=contact.entity_id,
                  details={"fields": ["name", "name_folded", "phone", "erased_at"], "values_withheld": True})

    await thao.say("/audit")

    said, entity = [_what(line) for line in _lines(thao)], VI("audit.entity.contact")
    assert VI("audit.did.record_update_unsaid", actor="Lan", entity=entity, target=name) in said
    assert VI("audit.did.record_update_withheld", actor="Lan", entity=entity, target=name,
              fields=f"{VI('audit.field.name')}, {VI('audit.field.phone')}") in said
    assert [line for line in _lines(thao) if line.rstrip().endswith(":")] == []


async def test_a_boolean_and_a_time_are_said_in_words(thao: ChatDriver, lan: ChatDriver,
                                                      sessionmaker: async_sessionmaker[AsyncSession],
                                                      clock: FrozenClock) -> None:
    async with sessionmaker() as session:
        lan_id = (await Services.build(session, now=clock.now()).users.resolve("Lan")).id
    clock.advance(timedelta(minutes=1))
    await _record(sessionmaker, clock, actor="Thảo", actor_id=(await _id(sessionmaker, clock, "Thảo")),
                  action="record.update", entity="task", entity_id=lan_id,
                  before={"done_at": None}, after={"done_at": "2026-11-23T02:30:00+00:00"})
    await _record(sessionmaker, clock, actor="Thảo", actor_id=(await _id(sessionmaker, clock, "Thảo")),
                  action="record.update", entity="user", entity_id=lan_id,
                  before={"active": True}, after={"active": False})

    await thao.say("/audit")

    assert VI("audit.change", field=VI("audit.field.active"), before=VI("audit.value_yes"),
              after=VI("audit.value_no")) in thao.text
    assert "09:30" in thao.text  # 02:30 UTC in Hồ Chí Minh City
    assert "+00:00" not in thao.text


async def _id(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, name: str) -> int:
    async with sessionmaker() as session:
        return (await Services.build(session, now=clock.now()).users.resolve(name)).id


async def test_ten_a_page_newest_first_with_arrows_and_the_seeding_left_out(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    thao_id = await _id(sessionmaker, clock, "Thảo")
    async with UnitOfWork(sessionmaker) as uow:
        audit = Services.build(uow.session, now=clock.now()).audit
        for n in range(300):  # the demo's data, made by nobody on the team
            await audit.record(actor="system", action="record.create", entity="contact", entity_id=n + 1,
                               after={"name": f"Khách {n}", "created_at": "2026-11-23T00:00:00+07:00"})
        for n in range(1, 26):
            await audit.record(actor="Thảo", actor_id=thao_id, action="invite.create", entity="invite",
                               entity_id=n, details={"role": "sales"})

    await thao.say("/audit Thảo")

    title = VI("audit.title_user", name="Thảo")
    assert thao.text.split("\n")[0] == VI("audit.header", title=title, page=1, pages=3, total=25)
    assert len(_lines(thao)) == 10
    assert [b.label for b in thao.buttons] == [VI("audit.btn_older")]
    await thao.press(VI("audit.btn_older"))
    assert thao.text.split("\n")[0] == VI("audit.header", title=title, page=2, pages=3, total=25)
    assert [b.label for b in thao.buttons] == [VI("audit.btn_newer"), VI("audit.btn_older")]
    await thao.press(VI("audit.btn_older"))
    assert len(_lines(thao)) == 5
    assert [b.label for b in thao.buttons] == [VI("audit.btn_newer")]


async def test_by_person_and_today(lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
                                   clock: FrozenClock) -> None:
    await thao.say("/role Lan quản lý")
    clock.advance(timedelta(days=1))
    ha = ChatDriver(thao.engine, "3002")
    await ha.say("/role Lan bán hàng")

    await thao.say("/audit today")
    today = [_what(line) for line in _lines(thao)]
    await thao.say("/audit Thảo")
    by_thao = [_what(line) for line in _lines(thao)]

    assert today == [VI("audit.did.admin_set_role", actor="Hà", target="Lan", before=MANAGER, after=SALES)]
    assert by_thao == [VI("audit.did.admin_set_role", actor="Thảo", target="Lan", before=SALES, after=MANAGER)]


async def test_by_day_week_and_month_as_summary_reads_them(
        lan: ChatDriver, thao: ChatDriver, clock: FrozenClock) -> None:
    await thao.say("/role Lan quản lý")  # Monday 23/11
    clock.advance(timedelta(days=1))
    ha = ChatDriver(thao.engine, "3002")
    await ha.say("/role Lan bán hàng")  # Tuesday 24/11
    by_thao = VI("audit.did.admin_set_role", actor="Thảo", target="Lan", before=SALES, after=MANAGER)
    by_ha = VI("audit.did.admin_set_role", actor="Hà", target="Lan", before=MANAGER, after=SALES)

    def role_changes() -> list[str]:  # the team's set-up of the fixtures is on Monday too
        return [what for line in _lines(thao) if (what := _what(line)) in (by_thao, by_ha)]

    await thao.say("/audit hôm qua")
    yesterday = role_changes()
    await thao.say("/audit 23/11")
    that_day = role_changes()
    await thao.say("/audit tuần")
    week = role_changes()
    await thao.tap(pack("audit", "page", 0, "pd2026-11-24"))
    paged = role_changes()

    assert yesterday == that_day == [by_thao]
    assert week == [by_ha, by_thao]
    assert paged == [by_ha]
    assert VI("audit.title_day", day=fmt.weekday_day(date(2026, 11, 24), "vi")) in thao.text


async def test_a_date_it_cannot_read_gets_the_usage_not_a_name_lookup(thao: ChatDriver) -> None:
    await thao.say("/audit 31/02")

    assert thao.text == VI("audit.usage")


@pytest.mark.parametrize("typed", ["#3001", "Thảo", "thao"])
async def test_a_person_by_number_or_name_typed_any_way_is_that_persons_log(
        engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], typed: str) -> None:
    async with sessionmaker() as session:
        me = await session.scalar(select(User.id).where(User.name == "Thảo"))
    await thao.say(f"/audit {typed.replace('3001', str(me))}")

    assert VI("audit.title_user", name="Thảo") in thao.text


async def test_a_name_typed_without_accents_is_the_person_not_the_period(lan: ChatDriver, thao: ChatDriver) -> None:
    await thao.say("/audit tuan")
    by_name = thao.text
    await thao.say("/audit tuần")
    by_period = thao.text

    assert VI("audit.title_user", name="Tuấn") in by_name
    assert VI("audit.title_user", name="Tuấn") not in by_period


# --- /audit NAME PERIOD ------------------------------------------------------------------------------------


async def _two_days_of_role_changes(thao: ChatDriver, clock: FrozenClock) -> tuple[str, str, str]:
    """Monday 23/11 Thảo makes Lan a manager; Tuesday 24/11 Thảo makes her sales again and Hà makes Tuấn a
    manager. Returns the three entries, oldest first."""
    await thao.say("/role Lan quản lý")
    clock.advance(timedelta(days=1))
    await thao.say("/role Lan bán hàng")
    await ChatDriver(thao.engine, "3002").say("/role Tuấn quản lý")
    return (VI("audit.did.admin_set_role", actor="Thảo", target="Lan", before=SALES, after=MANAGER),
            VI("audit.did.admin_set_role", actor="Thảo", target="Lan", before=MANAGER, after=SALES),
            VI("audit.did.admin_set_role", actor="Hà", target="Tuấn", before=SALES, after=MANAGER))


async def test_a_name_then_a_period_is_that_persons_entries_in_that_period(
        lan: ChatDriver, thao: ChatDriver, clock: FrozenClock) -> None:
    monday, tuesday, by_ha = await _two_days_of_role_changes(thao, clock)

    await thao.say("/audit Thảo hôm qua")
    yesterday = [_what(line) for line in _lines(thao)]
    header = thao.text.split("\n")[0]
    await thao.say("/audit thao hom nay")
    today = [_what(line) for line in _lines(thao)]
    await thao.say("/audit Hà tuần này")
    week = [_what(line) for line in _lines(thao)]

    assert (yesterday, today, week) == ([monday], [tuesday], [by_ha])
    period = VI("audit.period_day", day=fmt.weekday_day(date(2026, 11, 23), "vi"))
    assert header == VI("audit.header", title=VI("audit.title_user_period", name="Thảo", period=period),
                        page=1, pages=1, total=1)


async def test_a_persons_number_then_a_period(lan: ChatDriver, thao: ChatDriver, clock: FrozenClock,
                                              sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    monday, _tuesday, _by_ha = await _two_days_of_role_changes(thao, clock)

    await thao.say(f"/audit #{await _id(sessionmaker, clock, 'Thảo')} hôm qua")

    assert [_what(line) for line in _lines(thao)] == [monday]


async def test_a_person_in_a_period_pages_within_both(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    thao_id, ha_id = await _id(sessionmaker, clock, "Thảo"), await _id(sessionmaker, clock, "Hà")
    async with UnitOfWork(sessionmaker) as uow:
        audit = Services.build(uow.session, now=clock.now()).audit
        for n in range(1, 13):
            for who, who_id in (("Thảo", thao_id), ("Hà", ha_id)):
                await audit.record(actor=who, actor_id=who_id, action="invite.create", entity="invite",
                                   entity_id=n, details={"role": "sales"})
    clock.advance(timedelta(days=7))
    async with UnitOfWork(sessionmaker) as uow:  # the week after: not last week's
        await Services.build(uow.session, now=clock.now()).audit.record(
            actor="Thảo", actor_id=thao_id, action="invite.create", entity="invite", entity_id=13,
            details={"role": "sales"})

    await thao.say("/audit Thảo tuần trước")
    first = thao.text.split("\n")[0]
    await thao.press(VI("audit.btn_older"))

    period = VI("audit.period_week", first=fmt.day(date(2026, 11, 23), "vi"), last=fmt.day(date(2026, 11, 29), "vi"))
    title = VI("audit.title_user_period", name="Thảo", period=period)
    assert first == VI("audit.header", title=title, page=1, pages=2, total=12)
    assert thao.text.split("\n")[0] == VI("audit.header", title=title, page=2, pages=2, total=12)
    assert len(_lines(thao)) == 2


async def test_a_name_with_period_words_stays_the_persons_name(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    async with UnitOfWork(sessionmaker) as uow:  # "thang" without accents is also "tháng", a month
        await Services.build(uow.session, now=clock.now()).users.add(name="Lê Thắng", role="sales", telegram_id=1009)

    await thao.say("/audit le thang")
    whole_name = thao.text
    await thao.say("/audit Lê Thắng tháng")
    named_then_month = thao.text
    await thao.say("/audit thang thang truoc")
    given_name_then_last_month = thao.text

    assert VI("audit.title_user", name="Lê Thắng") in whole_name
    assert VI("audit.title_user_period", name="Lê Thắng", period=VI("audit.period_month", month="11/2026")) \
        in named_then_month
    assert VI("audit.title_user_period", name="Lê Thắng", period=VI("audit.period_month", month="10/2026")) \
        in given_name_then_last_month


async def test_a_period_after_a_name_nobody_has_says_the_name_is_nobodys(thao: ChatDriver) -> None:
    await thao.say("/audit Peter tuần trước")

    assert thao.text == VI("errors.unknown_user", name="Peter")


@pytest.mark.parametrize("view", ["pd9999-12-31", "pw0001-01-01", "pm0001-01-01", "pd2026-02-30", "u99999999999",
                                  "u1pd9999-12-31", "u99999999999pw2026-11-23", "u1pw2026-11-2", "u1today"])
async def test_a_forged_page_button_is_stale_not_an_error(thao: ChatDriver, view: str) -> None:
    await thao.tap(pack("audit", "page", 0, view))

    assert thao.text == VI("common.stale_button")


async def test_the_cli_json_keeps_every_entry_and_its_keys(
        lan: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await thao.say("/role Lan quản lý")
    async with sessionmaker() as session:
        entries = await Services.build(session, now=clock.now()).audit.entries()
    actions = [e.action for e in entries]
    assert "admin.set_role" in actions
    assert "record.update" in actions  # the raw trail still has the record's change
    assert set(entries[0].model_dump(mode="json")) == {"id", "at", "actor", "actor_id", "channel", "action",
                                                       "entity", "entity_id", "details", "before", "after"}


def test_every_action_has_its_sentence_in_both_languages() -> None:
    actions = ["admin.set_role", "admin.deactivate", "admin.hand_over", "user.add", "user.set_role",
               "user.deactivate", "user.join", "user.rejoin", "invite.create", "invite.use", "invite.cancel",
               "deal.won", "deal.lost", "deal.reopen", "deal.reassign", "deal.reassign_tasks", "ticket.close",
               "lead.capture", "privacy.request", "privacy.approved", "privacy.rejected", "pipeline.add",
               "pipeline.make_default", "pipeline.rename_stage", "pipeline.set_probability",
               "pipeline.set_stall_days", "pipeline.add_stage", "pipeline.move_stage", "pipeline.remove_stage",
               "prompt.save", "prompt.rollback", "knowledge.added", "knowledge.updated", "knowledge.unchanged",
               "knowledge.failed", "knowledge.remove", "knowledge.reindex", "knowledge.gap_answer",
               "spreadsheet.import", "record.create", "record.update", "record.delete"]
    for language in ("vi", "en"):
        missing = [a for a in actions if not Texts(language).has("audit.did." + a.replace(".", "_"))]
        assert missing == [], language
