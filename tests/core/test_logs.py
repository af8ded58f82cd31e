"""Free-text logs: one save creates or updates everything in one unit of work; undo takes it back."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crm_core.clock import FrozenClock
from crm_core.errors import AlreadyDone, UndoExpired
from crm_core.repositories.sales import ActivityRepository, DealRepository
from crm_core.schemas import DraftFields, SavedLog, UserOut
from crm_core.services import Services
from crm_core.services.logs import due_datetime
from tests.conftest import OpenServices
from tests.core.conftest import Team

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
RAW = "Gọi anh Minh bên Hòa Phát, báo giá 200 bộ 500tr, thứ 6 gửi báo giá"
PARSED: dict[str, Any] = {
    "kind": "call",
    "contact": "Minh",
    "company": "Hòa Phát",
    "amount": 500000000,
    "currency": "VND",
    "quantity": 200,
    "next_step": "gửi báo giá",
    "due": "2026-11-27",
    "occurred_on": None,
    "stage": "quote",
    "phone": "+84901234567",
    "email": None,
}


async def _draft(open_services: OpenServices, owner: UserOut, fields: dict[str, Any], raw: str = RAW) -> int:
    async with open_services() as services:
        return await services.logs.draft(owner=owner, raw_text=raw, fields=DraftFields.model_validate(fields))


async def _save(open_services: OpenServices, owner: UserOut, draft_id: int) -> SavedLog:
    async with open_services() as services:
        return await services.logs.save(draft_id, owner, default_task_title="follow up")


async def _counts(services: Services) -> dict[str, int]:
    companies, contacts = await services.directory.counts()
    return {
        "companies": companies,
        "contacts": contacts,
        "deals": await services.deals.count(),
        "tasks": await services.tasks.count(),
        "interactions": await ActivityRepository(services.session).count_interactions(),
    }


async def _existing_deal(open_services: OpenServices, owner: UserOut) -> tuple[int, int]:
    """Create Hòa Phát with an open deal at `quote` for 300tr; return (company id, deal id)."""
    async with open_services() as services:
        company = await services.directory.create_company("Hòa Phát", owner_id=owner.id)
        deal = await services.deals.create(
            title="Hòa Phát",
            owner_id=owner.id,
            company_id=company.id,
            contact_id=None,
            stage_key="quote",
            amount=Decimal(300000000),
            currency="VND",
            quantity=100,
        )
        await services.session.flush()
        return company.id, deal.id


def _on_existing(company_id: int, **changes: Any) -> dict[str, Any]:
    fields = {**PARSED, "company_choice": {"id": company_id, "name": "Hòa Phát"}, **changes}
    fields.pop("company")
    return fields


async def test_saving_a_new_log_creates_company_contact_deal_interaction_and_task(
    open_services: OpenServices,
    team: Team,
) -> None:
    saved = await _save(open_services, team.lan, await _draft(open_services, team.lan, PARSED))

    assert (saved.company_created, saved.contact_created, saved.deal_created) == (True, True, True)
    async with open_services() as services:
        view = await services.directory.customer_360(saved.company_id or 0, viewer=team.lan)
    assert view.company.name == "Hòa Phát"
    assert [(c.name, c.phone) for c in view.contacts] == [("Minh", "+84901234567")]
    assert [(d.id, d.stage.key, d.amount, d.currency, d.quantity, d.owner_id, d.contact) for d in view.deals] == [
        (saved.deal_id, "quote", Decimal(500000000), "VND", 200, team.lan.id, "Minh")
    ]
    assert [(i.id, i.kind, i.summary, i.deal_id, i.contact) for i in view.interactions] == [
        (saved.interaction_id, "call", RAW, saved.deal_id, "Minh")
    ]
    assert [(t.id, t.title, t.due_at, t.deal_id) for t in view.open_tasks] == [
        (saved.task_id, "gửi báo giá", datetime(2026, 11, 27, 9, tzinfo=HCM), saved.deal_id)
    ]


async def test_saving_reports_the_undo_deadline(open_services: OpenServices, team: Team, clock: FrozenClock) -> None:
    saved = await _save(open_services, team.lan, await _draft(open_services, team.lan, PARSED))

    assert saved.undo_until == clock.now() + timedelta(minutes=5)


async def test_a_log_without_company_saves_only_the_interaction(open_services: OpenServices, team: Team) -> None:
    fields = {"kind": "note", "next_step": None, "due": None, "company": None, "contact": None}
    saved = await _save(open_services, team.lan, await _draft(open_services, team.lan, fields, raw="nhớ đọc email"))

    assert (saved.company_id, saved.contact_id, saved.deal_id, saved.task_id) == (None, None, None, None)
    async with open_services() as services:
        assert await _counts(services) == {"companies": 0, "contacts": 0, "deals": 0, "tasks": 0, "interactions": 1}


async def test_a_log_on_a_company_with_an_open_deal_updates_that_deal(open_services: OpenServices, team: Team) -> None:
    company_id, deal_id = await _existing_deal(open_services, team.lan)

    fields = _on_existing(company_id, amount=450000000, quantity=150, stage="negotiation")
    saved = await _save(open_services, team.lan, await _draft(open_services, team.lan, fields))

    assert (saved.deal_id, saved.deal_created, saved.company_id, saved.company_created) == (
        deal_id,
        False,
        company_id,
        False,
    )
    async with open_services() as services:
        deal = await services.deals.get(deal_id, team.lan)
        assert await services.deals.count() == 1
    assert (deal.amount, deal.quantity, deal.stage.key, deal.contact) == (
        Decimal(450000000),
        150,
        "negotiation",
        "Minh",
    )


async def test_a_log_never_changes_a_colleagues_deal(open_services: OpenServices, team: Team) -> None:
    company_id, deal_id = await _existing_deal(open_services, team.minh)
    async with open_services() as services:
        before = await services.deals.get(deal_id, team.boss)

    saved = await _save(open_services, team.lan, await _draft(open_services, team.lan, _on_existing(
        company_id, stage="won", amount=None, quantity=None)))

    async with open_services() as services:
        after = await services.deals.get(deal_id, team.boss)
    assert after == before
    assert (saved.deal_id, saved.deal_created) == (deal_id, False)  # kept as a note on it


async def test_save_refuses_a_plan_whose_deal_changed_since_the_preview(open_services: OpenServices,
                                                                        team: Team) -> None:
    from crm_core.services.log_plans import PlanStale

    company_id, deal_id = await _existing_deal(open_services, team.lan)
    async with open_services() as services:
        fields = await services.logs.plan(DraftFields.model_validate(_on_existing(company_id, amount=450000000,
                                                                                  quantity=None)), team.lan)
    assert fields.deal_plan is not None
    assert (fields.deal_plan.action, fields.deal_plan.deal_id, fields.deal_plan.changed()) == (
        "update", deal_id, ["amount", "contact"])
    draft_id = await _draft(open_services, team.lan, fields.stored())
    async with open_services() as services:
        await services.deals.move(deal_id, "negotiation", team.boss)

    with pytest.raises(PlanStale):
        await _save(open_services, team.lan, draft_id)
    async with open_services() as services:
        assert (await services.logs.get(draft_id, team.lan)).status == "draft"
        assert (await services.deals.get(deal_id, team.lan)).amount == Decimal(300000000)


async def test_saving_a_log_twice_raises_already_done(open_services: OpenServices, team: Team) -> None:
    draft_id = await _draft(open_services, team.lan, PARSED)
    await _save(open_services, team.lan, draft_id)

    with pytest.raises(AlreadyDone):
        await _save(open_services, team.lan, draft_id)

    async with open_services() as services:
        assert await _counts(services) == {"companies": 1, "contacts": 1, "deals": 1, "tasks": 1, "interactions": 1}


async def _save_then_fail(open_services: OpenServices, owner: UserOut, draft_id: int) -> None:
    async with open_services() as services:
        await services.logs.save(draft_id, owner, default_task_title="follow up")
        raise RuntimeError("reply could not be built")


async def test_a_failed_unit_of_work_saves_nothing_and_the_draft_stays_open(
    open_services: OpenServices, team: Team
) -> None:
    draft_id = await _draft(open_services, team.lan, PARSED)

    with pytest.raises(RuntimeError, match="reply could not be built"):
        await _save_then_fail(open_services, team.lan, draft_id)

    async with open_services() as services:
        assert await _counts(services) == {"companies": 0, "contacts": 0, "deals": 0, "tasks": 0, "interactions": 0}
        assert (await services.logs.get(draft_id, team.lan)).status == "draft"
    assert (await _save(open_services, team.lan, draft_id)).deal_created


async def test_undo_within_the_window_removes_everything_the_log_created(
    open_services: OpenServices, team: Team, clock: FrozenClock
) -> None:
    draft_id = await _draft(open_services, team.lan, PARSED)
    await _save(open_services, team.lan, draft_id)
    clock.advance(timedelta(minutes=4))

    async with open_services() as services:
        await services.logs.undo(draft_id, team.lan)

    async with open_services() as services:
        assert await _counts(services) == {"companies": 0, "contacts": 0, "deals": 0, "tasks": 0, "interactions": 0}
        draft = await services.logs.get(draft_id, team.lan)
    assert (draft.status, draft.raw_text) == ("undone", RAW)


async def test_undo_restores_the_previous_amount_and_stage_of_an_existing_deal(
    open_services: OpenServices, team: Team
) -> None:
    company_id, deal_id = await _existing_deal(open_services, team.lan)
    async with open_services() as services:
        before = await services.deals.get(deal_id, team.lan)
    draft_id = await _draft(open_services, team.lan, _on_existing(company_id, amount=450000000, stage="won"))
    await _save(open_services, team.lan, draft_id)

    async with open_services() as services:
        await services.logs.undo(draft_id, team.lan)

    async with open_services() as services:
        after = await services.deals.get(deal_id, team.lan)
        assert [d.id for d in await services.deals.list_open(team.lan)] == [deal_id]
    assert after == before


async def test_undo_removes_the_stage_change_the_log_made(open_services: OpenServices, team: Team) -> None:
    company_id, deal_id = await _existing_deal(open_services, team.lan)
    draft_id = await _draft(open_services, team.lan, _on_existing(company_id, stage="negotiation"))
    await _save(open_services, team.lan, draft_id)

    async with open_services() as services:
        await services.logs.undo(draft_id, team.lan)

    async with open_services() as services:
        changes = await DealRepository(services.session).stage_changes(deal_id)
    assert [c.from_stage_id for c in changes] == [None]


async def test_undo_after_the_window_raises_undo_expired_and_keeps_the_log(
    open_services: OpenServices, team: Team, clock: FrozenClock
) -> None:
    draft_id = await _draft(open_services, team.lan, PARSED)
    await _save(open_services, team.lan, draft_id)
    clock.advance(timedelta(minutes=5, seconds=1))

    with pytest.raises(UndoExpired):
        async with open_services() as services:
            await services.logs.undo(draft_id, team.lan)

    async with open_services() as services:
        assert await _counts(services) == {"companies": 1, "contacts": 1, "deals": 1, "tasks": 1, "interactions": 1}


async def test_undoing_twice_raises_already_done(open_services: OpenServices, team: Team) -> None:
    draft_id = await _draft(open_services, team.lan, PARSED)
    await _save(open_services, team.lan, draft_id)
    async with open_services() as services:
        await services.logs.undo(draft_id, team.lan)

    with pytest.raises(AlreadyDone):
        async with open_services() as services:
            await services.logs.undo(draft_id, team.lan)


async def test_a_log_about_yesterday_is_dated_yesterday(
    open_services: OpenServices, team: Team, clock: FrozenClock
) -> None:
    fields = {**PARSED, "occurred_on": "2026-11-22"}
    saved = await _save(open_services, team.lan, await _draft(open_services, team.lan, fields))

    async with open_services() as services:
        view = await services.directory.customer_360(saved.company_id or 0, viewer=team.lan)
    assert [i.occurred_at for i in view.interactions] == [clock.now() - timedelta(days=1)]


def test_a_task_due_today_after_nine_is_due_at_five_pm() -> None:
    now = datetime(2026, 11, 23, 10, tzinfo=HCM)

    assert due_datetime(date(2026, 11, 23), now) == datetime(2026, 11, 23, 17, tzinfo=HCM)


def test_a_task_due_on_a_later_day_is_due_at_nine_am() -> None:
    now = datetime(2026, 11, 23, 10, tzinfo=HCM)

    assert due_datetime(date(2026, 11, 27), now) == datetime(2026, 11, 27, 9, tzinfo=HCM)


# --- nothing twice, nothing wrongly merged ----------------------------------------------------------------------


async def test_two_drafts_about_the_same_new_company_save_onto_one_company(open_services: OpenServices,
                                                                          team: Team) -> None:
    first_draft = await _draft(open_services, team.lan, PARSED)
    second_draft = await _draft(open_services, team.minh, {**PARSED, "amount": None, "stage": None})

    first = await _save(open_services, team.lan, first_draft)
    second = await _save(open_services, team.minh, second_draft)

    assert (second.company_id, second.contact_id, second.deal_id) == (first.company_id, first.contact_id,
                                                                      first.deal_id)
    assert (second.company_created, second.contact_created, second.deal_created) == (False, False, False)
    async with open_services() as services:
        assert await _counts(services) == {"companies": 1, "contacts": 1, "deals": 1, "tasks": 2, "interactions": 2}


async def test_cancelling_a_saved_draft_raises_already_done_and_keeps_it_saved(open_services: OpenServices,
                                                                               team: Team) -> None:
    draft_id = await _draft(open_services, team.lan, PARSED)
    await _save(open_services, team.lan, draft_id)

    with pytest.raises(AlreadyDone):
        async with open_services() as services:
            await services.logs.cancel(draft_id, team.lan)

    async with open_services() as services:
        assert (await services.logs.get(draft_id, team.lan)).status == "saved"


async def test_saving_a_cancelled_draft_raises_already_done_and_saves_nothing(open_services: OpenServices,
                                                                              team: Team) -> None:
    draft_id = await _draft(open_services, team.lan, PARSED)
    async with open_services() as services:
        await services.logs.cancel(draft_id, team.lan)

    with pytest.raises(AlreadyDone):
        await _save(open_services, team.lan, draft_id)

    async with open_services() as services:
        assert await _counts(services) == {"companies": 0, "contacts": 0, "deals": 0, "tasks": 0, "interactions": 0}


async def test_undo_keeps_what_a_colleagues_later_log_uses_and_names_it(open_services: OpenServices,
                                                                        team: Team) -> None:
    lans = await _draft(open_services, team.lan, PARSED)
    minhs = await _draft(open_services, team.minh, {**PARSED, "amount": None, "stage": None})
    await _save(open_services, team.lan, lans)
    kept = await _save(open_services, team.minh, minhs)

    async with open_services() as services:
        undone = await services.logs.undo(lans, team.lan)

    assert (undone.kept_deal, undone.kept_company, undone.kept_contact) == ("Hòa Phát — 200", "Hòa Phát", "Minh")
    async with open_services() as services:
        assert await _counts(services) == {"companies": 1, "contacts": 1, "deals": 1, "tasks": 1, "interactions": 1}
        interaction = await ActivityRepository(services.session).get_interaction(kept.interaction_id)
        assert interaction is not None
        assert (interaction.company_id, interaction.contact_id, interaction.deal_id) == (
            kept.company_id, kept.contact_id, kept.deal_id)
        assert (await services.logs.get(lans, team.lan)).status == "undone"


async def test_undo_keeps_a_new_deal_moved_since_with_its_company_and_contact(open_services: OpenServices,
                                                                             team: Team) -> None:
    draft_id = await _draft(open_services, team.lan, PARSED)
    saved = await _save(open_services, team.lan, draft_id)
    async with open_services() as services:
        await services.deals.move(saved.deal_id or 0, "negotiation", team.boss)

    async with open_services() as services:
        undone = await services.logs.undo(draft_id, team.lan)

    assert (undone.kept_deal, undone.kept_company, undone.kept_contact) == ("Hòa Phát — 200", "Hòa Phát", "Minh")
    async with open_services() as services:
        assert await _counts(services) == {"companies": 1, "contacts": 1, "deals": 1, "tasks": 0, "interactions": 0}
        deal = await services.deals.get(saved.deal_id or 0, team.boss)
    assert deal.stage.key == "negotiation"


async def test_undo_of_a_log_nobody_else_used_keeps_nothing(open_services: OpenServices, team: Team) -> None:
    draft_id = await _draft(open_services, team.lan, PARSED)
    await _save(open_services, team.lan, draft_id)

    async with open_services() as services:
        undone = await services.logs.undo(draft_id, team.lan)

    assert (undone.kept_deal, undone.kept_company, undone.kept_contact) == (None, None, None)


async def test_a_failed_message_is_kept_once_per_source(open_services: OpenServices, team: Team) -> None:
    async with open_services() as services:
        first = await services.logs.keep_failed(owner=team.lan, raw_text=RAW, source_key="telegram:u:1")
    async with open_services() as services:
        again = await services.logs.keep_failed(owner=team.lan, raw_text=RAW, source_key="telegram:u:1")
        other = await services.logs.keep_failed(owner=team.lan, raw_text=RAW, source_key="telegram:u:2")
        unkeyed = await services.logs.keep_failed(owner=team.lan, raw_text=RAW, source_key=None)

    assert first is not None
    assert again is None
    assert other is not None
    assert unkeyed is not None


async def test_a_log_is_not_saved_onto_a_company_renamed_since_its_preview(open_services: OpenServices,
                                                                          team: Team) -> None:
    from sqlalchemy import update

    from crm_core.errors import Conflict
    from crm_core.models import Company

    company_id, _deal_id = await _existing_deal(open_services, team.lan)
    draft_id = await _draft(open_services, team.lan, _on_existing(company_id))
    async with open_services() as services:  # another process renames (or deletes and reuses the id)
        await services.session.execute(update(Company).where(Company.id == company_id)
                                       .values(name="Công ty XYZ", name_folded="cong ty xyz"))

    with pytest.raises(Conflict):
        await _save(open_services, team.lan, draft_id)
    async with open_services() as services:
        assert (await services.logs.get(draft_id, team.lan)).status == "draft"


# --- Undo takes back only what the log did, and only while nothing changed since (issue 10 review B1-B3) -----


async def _deal_row(open_services: OpenServices, deal_id: int) -> Any:
    from crm_core.models import Deal

    async with open_services() as services:
        return await services.session.get(Deal, deal_id)


async def test_undo_keeps_a_deal_given_to_a_colleague_since_the_save(open_services: OpenServices,
                                                                       team: Team) -> None:
    company_id, deal_id = await _existing_deal(open_services, team.lan)
    draft_id = await _draft(open_services, team.lan, _on_existing(company_id, amount=250000000, stage=None))
    await _save(open_services, team.lan, draft_id)
    async with open_services() as services:
        await services.deals.reassign(deal_id, team.minh.id, team.boss)

    async with open_services() as services:
        undone = await services.logs.undo(draft_id, team.lan)

    assert (undone.kept_deal, undone.deal_changed_since) == ("Hòa Phát", True)
    deal = await _deal_row(open_services, deal_id)
    assert (deal.owner_id, deal.amount) == (team.minh.id, Decimal(250000000))


async def test_undo_keeps_a_new_deal_and_its_task_given_to_a_colleague(open_services: OpenServices,
                                                                        team: Team) -> None:
    draft_id = await _draft(open_services, team.lan, PARSED)
    saved = await _save(open_services, team.lan, draft_id)
    async with open_services() as services:
        await services.tasks.hand_over([saved.task_id or 0], team.minh.id, team.boss)
        await services.deals.reassign(saved.deal_id or 0, team.minh.id, team.boss)

    async with open_services() as services:
        undone = await services.logs.undo(draft_id, team.lan)

    assert (undone.kept_deal, undone.kept_task, undone.deal_changed_since) == ("Hòa Phát — 200", "gửi báo giá", True)
    async with open_services() as services:
        counts = await _counts(services)
    assert (counts["deals"], counts["tasks"], counts["interactions"]) == (1, 1, 0)
    assert (await _deal_row(open_services, saved.deal_id or 0)).owner_id == team.minh.id


async def test_undo_keeps_a_deal_won_on_its_card_after_the_log(open_services: OpenServices, team: Team) -> None:
    company_id, deal_id = await _existing_deal(open_services, team.lan)
    draft_id = await _draft(open_services, team.lan, _on_existing(company_id, amount=120000000, stage=None))
    await _save(open_services, team.lan, draft_id)
    async with open_services() as services:
        mark = await services.closing.mark(deal_id, "won", team.lan)
        assert await services.closing.close(mark, "won", team.lan, reason=None)

    async with open_services() as services:
        undone = await services.logs.undo(draft_id, team.lan)

    assert (undone.kept_deal, undone.deal_changed_since) == ("Hòa Phát", True)
    deal = await _deal_row(open_services, deal_id)
    assert (deal.status, deal.amount) == ("won", Decimal(120000000))


async def test_undo_puts_back_the_title_a_quantity_change_rewrote(open_services: OpenServices, team: Team) -> None:
    async with open_services() as services:
        company = await services.directory.create_company("Hòa Phát", owner_id=team.lan.id)
        deal = await services.deals.create(title="Hòa Phát — 100 bộ", owner_id=team.lan.id, company_id=company.id,
                                           contact_id=None, stage_key="quote", amount=None, currency=None,
                                           quantity=100)
        await services.session.flush()
        company_id, deal_id = company.id, deal.id
    draft_id = await _draft(open_services, team.lan, _on_existing(company_id, amount=None, stage=None,
                                                                   product="bộ", deal_choice="update"))
    await _save(open_services, team.lan, draft_id)
    assert ((await _deal_row(open_services, deal_id)).title, (await _deal_row(open_services, deal_id)).quantity) == (
        "Hòa Phát — 200 bộ", 200)

    async with open_services() as services:
        await services.logs.undo(draft_id, team.lan)

    row = await _deal_row(open_services, deal_id)
    assert (row.title, row.quantity) == ("Hòa Phát — 100 bộ", 100)
