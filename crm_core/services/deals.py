"""Deals: list by stage, find by name, move, win, lose, reassign."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from rapidfuzz import fuzz, process, utils

from crm_core.errors import Forbidden, InvalidInput, NotFound
from crm_core.models import Deal, DealStageChange
from crm_core.policy import (
    DealView,
    DealVisibility,
    Person,
    can_change_deal,
    can_reassign_deal,
    deal_view,
    owner_filter,
    takes_leads,
)
from crm_core.repositories.people import UserRepository
from crm_core.repositories.sales import ActivityRepository, DealRepository
from crm_core.repositories.search import SearchRepository
from crm_core.schemas import DealOut, DealSummary, InteractionOut, UserOut
from crm_core.services.audit import AuditService
from crm_core.services.convert import deal_out, interaction_out
from crm_core.services.pipelines import PipelineService
from crm_core.services.search import best_per_key, like_patterns, narrowed, parse_query, rank_fuzzy, rank_words
from crm_core.textnorm import clean_name, fold

DEAL_MATCH_SCORE = 75.0
FUZZY_DEAL_CANDIDATES = 50


def seen_as(deal: DealOut, viewer: Person, visibility: DealVisibility) -> DealOut | DealSummary | None:
    """Return `deal` as `viewer` sees it: in full, as its id and owner, or not at all (None)."""
    view = deal_view(viewer, deal.owner_id, visibility=visibility)
    if view is DealView.FULL:
        return deal
    if view is DealView.SUMMARY:
        return DealSummary(id=deal.id, owner_id=deal.owner_id, owner=deal.owner, company_id=deal.company_id,
                           company=deal.company)
    return None


class DealService:
    """Deal use cases, with the role checks they need."""

    def __init__(self, repo: DealRepository, activities: ActivityRepository, users: UserRepository,
                 pipelines: PipelineService, audit: AuditService, now: datetime, *,
                 visibility: DealVisibility = DealVisibility.TEAM) -> None:
        self._repo = repo
        self._visibility = visibility
        self._activities = activities
        self._users = users
        self._pipelines = pipelines
        self._audit = audit
        self._now = now

    @property
    def visibility(self) -> DealVisibility:
        """Return the team's setting of how much of a colleague's deal a salesperson sees."""
        return self._visibility

    async def _load(self, deal_id: int, viewer: UserOut) -> Deal:
        deal = await self._reload(deal_id)
        if deal_view(viewer, deal.owner_id, visibility=self._visibility) is not DealView.FULL:
            raise Forbidden("not your deal")
        return deal

    async def _load_to_change(self, deal_id: int, actor: UserOut) -> Deal:
        deal = await self._reload(deal_id)
        if not can_change_deal(actor, deal.owner_id):
            raise Forbidden("not your deal")
        return deal

    async def list_open(self, viewer: UserOut, *, owner_id: int | None = None) -> list[DealOut]:
        """Return open deals: a salesperson's own; for managers everyone's or one owner's."""
        owner_id = owner_filter(viewer, owner_id)
        return [deal_out(d, now=self._now) for d in await self._repo.list_open(owner_id=owner_id)]

    async def get(self, deal_id: int, viewer: UserOut) -> DealOut:
        """Return one deal the viewer sees in full; Forbidden otherwise."""
        return deal_out(await self._load(deal_id, viewer), now=self._now)

    async def look(self, deal_id: int, viewer: UserOut) -> DealOut | DealSummary:
        """Return one deal as the viewer sees it (in full, or as its id and owner); NotFound when hidden from them."""
        seen = seen_as(deal_out(await self._reload(deal_id), now=self._now), viewer, self._visibility)
        if seen is None:
            raise NotFound("no such deal")
        return seen

    async def to_change(self, deal_id: int, viewer: UserOut) -> DealOut:
        """Return one deal the viewer may move, win or lose; Forbidden otherwise."""
        return deal_out(await self._load_to_change(deal_id, viewer), now=self._now)

    def seen(self, deals: list[DealOut], viewer: UserOut) -> list[DealOut | DealSummary]:
        """Return `deals` as the viewer sees them, those hidden from them left out."""
        return [d for d in (seen_as(deal, viewer, self._visibility) for deal in deals) if d is not None]

    async def find(self, query: str, viewer: UserOut, *, limit: int = 5) -> list[DealOut | DealSummary]:
        """Find deals by words of their title or company name (`services/search.py`); open ones first within a
        tier of the ranking; as the viewer sees them."""
        # Nobody's deal (owner None) is hidden exactly when every colleague's is: then search only one's own.
        hidden = deal_view(viewer, None, visibility=self._visibility) is DealView.HIDDEN
        owner_id = viewer.id if hidden else None
        wanted = parse_query(query)
        if not wanted.words:
            return []
        search = SearchRepository(self._repo.session)
        rows = await search.deals(like_patterns(wanted), owner_id=owner_id)
        # A deal is found by its title and company together; the company typed whole ranks it first.
        ranked = narrowed(best_per_key(rank_words(wanted, [(row[0], row[2]) for row in rows if row[2]])
                                       + rank_words(wanted, [(row[0], f"{row[1]} {row[2] or ''}") for row in rows])))
        if not ranked:  # nothing by words: forgive a typo among the likely ones rapidfuzz picks from every deal
            rows = await search.deals(None, owner_id=owner_id)
            choices = {row[0]: f"{row[1]} {row[2] or ''}" for row in rows}
            likely = process.extract(" ".join(wanted.words), choices, scorer=fuzz.WRatio,
                                     processor=utils.default_process, score_cutoff=DEAL_MATCH_SCORE,
                                     limit=FUZZY_DEAL_CANDIDATES)
            ranked = rank_fuzzy(wanted, [(deal_id, choices[deal_id]) for _n, _s, deal_id in likely])
        status = {row[0]: row[3] for row in rows}
        # The best tier first; within it open deals before closed ones; only those shown are loaded.
        ranked.sort(key=lambda hit: (hit.tier, status[hit.key] != "open", -hit.score))
        deals = [deal_out(d, now=self._now) for hit in ranked[:limit] if (d := await self._repo.get(hit.key))]
        return self.seen(deals, viewer)[:limit]

    async def history(self, deal_id: int, viewer: UserOut, *, limit: int = 5) -> list[InteractionOut]:
        """Return a deal's latest interactions."""
        await self._load(deal_id, viewer)
        return [interaction_out(i) for i in await self._activities.interactions_of_deal(deal_id, limit=limit)]

    async def move(self, deal_id: int, stage_key: str, viewer: UserOut) -> DealOut:
        """Move a deal to a stage of its pipeline; won and lost close it, unasked and without a reason or audit.

        The chat never closes a deal this way: its stage buttons go through `DealFlow.move`, which asks
        before a won or lost stage, and closes go through `DealClosingService` (the card's and a log's).
        """
        return await self._move(await self._load_to_change(deal_id, viewer), stage_key, viewer)

    async def move_for_log(self, deal_id: int, stage_key: str, actor: UserOut) -> DealOut:
        """Move the deal a log is about, whoever owns it, recording `actor` as the mover.

        A log about a company moves that company's latest open deal, even when a teammate owns it: the
        salesperson who met the customer knows where the deal stands. Issue #10 will ask that salesperson
        first; until then this is the one move that skips the ownership check, so its callers stay few.
        """
        return await self._move(await self._reload(deal_id), stage_key, actor)

    async def _move(self, deal: Deal, stage_key: str, actor: UserOut) -> DealOut:
        stage = await self._pipelines.default_stage(stage_key, pipeline_id=deal.stage.pipeline_id)
        # Stages before the deal (a stage removal's order): a removal under way is waited for, then seen.
        await self._pipelines.lock_for_move(deal.stage_id, stage.id)
        deal = await self._repo.get(deal.id, lock=True) or deal
        if deal.stage_id != stage.id:
            self._repo.add(DealStageChange(deal_id=deal.id, from_stage_id=deal.stage_id, to_stage_id=stage.id,
                                           changed_at=self._now, user_id=actor.id))
            deal.stage_id = stage.id
            deal.stage_changed_at = self._now
        deal.status = "won" if stage.is_won else "lost" if stage.is_lost else "open"
        deal.closed_at = self._now if deal.status != "open" else None
        deal.updated_at = self._now
        await self._audit.flush()
        return deal_out(await self._reload(deal.id), now=self._now)

    async def lock_open_ids_of(self, owner_id: int) -> list[int]:
        """Return the ids of one owner's open deals, locked until the commit (a hand-over that cannot race)."""
        return await self._repo.lock_open_ids_of(owner_id)

    async def reassign(self, deal_id: int, to_user_id: int, viewer: UserOut) -> DealOut:
        """Give a deal to another salesperson (managers and admins only)."""
        if not can_reassign_deal(viewer):
            raise Forbidden("only managers reassign deals")
        deal = await self._load(deal_id, viewer)
        target = await self._users.get(to_user_id)
        if target is None or not target.active or not takes_leads(target):
            raise NotFound("no such salesperson")  # deals go to active salespeople only, never to a manager
        previous = deal.owner_id
        deal.owner_id = target.id
        deal.updated_at = self._now
        await self._audit.record(actor=viewer.name, actor_id=viewer.id, action="deal.reassign", entity="deal",
                                 entity_id=deal.id, details={"from": previous, "to": target.id})
        await self._audit.flush()
        return deal_out(await self._reload(deal.id), now=self._now)

    async def create(self, *, title: str, owner_id: int | None, company_id: int | None, contact_id: int | None,
                     stage_key: str, amount: Decimal | None, currency: str | None, quantity: int | None) -> Deal:
        """Create a deal (staged; flushed for its id)."""
        title = clean_name(title)[:200]  # made from a company name (up to 200) and a quantity
        if not title:
            raise InvalidInput("a deal needs a title")
        stage = await self._pipelines.default_stage(stage_key)
        deal = Deal(title=title, title_folded=fold(title), company_id=company_id, contact_id=contact_id,
                    owner_id=owner_id, stage_id=stage.id, amount=amount, currency=currency if amount else None,
                    quantity=quantity, status="open", created_at=self._now, updated_at=self._now,
                    stage_changed_at=self._now)
        self._repo.add(deal)
        await self._audit.flush()
        self._repo.add(DealStageChange(deal_id=deal.id, from_stage_id=None, to_stage_id=stage.id,
                                       changed_at=self._now, user_id=owner_id))
        return deal

    async def _reload(self, deal_id: int) -> Deal:
        deal = await self._repo.get(deal_id)
        if deal is None:
            raise NotFound("no such deal")
        return deal

    async def raw(self, deal_id: int) -> Deal | None:
        """Return the deal row (for services that update it in the same unit of work)."""
        return await self._repo.get(deal_id)

    async def latest_open_of_company(self, company_id: int) -> Deal | None:
        """Return the most recently touched open deal of a company."""
        return await self._repo.latest_open_of_company(company_id)

    async def delete(self, deal_id: int) -> None:
        """Delete a deal (used by undo when the log created it)."""
        deal = await self._repo.get(deal_id)
        if deal is not None:
            await self._repo.delete(deal)

    async def delete_unless_used(self, deal_id: int) -> bool:
        """Delete a deal its log created, unless another record uses it or it moved since; False when kept."""
        if await self._repo.is_used(deal_id):
            return False  # a colleague's interaction or task, a ticket, a lead
        if await self._repo.count_stage_changes(deal_id) > 1:
            return False  # moved by someone since it was opened
        await self.delete(deal_id)
        return True

    async def last_move_id(self, deal_id: int) -> int:
        """Return the id of the deal's latest stage move, a bookmark for `forget_moves_after`."""
        return await self._repo.last_stage_change_id(deal_id)

    async def forget_moves_after(self, deal_id: int, move_id: int) -> None:
        """Drop the deal's stage moves newer than `move_id` (used by undo, which restores the stage)."""
        await self._repo.delete_stage_changes_after(deal_id, move_id)

    async def count(self) -> int:
        """Count deals."""
        return await self._repo.count()
