"""What saving a log will do to a deal and to the follow-up tasks, decided before the card is shown.

The card shows the plan (which deal, new or existing, by title and owner; old -> new per field) and
Save applies exactly it. A log never changes a deal its writer may not change (crm_core.policy): on a
colleague's deal it proposes a new deal of the writer's, or a note on that deal, and says so. A log about
another product or quantity than the company's open deal offers both: update that deal, or a new one.
"""

from __future__ import annotations

import re
from datetime import datetime

from rapidfuzz import fuzz

from crm_core.errors import Conflict
from crm_core.models import Deal
from crm_core.pipelines.stage_words import stage_for
from crm_core.policy import DealView, DealVisibility, can_change_deal, deal_view
from crm_core.repositories.sales import ActivityRepository, DealRepository
from crm_core.schemas import DealChoice, DealPlan, DealValues, DraftFields, StageOut, TaskMatch, UserOut
from crm_core.services.pipelines import PipelineService
from crm_core.textnorm import fold
from crm_core.understanding.products import TITLE_SEPARATOR, deal_title, same_product, title_product

# Open tasks whose titles are this alike (rapidfuzz token_set_ratio of the folded titles) are one job.
SIMILAR_TASK_SCORE = 80.0


class PlanStale(Conflict):
    """The deal a preview planned to change changed since; the card must be shown again."""

    code = "plan_stale"


def deal_values(deal: Deal) -> DealValues:
    """Return the values of a deal row a log may change (names loaded)."""
    return DealValues(amount=deal.amount, currency=deal.currency, quantity=deal.quantity, stage=deal.stage.key,
                      stage_vi=deal.stage.name_vi, stage_en=deal.stage.name_en,
                      contact_id=deal.contact_id, contact=deal.contact.name if deal.contact else None)


def company_of(fields: DraftFields) -> tuple[int | None, str | None]:
    """Return the company a draft will be saved on: (id, name) when it exists, (None, name) when new."""
    if fields.company_choice is not None:
        return fields.company_choice.id, fields.company_choice.name
    if fields.company:
        return None, fields.company
    if fields.contact_choice is not None and fields.contact_choice.company_id:
        return fields.contact_choice.company_id, fields.contact_choice.company
    return None, None


def customer_of(fields: DraftFields) -> str | None:
    """The person a draft is about, by the name the card shows (chosen from the directory, else as written)."""
    return fields.contact_choice.name if fields.contact_choice is not None else fields.contact or None


class LogPlanner:
    """Plan a draft's deal change and task, and tell whether a plan still holds."""

    def __init__(self, deals: DealRepository, activities: ActivityRepository, pipelines: PipelineService,
                 now: datetime, *, visibility: DealVisibility = DealVisibility.TEAM) -> None:
        self._deals = deals
        self._visibility = visibility
        self._activities = activities
        self._pipelines = pipelines
        self._now = now

    async def plan(self, fields: DraftFields, owner: UserOut) -> DraftFields:
        """Return the draft with its deal plan and the similar open task (if any) filled in."""
        plan = await self.deal_plan(fields, owner)
        similar = await self.similar_task(fields, owner, plan)
        task_choice = fields.task_choice if similar is not None else None
        return fields.model_copy(update={"deal_plan": plan, "similar_task": similar, "task_choice": task_choice})

    async def _closes(self, stage: str | None) -> str | None:
        found = stage_for(stage, await self._pipelines.default_stages()) if stage else None
        if found is None:
            return None
        return "won" if found.is_won else "lost" if found.is_lost else None

    async def _stage_in(self, stage: str | None, deal: Deal) -> StageOut | None:
        """The stage a log's stage word means in the deal's own pipeline (None: no move)."""
        return stage_for(stage, await self._pipelines.stages_of(deal.stage.pipeline_id)) if stage else None

    async def _open_deal(self, fields: DraftFields, company_id: int | None, owner: UserOut) -> Deal | None:
        """The company's open deal a log is about: among ALL those the writer may change (else those of colleagues
        the writer may see, crm_core.policy.deal_view), the one whose product, quantity and contact best match the
        log; the most recently touched one on a tie. The person's open deals no company holds (the lead a customer
        left through the bot) count as the company's, and are the only ones of a log that names no company."""
        found = list(await self._deals.list_of_company(company_id, open_only=True)) if company_id is not None else []
        if fields.contact_choice is not None:
            found += await self._deals.open_of_contact_without_company(fields.contact_choice.id)
        deals = [d for d in found if deal_view(owner, d.owner_id, visibility=self._visibility) is not DealView.HIDDEN]
        mine = [d for d in deals if can_change_deal(owner, d.owner_id)]
        pool = mine or deals
        if not pool:
            return None
        return max(enumerate(pool), key=lambda item: (_likeness(fields, item[1]), -item[0]))[1]

    async def deal_plan(self, fields: DraftFields, owner: UserOut) -> DealPlan:
        """Decide which deal the log creates, updates or only notes, as the card will show it."""
        company_id, company = company_of(fields)
        wants = fields.amount is not None or fields.quantity is not None or bool(fields.stage)
        closes = await self._closes(fields.stage)
        customer = company or customer_of(fields)  # a person no company holds has deals of her own
        new = DealPlan(action="new", title=deal_title(customer or "", fields.quantity, fields.product),
                       owner_id=owner.id, owner=owner.name, closes=closes)
        existing = await self._open_deal(fields, company_id, owner)
        if existing is None:
            return new if customer and wants else DealPlan()
        other = {"other_id": existing.id, "other_owner": existing.owner.name if existing.owner else None}
        if not can_change_deal(owner, existing.owner_id):
            note = DealPlan(action="note", deal_id=existing.id, title=existing.title, owner_id=existing.owner_id,
                            owner=other["other_owner"], why="colleague", **other)
            if fields.amount is None and fields.quantity is None:
                return note
            # Another product or quantity: most likely a new deal of the writer's; the same one: a note on theirs.
            choices: list[DealChoice] = ["new", "note"] if self._differs(fields, existing) else ["note", "new"]
            picked = fields.deal_choice if fields.deal_choice in choices else choices[0]
            plan = new if picked == "new" else note
            return plan.model_copy(update={"choices": choices, "why": "colleague", **other})
        before = deal_values(existing)
        after = self._after(before, fields, await self._stage_in(fields.stage, existing))
        more = False
        if fields.quantity_more and existing.quantity is not None and fields.quantity is not None:
            after.quantity = existing.quantity + fields.quantity  # "cần thêm 10 bộ": 10 more, never "now 10"
            more = True
        update = DealPlan(action="update", deal_id=existing.id, title=existing.title, owner_id=existing.owner_id,
                          owner=other["other_owner"], before=before, after=after,
                          version=existing.updated_at, closes=closes if closes != before.stage else None,
                          new_title=_retitled(existing, after.quantity, fields.product))
        product = same_product(fields.product, title_product(existing.title)[1])
        other_quantity = fields.quantity is not None and existing.quantity not in (None, fields.quantity)
        if product is False:
            choices, why = ["new", "update"], "other_product"
        elif more:
            choices, why = ["new", "update"], "more_quantity"
        elif other_quantity:
            choices, why = ["update", "new"], "other_quantity"
        else:
            return update
        picked = fields.deal_choice if fields.deal_choice in choices else choices[0]
        plan = new if picked == "new" else update
        return plan.model_copy(update={"choices": choices, "why": why, "other_title": existing.title, **other})

    @staticmethod
    def _differs(fields: DraftFields, deal: Deal) -> bool:
        """Tell whether a log is about another product or quantity than the deal."""
        if same_product(fields.product, title_product(deal.title)[1]) is False:
            return True
        return fields.quantity is not None and deal.quantity not in (None, fields.quantity)

    @staticmethod
    def _after(before: DealValues, fields: DraftFields, stage: StageOut | None) -> DealValues:
        after = before.model_copy()
        if fields.amount is not None:
            after.amount, after.currency = fields.amount, fields.currency or before.currency
        if fields.quantity is not None:
            after.quantity = fields.quantity
        if stage is not None:
            after.stage, after.stage_vi, after.stage_en = stage.key, stage.name_vi, stage.name_en
        if before.contact_id is None:
            chosen = fields.contact_choice
            after.contact_id = chosen.id if chosen is not None else None
            after.contact = chosen.name if chosen is not None else fields.contact
        return after

    async def similar_task(self, fields: DraftFields, owner: UserOut, plan: DealPlan) -> TaskMatch | None:
        """Return the writer's open task much like the log's next step, on the same deal or company and day."""
        company_id, _name = company_of(fields)
        if company_id is None or not fields.next_step or fields.due is None:
            return None
        deal_id = plan.deal_id if plan.action == "update" else None
        wanted = fold(fields.next_step)
        for task in await self._activities.open_tasks_of_company(company_id):
            if task.owner_id != owner.id or task.due_at is None:
                continue
            if deal_id is not None and task.deal_id not in (None, deal_id):
                continue
            if task.due_at.astimezone(self._now.tzinfo).date() != fields.due:
                continue
            if fuzz.token_set_ratio(wanted, fold(task.title)) >= SIMILAR_TASK_SCORE:
                return TaskMatch(id=task.id, title=task.title, due_at=task.due_at)
        return None

    async def still_holds(self, plan: DealPlan | None) -> bool:
        """Tell whether the deal an update plan saw is still as it was (same version and values, still open)."""
        if plan is None or plan.action != "update" or plan.deal_id is None:
            return True
        deal = await self._deals.get(plan.deal_id)
        return (deal is not None and deal.status == "open" and deal.owner_id == plan.owner_id
                and deal.updated_at == plan.version and deal_values(deal) == plan.before)


_CODE_FAMILY_RE = re.compile(r"([a-z]+)[-./]?([a-z]*\d)")


def _families(phrase: str | None) -> set[str]:
    """Model-code families of a product phrase: "AP-C200" and "AP-C210" are both "apc2"."""
    return {"".join(m.groups()) for m in _CODE_FAMILY_RE.finditer(fold(phrase or "").replace("-", ""))}


def _likeness(fields: DraftFields, deal: Deal) -> int:
    """How well an open deal fits a log: the same product (or code family), quantity and contact count."""
    score = 0
    title_quantity, title_product_phrase = title_product(deal.title)
    same = same_product(fields.product, title_product_phrase)
    if same:
        score += 4
    elif _families(fields.product) & _families(title_product_phrase):
        score += 2
    if fields.quantity is not None and fields.quantity in (deal.quantity, title_quantity):
        score += 3
    chosen = fields.contact_choice
    if chosen is not None and chosen.id == deal.contact_id:
        score += 2
    elif fields.contact and deal.contact is not None and fold(fields.contact) in fold(deal.contact.name).split():
        score += 1
    return score


def _retitled(deal: Deal, quantity: int | None, product: str | None) -> str | None:
    """The title a deal takes when a log changes its quantity and the title says the old one ("— 125 bộ bàn"):
    the same words with the new quantity; None when the title stays (it names no quantity, or the same)."""
    title_quantity, title_product_phrase = title_product(deal.title)
    if quantity is None or title_quantity is None or title_quantity == quantity or title_quantity != deal.quantity:
        return None
    company = deal.title.split(TITLE_SEPARATOR)[0]
    other_product = same_product(product, title_product_phrase) is False  # updated with another product: its words
    return deal_title(company, quantity, product if other_product else title_product_phrase or product)
