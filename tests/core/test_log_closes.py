"""A log that wins or loses a deal closes it as the deal card does: the reason in the stage history, audited
`deal.won` / `deal.lost`, one conditional change; Undo of the log reopens it as the card's Undo does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crm_core.clock import FrozenClock
from crm_core.models import AuditEntry, Deal, DealStageChange
from crm_core.schemas import DraftFields, SavedLog, UndoneLog, UserOut
from tests.conftest import OpenServices
from tests.core.conftest import Team

RAW = "Hòa Phát đã ký hợp đồng 450tr"


async def _company_with_deal(open_services: OpenServices, owner: UserOut) -> tuple[int, int]:
    """Hòa Phát with an open deal at `quote` for 300tr (100 units); (company id, deal id)."""
    async with open_services() as services:
        company = await services.directory.create_company("Hòa Phát", owner_id=owner.id)
        deal = await services.deals.create(title="Hòa Phát — 100 bàn", owner_id=owner.id, company_id=company.id,
                                           contact_id=None, stage_key="quote", amount=Decimal(300_000_000),
                                           currency="VND", quantity=100)
        return company.id, deal.id


def _fields(company_id: int | None, **changes: Any) -> DraftFields:
    fields: dict[str, Any] = {"kind": "meeting", "company": None, "contact": None, "amount": None, "currency": None,
                              "quantity": None, "next_step": None, "due": None, "close_confirmed": True, **changes}
    if company_id is not None:
        fields["company_choice"] = {"id": company_id, "name": "Hòa Phát"}
    return DraftFields.model_validate(fields)


async def _save_log(open_services: OpenServices, owner: UserOut, fields: DraftFields) -> SavedLog:
    async with open_services() as services:
        draft_id = await services.logs.draft(owner=owner, raw_text=RAW, fields=await services.logs.plan(fields, owner))
    async with open_services() as services:
        return await services.logs.save(draft_id, owner, default_task_title="follow up")


async def _undo_log(open_services: OpenServices, owner: UserOut, draft_id: int) -> UndoneLog:
    async with open_services() as services:
        return await services.logs.undo(draft_id, owner)


async def _deal(open_services: OpenServices, deal_id: int) -> Deal | None:
    async with open_services() as services:
        return await services.session.get(Deal, deal_id)


async def _moves(open_services: OpenServices, deal_id: int) -> list[tuple[str | None, str, str | None]]:
    """(from stage, to stage, reason) of each stage move of the deal, oldest first."""
    async with open_services() as services:
        keys = {s.id: s.key for s in await services.pipelines.default_stages()}
        query = select(DealStageChange).where(DealStageChange.deal_id == deal_id).order_by(DealStageChange.id)
        rows = (await services.session.scalars(query)).all()
    return [(keys.get(r.from_stage_id) if r.from_stage_id else None, keys[r.to_stage_id], r.reason) for r in rows]


async def _audit(open_services: OpenServices, deal_id: int) -> list[tuple[str, Any]]:
    async with open_services() as services:
        query = select(AuditEntry).where(AuditEntry.entity == "deal", AuditEntry.entity_id == str(deal_id),
                                         AuditEntry.action.in_(("deal.won", "deal.lost", "deal.reopen")))
        return [(a.action, a.details) for a in (await services.session.scalars(query.order_by(AuditEntry.id))).all()]


async def test_a_log_that_loses_a_deal_keeps_the_reason_in_the_stage_history_and_is_audited(
        open_services: OpenServices, team: Team) -> None:
    company_id, deal_id = await _company_with_deal(open_services, team.lan)

    await _save_log(open_services, team.lan, _fields(company_id, stage="lost", lost_reason="no_need"))

    deal = await _deal(open_services, deal_id)
    assert deal is not None
    assert (deal.status, deal.lost_reason, deal.closed_at is not None) == ("lost", "no_need", True)
    assert await _moves(open_services, deal_id) == [(None, "quote", None), ("quote", "lost", "no_need")]
    assert await _audit(open_services, deal_id) == [("deal.lost", {"from": "quote", "reason": "no_need"})]


async def test_a_log_that_wins_a_deal_is_audited_like_the_deal_cards_won(open_services: OpenServices,
                                                                         team: Team) -> None:
    company_id, deal_id = await _company_with_deal(open_services, team.lan)

    saved = await _save_log(open_services, team.lan, _fields(company_id, stage="won", amount=450_000_000,
                                                             currency="VND"))

    deal = await _deal(open_services, deal_id)
    assert deal is not None
    assert (saved.deal_id, deal.status, deal.amount, deal.lost_reason) == (deal_id, "won", Decimal(450_000_000), None)
    assert await _moves(open_services, deal_id) == [(None, "quote", None), ("quote", "won", None)]
    assert await _audit(open_services, deal_id) == [("deal.won", {"from": "quote", "reason": None})]


async def test_undo_of_a_log_that_closed_a_deal_reopens_it_and_forgets_the_close(
        open_services: OpenServices, team: Team, clock: FrozenClock) -> None:
    company_id, deal_id = await _company_with_deal(open_services, team.lan)
    before = await _deal(open_services, deal_id)
    assert before is not None
    clock.advance(timedelta(days=2))
    saved = await _save_log(open_services, team.lan, _fields(company_id, stage="lost", lost_reason="price",
                                                             amount=80_000_000, currency="VND"))
    clock.advance(timedelta(minutes=4))

    undone = await _undo_log(open_services, team.lan, saved.draft_id)

    deal = await _deal(open_services, deal_id)
    assert deal is not None
    assert undone.kept_deal is None
    assert (deal.status, deal.stage_id, deal.amount, deal.lost_reason, deal.closed_at) == (
        "open", before.stage_id, Decimal(300_000_000), None, None)
    assert deal.stage_changed_at == before.stage_changed_at
    assert await _moves(open_services, deal_id) == [(None, "quote", None)]
    assert [action for action, _details in await _audit(open_services, deal_id)] == ["deal.lost", "deal.reopen"]


async def test_undo_of_a_log_keeps_a_close_someone_changed_since(open_services: OpenServices, team: Team) -> None:
    company_id, deal_id = await _company_with_deal(open_services, team.lan)
    saved = await _save_log(open_services, team.lan, _fields(company_id, stage="won"))
    async with open_services() as services:
        await services.deals.move(deal_id, "negotiation", team.boss)  # the manager reopens it meanwhile

    undone = await _undo_log(open_services, team.lan, saved.draft_id)

    deal = await _deal(open_services, deal_id)
    assert deal is not None
    assert (undone.kept_deal, deal.status) == ("Hòa Phát — 100 bàn", "open")
    assert [m[1] for m in await _moves(open_services, deal_id)] == ["quote", "won", "negotiation"]


async def test_a_log_that_wins_a_new_deal_closes_it_and_undo_removes_it(open_services: OpenServices,
                                                                        team: Team) -> None:
    saved = await _save_log(open_services, team.lan, _fields(None, company="Minh Long", stage="won", quantity=50,
                                                             amount=100_000_000, currency="VND"))

    assert saved.deal_created
    assert saved.deal_id is not None
    deal = await _deal(open_services, saved.deal_id)
    assert deal is not None
    assert (deal.status, deal.closed_at is not None) == ("won", True)
    assert await _moves(open_services, saved.deal_id) == [(None, "contacted", None), ("contacted", "won", None)]
    assert [a for a, _d in await _audit(open_services, saved.deal_id)] == ["deal.won"]

    undone = await _undo_log(open_services, team.lan, saved.draft_id)

    assert undone.kept_deal is None
    assert await _deal(open_services, saved.deal_id) is None
