"""Pipelines from the phone (issue 15): an industry template becomes a pipeline, stages are renamed, given a
probability and stall days, added and reordered; removing a stage that holds deals asks where they go, and a
renamed stage keeps its deals (they point at it by id). Both backends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import AuditEntry, Deal, DealStageChange, LogDraft, Stage
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")


@pytest.fixture
async def thao(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> ChatDriver:
    async with UnitOfWork(sessionmaker) as uow:
        await Services.build(uow.session, now=clock.now()).users.add(name="Thảo", role="admin", telegram_id=3001)
    return ChatDriver(engine, "3001")


async def _deal_in_quote(open_services: OpenServices) -> int:
    async with open_services() as services:
        lan = await services.users.by_name("Lan")
        assert lan is not None
        deal = await services.deals.create(title="Hòa Phát — 200 bộ", owner_id=lan.id, company_id=None,
                                           contact_id=None, stage_key="quote", amount=Decimal(500_000_000),
                                           currency="VND", quantity=200)
        return deal.id


async def _deal(sessionmaker: async_sessionmaker[AsyncSession], deal_id: int) -> tuple[Deal, Stage]:
    async with sessionmaker() as session:
        deal = await session.get(Deal, deal_id)
        assert deal is not None
        stage = await session.get(Stage, deal.stage_id)
        assert stage is not None
        return deal, stage


async def test_an_industry_template_becomes_a_second_pipeline(thao: ChatDriver) -> None:
    await thao.say("/pipelines")
    await thao.press(VI("pipes.btn_template"))
    await thao.press("Giáo dục")
    assert VI("pipes.added", name="Giáo dục") in thao.text
    assert "Học thử / kiểm tra đầu vào / đặt cọc" in thao.text
    await thao.press(VI("btn.back"))
    assert "Bán hàng chung" in thao.text
    assert "Giáo dục" in thao.text


async def test_renaming_a_stage_keeps_its_deals_and_is_audited(
        thao: ChatDriver, lan: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    deal_id = await _deal_in_quote(open_services)
    _, before = await _deal(sessionmaker, deal_id)
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press("Báo giá")
    await thao.press(VI("pipes.btn_rename"))
    await thao.say("Gửi báo giá")
    assert VI("pipes.saved") in thao.text
    deal, after = await _deal(sessionmaker, deal_id)
    assert (deal.stage_id, after.key, after.name_vi) == (before.id, "quote", "Gửi báo giá")
    async with sessionmaker() as session:
        entry = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "pipeline.rename_stage"))).one()
    assert (entry.actor_label, entry.channel) == ("Thảo", "telegram")
    assert (entry.before or {})["name_vi"] == "Báo giá"
    assert (entry.after or {})["name_vi"] == "Gửi báo giá"
    await lan.say(f"/deal {deal_id}")
    assert "Gửi báo giá" in lan.text


async def test_probability_and_stall_days_are_typed_and_checked(thao: ChatDriver) -> None:
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press("Đàm phán")
    await thao.press(VI("pipes.btn_probability"))
    await thao.say("150")
    assert thao.text == _retyped("probability", "out_of_range", text="150")
    await thao.say("85%")
    assert "85%" in thao.text
    await thao.press(VI("pipes.btn_stall"))
    await thao.say("0")
    assert VI("pipes.no_stall") in thao.text


async def test_a_stage_is_added_before_won_and_lost_and_moved_up(thao: ChatDriver) -> None:
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press(VI("pipes.btn_add_stage"))
    await thao.say("Demo sản phẩm")
    assert VI("pipes.stage_added", name="Demo sản phẩm") in thao.text
    await thao.press("⬆️")
    lines = [line for line in thao.text.splitlines() if line[:2].rstrip(".").isdigit()]
    names = [line.split(". ", 1)[1].split(" — ")[0] for line in lines]
    assert names == ["Mới", "Đã liên hệ", "Có nhu cầu", "Báo giá", "Demo sản phẩm", "Đàm phán", "Thắng", "Thua"]


async def test_removing_a_stage_that_holds_deals_asks_where_they_go_first(
        thao: ChatDriver, open_services: OpenServices, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    deal_id = await _deal_in_quote(open_services)
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press("Báo giá")
    await thao.press(VI("pipes.btn_remove"))
    assert thao.text == VI("pipes.remove_where", name="Báo giá", deals=1)
    _, still = await _deal(sessionmaker, deal_id)
    assert still.key == "quote"  # asking moved nothing
    await thao.press("Đàm phán")
    assert VI("pipes.removed", name="Báo giá", deals=1) in thao.text
    _, stage = await _deal(sessionmaker, deal_id)
    assert stage.key == "negotiation"
    async with sessionmaker() as session:
        moves = list(await session.scalars(select(DealStageChange).where(DealStageChange.deal_id == deal_id)
                                           .order_by(DealStageChange.id)))
        removed = (await session.scalars(select(Stage).where(Stage.key == "quote"))).one()
    assert moves[-1].reason == "stage_removed"
    assert removed.archived  # kept for the history, out of every list
    assert "Báo giá" not in thao.text.split("\n\n", 1)[1]


async def test_won_and_lost_cannot_be_removed_or_given_a_probability(thao: ChatDriver) -> None:
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press("Thắng")
    assert [b.label for b in thao.buttons] == [VI("pipes.btn_rename"), VI("btn.back")]
    await thao.tap(f"pipe:v1:remove:{thao.buttons[0].data.split(':')[-1]}")  # a forged remove
    assert thao.text == VI("errors.invalid_input_closing_stage")


CALL_LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu"


async def _stage_names(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(Stage.name_vi).order_by(Stage.id)))


async def _drafts(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return len(list(await session.scalars(select(LogDraft.id))))


@pytest.mark.parametrize("left_by", ["a command", "time"])
async def test_a_call_log_after_a_command_or_a_long_pause_is_a_log_not_a_stage_name(
        thao: ChatDriver, clock: FrozenClock, sessionmaker: async_sessionmaker[AsyncSession], left_by: str) -> None:
    names = await _stage_names(sessionmaker)
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press("Báo giá")
    await thao.press(VI("pipes.btn_rename"))
    if left_by == "a command":
        await thao.say("/deals")
    else:
        clock.advance(timedelta(minutes=Settings().admin_dialog_minutes + 1))

    await thao.say(CALL_LOG)

    assert VI("pipes.saved") not in thao.text
    assert await _stage_names(sessionmaker) == names
    assert await _drafts(sessionmaker) == 1  # read as a log: nothing the admin typed is lost


def _retyped(what: str, problem: str, **details: object) -> str:
    """The answer to a typed value that cannot be used: what is wrong with it, what to type, type again."""
    most = 100 if what == "probability" else 365
    return (VI(f"pipes.number_{problem}", **details) + " " + VI(f"pipes.bad_{what}", most=most) + "\n"
            + VI("pipes.type_again"))


@pytest.mark.parametrize(("typed", "problem", "details"), [
    ("²", "not_number", {"text": "²"}), ("١٢", "not_number", {"text": "١٢"}),
    ("mười", "not_number", {"text": "mười"}),
    ("99999999999999999999999", "out_of_range", {"text": "99999999999999999999999"}),
    ("5" * 5000, "out_of_range", {"text": "5" * 40}), ("-1", "out_of_range", {"text": "-1"}),
    ("366", "out_of_range", {"text": "366"}), ("1e3", "unit", {"word": "e3"}), ("7 tuần", "unit", {"word": "tuần"}),
    ("7,5 ngày", "decimal", {"lower": 7, "upper": 8}),
])
async def test_a_stall_value_that_is_not_a_small_ascii_number_says_what_is_wrong(
        thao: ChatDriver, typed: str, problem: str, details: dict[str, object]) -> None:
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press("Đàm phán")
    await thao.press(VI("pipes.btn_stall"))

    await thao.say(typed)

    assert thao.text == _retyped("stall", problem, **details)
    await thao.say("14")
    assert VI("pipes.stall_days", days=14) in thao.text


@pytest.mark.parametrize(("typed", "days"), [("10 ngày", 10), ("10 ngay", 10), ("10 days", 10), ("7", 7)])
async def test_stall_days_may_be_typed_with_their_unit(thao: ChatDriver, typed: str, days: int) -> None:
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press("Đàm phán")
    await thao.press(VI("pipes.btn_stall"))

    await thao.say(typed)

    assert VI("pipes.stall_days", days=days) in thao.text


@pytest.mark.parametrize(("typed", "problem", "details"), [
    ("²", "not_number", {"text": "²"}), ("5" * 5000, "out_of_range", {"text": "5" * 40}),
    ("101", "out_of_range", {"text": "101"}), ("50.5", "decimal", {"lower": 50, "upper": 51}),
    ("15,5%", "decimal", {"lower": 15, "upper": 16}), ("15 ngày", "unit", {"word": "ngày"}),
])
async def test_a_probability_that_is_not_0_to_100_in_ascii_digits_says_what_is_wrong(
        thao: ChatDriver, typed: str, problem: str, details: dict[str, object]) -> None:
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press("Đàm phán")
    await thao.press(VI("pipes.btn_probability"))

    await thao.say(typed)

    assert thao.text == _retyped("probability", problem, **details)
    await thao.say("060 %")
    assert "60%" in thao.text


@pytest.mark.parametrize("typed", ["15%", "15 %", "15", "15 phần trăm"])
async def test_a_probability_may_be_typed_with_a_percent_sign(thao: ChatDriver, typed: str) -> None:
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press("Đàm phán")
    await thao.press(VI("pipes.btn_probability"))

    await thao.say(typed)

    assert "15%" in thao.text
