"""`chatcrm next` over the review's imported book: interactions logged on the customer (not on the deal) count,
one item per customer, and work for a customer whose deal was just lost waits behind open-deal work."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import format as fmt
from bot.texts import Texts
from crm_core.clock import FrozenClock
from tests.bot.conftest import ChatDriver
from tests.bot.test_nba_chat import _deal
from tests.bot.test_summary_imported_book import BOOK, chatcrm
from tests.conftest import OpenServices

__all__ = ["chatcrm"]  # the fixture, shared

NOW = "2026-11-21T09:00:00+07:00"


async def _next(chatcrm: Any, user: str) -> list[dict[str, Any]]:
    code, _, err = await asyncio.to_thread(chatcrm, "import", str(BOOK))
    assert code == 0, err
    code, out, err = await asyncio.to_thread(chatcrm, "next", "--user", user, "--now", NOW, "--json")
    assert code == 0, err
    return list(json.loads(out))


async def test_calls_logged_on_the_deals_company_by_its_owner_are_contact_with_the_deal(chatcrm: Any) -> None:
    items = await _next(chatcrm, "An")

    # An called and met Alpha on 19-20/11 (logged on the company): the quote of 15/11 was followed up.
    assert not [i for i in items if i["rule"] == "quote_no_followup"]


async def test_an_overdue_task_about_a_deals_customer_is_one_item_with_the_deal(chatcrm: Any) -> None:
    items = await _next(chatcrm, "An")

    alpha = [i for i in items if i["company"] == "Công ty Alpha"]
    assert [(i["rule"], i["deal"]) for i in alpha] == [("task_overdue", "Alpha — 100 ghế")]


async def test_a_task_for_a_customer_whose_deal_was_just_lost_ranks_below_deal_work_and_says_so(
        chatcrm: Any) -> None:
    items = await _next(chatcrm, "Bình")

    assert items[-1]["company"] == "Công ty Gamma"
    assert items[-1]["facts"]["lost_on"] == "2026-11-20"
    assert [i["rule"] for i in items[:-1]] == ["onboarding"]


async def test_a_deal_won_yesterday_says_yesterday(chatcrm: Any) -> None:
    items = await _next(chatcrm, "An")

    beta = next(i for i in items if i["deal"] == "Beta — bàn")  # won 20/11 10:00, 23 hours before
    assert beta["facts"]["days"] == 1
    assert beta["reason"] == Texts("vi")("nba.reason.onboarding_yesterday",
                                         amount=fmt.money(Decimal(300_000_000), "VND", "vi"))


async def test_a_salesperson_naming_herself_gets_her_list_and_a_colleague_a_polite_no(
        lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _deal(sessionmaker, clock, owner="Lan", company="Hòa Phát")
    vi = Texts("vi")

    own = (await lan.say("/next Lan"))[-1].text
    other = (await lan.say("/next Tuấn"))[-1].text

    assert own == (await lan.say("/next"))[-1].text
    assert "Hòa Phát" in own
    assert other == vi("nba.only_own")


async def test_a_title_with_its_own_quotes_is_not_quoted_inside_quotes(
        lan: ChatDriver, open_services: OpenServices, clock: FrozenClock) -> None:
    async with open_services() as services:
        owner = await services.users.by_name("Lan")
        assert owner is not None
        await services.tasks.create(owner_id=owner.id, title="Gửi «báo giá» Alpha",
                                    due_at=clock.now() - timedelta(days=2))

    text = (await lan.say("/next"))[-1].text

    assert "«Gửi “báo giá” Alpha»" in text
