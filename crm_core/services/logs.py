"""Salespeople's free-text logs: keep the raw text, preview, save in one go, undo."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import AlreadyDone, Forbidden, NotFound, UndoExpired
from crm_core.models import Deal, Interaction, LogDraft
from crm_core.repositories.sales import ActivityRepository
from crm_core.schemas import SavedLog, UserOut
from crm_core.services.deals import DealService
from crm_core.services.directory import DirectoryService
from crm_core.services.pipelines import PipelineService
from crm_core.services.tasks import TaskService

DUE_HOUR = time(9, 0)
LATE_DUE_HOUR = time(17, 0)
STAGES_WITHOUT_DEAL_CHANGE = {None, ""}


def due_datetime(due: date, now: datetime) -> datetime:
    """Return when a task due on `due` should be reminded: 9:00 that day, later if that has passed."""
    tz = now.tzinfo
    at = datetime.combine(due, DUE_HOUR, tzinfo=tz)
    if at > now:
        return at
    late = datetime.combine(due, LATE_DUE_HOUR, tzinfo=tz)
    return late if late > now else now


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


class LogService:
    """Draft, save and undo logs."""

    def __init__(self, session: AsyncSession, directory: DirectoryService, deals: DealService, tasks: TaskService,
                 activities: ActivityRepository, pipelines: PipelineService, now: datetime,
                 undo_minutes: int) -> None:
        self._pipelines = pipelines
        self._session = session
        self._directory = directory
        self._deals = deals
        self._tasks = tasks
        self._activities = activities
        self._now = now
        self._undo = timedelta(minutes=undo_minutes)

    async def draft(self, *, owner: UserOut, raw_text: str, fields: dict[str, Any], source_key: str | None = None,
                    status: str = "draft") -> int:
        """Keep a log's raw text and what was understood; return the draft id."""
        draft = LogDraft(owner_id=owner.id, raw_text=raw_text, fields=fields, status=status, created_at=self._now,
                         source_key=source_key)
        self._session.add(draft)
        await self._session.flush()
        return draft.id

    async def get(self, draft_id: int, owner: UserOut) -> LogDraft:
        """Return one of the owner's drafts."""
        draft = await self._session.get(LogDraft, draft_id)
        if draft is None:
            raise NotFound("no such log")
        if draft.owner_id != owner.id:
            raise Forbidden("not your log")
        return draft

    async def open_draft_from(self, source_key: str, owner: UserOut) -> int | None:
        """Return the id of the unsaved draft made from the chat message `source_key`."""
        query = select(LogDraft.id).where(LogDraft.source_key == source_key, LogDraft.owner_id == owner.id,
                                          LogDraft.status == "draft")
        return await self._session.scalar(query.order_by(LogDraft.id.desc()).limit(1))

    async def update_fields(self, draft_id: int, owner: UserOut, changes: dict[str, Any]) -> dict[str, Any]:
        """Change fields of an unsaved draft; return all its fields."""
        draft = await self.get(draft_id, owner)
        self._require_open(draft)
        draft.fields = {**draft.fields, **changes}
        return dict(draft.fields)

    async def replace(self, draft_id: int, owner: UserOut, *, raw_text: str, fields: dict[str, Any]) -> None:
        """Re-parse an unsaved draft after the user edited the message."""
        draft = await self.get(draft_id, owner)
        self._require_open(draft)
        draft.raw_text = raw_text
        draft.fields = fields

    async def cancel(self, draft_id: int, owner: UserOut) -> None:
        """Drop an unsaved draft (its raw text stays)."""
        draft = await self.get(draft_id, owner)
        self._require_open(draft)
        draft.status = "cancelled"

    @staticmethod
    def _require_open(draft: LogDraft) -> None:
        if draft.status != "draft":
            raise AlreadyDone(f"log already {draft.status}", status=draft.status)

    async def save(self, draft_id: int, owner: UserOut, *, default_task_title: str) -> SavedLog:
        """Save interaction, follow-up task and deal of a draft, in this unit of work."""
        draft = await self.get(draft_id, owner)
        self._require_open(draft)
        fields = draft.fields
        company_id, company_created = await self._resolve_company(fields, owner)
        contact_id, contact_created = await self._resolve_contact(fields, owner, company_id)
        deal, deal_created, previous = await self._upsert_deal(fields, owner, company_id, contact_id)
        occurred_on = _date(fields.get("occurred_on"))
        occurred_at = self._now if occurred_on is None else datetime.combine(occurred_on, self._now.timetz())
        interaction = Interaction(kind=fields.get("kind") or "note", occurred_at=min(occurred_at, self._now),
                                  contact_id=contact_id, company_id=company_id, deal_id=deal.id if deal else None,
                                  owner_id=owner.id, summary=draft.raw_text, source="chat", created_at=self._now)
        self._activities.add(interaction)
        task_id = await self._create_task(fields, owner, deal, contact_id, company_id, default_task_title)
        await self._session.flush()
        draft.status = "saved"
        draft.saved_at = self._now
        result = SavedLog(draft_id=draft.id, interaction_id=interaction.id, task_id=task_id,
                          deal_id=deal.id if deal else None, deal_created=deal_created, company_id=company_id,
                          company_created=company_created, contact_id=contact_id, contact_created=contact_created,
                          undo_until=self._now + self._undo)
        draft.result = {**result.model_dump(mode="json"), "deal_before": previous}
        return result

    async def _resolve_company(self, fields: dict[str, Any], owner: UserOut) -> tuple[int | None, bool]:
        choice = fields.get("company_choice")
        if isinstance(choice, dict) and choice.get("id"):
            return int(choice["id"]), False
        name = fields.get("company")
        if not name:
            contact_choice = fields.get("contact_choice")
            if isinstance(contact_choice, dict) and contact_choice.get("company_id"):
                return int(contact_choice["company_id"]), False
            return None, False
        company = await self._directory.create_company(str(name), owner_id=owner.id)
        return company.id, True

    async def _resolve_contact(self, fields: dict[str, Any], owner: UserOut,
                               company_id: int | None) -> tuple[int | None, bool]:
        phone, email = fields.get("phone"), fields.get("email")
        choice = fields.get("contact_choice")
        if isinstance(choice, dict) and choice.get("id"):
            await self._directory.update_contact_details(int(choice["id"]), phone=phone, email=email)
            return int(choice["id"]), False
        name = fields.get("contact")
        if not name:
            return None, False
        contact = await self._directory.create_contact(str(name), company_id=company_id, owner_id=owner.id,
                                                       phone=phone, email=email)
        return contact.id, True

    async def _upsert_deal(self, fields: dict[str, Any], owner: UserOut, company_id: int | None,
                           contact_id: int | None) -> tuple[Deal | None, bool, dict[str, Any] | None]:
        if company_id is None:
            return None, False, None
        amount = _decimal(fields.get("amount"))
        quantity = fields.get("quantity")
        stage = fields.get("stage") or None
        existing = await self._deals.latest_open_of_company(company_id)
        if existing is None:
            if amount is None and quantity is None and stage is None:
                return None, False, None
            company = await self._directory.company(company_id)
            title = company.name if not quantity else f"{company.name} — {quantity}"
            deal = await self._deals.create(title=title, owner_id=owner.id, company_id=company_id,
                                            contact_id=contact_id, stage_key=stage or "contacted", amount=amount,
                                            currency=fields.get("currency") or None, quantity=quantity)
            return deal, True, None
        previous = {"amount": None if existing.amount is None else str(existing.amount),
                    "currency": existing.currency, "quantity": existing.quantity, "stage": existing.stage.key,
                    "stage_changed_at": existing.stage_changed_at.isoformat(), "contact_id": existing.contact_id}
        if amount is not None:
            existing.amount, existing.currency = amount, fields.get("currency") or existing.currency
        if quantity is not None:
            existing.quantity = int(quantity)
        if existing.contact_id is None:
            existing.contact_id = contact_id
        existing.updated_at = self._now
        if stage and stage != existing.stage.key:
            previous["last_move_id"] = await self._deals.last_move_id(existing.id)
            await self._deals.move(existing.id, stage, owner if existing.owner_id == owner.id else _as_manager(owner))
        return existing, False, previous

    async def _create_task(self, fields: dict[str, Any], owner: UserOut, deal: Deal | None, contact_id: int | None,
                           company_id: int | None, default_title: str) -> int | None:
        due = _date(fields.get("due"))
        next_step = fields.get("next_step")
        if not next_step and due is None:
            return None
        due_at = due_datetime(due, self._now) if due else None
        task = await self._tasks.create(owner_id=owner.id, title=str(next_step or default_title), due_at=due_at,
                                        deal_id=deal.id if deal else None, contact_id=contact_id,
                                        company_id=company_id)
        await self._session.flush()
        return task.id

    async def undo(self, draft_id: int, owner: UserOut) -> None:
        """Take back a saved log within the undo window."""
        draft = await self.get(draft_id, owner)
        if draft.status != "saved" or not draft.result:
            raise AlreadyDone(f"log is {draft.status}", status=draft.status)
        if draft.saved_at is None or self._now - draft.saved_at > self._undo:
            raise UndoExpired("too late to undo")
        result = draft.result
        interaction = await self._activities.get_interaction(int(result["interaction_id"]))
        if interaction is not None:
            await self._activities.delete(interaction)
        if result.get("task_id"):
            await self._tasks.delete(int(result["task_id"]))
        await self._session.flush()
        await self._undo_deal(result)
        if result.get("contact_created") and result.get("contact_id"):
            await self._directory.delete_contact(int(result["contact_id"]))
        if result.get("company_created") and result.get("company_id"):
            await self._session.flush()
            await self._directory.delete_company(int(result["company_id"]))
        draft.status = "undone"

    async def _undo_deal(self, result: dict[str, Any]) -> None:
        deal_id = result.get("deal_id")
        if not deal_id:
            return
        if result.get("deal_created"):
            await self._deals.delete(int(deal_id))
            await self._session.flush()
            return
        before = result.get("deal_before")
        deal = await self._deals.raw(int(deal_id))
        if deal is None or not before:
            return
        deal.amount = _decimal(before.get("amount"))
        deal.currency = before.get("currency")
        deal.quantity = before.get("quantity")
        if "contact_id" in before:  # the log may have linked the contact it created, which undo deletes
            deal.contact_id = before["contact_id"]
        if before.get("last_move_id") is not None:
            await self._deals.forget_moves_after(deal.id, int(before["last_move_id"]))
        if before.get("stage") != deal.stage.key:
            deal.stage_id = (await self._pipelines.default_stage(str(before["stage"]))).id
            deal.status = "open"
            deal.closed_at = None
            deal.stage_changed_at = datetime.fromisoformat(str(before["stage_changed_at"]))



def _as_manager(user: UserOut) -> UserOut:
    """Let a log move the stage of its company's deal even when a teammate owns it."""
    return user.model_copy(update={"role": "manager"})
