"""A deal's lifecycle as use cases: close it (won, or lost with a reason) after a confirmation, take the close
back, give it to another salesperson with its open tasks.

A button on the deal card and a log that says "đã ký" / "mất deal" close a deal through the same
`close_deal`: it writes only while the deal still stands as the salesperson saw it (`version`), so a
second tap or a colleague's change meanwhile changes nothing and says so. `undo_close` puts the
previous stage back within the undo window, only while the close is still the deal's latest change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from crm_core.errors import AlreadyDone, Conflict, UndoExpired
from crm_core.flows.notices import DealNotice, Notice, staff_recipient
from crm_core.pipelines.reasons import clean_reason, is_reason_key, lost_reasons
from crm_core.schemas import DealOut, TaskOut, UserOut
from crm_core.services import Services
from crm_core.services.closing import Outcome
from crm_core.uow import ReadPhase, has_written

__all__ = ["CloseQuestion", "CloseRefused", "CloseUndone", "DealClosed", "DealFlow", "DealMoved", "DealReassigned",
           "Outcome", "ReassignQuestion", "ReassignUnchanged", "TaskHolder", "UndoRefused"]


class DealMoved(BaseModel):
    """The deal moved to another open stage of its pipeline."""

    deal: DealOut


class CloseQuestion(BaseModel):
    """Ask before closing: "Mark #N (title, amount) won?", or for a lost deal, why (`reasons`: keys offered)."""

    deal: DealOut
    outcome: Outcome
    version: int  # the deal's latest stage move; the answer closes it only while it is still this one
    reasons: list[str] = Field(default_factory=list)


class DealClosed(BaseModel):
    """The deal was closed; `move_id` takes it back within `undo_minutes`."""

    deal: DealOut
    outcome: Outcome
    reason: str | None
    move_id: int
    undo_minutes: int


class CloseRefused(BaseModel):
    """Nothing changed: the deal is closed already (`closed`), or changed since the question (`changed`)."""

    deal: DealOut
    why: Literal["closed", "changed"]


class CloseUndone(BaseModel):
    """The close was taken back; the deal is open at its previous stage."""

    deal: DealOut


class UndoRefused(BaseModel):
    """Nothing changed: taken back already (`done`), changed since the close (`changed`), or too late."""

    deal: DealOut
    why: Literal["done", "changed", "too_late"]
    minutes: int


class TaskHolder(BaseModel):
    """Someone other than the deal's owner with open tasks on it."""

    user_id: int
    name: str
    tasks: int


class ReassignQuestion(BaseModel):
    """Others hold open tasks of the deal: should theirs move to the new owner too?"""

    deal: DealOut
    to_user: UserOut
    holders: list[TaskHolder]


class ReassignUnchanged(BaseModel):
    """The deal already belongs to that person; nothing changed."""

    deal: DealOut


class DealReassigned(BaseModel):
    """The deal changed hands; the old owner's open tasks of it (and others', when asked) went along."""

    deal: DealOut
    from_user: UserOut | None
    to_user: UserOut
    moved_tasks: int
    kept_tasks: int
    notices: list[Notice] = Field(default_factory=list)


@dataclass
class DealFlow:
    """Use cases of a deal's lifecycle over one unit of work."""

    services: Services
    tx: ReadPhase
    undo_minutes: int

    # --- moving and closing ------------------------------------------------------------------------------------

    async def move(self, actor: UserOut, deal_id: int, stage: str) -> DealMoved | CloseQuestion | CloseRefused:
        """Move a deal the actor may change to the stage `stage` (key or name; Forbidden, NotFound otherwise).

        A won or lost stage closes the deal, so it is never moved to at once, whatever the button said: the
        answer is the question `ask_close` asks (confirm; for a lost deal, why), and `close_deal` closes it.
        A closed deal is not moved (CloseRefused "closed"): reopening one is the close's Undo, never a stage button.
        """
        deal = await self.services.deals.to_change(deal_id, actor)
        to = await self.services.pipelines.default_stage(stage, pipeline_id=deal.stage.pipeline_id)  # its own pipeline
        if to.is_won or to.is_lost:
            return await self.ask_close(actor, deal_id, "won" if to.is_won else "lost")
        if deal.status != "open":  # a stale or forged stage button never reopens a closed deal as a side effect
            return CloseRefused(deal=deal, why="closed")
        return DealMoved(deal=await self.services.deals.move(deal_id, to.key, actor))


    async def ask_close(self, actor: UserOut, deal_id: int, outcome: Outcome) -> CloseQuestion | CloseRefused:
        """Return what to ask before closing a deal the actor may change (Forbidden otherwise)."""
        mark = await self.services.closing.mark(deal_id, outcome, actor)
        if mark.deal.status != "open":
            return CloseRefused(deal=mark.deal, why="closed")
        reasons = [r.key for r in lost_reasons()] if outcome == "lost" else []
        return CloseQuestion(deal=mark.deal, outcome=outcome, version=mark.version, reasons=reasons)

    async def close_deal(self, actor: UserOut, deal_id: int, outcome: Outcome, reason: str | None = None, *,
                         version: int | None = None) -> DealClosed | CloseRefused:
        """Win or lose a deal the actor may change, once, however often asked.

        `reason` (lost only) is a key of the reasons list or the salesperson's words (one line, up to 200
        characters; longer is InvalidInput's job of the caller: use `crm_core.pipelines.reasons.clean_reason`).
        `version` is the `CloseQuestion.version` the salesperson answered: when the deal moved since, nothing
        changes (CloseRefused "changed"). Called inside a transaction that already wrote (a log's save), the
        close joins it.
        """
        mark = await self.services.closing.mark(deal_id, outcome, actor)
        if mark.deal.status != "open":
            return CloseRefused(deal=mark.deal, why="closed")
        if version is not None and version != mark.version:
            return CloseRefused(deal=mark.deal, why="changed")
        stored = None
        if outcome == "lost" and reason:
            stored = reason if is_reason_key(reason) else clean_reason(reason)
        if not has_written(self.services.session):
            await self.tx.end_reads()  # on SQLite the conditional UPDATE must be the transaction's first statement
        move_id = await self.services.closing.close(mark, outcome, actor, reason=stored)
        deal = await self.services.closing.current(deal_id)
        if move_id is None:
            return CloseRefused(deal=deal, why="closed" if deal.status != "open" else "changed")
        return DealClosed(deal=deal, outcome=outcome, reason=stored, move_id=move_id, undo_minutes=self.undo_minutes)

    async def undo_close(self, actor: UserOut, deal_id: int, move_id: int) -> CloseUndone | UndoRefused:
        """Put back the stage a close (`DealClosed.move_id`) replaced, within the undo window, while nothing
        changed the deal since; once, however often asked."""
        try:
            mark = await self.services.closing.undo_mark(deal_id, move_id, actor)
        except UndoExpired:
            return await self._undo_refused(deal_id, "too_late")
        except AlreadyDone:
            return await self._undo_refused(deal_id, "done")
        except Conflict:
            return await self._undo_refused(deal_id, "changed")
        if not has_written(self.services.session):
            await self.tx.end_reads()
        if not await self.services.closing.undo(mark, actor):
            deal = await self.services.closing.current(deal_id)
            return UndoRefused(deal=deal, why="done" if deal.status == "open" else "changed",
                               minutes=self.undo_minutes)
        return CloseUndone(deal=await self.services.closing.current(deal_id))

    async def _undo_refused(self, deal_id: int, why: Literal["done", "changed", "too_late"]) -> UndoRefused:
        return UndoRefused(deal=await self.services.closing.current(deal_id), why=why, minutes=self.undo_minutes)

    # --- reassigning -----------------------------------------------------------------------------------------

    async def reassign(self, actor: UserOut, deal_id: int, to_user_id: int, *, channel: str,
                       others: Literal["ask", "move", "keep"] = "ask",
                       ) -> DealReassigned | ReassignQuestion | ReassignUnchanged:
        """Give a deal to another salesperson (managers and admins; Forbidden otherwise).

        The old owner's open tasks of the deal go with it. Open tasks of the deal held by someone else
        are asked about first (`ReassignQuestion`), then moved (`others="move"`) or kept (`"keep"`). The
        new owner, the old one and those whose tasks moved hear of it on `channel`; the change is audited.
        """
        deal = await self.services.deals.get(deal_id, actor)
        to_user = await self.services.users.get(to_user_id)
        if deal.owner_id == to_user.id:
            return ReassignUnchanged(deal=deal)
        tasks = await self.services.tasks.open_of_deal(deal_id, actor)
        owners = {deal.owner_id, to_user.id}
        theirs = [t for t in tasks if t.owner_id is not None and t.owner_id not in owners]
        if theirs and others == "ask":
            return ReassignQuestion(deal=deal, to_user=to_user, holders=_holders(theirs))
        moving = [t for t in tasks if t.owner_id in (None, deal.owner_id)]
        if others == "move":
            moving += theirs
        moved = await self.services.tasks.hand_over([t.id for t in moving], to_user.id, actor)
        kept = [t.id for t in theirs if t.id not in moved]
        reassigned = await self.services.deals.reassign(deal_id, to_user.id, actor)
        await self.services.audit.record(actor=actor.name, actor_id=actor.id, action="deal.reassign_tasks",
                                         entity="deal", entity_id=deal_id,
                                         details={"from": deal.owner_id, "to": to_user.id, "moved": moved,
                                                  "kept": kept})
        from_user = await self.services.users.get(deal.owner_id) if deal.owner_id is not None else None
        notices = await self._reassign_notices(actor, reassigned, from_user, to_user, channel,
                                               [t for t in theirs if t.id in moved])
        return DealReassigned(deal=reassigned, from_user=from_user, to_user=to_user, moved_tasks=len(moved),
                              kept_tasks=len(kept), notices=notices)

    async def _reassign_notices(self, actor: UserOut, deal: DealOut, from_user: UserOut | None, to_user: UserOut,
                                channel: str, others_moved: list[TaskOut]) -> list[Notice]:
        def notice(kind: Literal["assigned", "taken", "tasks_moved"], user: UserOut, tasks: int) -> DealNotice:
            return DealNotice(kind=kind, to=staff_recipient(user, channel), deal_id=deal.id, title=deal.title,
                              by=actor.name, new_owner=to_user.name, tasks=tasks)

        notices: list[Notice] = []
        if to_user.id != actor.id:
            notices.append(notice("assigned", to_user, 0))
        if from_user is not None and from_user.id != actor.id and from_user.active:
            notices.append(notice("taken", from_user, 0))
        for holder in _holders(others_moved):
            if holder.user_id != actor.id:
                user = await self.services.users.get(holder.user_id)
                if user.active:
                    notices.append(notice("tasks_moved", user, holder.tasks))
        return notices


def _holders(tasks: list[TaskOut]) -> list[TaskHolder]:
    counts: dict[int, TaskHolder] = {}
    for task in tasks:
        assert task.owner_id is not None
        holder = counts.setdefault(task.owner_id, TaskHolder(user_id=task.owner_id, name=task.owner or "—", tasks=0))
        holder.tasks += 1
    return list(counts.values())
