"""The summary in chat, as the issue 13 review read it: words managers read, dates in range, fair comparisons."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handlers.reports import period_title
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import Contact, CustomerQuestion, Interaction, User
from crm_core.reports.periods import PeriodKind, period_of
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver
from tests.bot.test_nba_chat import _deal

VI = Texts("vi")
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


async def _handoffs(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, *reasons: str) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        customer = Contact(name="Khách", name_folded="khach", created_at=clock.now())
        uow.session.add(customer)
        await uow.session.flush()
        uow.session.add_all([CustomerQuestion(contact_id=customer.id, question="Cho gặp người thật", answer="",
                                              handoff=True, reason=reason, asked_at=clock.now() - timedelta(hours=1))
                             for reason in reasons])


async def test_hand_off_reasons_are_said_in_the_catalogues_words_not_their_codes(
        quang: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _handoffs(sessionmaker, clock, "asked_for_human", "unsafe")

    summary = (await quang.say("/summary"))[-1].text
    listed = (await quang.press(VI("summary.btn_handoffs")))[0].text

    for text in (summary, listed):
        assert VI("staff.reason_asked_for_human") in text
        assert VI("staff.reason_unsafe") in text
        assert "asked_for_human" not in text
        assert "unsafe" not in text


@pytest.mark.parametrize("asked", ["9999-12-31", "0001-01-01", "1999-12-31", "31/12/2099", "tuần trước nữa",
                                   "Tuấn", "20/11 gì đó"])
async def test_a_day_out_of_range_or_words_it_cannot_read_get_the_usage_line(quang: ChatDriver, asked: str) -> None:
    replies = await quang.say(f"/summary {asked}")

    assert [r.text for r in replies] == [VI("summary.usage")]


@pytest.mark.parametrize(("asked", "kind"), [("tuần trước", "week"), ("tuan truoc", "week"), ("last week", "week"),
                                              ("tháng trước", "month")])
async def test_last_week_and_last_month_are_the_whole_period_before(quang: ChatDriver, clock: FrozenClock,
                                                                    asked: str, kind: PeriodKind) -> None:
    before = period_of(kind, clock.now().date(), HCM)
    before = period_of(kind, before.first - timedelta(days=1), HCM)

    text = (await quang.say(f"/summary {asked}"))[-1].text

    assert period_title(VI, "vi", kind, before.first, before.last) in text


async def test_a_forged_button_with_an_impossible_date_is_a_stale_button(quang: ChatDriver) -> None:
    await quang.say("/summary")

    for data in ("sum:v1:ho:d:00010101:1", "sum:v1:rep:2:d:99991231:1"):
        replies = await quang.tap(data)
        assert VI("common.stale_button") in "\n".join(r.text for r in replies)


async def _calls(sessionmaker: async_sessionmaker[AsyncSession], *moments: datetime) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        lan = await uow.session.scalar(select(User.id).where(User.name == "Lan"))
        uow.session.add_all([Interaction(kind="call", occurred_at=at, owner_id=lan, summary="gọi", created_at=at)
                             for at in moments])


async def test_a_week_so_far_is_compared_with_the_same_days_of_the_week_before_and_says_which(
        quang: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    clock.set(datetime(2026, 11, 26, 10, 0, tzinfo=HCM))  # Thursday
    # One call so far this week; the week before, one on Monday–Thursday and two on Friday and Saturday.
    await _calls(sessionmaker, *(datetime(2026, 11, day, 9, 0, tzinfo=HCM) for day in (26, 18, 20, 21)))

    text = (await quang.say("/summary tuần"))[-1].text

    assert VI("summary.activity", total=1, change="=", before="16/11–19/11") in text


async def test_a_month_so_far_is_compared_with_the_same_days_of_the_month_before(
        quang: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    clock.set(datetime(2026, 12, 3, 10, 0, tzinfo=HCM))
    await _calls(sessionmaker, *(datetime(2026, m, d, 9, 0, tzinfo=HCM) for m, d in ((12, 2), (11, 3), (11, 20))))

    text = (await quang.say("/summary tháng"))[-1].text

    assert VI("summary.activity", total=1, change="=", before="01/11–03/11") in text


async def test_the_pipeline_says_which_probabilities_weighted_it(
        quang: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _deal(sessionmaker, clock, owner="Lan", company="Hòa Phát")

    text = (await quang.say("/pipeline"))[-1].text

    assert VI("summary.weighted_basis", basis=VI("summary.basis_configured")) in text


async def test_forecast_says_its_month_as_read_and_its_amount_once(
        quang: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _deal(sessionmaker, clock, owner="Lan", company="Hòa Phát")
    month = f"{clock.now().astimezone(HCM):%m/%Y}"

    text = (await quang.say("/forecast"))[-1].text

    assert text.splitlines()[0].startswith(VI("summary.forecast_title", month=month, whose="", amount=""))
    assert VI("summary.forecast", month=month, amount="") not in text


async def test_a_salesperson_refused_the_teams_push_is_addressed_as_anh_chi(lan: ChatDriver) -> None:
    replies = await lan.tap("pset:v1:mute:summary")

    assert [r.text for r in replies] == [VI("common.not_allowed_staff")]
