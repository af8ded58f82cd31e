"""Every way to win or lose a deal in chat asks first and closes it as the deal card does (issue 10, case 8):
a log's close keeps its reason in the stage history, is audited and is taken back by the log's Undo; a
stage button whose stage is won or lost, whatever its spelling, asks to confirm instead of closing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.core.callbacks import pack
from bot.texts import Texts
from crm_core.models import AuditEntry, Deal, DealStageChange
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")


async def _deal(open_services: OpenServices, owner: str, company: str, title: str) -> int:
    async with open_services() as services:
        user = await services.users.by_name(owner)
        assert user is not None
        row = await services.directory.create_company(company, owner_id=user.id)
        deal = await services.deals.create(title=title, owner_id=user.id, company_id=row.id, contact_id=None,
                                           stage_key="quote", amount=Decimal(300_000_000), currency="VND",
                                           quantity=100)
        return deal.id


async def _row(open_services: OpenServices, deal_id: int) -> Deal:
    async with open_services() as services:
        deal = await services.session.get(Deal, deal_id)
    assert deal is not None
    return deal


async def _moves(open_services: OpenServices, deal_id: int) -> list[tuple[str, str | None]]:
    """(stage moved to, reason) of each of the deal's stage moves, oldest first."""
    async with open_services() as services:
        keys = {s.id: s.key for s in await services.pipelines.default_stages()}
        query = select(DealStageChange).where(DealStageChange.deal_id == deal_id).order_by(DealStageChange.id)
        return [(keys[m.to_stage_id], m.reason) for m in (await services.session.scalars(query)).all()]


async def _audited(open_services: OpenServices, deal_id: int) -> list[str]:
    async with open_services() as services:
        query = select(AuditEntry.action).where(AuditEntry.entity == "deal", AuditEntry.entity_id == str(deal_id),
                                                AuditEntry.action.like("deal.%"))
        return list((await services.session.scalars(query.order_by(AuditEntry.id))).all())


# --- a log that closes a deal --------------------------------------------------------------------------------


async def test_a_log_that_loses_a_deal_records_why_in_the_stage_history_and_is_audited(
        lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")
    await lan.say("Gọi anh Minh bên Hòa Phát, báo ko mua nữa, mất deal")
    await lan.press(VI("btn.save"))

    await lan.press(VI("lost_reason.no_need"))

    deal = await _row(open_services, deal_id)
    assert (deal.status, deal.lost_reason) == ("lost", "no_need")
    assert await _moves(open_services, deal_id) == [("quote", None), ("lost", "no_need")]
    assert await _audited(open_services, deal_id) == ["deal.lost"]


async def test_undo_of_a_log_that_lost_a_deal_reopens_it(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")
    await lan.say("Gọi anh Minh bên Hòa Phát, báo ko mua nữa, mất deal")
    await lan.press(VI("btn.save"))
    await lan.press(VI("lost_reason.no_need"))

    await lan.press(VI("btn.undo"))

    assert VI("log.undone") in lan.text
    deal = await _row(open_services, deal_id)
    assert (deal.status, deal.lost_reason, deal.closed_at) == ("open", None, None)
    assert await _moves(open_services, deal_id) == [("quote", None)]
    assert await _audited(open_services, deal_id) == ["deal.lost", "deal.reopen"]


# --- a stage button ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "prompt"), [
    ("Thắng", "deal.confirm_won"),  # the won stage by its name
    ("WON", "deal.confirm_won"),
    ("Thua", "deal.ask_lost_reason"),
    ("Lost", "deal.ask_lost_reason"),
])
async def test_a_stage_button_to_a_won_or_lost_stage_asks_first(lan: ChatDriver, open_services: OpenServices,
                                                                 stage: str, prompt: str) -> None:
    deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")

    await lan.tap(pack("deal", "move", deal_id, stage))

    assert lan.text == VI(prompt, id=deal_id, title="Hòa Phát — 100 bộ bàn AP-D120", amount="300.000.000 ₫")
    assert (await _row(open_services, deal_id)).status == "open"
    assert await _moves(open_services, deal_id) == [("quote", None)]


async def test_a_stage_button_to_an_open_stage_still_moves_at_once(lan: ChatDriver,
                                                                   open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")

    await lan.tap(pack("deal", "move", deal_id, "negotiation"))

    assert VI("deal.moved", title="Hòa Phát — 100 bộ bàn AP-D120", stage="Đàm phán") in lan.text
    assert await _moves(open_services, deal_id) == [("quote", None), ("negotiation", None)]
