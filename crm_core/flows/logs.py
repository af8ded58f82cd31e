"""The salesperson's free-text log, as use cases: understand, preview, fix, save, undo; reminders.

Each call takes plain values and returns a typed result; the chat layer only renders them.
Reading and thinking (the CRM's names, the parser, an optional LLM) happen before any write,
outside the write transaction; the draft row is written last, in a short transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import InstrumentedAttribute

from crm_core.errors import AlreadyDone, UndoExpired
from crm_core.llm import fill_missing_with_llm
from crm_core.models import Company, Contact, Task
from crm_core.ports import Ports
from crm_core.schemas import (
    EDITABLE_FIELDS,
    CompanyChoice,
    ContactChoice,
    DraftFields,
    EditableField,
    LogDraftOut,
    TaskOut,
    UserOut,
)
from crm_core.services import Services
from crm_core.services.logs import due_datetime
from crm_core.textnorm import fold
from crm_core.understanding import (
    KnownNames,
    kind_from_text,
    parse_amount_text,
    parse_due_text,
    parse_log,
    parse_time_text,
    without_when,
)
from crm_core.uow import ReadPhase

# "nhắc tôi …" / "remind me to …" asks for a reminder instead of logging an interaction.
_REMINDER_RE = re.compile(r"^\s*(?:nhac (?:toi|minh|em|anh|chi)|remind me)(?: to| de| la)?\s+", re.IGNORECASE)
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
    """A draft to show with Save / Edit / Cancel."""

    draft_id: int
    fields: DraftFields


class LogClosed(BaseModel):
    """The draft was saved, cancelled or undone already; nothing changed."""

    draft_id: int
    status: str


class FieldUnreadable(BaseModel):
    """The value typed for a field could not be read; the user is asked again."""

    draft_id: int
    field: EditableField
    text: str


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


class LogUndone(BaseModel):
    """A saved log was taken back; what it created but others now use stayed (names)."""

    draft_id: int
    kept_deal: str | None = None
    kept_company: str | None = None
    kept_contact: str | None = None


class UndoTooLate(BaseModel):
    """The undo window has passed."""

    draft_id: int
    minutes: int


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

    async def draft_from_text(self, owner: UserOut, text: str, *, source_key: str | None) -> LogPreview:
        """Understand a log, keep its raw text as a draft, and return the preview."""
        fields = await self._understand(text)
        draft_id = await self.services.logs.draft(owner=owner, raw_text=text, fields=fields, source_key=source_key)
        return LogPreview(draft_id=draft_id, fields=fields)

    async def redraft_edited(self, owner: UserOut, text: str, *, source_key: str) -> LogPreview | LogClosed | None:
        """Re-read an unsaved draft after its chat message was edited.

        When the message's log was saved or cancelled already (LogClosed), or it made none (None), the
        edit is not applied but kept, so nothing typed is lost.
        """
        draft_id = await self.services.logs.open_draft_from(source_key, owner)
        if draft_id is None:
            made = await self.services.logs.closed_from(source_key, owner)
            await self.keep_unread(owner, text, status="edited")
            return LogClosed(draft_id=made.id, status=made.status) if made is not None else None
        fields = await self._understand(text)
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

    async def choose_company(self, owner: UserOut, draft_id: int, company_id: int) -> LogPreview | LogClosed:
        """Pick one of the look-alike companies offered (0: a new company)."""
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        fields = draft.fields
        option = next((o for o in fields.company_options if o.id == company_id), None)
        return await self._store(owner, draft_id, fields.model_copy(update={"company_choice": option}))

    async def choose_contact(self, owner: UserOut, draft_id: int, contact_id: int) -> LogPreview | LogClosed:
        """Pick one of the namesakes offered (0: a new person); their company comes along."""
        draft = await self.open(owner, draft_id)
        if isinstance(draft, LogClosed):
            return draft
        fields = draft.fields
        option = next((o for o in fields.contact_options if o.id == contact_id), None)
        update: dict[str, object] = {"contact_choice": option}
        if option is not None and option.company_id and not fields.company_options:
            update["company"] = option.company
            update["company_choice"] = CompanyChoice(id=option.company_id, name=option.company or "")
        return await self._store(owner, draft_id, fields.model_copy(update=update))

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
            return FieldTooLong(draft_id=draft_id, field=field, text=text.strip(), limit=limit)
        changed = await self._changed_field(draft.fields, field, text.strip(), language=language, now=now)
        if changed is None:
            return FieldUnreadable(draft_id=draft_id, field=field, text=text)
        too_long = {name: chars for name, chars in changed.too_long.items() if name != field}
        return await self._store(owner, draft_id, changed.model_copy(update={"too_long": too_long}))

    async def save(self, owner: UserOut, draft_id: int, *, default_task_title: str) -> LogSaved | LogClosed:
        """Save interaction, follow-up task and deal of a draft, all at once; a second tap anywhere saves nothing."""
        # The save starts with its claim (draft -> saved). On SQLite a transaction that has read cannot
        # start writing once another process has committed, so end the reads: the claim then waits its
        # turn for the write lock and sees the newest status.
        await self.tx.end_reads()
        try:
            saved = await self.services.logs.save(draft_id, owner, default_task_title=default_task_title)
        except AlreadyDone as error:
            return LogClosed(draft_id=draft_id, status=str(error.details.get("status", "saved")))
        fields = (await self.services.logs.get(draft_id, owner)).fields
        task = await self.services.tasks.get(saved.task_id, owner) if saved.task_id else None
        about = [name for name in (fields.chosen_contact_name(), fields.chosen_company_name()) if name]
        return LogSaved(draft_id=draft_id, kind=fields.kind or "note", about=about, task=task,
                        deal_title=saved.deal_title, deal_created=saved.deal_created, undo_minutes=self.undo_minutes)

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

    async def remind_from_text(self, owner: UserOut, text: str, *, now: datetime) -> TaskOut:
        """Create a reminder task from "nhắc tôi gọi anh Minh thứ 6" (title without the trigger words)."""
        parsed = parse_log(text, now=now, language=None, known=await self._known_names())
        trigger = _REMINDER_RE.match(fold(text))
        trigger_words = len(trigger.group(0).split()) if trigger else 0
        title = " ".join(text.split()[trigger_words:]) or text  # folding keeps the words, so count them
        title = without_when(title, now=now, language=parsed.language)  # "3h chiều mai gọi anh Minh" -> "gọi anh Minh"
        company_id = await self._exact_company(parsed.company) if parsed.company else None
        contact_id = await self._only_contact(parsed.contact, company_id) if parsed.contact else None
        due_at = due_datetime(parsed.due, now, parsed.due_time) if parsed.due else None
        task = await self.services.tasks.create(owner_id=owner.id, title=title, contact_id=contact_id,
                                                due_at=due_at, company_id=company_id)
        await self.services.session.flush()
        return await self.services.tasks.get(task.id, owner)

    # --- understanding -----------------------------------------------------------------------------------

    async def _understand(self, text: str) -> DraftFields:
        known = await self._known_names()
        await self.tx.end_reads()  # the LLM may take seconds: hold no snapshot or lock meanwhile
        now = self.services.now
        parsed = parse_log(text, now=now, language=None, known=known)
        llm = self.ports.chat_model
        if llm is not None:
            parsed = await fill_missing_with_llm(parsed, model=llm.model, prompt=llm.log_prompt,
                                                 timeout_s=llm.timeout_s, now_iso=now.isoformat())
        fields = DraftFields.model_validate({**parsed.to_contract(), "amount": parsed.amount,
                                             "unreadable": list(parsed.unreadable)})
        if len(parsed.contact_candidates) > 1 and parsed.company and fold(parsed.company) not in fold(text):
            fields.company = None  # guessed from one of several namesakes: ask instead
        return await self._resolve_names(_without_too_long(fields))

    async def _known_names(self) -> KnownNames:
        return await self.services.directory.known_names()

    async def _resolve_names(self, fields: DraftFields) -> DraftFields:
        """Match the company and the person against the CRM: exact matches chosen, look-alikes offered."""
        fields = fields.model_copy(update={"company_choice": None, "company_options": [], "contact_choice": None,
                                           "contact_options": []})
        company_id: int | None = None
        if fields.company:
            matches = await self.services.directory.match_companies(fields.company)
            exact = [m for m in matches if m.exact]
            if exact:
                fields.company_choice = CompanyChoice(id=exact[0].id, name=exact[0].name)
            elif matches:
                fields.company_options = [CompanyChoice(id=m.id, name=m.name) for m in matches[:NAME_OPTIONS]]
                fields.company_choice = fields.company_options[0]
            company_id = fields.company_choice.id if fields.company_choice else None
        if fields.contact:
            await self._resolve_contact(fields, company_id)
        return fields

    async def _resolve_contact(self, fields: DraftFields, company_id: int | None) -> None:
        assert fields.contact is not None
        matches = [m for m in await self.services.directory.match_contacts(fields.contact, company_id=company_id)
                   if m.exact]
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
        if field == "stage":
            stage = await self.services.pipelines.default_stage(text)
            return fields.model_copy(update={"stage": stage.key})
        if field == "company":
            return await self._resolve_names(fields.model_copy(update={"company": text, "contact_choice": None}))
        if field == "contact":
            return await self._resolve_names(fields.model_copy(update={"contact": text}))
        return fields.model_copy(update={field: text})

    async def _store(self, owner: UserOut, draft_id: int, fields: DraftFields) -> LogPreview:
        stored = await self.services.logs.set_fields(draft_id, owner, fields)
        return LogPreview(draft_id=draft_id, fields=stored)

    async def _exact_company(self, name: str) -> int | None:
        matches = [m for m in await self.services.directory.match_companies(name) if m.exact]
        return matches[0].id if matches else None

    async def _only_contact(self, name: str, company_id: int | None) -> int | None:
        matches = [m for m in await self.services.directory.match_contacts(name, company_id=company_id) if m.exact]
        return matches[0].id if len(matches) == 1 else None


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
