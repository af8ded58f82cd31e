"""The salesperson's free-text log, as use cases: understand, preview, fix, save, undo; reminders.

Each call takes plain values and returns a typed result; the chat layer only renders them.
Reading and thinking (the CRM's names, the parser, an optional LLM) happen before any write,
outside the write transaction; the draft row is written last, in a short transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import InstrumentedAttribute

from crm_core.errors import AlreadyDone, UndoExpired
from crm_core.flows.notices import DealNotice, Notice, staff_recipient
from crm_core.llm import fill_missing_with_llm
from crm_core.models import Company, Contact, Task
from crm_core.pipelines.reasons import clean_reason
from crm_core.pipelines.stage_words import stage_in_text
from crm_core.ports import Ports
from crm_core.schemas import (
    EDITABLE_FIELDS,
    CompanyChoice,
    ContactChoice,
    DraftFields,
    EditableField,
    LogDraftOut,
    StageOut,
    TaskMatch,
    TaskOut,
    UserOut,
)
from crm_core.services import Services
from crm_core.services.logs import UNCLEAR, due_datetime
from crm_core.textnorm import fold, fold_tokens
from crm_core.understanding import (
    KnownNames,
    kind_from_text,
    parse_amount_text,
    parse_due_text,
    parse_log,
    parse_time_text,
    vocabulary,
    without_when,
)
from crm_core.understanding.chatter import reads_as_new_log
from crm_core.understanding.classify import REMINDER_TRIGGER
from crm_core.understanding.matching import judge_company
from crm_core.understanding.products import product_phrase, quantity_is_more
from crm_core.uow import ReadPhase

# "nhắc tôi …" / "remind me to …" asks for a reminder instead of logging an interaction.
_REMINDER_RE = REMINDER_TRIGGER
NAME_OPTIONS = 3
CONTACT_OPTIONS = 4


def _chars(column: InstrumentedAttribute[Any]) -> int:
    length = getattr(column.type, "length", None)
    assert isinstance(length, int), column
    return length


# The columns a draft's values are saved in: a longer value is left out with a message, never sent to the store.
FIELD_CHARS: dict[str, int] = {"contact": _chars(Contact.name), "company": _chars(Company.name),
                               "phone": _chars(Contact.phone), "email": _chars(Contact.email),
                               "next_step": _chars(Task.title)}


class LogPreview(BaseModel):
    """A draft to show with Save / Edit / Cancel.

    `stale`: Save was refused because the deal the card showed changed since; this is the card again.
    `confirm_close`: Save was pressed on a log that wins or loses a deal; the card asks to confirm (and why).
    """

    draft_id: int
    fields: DraftFields
    stale: bool = False
    confirm_close: bool = False


class LogClosed(BaseModel):
    """The draft was saved, cancelled or undone already; nothing changed."""

    draft_id: int
    status: str


class FieldUnreadable(BaseModel):
    """The value typed for a field could not be read; the user is asked again."""

    draft_id: int
    field: EditableField
    text: str
    fields: DraftFields | None = None  # the draft as it stands, to show its card again
    stages: list[StageOut] = []  # for an unread stage: the pipeline's stages, to pick one of instead


class FieldTooLong(FieldUnreadable):
    """The value typed for a field is longer than the store keeps; the user is asked again."""

    limit: int


class LogSaved(BaseModel):
    """What saving a log wrote, named for the salesperson."""

    draft_id: int
    kind: str
    about: list[str]
    task: TaskOut | None
    deal_title: str | None
    deal_created: bool
    undo_minutes: int
    deal_noted: bool = False  # kept as a note on a deal it did not change (a colleague's)
    task_updated: bool = False  # an open task much like the next step was moved instead of adding one
    closed: Literal["won", "lost"] | None = None  # the log won or lost the deal
    lost_reason: str | None = None  # a key of the reasons list, or the salesperson's words
    deal_id: int | None = None
    open_tasks: list[TaskOut] = Field(default_factory=list)  # of the deal it closed, still open: offered to close
    notices: list[Notice] = Field(default_factory=list)  # the owner of a deal it noted hears of it


class TasksClosed(BaseModel):
    """The open tasks (the writer may change) of a deal a log closed were marked done: how many."""

    draft_id: int
    count: int


class LogUndone(BaseModel):
    """A saved log was taken back; what it created but others now use stayed (names)."""

    draft_id: int
    kept_deal: str | None = None
    kept_company: str | None = None
    kept_contact: str | None = None
    kept_task: str | None = None
    deal_changed_since: bool = False  # kept_deal stayed as it is now: changed or given away since the save


class UndoTooLate(BaseModel):
    """The undo window has passed."""

    draft_id: int
    minutes: int


class LogUnclear(BaseModel):
    """Nothing was understood (no person, company, amount, next step or date): ask what happened, offer no Save.

    The text is kept (status `unclear`); the salesperson's answer is read together with it.
    """

    draft_id: int
    kind: str | None = None


class NewLogInstead(BaseModel):
    """A value typed for a draft's field read as a new log: it became one, and the draft being edited stays open."""

    made: LogPreview | LogUnclear
    kept_draft_id: int
    field: EditableField


class DraftList(BaseModel):
    """A salesperson's unsaved previews, newest first (at most a page), and how many there are."""

    drafts: list[LogDraftOut]
    total: int


class ReminderMade(BaseModel):
    """A reminder task made from "nhắc tôi …", and the writer's open task much like it (same person), if any."""

    task: TaskOut
    similar: TaskMatch | None = None


class DraftReminder(BaseModel):
    """An unsaved preview to remind its owner of, in the chat it was made in."""

    draft: LogDraftOut
    owner: UserOut
    channel: str
    chat_id: str


def is_reminder_request(text: str) -> bool:
    """Tell whether a staff message asks for a reminder ("nhắc tôi …", "remind me to …")."""
    return _REMINDER_RE.match(fold(text)) is not None


@dataclass
class LogFlow:
    """Use cases of a salesperson's log over one unit of work."""

    services: Services
    ports: Ports
    tx: ReadPhase
    undo_minutes: int

    async def draft_from_text(self, owner: UserOut, text: str, *, source_key: str | None,
                              after: int | None = None) -> LogPreview | LogUnclear:
        """Understand a log, keep its raw text as a draft, and return the preview.

        A log in which nothing was understood is kept as unclear and answered with a question instead
        (LogUnclear). `after` is such an unclear log this message answers: the two are read together.
        """
        earlier = await self.services.logs.unclear(after, owner) if after is not None else None
        full = f"{earlier.raw_text}\n{text}" if earlier is not None else text
        fields = await self.services.logs.plan(await self._understand(full, owner), owner)
        if earlier is not None:
            await self.services.logs.merge_unclear(earlier.id, owner)
        if not fields.understood_anything():
            draft_id = await self.services.logs.draft(owner=owner, raw_text=full, fields=fields,
                                                      source_key=source_key, status=UNCLEAR)
            return LogUnclear(draft_id=draft_id, kind=fields.kind)
        draft_id = await self.services.logs.draft(owner=owner, raw_text=full, fields=fields, source_key=source_key)
        return LogPreview(draft_id=draft_id, fields=fields)

    async def redraft_edited(self, owner: UserOut, text: str, *,
                             source_key: str) -> LogPreview | LogUnclear | LogClosed | None:
        """Re-read an unsaved draft after its chat message was edited.

        When the message's log was saved or cancelled already (LogClosed), or it made none (None), the
        edit is not applied but kept, so nothing typed is lost.
        """
        draft_id = await self.services.logs.open_draft_from(source_key, owner)
        if draft_id is None:
            made = await self.services.logs.closed_from(source_key, owner)
            await self.keep_unread(owner, text, status="edited")
            return LogClosed(draft_id=made.id, status=made.status) if made is not None else None
        fields = await self.services.logs.plan(await self._understand(text, owner), owner)
        if not fields.understood_anything():
            await self.services.logs.replace(draft_id, owner, raw_text=text, fields=fields, status=UNCLEAR)
            return LogUnclear(draft_id=draft_id, kind=fields.kind)
        await self.services.logs.replace(draft_id, owner, raw_text=text, fields=fields)
        return LogPreview(draft_id=draft_id, fields=fields)

    async def keep_unread(self, owner: UserOut, text: str, *, status: str) -> int:
        """Keep a log that will not be read (too long, failed) so nothing typed is lost."""
        return await self.services.logs.draft(owner=owner, raw_text=text, fields=DraftFields(), status=status)

    async def open(self, owner: UserOut, draft_id: int) -> LogDraftOut | LogClosed:
        """Return an unsaved draft of the owner's, or say it is closed."""
        draft = await self.services.logs.get(draft_id, owner)
        if draft.status != "draft":
            return LogClosed(draft_id=draft_id, status=draft.status)
        return draft

    async def show(self, owner: UserOut, draft_id: int) -> LogPreview | LogClosed:
        """Return the preview of an unsaved draft."""
        draft = await self.open(owner, draft_id)
        return draft if isinstance(draft, LogClosed) else LogPreview(draft_id=draft.id, fields=draft.fields)

    async def cancel(self, owner: UserOut, draft_id: int) -> LogClosed | None:
        """Drop an unsaved draft (its raw text stays); LogClosed when it was not open."""
        await self.tx.end_reads()  # on SQLite the claim must be the first statement of its transaction
        try:
            await self.services.logs.cancel(draft_id, owner)
        except AlreadyDone as error:
            return LogClosed(draft_id=draft_id, status=str(error.details.get("status", "cancelled")))
        return None

    async def cancel_latest(self, owner: UserOut, chat_key: str) -> LogDraftOut | None:
        """Cancel the owner's newest unsaved draft made in the chat `chat_key` ("channel:chat"); None if none."""
        draft_id = await self.services.logs.latest_open_in(owner, chat_key)
        if draft_id is None:
            return None
        draft = await self.services.logs.get(draft_id, owner)
        closed = await self.cancel(owner, draft_id)
        return None if closed is not None else draft

    async def drafts(self, owner: UserOut, *, limit: int) -> DraftList:
        """List the owner's unsaved previews, newest first."""
        drafts, total = await self.services.logs.open_drafts(owner, limit=limit)
        return DraftList(drafts=drafts, total=total)

    async def draft_reminders(self, channel: str, *, after_minutes: int) -> list[DraftReminder]:
        """Claim the previews made on `channel` and left unsaved `after_minutes`, each reminded once."""
        if after_minutes <= 0:
            return []
        now = self.services.now
        drafts = await self.services.logs.claim_reminders(created_before=now - timedelta(minutes=after_minutes),
                                                          channel=channel)
        if not drafts:
            return []
        owners = {u.id: u for u in await self.services.users.list()}
        reminders = []
        for draft in drafts:
            owner = owners.get(draft.owner_id)
            chat_id = _chat_of(draft.source_key, channel)
            if owner is not None and owner.active and chat_id is not None:
                reminders.append(DraftReminder(draft=draft, owner=owner, channel=channel, chat_id=chat_id))
        return reminders

    async def value_or_new_log(self, owner: UserOut, draft_id: int, field: EditableField, text: str, *,
                               language: str, now: datetime, source_key: str | None,
                               ) -> LogPreview | LogClosed | FieldUnreadable | NewLogInstead:
        """Take what was typed while a field is edited as its value, unless it reads as a new log.

        A message with its own person, company, amount or kind of contact ("Gọi chị Lan bên Vinamilk,
        muốn 100 bộ" while the due date is asked) becomes a new log; the draft being edited stays open
        (NewLogInstead). A short value ("thứ 6", "500 triệu", "anh Minh") is the field's value.
        """
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        parsed = parse_log(text, now=now, language=None, known=await self._known_names())
        fields = draft.fields
        if reads_as_new_log(parsed, field, contact=fields.chosen_contact_name(), company=fields.chosen_company_name()):
            made = await self.draft_from_text(owner, text, source_key=source_key)
            return NewLogInstead(made=made, kept_draft_id=draft_id, field=field)
        return await self.set_field(owner, draft_id, field, text, language=language, now=now)

    async def use_as_value(self, owner: UserOut, new_draft_id: int, kept_draft_id: int, field: EditableField, *,
                           language: str, now: datetime) -> LogPreview | LogClosed | FieldUnreadable:
        """It was the value after all: cancel the log a typed value became and set the kept draft's field to it."""
        new = await self.open(owner, new_draft_id)
        if isinstance(new, LogClosed):
            return new
        kept = await self.open(owner, kept_draft_id)
        if isinstance(kept, LogClosed):
            return kept
        text = new.raw_text.strip()
        limit = FIELD_CHARS.get(field)
        if limit is not None and len(text) > limit:
            return FieldTooLong(draft_id=kept_draft_id, field=field, text=text, limit=limit, fields=kept.fields)
        changed = await self._changed_field(kept.fields, field, text, language=language, now=now)
        if changed is None:
            return await self._unreadable(kept_draft_id, field, text, kept.fields)
        closed = await self.cancel(owner, new_draft_id)
        if closed is not None:
            return closed
        too_long = {name: chars for name, chars in changed.too_long.items() if name != field}
        return await self._store(owner, kept_draft_id, changed.model_copy(update={"too_long": too_long}))

    async def choose_company(self, owner: UserOut, draft_id: int, company_id: int) -> LogPreview | LogClosed:
        """Pick one of the look-alike companies offered (0: a new company)."""
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        fields = draft.fields
        option = next((o for o in fields.company_options if o.id == company_id), None)
        picked = [*dict.fromkeys([*fields.picked, "company"])]
        fields = fields.model_copy(update={"company_choice": option, "picked": picked})
        if fields.contact and "contact" not in picked:  # the person is someone at the company chosen
            fields = fields.model_copy(update={"contact_choice": None, "contact_options": [],
                                               "contact_reached": False})
            await self._resolve_contact(fields, option.id if option else None, owner)
        return await self._store(owner, draft_id, fields)

    async def choose_contact(self, owner: UserOut, draft_id: int, contact_id: int) -> LogPreview | LogClosed:
        """Pick one of the namesakes offered (0: a new person); their company comes along."""
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        fields = draft.fields
        option = next((o for o in fields.contact_options if o.id == contact_id), None)
        update: dict[str, object] = {"contact_choice": option,
                                     "picked": [*dict.fromkeys([*fields.picked, "contact"])]}
        if option is not None and option.company_id and not fields.company_options:
            update["company"] = option.company
            update["company_choice"] = CompanyChoice(id=option.company_id, name=option.company or "")
        return await self._store(owner, draft_id, fields.model_copy(update=update))

    async def choose_deal(self, owner: UserOut, draft_id: int, choice: str) -> LogPreview | LogClosed:
        """Pick what the log does to a deal among the card's choices (update that deal, a new one, a note)."""
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        picked = next((c for c in ("update", "new", "note") if c == choice), None)
        return await self._store(owner, draft_id, draft.fields.model_copy(update={"deal_choice": picked}))

    async def choose_task(self, owner: UserOut, draft_id: int, choice: str) -> LogPreview | LogClosed:
        """Update the similar open task the card offered, or add a new one."""
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        picked = "new" if choice == "new" else "update"
        return await self._store(owner, draft_id, draft.fields.model_copy(update={"task_choice": picked}))

    async def keep_stage(self, owner: UserOut, draft_id: int) -> LogPreview | LogClosed:
        """Do not close the deal after all: the log is saved without its stage."""
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        return await self._store(owner, draft_id, draft.fields.model_copy(update={"stage": None,
                                                                                  "close_confirmed": False}))

    async def choose_stage(self, owner: UserOut, draft_id: int, stage_id: int) -> LogPreview | LogClosed:
        """Pick the stage among the pipeline's, offered when a typed stage could not be read."""
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        stage = next((s for s in await self.services.pipelines.default_stages() if s.id == stage_id), None)
        if stage is None:
            raise ValueError(f"no stage {stage_id} in the default pipeline")  # a stale or forged button
        return await self._store(owner, draft_id, draft.fields.model_copy(update={"stage": stage.key}))

    async def _unreadable(self, draft_id: int, field: EditableField, text: str,
                          fields: DraftFields) -> FieldUnreadable:
        """The typed value is no value of `field`; for a stage, with the stages to pick one of."""
        stages = await self.services.pipelines.default_stages() if field == "stage" else []
        return FieldUnreadable(draft_id=draft_id, field=field, text=text, fields=fields, stages=stages)

    async def choose_due(self, owner: UserOut, draft_id: int, due: date) -> LogPreview | LogClosed:
        """Pick one of the dates the log could mean."""
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        return await self._store(owner, draft_id, draft.fields.model_copy(update={"due": due}))

    async def set_field(self, owner: UserOut, draft_id: int, field: EditableField, text: str, *, language: str,
                        now: datetime) -> LogPreview | LogClosed | FieldUnreadable:
        """Set a field from what the salesperson typed; unreadable amounts and dates are asked again."""
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        limit = FIELD_CHARS.get(field)
        if limit is not None and len(text.strip()) > limit:
            return FieldTooLong(draft_id=draft_id, field=field, text=text.strip(), limit=limit, fields=draft.fields)
        changed = await self._changed_field(draft.fields, field, text.strip(), language=language, now=now)
        if changed is None:
            return await self._unreadable(draft_id, field, text, draft.fields)
        too_long = {name: chars for name, chars in changed.too_long.items() if name != field}
        return await self._store(owner, draft_id, changed.model_copy(update={"too_long": too_long}))

    async def save(self, owner: UserOut, draft_id: int, *, default_task_title: str, confirmed: bool = False,
                   lost_reason: str | None = None, channel: str | None = None) -> LogSaved | LogClosed | LogPreview:
        """Save interaction, follow-up task and deal of a draft, all at once; a second tap anywhere saves nothing.

        Save applies the plan the card showed: when that deal changed since, nothing is saved and the card
        comes back re-planned (LogPreview, `stale`). A log that wins or loses a deal is saved only once
        `confirmed` (with `lost_reason` for a lost one); before that the card asks (LogPreview, `confirm_close`).
        A log kept as a note on a colleague's deal tells that deal's owner on `channel` (LogSaved.notices).
        """
        # The save starts with its claim (draft -> saved). On SQLite a transaction that has read cannot
        # start writing once another process has committed, so end the reads: the claim then waits its
        # turn for the write lock and sees the newest status.
        draft = await self.open(owner, draft_id)
        wrote = False
        if isinstance(draft, LogDraftOut):
            if not await self.services.logs.plan_holds(draft_id, owner):
                shown = await self._store(owner, draft_id, draft.fields)
                return shown.model_copy(update={"stale": True})
            plan = draft.fields.deal_plan
            if plan is not None and plan.closes and not (confirmed or draft.fields.close_confirmed):
                return LogPreview(draft_id=draft_id, fields=draft.fields, confirm_close=True)
            if confirmed:
                reason = clean_reason(lost_reason) if lost_reason else None
                await self.tx.end_reads()
                await self.services.logs.set_fields(draft_id, owner, draft.fields.model_copy(
                    update={"close_confirmed": True, "lost_reason": reason}))
                wrote = True  # the transaction holds the write lock now: the save follows in it
        if not wrote:
            await self.tx.end_reads()
        try:
            saved = await self.services.logs.save(draft_id, owner, default_task_title=default_task_title)
        except AlreadyDone as error:
            return LogClosed(draft_id=draft_id, status=str(error.details.get("status", "saved")))
        fields = (await self.services.logs.get(draft_id, owner)).fields
        task = await self.services.tasks.get(saved.task_id, owner) if saved.task_id else None
        about = [name for name in (fields.chosen_contact_name(), fields.chosen_company_name()) if name]
        plan = fields.deal_plan
        closed = plan.closes if plan is not None and plan.action in ("new", "update") else None
        open_tasks = [t for t in await self.services.tasks.open_of_deal_to_change(saved.deal_id, owner)
                      if t.id != saved.task_id] if closed and saved.deal_id else []
        notices: list[Notice] = []
        if plan is not None and plan.action == "note" and plan.deal_id and channel and saved.interaction_id:
            notices = await self._noted_notice(owner, plan.deal_id, draft_id, channel)
        return LogSaved(draft_id=draft_id, kind=fields.kind or "note", about=about, task=task,
                        deal_title=saved.deal_title, deal_created=saved.deal_created, undo_minutes=self.undo_minutes,
                        deal_noted=plan is not None and plan.action == "note",
                        task_updated=saved.task_updated, closed=closed,
                        lost_reason=fields.lost_reason if closed == "lost" else None, deal_id=saved.deal_id,
                        open_tasks=open_tasks, notices=notices)

    async def _noted_notice(self, writer: UserOut, deal_id: int, draft_id: int, channel: str) -> list[Notice]:
        """Tell a deal's owner that a colleague's log was kept as a note on their deal (not when it is theirs)."""
        deal = await self.services.deals.raw(deal_id)
        if deal is None or deal.owner_id is None or deal.owner_id == writer.id:
            return []
        deal_owner = await self.services.users.get(deal.owner_id)
        if not deal_owner.active:
            return []
        text = (await self.services.logs.get(draft_id, writer)).raw_text
        return [DealNotice(kind="noted", to=staff_recipient(deal_owner, channel), deal_id=deal.id, title=deal.title,
                           by=writer.name, new_owner=deal_owner.name, text=text)]

    async def close_open_tasks(self, owner: UserOut, draft_id: int) -> TasksClosed:
        """Mark done the open tasks of the deal the saved log `draft_id` won or lost (those the writer may change)."""
        draft = await self.services.logs.get(draft_id, owner)
        deal_id = await self.services.logs.closed_deal_of(draft_id, owner)
        if draft.status != "saved" or deal_id is None:
            return TasksClosed(draft_id=draft_id, count=0)
        tasks = await self.services.tasks.open_of_deal_to_change(deal_id, owner)
        await self.tx.end_reads()
        done = 0
        for task in tasks:
            try:
                await self.services.tasks.done(task.id, owner)
                done += 1
            except AlreadyDone:
                continue
        return TasksClosed(draft_id=draft_id, count=done)

    async def undo(self, owner: UserOut, draft_id: int) -> LogUndone | UndoTooLate | LogClosed:
        """Take back a saved log within the undo window; what others now use stays and is named."""
        await self.tx.end_reads()  # the claim (saved -> undone) comes first, as in `save`
        try:
            undone = await self.services.logs.undo(draft_id, owner)
        except UndoExpired:
            return UndoTooLate(draft_id=draft_id, minutes=self.undo_minutes)
        except AlreadyDone as error:
            return LogClosed(draft_id=draft_id, status=str(error.details.get("status", "undone")))
        return LogUndone(**undone.model_dump())

    async def remind_from_text(self, owner: UserOut, text: str, *, now: datetime) -> ReminderMade:
        """Create a reminder task from "nhắc tôi gọi anh Minh thứ 6" (title without the trigger words)."""
        parsed = parse_log(text, now=now, language=None, known=await self._known_names())
        trigger = _REMINDER_RE.match(fold(text))
        trigger_words = len(trigger.group(0).split()) if trigger else 0
        title = " ".join(text.split()[trigger_words:]) or text  # folding keeps the words, so count them
        title = without_when(title, now=now, language=parsed.language)  # "3h chiều mai gọi anh Minh" -> "gọi anh Minh"
        # the same matching as a log's: "a Quan ben Thuan Thanh" is the known Quân at Thuận Thành
        names = await self._resolve_names(DraftFields.model_validate(
            {"contact": parsed.contact, "company": parsed.company}), owner)
        person = names.contact_choice or (names.contact_options[0] if len(names.contact_options) == 1 else None)
        contact_id = person.id if person else None
        company_id = names.company_choice.id if names.company_choice else (person.company_id if person else None)
        similar = await self.services.tasks.similar_open(owner, title, contact_id=contact_id, company_id=company_id)
        due_at = due_datetime(parsed.due, now, parsed.due_time) if parsed.due else None
        task = await self.services.tasks.create(owner_id=owner.id, title=title, contact_id=contact_id,
                                                due_at=due_at, company_id=company_id)
        await self.services.session.flush()
        return ReminderMade(task=await self.services.tasks.get(task.id, owner), similar=similar)

    # --- understanding -----------------------------------------------------------------------------------

    async def _understand(self, text: str, owner: UserOut | None = None) -> DraftFields:
        known = await self._known_names()
        await self.tx.end_reads()  # the LLM may take seconds: hold no snapshot or lock meanwhile
        now = self.services.now
        parsed = parse_log(text, now=now, language=None, known=known)
        llm = self.ports.chat_model
        if llm is not None:
            parsed = await fill_missing_with_llm(parsed, model=llm.model, prompt=llm.prompt_for_logs(),
                                                 timeout_s=llm.timeout_s, now_iso=now.isoformat())
        fields = DraftFields.model_validate({**parsed.to_contract(), "amount": parsed.amount,
                                             "unreadable": list(parsed.unreadable),
                                             "product": product_phrase(text, parsed.quantity),
                                             "quantity_more": quantity_is_more(text, parsed.quantity)})
        if len(parsed.contact_candidates) > 1 and parsed.company and fold(parsed.company) not in fold(text):
            fields.company = None  # guessed from one of several namesakes: ask instead
        return await self._resolve_names(_without_too_long(fields), owner)

    async def _known_names(self) -> KnownNames:
        return await self.services.directory.known_names()

    async def _resolve_names(self, fields: DraftFields, owner: UserOut | None = None) -> DraftFields:
        """Match the company and the person against the CRM: exact matches chosen, look-alikes offered."""
        fields = fields.model_copy(update={"company_choice": None, "company_options": [], "contact_choice": None,
                                           "contact_options": [], "contact_reached": False, "picked": []})
        company_id: int | None = None
        if fields.company:
            # Known when certain (no question); asked only when really ambiguous (crm_core.understanding.matching).
            names = await self.services.directory.company_names()
            verdict = judge_company(fields.company, names, limit=NAME_OPTIONS)
            if verdict.known is not None:
                fields.company_choice = CompanyChoice(id=verdict.known, name=names[verdict.known])
            elif verdict.options:
                fields.company_options = [CompanyChoice(id=cid, name=names[cid]) for cid in verdict.options]
                if verdict.preselect is not None:
                    fields.company_choice = CompanyChoice(id=verdict.preselect, name=names[verdict.preselect])
            company_id = fields.company_choice.id if fields.company_choice else None
        if fields.contact or fields.phone or fields.email:
            await self._resolve_contact(fields, company_id, owner)
        return fields

    async def _resolve_contact(self, fields: DraftFields, company_id: int | None, owner: UserOut | None) -> None:
        """Match the person: at the card's company when the log names one, else anyone (their company comes along).

        A phone number or e-mail address a known person has is that person, whatever the name (`_reached`).
        A person named at a company is someone at that company, never a namesake elsewhere ("anh Tùng bên
        Vinamilk" is not Lê Văn Tùng of Kho vận Sóng Thần): when the company is new, or still asked about
        with none chosen, nobody known works there and the person is new (chosen later, it is matched again).
        """
        if await self._reached(fields, company_id) or not fields.contact:
            return
        if company_id is None and fields.company:
            return
        # the writer's own customers first, then given-name matches ("c Xuan": Lan's Nguyễn Thị Xuân)
        found = await self.services.directory.match_contacts(fields.contact, company_id=company_id,
                                                             prefer_owner=owner.id if owner else None)
        matches = [m for m in found if m.exact]
        if not matches and company_id is not None:
            # "Daniel" when the company has Daniel Yamamoto: offer the people whose names hold every word typed.
            typed = set(fold(fields.contact).split())
            fits = [m for m in found if typed <= set(fold(m.name).split())]
            if fits:
                fields.contact_options = [ContactChoice(id=m.id, name=m.name, company=m.company,
                                                        company_id=company_id) for m in fits[:CONTACT_OPTIONS]]
                fields.contact_choice = fields.contact_options[0]
            return
        if not matches:
            return
        options = []
        for match in matches[:CONTACT_OPTIONS]:
            contact = await self.services.directory.contact(match.id)
            options.append(ContactChoice(id=match.id, name=match.name, company=contact.company,
                                         company_id=contact.company_id))
        fields.contact_choice = options[0]
        if len(options) > 1:
            fields.contact_options = options
        first = options[0]
        if company_id is None and first.company_id and not fields.company:
            fields.company = first.company
            fields.company_choice = CompanyChoice(id=first.company_id, name=first.company or "")

    async def _reached(self, fields: DraftFields, company_id: int | None) -> bool:
        """Match the person by the phone or e-mail the log gives, a stronger key than a name; True when matched.

        The card shows the person as stored ("Gọi chị Nguyễn Thị Bích Ngọc 0912.345.678": Bích Ngọc, known),
        without a question when the name typed is theirs (or none was typed) and the log names no other
        company. Otherwise (another name, another company, or several people with that number) the card asks,
        the number's person offered first and chosen unless the salesperson picks another or a new one. With
        no name typed and several people holding the number, nobody is guessed.
        """
        if not (fields.phone or fields.email):
            return False
        reached = await self.services.directory.reached_at(phone=fields.phone, email=fields.email)
        typed = fields.contact
        if not reached or (typed is None and len(reached) > 1):
            return False

        def likeness(person: ContactChoice) -> tuple[bool, bool]:
            named = typed is None or _names_agree(typed, person.name)
            there = not fields.company or (company_id is not None and person.company_id == company_id)
            return named, there

        sure = [person for person in reached if all(likeness(person))]
        if len(sure) == 1:
            fields.contact_choice = sure[0]
        else:  # the likeliest first: the name typed, then the company named
            ranked = sorted(reached, key=lambda person: [not fit for fit in likeness(person)])
            fields.contact_options = ranked[:CONTACT_OPTIONS]
            fields.contact_choice = fields.contact_options[0]
        fields.contact_reached = True
        first = fields.contact_choice
        if company_id is None and first.company_id and not fields.company:
            fields.company = first.company
            fields.company_choice = CompanyChoice(id=first.company_id, name=first.company or "")
        return True

    async def _changed_field(self, fields: DraftFields, field: EditableField, text: str, *, language: str,
                             now: datetime) -> DraftFields | None:
        unreadable = [f for f in fields.unreadable if f != field]
        if field == "amount":
            amount = parse_amount_text(text, language)
            if amount is None:
                return None
            return fields.model_copy(update={"amount": amount[0], "currency": amount[1], "unreadable": unreadable})
        if field == "due":
            due = parse_due_text(text, now=now, language=language)
            if due is None:
                return None
            at_time = parse_time_text(text) or fields.due_time
            return fields.model_copy(update={"due": due, "due_time": at_time, "due_options": [due],
                                             "unreadable": unreadable})
        if field == "kind":
            return fields.model_copy(update={"kind": kind_from_text(text)})
        if field == "quantity":
            count = re.match(r"\s*(\d{1,7})\b", text)
            if count is None or int(count.group(1)) == 0:
                return None
            product = product_phrase(text, int(count.group(1))) or fields.product
            return fields.model_copy(update={"quantity": int(count.group(1)), "product": product,
                                             "quantity_more": quantity_is_more(text, int(count.group(1))),
                                             "unreadable": unreadable})
        if field == "stage":  # a stage word, also inside a sentence; a denied one ("ko phải thua") is not it
            stage = stage_in_text(text, await self.services.pipelines.default_stages())
            return None if stage is None else fields.model_copy(update={"stage": stage.key})
        if field == "company":
            return await self._resolve_names(fields.model_copy(update={"company": text, "contact_choice": None}))
        if field == "contact":
            return await self._resolve_names(fields.model_copy(update={"contact": text}))
        return fields.model_copy(update={field: text})

    async def _store(self, owner: UserOut, draft_id: int, fields: DraftFields) -> LogPreview:
        fields = await self.services.logs.plan(fields, owner)  # every change of the card re-plans the deal
        stored = await self.services.logs.set_fields(draft_id, owner, fields)
        return LogPreview(draft_id=draft_id, fields=stored)

    async def _exact_company(self, name: str) -> int | None:
        matches = [m for m in await self.services.directory.match_companies(name) if m.exact]
        return matches[0].id if matches else None

    async def _only_contact(self, name: str, company_id: int | None) -> int | None:
        matches = [m for m in await self.services.directory.match_contacts(name, company_id=company_id) if m.exact]
        return matches[0].id if len(matches) == 1 else None


def _chat_of(source_key: str | None, channel: str) -> str | None:
    """Return the chat of a message key "channel:chat:message" on `channel`."""
    prefix = f"{channel}:"
    if not source_key or not source_key.startswith(prefix) or ":" not in source_key[len(prefix):]:
        return None
    return source_key[len(prefix):].rsplit(":", 1)[0] or None


def _names_agree(typed: str, stored: str) -> bool:
    """Tell whether a name typed may be the stored one: one ends with the other ("Bích Ngọc", "Nguyễn Thị Bích
    Ngọc"; "Hoa", "Chị Hoa") or the stored name holds every word typed ("Daniel", "Daniel Yamamoto")."""
    honorifics = vocabulary.words("honorifics_before_name")
    a = [w for w in fold_tokens(typed) if w not in honorifics] or fold_tokens(typed)
    b = [w for w in fold_tokens(stored) if w not in honorifics] or fold_tokens(stored)
    if not a or not b:
        return False
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return longer[len(longer) - len(shorter):] == shorter or set(a) <= set(b)


def _without_too_long(fields: DraftFields) -> DraftFields:
    """Leave out the values longer than their columns, and name them (the raw text keeps them)."""
    too_long = {name: limit for name, limit in FIELD_CHARS.items()
                if len(str(getattr(fields, name) or "")) > limit}
    if not too_long:
        return fields
    return fields.model_copy(update={**dict.fromkeys(too_long), "too_long": too_long})


def require_editable(field: str) -> EditableField:
    """Return `field` when a salesperson may edit it; ValueError otherwise (a stale or forged button)."""
    for editable in EDITABLE_FIELDS:
        if editable == field:
            return editable
    raise ValueError(f"{field!r} cannot be edited")
