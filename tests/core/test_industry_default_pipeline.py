"""Any shipped template can be the default pipeline: new deals from a log or a customer's lead start in its
first open stage (a log in a "contacted" stage when it has one), and a log's stage words ("chốt được",
"báo giá") mean its stages by kind or name, never by keys only the general template has (issue 15 review)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm_core.models import Deal, Stage
from crm_core.pipelines.stage_words import stage_for
from crm_core.pipelines.templates import GENERAL, TEMPLATES
from crm_core.schemas import DraftFields, SavedLog, StageOut, UserOut
from tests.conftest import OpenServices
from tests.core.conftest import Team

TEMPLATE_KEYS = list(TEMPLATES)


async def _make_default(open_services: OpenServices, template_key: str) -> int:
    """Make a pipeline of `template_key` the default one (the general one is when it is asked for); its id."""
    async with open_services() as services:
        if template_key == GENERAL.key:
            return (await services.pipelines.default_stages())[0].pipeline_id or 0
        pipeline = await services.pipelines.add_from_template(template_key)
        await services.pipelines.make_default(pipeline.id)
        return pipeline.id


async def _save_log(open_services: OpenServices, owner: UserOut, **changes: Any) -> SavedLog:
    fields = DraftFields.model_validate({"kind": "meeting", "company": "Giày Bình Dương", "contact": None,
                                         "amount": 45_000_000, "currency": "VND", "quantity": 15,
                                         "next_step": None, "due": None, "close_confirmed": True, **changes})
    async with open_services() as services:
        draft_id = await services.logs.draft(owner=owner, raw_text="gặp c Hạnh", fields=await services.logs.plan(
            fields, owner))
    async with open_services() as services:
        return await services.logs.save(draft_id, owner, default_task_title="follow up")


async def _deal_stage(open_services: OpenServices, deal_id: int) -> tuple[Deal, Stage]:
    async with open_services() as services:
        deal = await services.session.get(Deal, deal_id)
        assert deal is not None
        stage = await services.session.scalar(select(Stage).where(Stage.id == deal.stage_id))
        assert stage is not None
        return deal, stage


def _log_start(template_key: str) -> str:
    """Where a log that names no stage starts a deal: "contacted" in the general pipeline, else the first stage."""
    return "contacted" if template_key == GENERAL.key else TEMPLATES[template_key].stages[0].key


@pytest.mark.parametrize("template_key", TEMPLATE_KEYS)
async def test_a_log_saves_a_new_deal_in_the_default_pipelines_opening_stage(
        open_services: OpenServices, team: Team, template_key: str) -> None:
    pipeline_id = await _make_default(open_services, template_key)

    saved = await _save_log(open_services, team.lan)

    assert saved.deal_id is not None
    assert saved.deal_created
    deal, stage = await _deal_stage(open_services, saved.deal_id)
    assert (stage.pipeline_id, stage.key, deal.status) == (pipeline_id, _log_start(template_key), "open")


@pytest.mark.parametrize("template_key", TEMPLATE_KEYS)
async def test_a_log_that_won_closes_its_new_deal_in_the_default_pipelines_won_stage(
        open_services: OpenServices, team: Team, template_key: str) -> None:
    pipeline_id = await _make_default(open_services, template_key)

    saved = await _save_log(open_services, team.lan, stage="won")

    assert saved.deal_id is not None
    deal, stage = await _deal_stage(open_services, saved.deal_id)
    assert (stage.pipeline_id, stage.is_won, deal.status) == (pipeline_id, True, "won")


@pytest.mark.parametrize("template_key", TEMPLATE_KEYS)
async def test_a_stage_word_moves_an_existing_deal_within_its_pipeline(
        open_services: OpenServices, team: Team, template_key: str) -> None:
    pipeline_id = await _make_default(open_services, template_key)
    first = await _save_log(open_services, team.lan)
    async with open_services() as services:
        stages = await services.pipelines.default_stages()
    company_id = (await _deal_stage(open_services, first.deal_id or 0))[0].company_id

    again = await _save_log(open_services, team.lan, company=None, stage="negotiation",
                            company_choice={"id": company_id, "name": "Giày Bình Dương"})

    assert again.deal_id == first.deal_id
    deal, stage = await _deal_stage(open_services, first.deal_id or 0)
    expected = stage_for("negotiation", stages)
    assert expected is not None
    assert not (expected.is_won)
    assert not (expected.is_lost)
    assert (stage.pipeline_id, stage.key, deal.status) == (pipeline_id, expected.key, "open")


@pytest.mark.parametrize("template_key", TEMPLATE_KEYS)
async def test_a_customer_lead_creates_a_deal_in_the_default_pipelines_first_stage(
        open_services: OpenServices, team: Team, template_key: str) -> None:
    pipeline_id = await _make_default(open_services, template_key)
    async with open_services() as services:
        customer = await services.support.identify("telegram", "555", "Hạnh")
        lead = await services.leads.capture(customer, phone="0901234567", interest="tuyển công nhân may",
                                            title="Hạnh", task_title="gọi lại", rules={})

    _deal, stage = await _deal_stage(open_services, lead.deal_id or 0)
    assert (stage.pipeline_id, stage.key) == (pipeline_id, TEMPLATES[template_key].stages[0].key)


def _stages(*rows: tuple[str, str, int, bool, bool]) -> list[StageOut]:
    return [StageOut(id=i, key=k, name_vi=n, name_en=n, position=i, probability=p, stalled_after_days=None,
                     is_won=w, is_lost=lo) for i, (k, n, p, w, lo) in enumerate(rows)]


RECRUITING = _stages(("customer", "Khách hàng", 10, False, False), ("contract", "Hợp đồng", 50, False, False),
                     ("sent_quote", "Báo giá", 60, False, False), ("hired", "Ứng viên", 85, False, False),
                     ("done", "Xong", 100, True, False), ("gone", "Mất", 0, False, True))


@pytest.mark.parametrize(("word", "key"), [
    ("won", "done"),  # by kind, whatever the key
    ("lost", "gone"),
    ("quote", "sent_quote"),  # by the word's name: a stage named "Báo giá"
    ("negotiation", "sent_quote"),  # by how far along: the last open stage not further than the word
    ("new", "customer"),
    ("contacted", "customer"),
    ("nonsense", None),
    (None, None),
])
def test_stage_words_mean_stages_by_kind_name_or_progress(word: str | None, key: str | None) -> None:
    found = stage_for(word, RECRUITING)
    assert (found.key if found else None) == key
