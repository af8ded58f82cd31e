"""Closing a deal (won or lost, with a reason) and taking the close back, each a conditional change.

A close is decided on what the salesperson saw (a `CloseMark`: the deal's stage and latest stage
move) and written in one conditional UPDATE, so a second tap, or a colleague who moved the deal
meanwhile, changes nothing. Taking it back (undo) restores the previous stage only while the close is
still the deal's latest change and the undo window is open.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from crm_core.errors import AlreadyDone, Conflict, Forbidden, NotFound, UndoExpired
from crm_core.models import Deal, DealStageChange
from crm_core.policy import can_change_deal
from crm_core.repositories.sales import DealRepository
from crm_core.schemas import DealOut, UserOut
from crm_core.services.audit import AuditService
from crm_core.services.convert import deal_out
from crm_core.services.pipelines import PipelineService

Outcome = Literal["won", "lost"]
OUTCOMES: tuple[Outcome, ...] = ("won", "lost")


class CloseMark(BaseModel):
    """A deal as seen before closing it: a close is written only while it still stands so."""

    deal: DealOut
    version: int  # the id of its latest stage move
    to_stage_id: int


class UndoMark(BaseModel):
    """A close that may be taken back: the move that closed the deal and what it replaced."""

    deal: DealOut
    move_id: int
    from_stage_id: int
    closed_at: datetime
    stage_changed_before: datetime


class DealClosingService:
    """Close deals and take closes back, with the role checks they need."""

    def __init__(self, repo: DealRepository, pipelines: PipelineService, audit: AuditService, now: datetime,
                 undo_minutes: int) -> None:
        self._repo = repo
        self._pipelines = pipelines
        self._audit = audit
        self._now = now
        self._undo = timedelta(minutes=undo_minutes)

    async def _changeable(self, deal_id: int, actor: UserOut) -> Deal:
        deal = await self._repo.get(deal_id)
        if deal is None:
            raise NotFound("no such deal")
        if not can_change_deal(actor, deal.owner_id):
            raise Forbidden("not your deal")
        return deal

    async def mark(self, deal_id: int, outcome: Outcome, actor: UserOut) -> CloseMark:
        """Return the deal as it stands now, for a close the actor may make (Forbidden otherwise)."""
        deal = await self._changeable(deal_id, actor)
        stage = await self._pipelines.default_stage(outcome, pipeline_id=deal.stage.pipeline_id)  # its own pipeline's
        return CloseMark(deal=deal_out(deal, now=self._now), version=await self._repo.last_stage_change_id(deal_id),
                         to_stage_id=stage.id)

    async def close(self, mark: CloseMark, outcome: Outcome, actor: UserOut, *, reason: str | None) -> int | None:
        """Close the deal as marked, in one conditional UPDATE; the id of the closing move, or None when the deal
        was closed, moved or given to someone else meanwhile."""
        deal = mark.deal
        owner = Deal.owner_id.is_(None) if deal.owner_id is None else Deal.owner_id == deal.owner_id
        reason = reason if outcome == "lost" else None
        if not await self._repo.update_if(deal.id, Deal.status == "open", Deal.stage_id == deal.stage.id, owner,
                                          stage_id=mark.to_stage_id, status=outcome, closed_at=self._now,
                                          updated_at=self._now, stage_changed_at=self._now, lost_reason=reason):
            return None
        move = DealStageChange(deal_id=deal.id, from_stage_id=deal.stage.id, to_stage_id=mark.to_stage_id,
                               changed_at=self._now, user_id=actor.id, reason=reason)
        self._repo.add(move)
        await self._audit.record(actor=actor.name, actor_id=actor.id, action=f"deal.{outcome}", entity="deal",
                                 entity_id=deal.id, details={"from": deal.stage.key, "reason": reason})
        await self._audit.flush()
        return move.id

    async def undo_mark(self, deal_id: int, move_id: int, actor: UserOut) -> UndoMark:
        """Return the close `move_id` of a deal, to be taken back.

        AlreadyDone when there is no such close any more (taken back already), Conflict when the deal
        changed since (moved, edited, reassigned), UndoExpired when the window has passed.
        """
        deal = await self._changeable(deal_id, actor)
        move = await self._repo.stage_change(move_id)
        if move is None or move.deal_id != deal_id or move.from_stage_id is None:
            raise AlreadyDone("nothing to undo", status=deal.status)
        changed = (deal.status not in OUTCOMES or deal.stage_id != move.to_stage_id
                   or await self._repo.last_stage_change_id(deal_id) != move.id or deal.updated_at > move.changed_at)
        if changed:
            raise Conflict("the deal changed since it was closed")
        if move.changed_at < self._now - self._undo:
            raise UndoExpired("too late to undo")
        before = await self._repo.previous_stage_change(deal_id, move.id)
        return UndoMark(deal=deal_out(deal, now=self._now), move_id=move.id, from_stage_id=move.from_stage_id,
                        closed_at=move.changed_at,
                        stage_changed_before=before.changed_at if before is not None else deal.created_at)

    async def undo(self, mark: UndoMark, actor: UserOut) -> bool:
        """Put the stage before the close back, in one conditional UPDATE; False when the deal changed meanwhile."""
        deal = mark.deal
        if not await self._repo.update_if(deal.id, Deal.status == deal.status, Deal.stage_id == deal.stage.id,
                                          Deal.updated_at <= mark.closed_at, stage_id=mark.from_stage_id,
                                          status="open", closed_at=None, lost_reason=None, updated_at=self._now,
                                          stage_changed_at=mark.stage_changed_before):
            return False
        await self._repo.delete_stage_change(mark.move_id)
        await self._audit.record(actor=actor.name, actor_id=actor.id, action="deal.reopen", entity="deal",
                                 entity_id=deal.id, details={"undone": deal.status, "move": mark.move_id})
        await self._audit.flush()
        return True

    async def current(self, deal_id: int) -> DealOut:
        """Return the deal as it is now (after a close or an undo that changed nothing)."""
        deal = await self._repo.get(deal_id)
        if deal is None:
            raise NotFound("no such deal")
        return deal_out(deal, now=self._now)
