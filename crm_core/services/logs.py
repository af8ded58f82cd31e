"""Salespeople's free-text logs: keep the raw text, preview, save in one go, undo."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import AlreadyDone, Conflict, Forbidden, NotFound, UndoExpired
from crm_core.models import Contact, Deal, Interaction, LogDraft, Task
from crm_core.pipelines.stage_words import log_opening, stage_for
from crm_core.policy import can_change_deal
from crm_core.repositories.claims import claimed, skips_locked_rows
from crm_core.repositories.sales import ActivityRepository, DealRepository
from crm_core.schemas import (
    CompanyChoice,
    DealBefore,
    DealState,
    DraftFields,
    LogDraftOut,
    SavedLog,
    SavedLogRecord,
    StageOut,
    UndoneLog,
    UserOut,
)
from crm_core.services.closing import DealClosingService, Outcome
from crm_core.services.deals import DealService
from crm_core.services.directory import DirectoryService
from crm_core.services.log_plans import LogPlanner, PlanStale
from crm_core.services.pipelines import PipelineService
from crm_core.services.tasks import TaskService
from crm_core.textnorm import fold
from crm_core.understanding.products import deal_title

DUE_HOUR = time(9, 0)
LATE_DUE_HOUR = time(17, 0)
STAGES_WITHOUT_DEAL_CHANGE = {None, ""}
# A log in which nothing was understood is kept as `unclear` (never listed, reminded or saved) until the
# salesperson says what happened; then it is `merged` into the log their answer makes.
UNCLEAR = "unclear"
MERGED = "merged"
REOPENABLE = ("draft", UNCLEAR)


def due_datetime(due: date, now: datetime, at_time: time | None = None) -> datetime:
    """Return when a task due on `due` should be reminded: at `at_time` when the log gave one ("3h chiều"),
    else 9:00 that day, later if that has passed."""
    tz = now.tzinfo
    if at_time is not None:
        return datetime.combine(due, at_time, tzinfo=tz)
    at = datetime.combine(due, DUE_HOUR, tzinfo=tz)
    if at > now:
        return at
    late = datetime.combine(due, LATE_DUE_HOUR, tzinfo=tz)
    return late if late > now else now



class LogService:
    """Draft, save and undo logs."""

    def __init__(self, session: AsyncSession, directory: DirectoryService, deals: DealService, tasks: TaskService,
                 activities: ActivityRepository, pipelines: PipelineService, closing: DealClosingService,
                 now: datetime, undo_minutes: int) -> None:
        self._pipelines = pipelines
        self._closing = closing
        self._session = session
        self._directory = directory
        self._deals = deals
        self._tasks = tasks
        self._activities = activities
        self._now = now
        self._undo = timedelta(minutes=undo_minutes)
        self._deals_repo = DealRepository(session)
        self._planner = LogPlanner(self._deals_repo, activities, pipelines, now, visibility=deals.visibility)

    async def plan(self, fields: DraftFields, owner: UserOut) -> DraftFields:
        """Return the draft with what saving it will do to a deal and to tasks (the card shows it)."""
        return await self._planner.plan(fields, owner)

    async def plan_holds(self, draft_id: int, owner: UserOut) -> bool:
        """Tell whether the deal an unsaved draft's preview planned to update is still as the preview saw it."""
        draft = await self._own(draft_id, owner)
        return await self._planner.still_holds(DraftFields.model_validate(draft.fields or {}).deal_plan)

    async def draft(self, *, owner: UserOut, raw_text: str, fields: DraftFields, source_key: str | None = None,
                    status: str = "draft") -> int:
        """Keep a log's raw text and what was understood; return the draft id.

        A message kept as `failed` when its first handling crashed becomes this draft when it is
        delivered again and understood, so one typed message stays one row.
        """
        failed = await self._failed_from(source_key, owner) if source_key and status in REOPENABLE else None
        if failed is not None:
            failed.raw_text, failed.fields, failed.status = raw_text, fields.stored(), status
            await self._session.flush()
            return failed.id
        draft = LogDraft(owner_id=owner.id, raw_text=raw_text, fields=fields.stored(), status=status,
                         created_at=self._now, source_key=source_key)
        self._session.add(draft)
        await self._session.flush()
        return draft.id

    async def _failed_from(self, source_key: str, owner: UserOut) -> LogDraft | None:
        query = select(LogDraft).where(LogDraft.source_key == source_key, LogDraft.owner_id == owner.id,
                                       LogDraft.status == "failed")
        return await self._session.scalar(query.order_by(LogDraft.id).limit(1))

    async def keep_failed(self, *, owner: UserOut, raw_text: str, source_key: str | None) -> int | None:
        """Keep the raw text of a message whose handling failed, once per `source_key`; None when kept already."""
        if source_key is not None:
            query = select(LogDraft.id).where(LogDraft.source_key == source_key, LogDraft.status == "failed")
            if await self._session.scalar(query.limit(1)) is not None:
                return None
        return await self.draft(owner=owner, raw_text=raw_text, fields=DraftFields(), source_key=source_key,
                                status="failed")

    async def get(self, draft_id: int, owner: UserOut) -> LogDraftOut:
        """Return one of the owner's drafts."""
        return _draft_out(await self._own(draft_id, owner))

    async def _own(self, draft_id: int, owner: UserOut, *, fresh: bool = False) -> LogDraft:
        draft = await self._session.get(LogDraft, draft_id, populate_existing=fresh)
        if draft is None:
            raise NotFound("no such log")
        if draft.owner_id != owner.id:
            raise Forbidden("not your log")
        return draft

    async def open_draft_from(self, source_key: str, owner: UserOut) -> int | None:
        """Return the id of the unsaved draft (or unclear log) made from the chat message `source_key`."""
        query = select(LogDraft.id).where(LogDraft.source_key == source_key, LogDraft.owner_id == owner.id,
                                          LogDraft.status.in_(REOPENABLE))
        return await self._session.scalar(query.order_by(LogDraft.id.desc()).limit(1))

    async def closed_from(self, source_key: str, owner: UserOut) -> LogDraftOut | None:
        """Return the saved, cancelled or undone log made from the chat message `source_key`, if any."""
        query = select(LogDraft).where(LogDraft.source_key == source_key, LogDraft.owner_id == owner.id,
                                       LogDraft.status.in_(("saved", "cancelled", "undone")))
        draft = await self._session.scalar(query.order_by(LogDraft.id.desc()).limit(1))
        return _draft_out(draft) if draft is not None else None

    async def open_drafts(self, owner: UserOut, *, limit: int) -> tuple[list[LogDraftOut], int]:
        """Return the owner's newest unsaved drafts (at most `limit`, newest first) and how many there are."""
        mine = (LogDraft.owner_id == owner.id, LogDraft.status == "draft")
        total = await self._session.scalar(select(func.count()).select_from(LogDraft).where(*mine)) or 0
        rows = await self._session.scalars(select(LogDraft).where(*mine)
                                           .order_by(LogDraft.created_at.desc(), LogDraft.id.desc()).limit(limit))
        return [_draft_out(row) for row in rows], int(total)

    async def latest_open_in(self, owner: UserOut, chat_key: str) -> int | None:
        """Return the id of the owner's newest unsaved draft made in the chat `chat_key` ("channel:chat")."""
        query = select(LogDraft.id).where(LogDraft.owner_id == owner.id, LogDraft.status == "draft",
                                          LogDraft.source_key.startswith(f"{chat_key}:", autoescape=True))
        return await self._session.scalar(query.order_by(LogDraft.created_at.desc(), LogDraft.id.desc()).limit(1))

    async def claim_reminders(self, *, created_before: datetime, channel: str) -> list[LogDraftOut]:
        """Mark unsaved drafts made on `channel` before `created_before` and not yet reminded as reminded now.

        Each draft is claimed by one scheduler only (see `repositories.claims`), so it is reminded once.
        """
        due = (LogDraft.status == "draft", LogDraft.reminded_at.is_(None), LogDraft.created_at <= created_before,
               LogDraft.source_key.startswith(f"{channel}:", autoescape=True))
        if skips_locked_rows(self._session):
            ids = list(await self._session.scalars(select(LogDraft.id).where(*due)
                                                   .with_for_update(skip_locked=True)))
            if ids:
                await self._session.execute(update(LogDraft).where(LogDraft.id.in_(ids)).values(reminded_at=self._now)
                                            .execution_options(synchronize_session=False))
        else:  # one conditional UPDATE: it waits for the write lock, then takes only rows nobody took
            claim = update(LogDraft).where(*due).values(reminded_at=self._now).returning(LogDraft.id)
            ids = list(await self._session.scalars(claim.execution_options(synchronize_session=False)))
        if not ids:
            return []
        rows = await self._session.scalars(select(LogDraft).where(LogDraft.id.in_(ids)).order_by(LogDraft.id)
                                           .execution_options(populate_existing=True))
        return [_draft_out(row) for row in rows]

    async def set_fields(self, draft_id: int, owner: UserOut, fields: DraftFields) -> DraftFields:
        """Replace what an unsaved draft says; return it as stored."""
        draft = await self._own(draft_id, owner)
        self._require_open(draft)
        draft.fields = fields.stored()
        return DraftFields.model_validate(draft.fields)

    async def replace(self, draft_id: int, owner: UserOut, *, raw_text: str, fields: DraftFields,
                      status: str = "draft") -> None:
        """Re-parse an unsaved draft (or an unclear log) after the user edited the message."""
        draft = await self._own(draft_id, owner)
        if draft.status not in REOPENABLE:
            raise AlreadyDone(f"log already {draft.status}", status=draft.status)
        draft.raw_text = raw_text
        draft.fields = fields.stored()
        draft.status = status

    async def unclear(self, draft_id: int, owner: UserOut) -> LogDraftOut | None:
        """Return the owner's log kept as unclear (nothing understood), or None when it is not one any more."""
        draft = await self._own(draft_id, owner)
        return _draft_out(draft) if draft.status == UNCLEAR else None

    async def merge_unclear(self, draft_id: int, owner: UserOut) -> None:
        """Mark an unclear log as folded into the log written after it (its text lives on there)."""
        draft = await self._own(draft_id, owner)
        if draft.status == UNCLEAR:
            draft.status = MERGED

    async def cancel(self, draft_id: int, owner: UserOut) -> None:
        """Drop an unsaved draft (its raw text stays); AlreadyDone when it was saved or cancelled meanwhile."""
        await self._claim(draft_id, owner, "draft", "cancelled")

    async def _claim(self, draft_id: int, owner: UserOut, current: str, new: str, *,
                     saved_since: datetime | None = None, **values: object) -> LogDraft:
        """Move the owner's draft from status `current` to `new` in one conditional UPDATE, or raise.

        Whoever changes the row first wins, in any process: on PostgreSQL a second UPDATE waits for the
        first transaction and then finds the status changed; on SQLite writers take turns. So a second
        tap on Save, Cancel or Undo changes nothing and is answered from the status it finds. Nothing is
        written before the claim, and the claim is undone with everything else if the unit of work fails.
        """
        condition = [LogDraft.id == draft_id, LogDraft.owner_id == owner.id, LogDraft.status == current]
        if saved_since is not None:
            condition.append(LogDraft.saved_at >= saved_since)
        if not await claimed(self._session, update(LogDraft).where(*condition).values(status=new, **values)):
            draft = await self._own(draft_id, owner, fresh=True)  # not found, not yours, or no longer `current`
            if draft.status == current and saved_since is not None:
                raise UndoExpired("too late to undo")
            raise AlreadyDone(f"log already {draft.status}", status=draft.status)
        return await self._own(draft_id, owner, fresh=True)

    @staticmethod
    def _require_open(draft: LogDraft) -> None:
        if draft.status != "draft":
            raise AlreadyDone(f"log already {draft.status}", status=draft.status)

    async def save(self, draft_id: int, owner: UserOut, *, default_task_title: str) -> SavedLog:
        """Save interaction, follow-up task and deal of a draft, in this unit of work (once, however often asked)."""
        draft = await self._claim(draft_id, owner, "draft", "saved", saved_at=self._now)
        fields = DraftFields.model_validate(draft.fields)
        company_id, company_created = await self._resolve_company(fields, owner)
        contact_id, contact_created = await self._resolve_contact(fields, owner, company_id)
        if fields.deal_plan is None and company_id is not None:  # drafted before plans, or by a caller not planning
            company = await self._directory.company(company_id)
            fields = await self._planner.plan(fields.model_copy(update={
                "company_choice": CompanyChoice(id=company_id, name=company.name)}), owner)
        deal, deal_created, previous = await self._upsert_deal(fields, owner, company_id, contact_id)
        occurred_on = fields.occurred_on
        occurred_at = self._now if occurred_on is None else datetime.combine(occurred_on, self._now.timetz())
        interaction = Interaction(kind=fields.kind or "note", occurred_at=min(occurred_at, self._now),
                                  contact_id=contact_id, company_id=company_id, deal_id=deal.id if deal else None,
                                  owner_id=owner.id, summary=draft.raw_text, source="chat", created_at=self._now)
        self._activities.add(interaction)
        task_id, task_before = await self._create_task(fields, owner, deal if deal_created or previous else None,
                                                       contact_id, company_id, default_task_title)
        await self._session.flush()
        result = SavedLog(draft_id=draft.id, interaction_id=interaction.id, task_id=task_id,
                          task_updated=task_before is not None,
                          deal_id=deal.id if deal else None, deal_created=deal_created,
                          deal_title=deal.title if deal else None, company_id=company_id,
                          company_created=company_created, contact_id=contact_id, contact_created=contact_created,
                          undo_until=self._now + self._undo)
        after = await self._state(deal.id) if deal is not None and (deal_created or previous) else None
        draft.result = SavedLogRecord(**result.model_dump(), deal_before=previous, deal_after=after,
                                      task_due_before=task_before,
                                      task_owner_id=owner.id if task_id else None).model_dump(mode="json")
        return result

    async def _state(self, deal_id: int) -> DealState | None:
        """Return the deal as it is in the database now (after this unit of work's writes)."""
        await self._session.flush()
        row = (await self._session.execute(
            select(Deal.owner_id, Deal.status, Deal.stage_id, Deal.title, Deal.amount, Deal.currency, Deal.quantity,
                   Deal.contact_id, Deal.updated_at).where(Deal.id == deal_id))).first()
        if row is None:
            return None
        return DealState(owner_id=row.owner_id, status=row.status, stage_id=row.stage_id, title=row.title,
                         amount=row.amount, currency=row.currency, quantity=row.quantity, contact_id=row.contact_id,
                         updated_at=row.updated_at, last_move_id=await self._deals.last_move_id(deal_id))

    async def _resolve_company(self, fields: DraftFields, owner: UserOut) -> tuple[int | None, bool]:
        if fields.company_choice is not None:
            await self._still_named(fields.company_choice.id, fields.company_choice.name, company=True)
            return fields.company_choice.id, False
        if not fields.company:
            if fields.contact_choice is not None and fields.contact_choice.company_id:
                return fields.contact_choice.company_id, False
            return None, False
        company, created = await self._directory.company_or_new(fields.company, owner_id=owner.id)
        return company.id, created

    async def _resolve_contact(self, fields: DraftFields, owner: UserOut,
                               company_id: int | None) -> tuple[int | None, bool]:
        if fields.contact_choice is not None:
            await self._still_named(fields.contact_choice.id, fields.contact_choice.name, company=False)
            await self._directory.update_contact_details(fields.contact_choice.id, phone=fields.phone,
                                                         email=fields.email)
            return fields.contact_choice.id, False
        if not fields.contact:
            return None, False
        contact, created = await self._directory.contact_or_new(fields.contact, company_id=company_id,
                                                                owner_id=owner.id, phone=fields.phone,
                                                                email=fields.email)
        return contact.id, created

    async def _still_named(self, record_id: int, name: str, *, company: bool) -> None:
        """Refuse to save onto a company or person that is gone or renamed since the preview showed it.

        A person's row is locked to share until this log is saved: an erasure of them (which locks it for
        update) waits for the log and erases it too, or this waits for the erasure and finds them gone.
        """
        try:
            current = (await self._directory.company(record_id)).name if company else \
                (await self._session.scalar(select(Contact.name).where(
                    Contact.id == record_id, Contact.erased_at.is_(None)).with_for_update(read=True)))
        except NotFound:
            current = None
        if current is None or fold(current) != fold(name):
            raise Conflict(f"«{name}» changed since the preview; send the log again", reason="changed",
                           name=name, record=record_id)

    async def _upsert_deal(self, fields: DraftFields, owner: UserOut, company_id: int | None,
                           contact_id: int | None) -> tuple[Deal | None, bool, DealBefore | None]:
        """Apply the deal plan the card showed: a new deal, an update of the deal as the card saw it, a note, or none.

        The interaction is linked to the returned deal; a note links it to a deal it does not change (None, None).
        """
        plan = fields.deal_plan
        if plan is None or plan.action == "none" or (company_id is None and contact_id is None):
            return None, False, None
        if plan.action == "note":
            noted = await self._deals.raw(plan.deal_id) if plan.deal_id else None
            return noted, False, None
        if plan.action == "new":
            customer = (await self._directory.company(company_id)).name if company_id is not None else \
                (await self._directory.contact(contact_id)).name if contact_id is not None else ""
            title = deal_title(customer, fields.quantity, fields.product)
            stages = await self._pipelines.default_stages()
            named = stage_for(fields.stage, stages)
            outcome = _outcome(named)
            opening = log_opening(stages) if named is None or outcome else named
            # A deal the log wins or loses is opened, then closed as the deal card closes one (see `_close`).
            deal = await self._deals.create(title=title, owner_id=owner.id, company_id=company_id,
                                            contact_id=contact_id, stage_key=opening.key,
                                            amount=fields.amount, currency=fields.currency or None,
                                            quantity=fields.quantity)
            if outcome is None:
                return deal, True, None
            await self._session.flush()
            close_move_id = await self._close(deal.id, outcome, owner, fields.lost_reason)
            return deal, True, DealBefore(amount=deal.amount, currency=deal.currency, quantity=deal.quantity,
                                          stage=opening.key, stage_changed_at=self._now, contact_id=contact_id,
                                          close_move_id=close_move_id)
        existing = await self._deals.raw(plan.deal_id) if plan.deal_id else None
        # the company's deal, or the person's own that no company holds (her lead from the bot), as planned
        held = existing is not None and (existing.company_id == company_id if existing.company_id is not None
                                         else existing.contact_id == contact_id)
        if existing is None or not held or not await self._planner.still_holds(plan):
            raise PlanStale("the deal changed since the preview; look at the card again", deal=plan.deal_id)
        if not can_change_deal(owner, existing.owner_id):
            raise Forbidden("not your deal")
        assert plan.after is not None
        after = plan.after
        previous = DealBefore(amount=existing.amount, currency=existing.currency, quantity=existing.quantity,
                              stage=existing.stage.key, stage_changed_at=existing.stage_changed_at,
                              contact_id=existing.contact_id)
        existing.amount, existing.currency, existing.quantity = after.amount, after.currency, after.quantity
        if plan.new_title:  # the title said the old quantity: it follows (the card showed old -> new)
            previous.title = existing.title
            existing.title, existing.title_folded = plan.new_title[:200], fold(plan.new_title[:200])
        if existing.contact_id is None:
            existing.contact_id = contact_id
        existing.updated_at = self._now
        if after.stage and after.stage != existing.stage.key:
            previous.last_move_id = await self._deals.last_move_id(existing.id)
            outcome = _outcome(await self._pipelines.default_stage(after.stage,
                                                                  pipeline_id=existing.stage.pipeline_id))
            if outcome is None:
                await self._deals.move(existing.id, after.stage, owner)
            else:
                previous.close_move_id = await self._close(existing.id, outcome, owner, fields.lost_reason)
        return existing, False, previous

    async def _close(self, deal_id: int, outcome: Outcome, owner: UserOut, reason: str | None) -> int:
        """Close the deal as the deal card does (`DealClosingService`: one conditional UPDATE, the reason kept in
        the stage history, audited `deal.won` / `deal.lost`), in this unit of work; the id of the closing move.

        The plan was checked just before (`still_holds`), so the close finds the deal as the card showed it; a
        colleague who closed or moved it in between makes the whole save fail (PlanStale) and change nothing.
        """
        await self._session.flush()  # the log's own changes first: the close reads and updates the row
        mark = await self._closing.mark(deal_id, outcome, owner)
        if mark.deal.status != "open":
            raise PlanStale("the deal was closed since the preview; look at the card again", deal=deal_id)
        move_id = await self._closing.close(mark, outcome, owner, reason=reason)
        if move_id is None:
            raise PlanStale("the deal changed since the preview; look at the card again", deal=deal_id)
        return move_id

    async def _create_task(self, fields: DraftFields, owner: UserOut, deal: Deal | None, contact_id: int | None,
                           company_id: int | None, default_title: str) -> tuple[int | None, datetime | None]:
        """Add the follow-up task, or move the similar open task the card offered to update; (id, its due before)."""
        due = fields.due
        next_step = fields.next_step
        if not next_step and due is None:
            return None, None
        due_at = due_datetime(due, self._now, fields.due_time) if due else None
        similar = fields.similar_task
        if similar is not None and fields.task_choice != "new":
            task = await self._session.get(Task, similar.id)
            if task is not None and task.done_at is None and task.owner_id == owner.id:
                before = task.due_at
                task.due_at = due_at or task.due_at
                return task.id, before
        task = await self._tasks.create(owner_id=owner.id, title=str(next_step or default_title), due_at=due_at,
                                        deal_id=deal.id if deal else None, contact_id=contact_id,
                                        company_id=company_id)
        await self._session.flush()
        return task.id, None

    async def undo(self, draft_id: int, owner: UserOut) -> UndoneLog:
        """Take back a saved log within the undo window (once, however often asked).

        What the log created is deleted unless something else now uses it: a company or person another
        log converged on, a deal a colleague has since logged against or moved. Those stay, and are named.
        """
        draft = await self._claim(draft_id, owner, "saved", "undone", saved_since=self._now - self._undo)
        if not draft.result:
            raise AlreadyDone("log has nothing to undo", status=draft.status)
        result = SavedLogRecord.model_validate(draft.result)
        interaction = await self._activities.get_interaction(result.interaction_id)
        if interaction is not None:
            await self._activities.delete(interaction)
        kept_task = await self._undo_task(result, owner)
        await self._session.flush()
        kept_deal, changed = await self._undo_deal(result, owner)
        undone = UndoneLog(draft_id=draft_id, kept_deal=kept_deal, kept_task=kept_task,
                           deal_changed_since=changed)
        if result.contact_created and result.contact_id:
            name = (await self._directory.contact(result.contact_id)).name
            if not await self._directory.delete_contact_unless_used(result.contact_id):
                undone.kept_contact = name
        if result.company_created and result.company_id:
            name = (await self._directory.company(result.company_id)).name
            if not await self._directory.delete_company_unless_used(result.company_id):
                undone.kept_company = name
        return undone

    async def closed_deal_of(self, draft_id: int, owner: UserOut) -> int | None:
        """Return the deal the owner's saved log won or lost, while it is still closed; None otherwise."""
        draft = await self._own(draft_id, owner)
        if draft.status != "saved" or not draft.result:
            return None
        result = SavedLogRecord.model_validate(draft.result)
        if not result.deal_id or result.deal_before is None or result.deal_before.close_move_id is None:
            return None
        deal = await self._deals.raw(result.deal_id)
        return deal.id if deal is not None and deal.status in ("won", "lost") else None

    async def _reopen(self, deal_id: int, close_move_id: int | None, owner: UserOut) -> bool:
        """Take back the close a log made as the deal card's Undo does (`DealClosingService.undo`: conditional,
        audited `deal.reopen`); False when the deal changed since (moved, edited, given to someone else)."""
        if close_move_id is None:
            return True
        try:
            mark = await self._closing.undo_mark(deal_id, close_move_id, owner)
        except AlreadyDone:
            return True  # taken back already
        except (Conflict, Forbidden, NotFound, UndoExpired):
            return False
        return await self._closing.undo(mark, owner)

    async def _undo_task(self, result: SavedLogRecord, owner: UserOut) -> str | None:
        """Take back the log's task (or the due date it moved); its title when it is someone else's now and stays."""
        if not result.task_id:
            return None
        task = await self._session.get(Task, result.task_id)
        if task is None:
            return None
        still_theirs = task.owner_id == (result.task_owner_id or owner.id) == owner.id
        if not still_theirs:  # given to a colleague since (with its deal): theirs now, as it is
            return task.title
        if result.task_updated:
            task.due_at = result.task_due_before  # the log only moved a similar open task
        else:
            await self._tasks.delete(result.task_id)
        return None

    async def _as_saved(self, deal: Deal, after: DealState | None, owner: UserOut) -> bool:
        """Tell whether the deal still stands exactly as the log's save left it and the undoer may still change it;
        then hold it (a conditional UPDATE that takes the row) so nobody changes it while Undo puts it back."""
        if not can_change_deal(owner, deal.owner_id):
            return False
        if after is None:  # saved before saves recorded the deal's state: only the checks below
            return True
        if await self._state(deal.id) != after:
            return False
        same_owner = Deal.owner_id.is_(None) if after.owner_id is None else Deal.owner_id == after.owner_id
        return await self._deals_repo.update_if(deal.id, same_owner, Deal.status == after.status,
                                                Deal.stage_id == after.stage_id, Deal.updated_at == after.updated_at,
                                                updated_at=after.updated_at)

    async def _undo_deal(self, result: SavedLogRecord, owner: UserOut) -> tuple[str | None, bool]:
        """Put the deal back as it was; (its title, changed since) when it must stay as it is now.

        Only what this log did is taken back, and only while nothing changed the deal since the save (a move,
        a close, an edit, a reassignment) and the undoer may still change it; else the deal stays as it is.
        """
        if not result.deal_id:
            return None, False
        deal = await self._deals.raw(result.deal_id)
        if deal is None:
            return None, False
        before = result.deal_before
        if (result.deal_created or before is not None) and not await self._as_saved(deal, result.deal_after, owner):
            return deal.title, True
        reopened = await self._reopen(result.deal_id, before.close_move_id, owner) if before is not None else True
        if result.deal_created:
            if not reopened or not await self._deals.delete_unless_used(result.deal_id):
                return deal.title, not reopened
            await self._session.flush()
            return None, False
        if before is None:
            return None, False
        if not reopened:  # closed by the log, then changed by someone: it stays as it is now
            return deal.title, True
        deal.amount, deal.currency, deal.quantity = before.amount, before.currency, before.quantity
        deal.contact_id = before.contact_id  # the log may have linked the contact it created, which undo deletes
        if before.title is not None:
            deal.title, deal.title_folded = before.title, fold(before.title)
        if before.close_move_id is not None:
            return None, False  # the stage came back with the close taken back
        if before.last_move_id is not None:
            await self._deals.forget_moves_after(deal.id, before.last_move_id)
        if before.stage != deal.stage.key:
            deal.stage_id = (await self._pipelines.default_stage(before.stage,
                                                                 pipeline_id=deal.stage.pipeline_id)).id
            deal.status = "open"
            deal.closed_at = None
            deal.lost_reason = None
            deal.stage_changed_at = before.stage_changed_at
        return None, False


def _outcome(stage: StageOut | None) -> Outcome | None:
    """Return whether moving to `stage` wins or loses a deal (None: an open stage, or none)."""
    if stage is None:
        return None
    return "won" if stage.is_won else "lost" if stage.is_lost else None


def _draft_out(draft: LogDraft) -> LogDraftOut:
    return LogDraftOut(id=draft.id, owner_id=draft.owner_id, raw_text=draft.raw_text, status=draft.status,
                       fields=DraftFields.model_validate(draft.fields or {}), created_at=draft.created_at,
                       source_key=draft.source_key)
