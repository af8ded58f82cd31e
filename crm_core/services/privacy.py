"""A customer's personal data (Decree 13/2023): show what we hold, erase it when an admin approves."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_core.errors import Conflict, Forbidden, NotFound
from crm_core.markers import ERASED
from crm_core.models import (
    AuditEntry,
    ChatPreference,
    Company,
    Contact,
    ContactIdentity,
    CustomerQuestion,
    Deal,
    DialogState,
    InboxUpdate,
    Interaction,
    Lead,
    LogDraft,
    OutboxMessage,
    PrivacyRequest,
    ProcessedUpdate,
    SentMessage,
    Task,
    Ticket,
    TicketMessage,
)
from crm_core.models.base import FREE_TEXT, Base
from crm_core.pipelines.reasons import CUSTOMER_ERASED
from crm_core.policy import can_decide_erasure
from crm_core.repositories.channels import IdentityRepository
from crm_core.schemas import CustomerData, CustomerOut, ErasureResult, PrivacyRequestOut, UserOut
from crm_core.services.audit import AuditService
from crm_core.services.closing import DealClosingService
from crm_core.services.delivery import erasure_ref, lead_ref, ticket_ref
from crm_core.services.directory import contacts_reached_at
from crm_core.textnorm import fold
from crm_core.understanding import vocabulary

# What replaces a phone, an e-mail or a chat id found in free text (the name becomes the caller's placeholder).
HIDDEN = "***"
# A one-word name this short ("Vy", "An", "Mai") is also a common word: outside the customer's own records it
# is matched only as a proper noun (capitalised), never "mai" (tomorrow) or "an toàn" in someone else's note.
SHORT_NAME_CHARS = 4
# What the customer typed is searched for in messages to staff by its first characters (a clipped quote
# keeps them); shorter texts ("4", "ok", "gặp nhân viên") are too common to mark a message as theirs alone.
QUOTE_CHARS = 40
DISTINCT_QUOTE_CHARS = 24
MIN_QUOTE_CHARS = 6
# Messages delivered or given up: nothing is waiting for them, so the erasure deletes them.
SETTLED = ("sent", "unreachable", "parked")
# In someone else's record, only a name of at least this many words (honorifics aside) is taken for the customer.
# A bare given name ("Ngọc", "Minh", "chị Hoa") is never scrubbed there: it names too many other people, and a
# colleague's note about another Ngọc would lose its meaning for good. Her phone and e-mail are scrubbed always.
MIN_NAME_WORDS = 2


class PrivacyService:
    """Data access and erasure requests of customers."""

    def __init__(self, session: AsyncSession, audit: AuditService, now: datetime,
                 closing: DealClosingService) -> None:
        self._session = session
        self._audit = audit
        self._now = now
        self._closing = closing

    async def data_of(self, customer: CustomerOut) -> CustomerData:
        """Return what we hold about the customer."""
        contact = await self._contact(customer.contact_id)
        company = await self._session.get(Company, contact.company_id) if contact.company_id else None
        return CustomerData(
            name=contact.name, phone=contact.phone, email=contact.email, company=company.name if company else None,
            questions=await self._count(CustomerQuestion.contact_id == contact.id),
            tickets=await self._count(Ticket.contact_id == contact.id),
            interactions=await self._count(Interaction.contact_id == contact.id), since=contact.created_at)

    async def _count(self, criterion: object) -> int:
        return await self._session.scalar(select(func.count()).where(criterion)) or 0  # type: ignore[arg-type]

    async def _contact(self, contact_id: int) -> Contact:
        contact = await self._session.get(Contact, contact_id)
        if contact is None or contact.erased_at is not None:
            raise NotFound("no such customer")
        return contact

    async def request_erasure(self, customer: CustomerOut, *, language: str) -> tuple[PrivacyRequestOut, bool]:
        """File an erasure request (one pending at a time); return it and whether it is new."""
        contact = await self._contact(customer.contact_id)
        pending = await self._session.scalar(select(PrivacyRequest).where(
            PrivacyRequest.contact_id == contact.id, PrivacyRequest.status == "pending"))
        if pending is not None:
            return _request_out(pending, contact.name), False
        request = PrivacyRequest(contact_id=contact.id, channel=customer.channel, chat_id=customer.chat_id,
                                 language=language, status="pending", requested_at=self._now)
        self._session.add(request)
        await self._session.flush()
        await self._audit.record(actor=f"customer:{contact.id}", action="privacy.request", entity="contact",
                                 entity_id=contact.id, details={"request": request.id})
        return _request_out(request, contact.name), True

    async def pending(self) -> list[PrivacyRequestOut]:
        """Return pending requests, oldest first."""
        rows = (await self._session.execute(
            select(PrivacyRequest, Contact.name).outerjoin(Contact, Contact.id == PrivacyRequest.contact_id)
            .where(PrivacyRequest.status == "pending").order_by(PrivacyRequest.id))).all()
        return [_request_out(r, name or "") for r, name in rows]

    async def decide(self, request_id: int, admin: UserOut, *, approve: bool,
                     erased_name: Callable[[int], str]) -> ErasureResult:
        """Approve (erase now) or reject a pending request; admins only, audited.

        `erased_name(contact_id)` words the name an erased contact keeps (in the business's language).
        """
        if not can_decide_erasure(admin):
            raise Forbidden("only an admin decides erasure requests")
        request = await self._session.get(PrivacyRequest, request_id)
        if request is None:
            raise NotFound("no such request")
        if request.status != "pending":
            raise Conflict(f"request #{request_id} was already {request.status}", reason="request_decided",
                           request=request_id)
        contact = await self._session.get(Contact, request.contact_id) if request.contact_id else None
        name = contact.name if contact else ""
        request.status = "approved" if approve else "rejected"
        request.decided_at, request.decided_by_id = self._now, admin.id
        result = ErasureResult(request=_request_out(request, name), interactions=[], messages=0, questions=0)
        also: list[int] = []
        if approve and contact is not None and contact.erased_at is None:
            self._audit.without_values()  # the trail keeps that records changed, never the data erased
            same = await self._same_person(contact)
            also = [other.id for other in same]
            # A fuller name first: erased after a shorter one, what that one's traces left ("Nguyễn Thị ...") stays.
            for person in sorted([contact, *same], key=lambda c: (-len(c.name.split()), c.id)):
                result = await self._erase(person, result, erased_name(person.id), admin=admin,
                                           erasing={contact.id, *also})
        details: dict[str, Any] = {"request": request.id, "interactions": len(result.interactions),
                                   "messages": result.messages, "questions": result.questions}
        if also:
            details["contacts"] = also
        if result.rewritten:  # other people's records that named them: which ones, never what they said
            details["rewritten"] = result.rewritten
        await self._audit.record(actor=admin.name, actor_id=admin.id, action=f"privacy.{request.status}",
                                 entity="contact", entity_id=request.contact_id, details=details)
        return result

    async def _same_person(self, contact: Contact) -> list[Contact]:
        """The other contacts holding the customer's phone number or e-mail address: the same person, recorded again.

        A salesperson's log ("Gọi chị Bích Ngọc 0912.345.678") or an import may have made another record of
        them; it is erased with theirs. Only the number and the address tell (however the number is written):
        a company's line or mailbox reaches no one (`contacts_reached_at`), and a shared company or name is
        no reason.
        """
        rows = await contacts_reached_at(self._session, phone=contact.phone, email=contact.email)
        others = [await self._session.get(Contact, row[0]) for row in rows if row[0] != contact.id]
        return [other for other in others
                if other is not None and other.erased_at is None and _names_fit(contact.name, other.name)]

    async def _erase(self, contact: Contact, result: ErasureResult, erased_name: str, *,
                     admin: UserOut, erasing: set[int]) -> ErasureResult:
        """Erase the contact and every trace that identifies them, in every table (see `Traces`).

        Their open deals are closed lost (`CUSTOMER_ERASED`) by the approving admin, as any close is: a stage
        move and a `deal.lost` entry in the trail. Nobody can follow them up now.
        """
        if self._session.get_bind().dialect.name == "sqlite":  # what is overwritten or deleted is zeroed, not freed
            await self._session.execute(text("PRAGMA secure_delete = ON"))
        identities = list(await self._session.scalars(
            select(ContactIdentity).where(ContactIdentity.contact_id == contact.id)))
        requests = list(await self._session.scalars(
            select(PrivacyRequest).where(PrivacyRequest.contact_id == contact.id)))
        tickets = list(await self._session.scalars(select(Ticket).where(Ticket.contact_id == contact.id)))
        chats = {(i.channel, i.external_id) for i in identities} | {(r.channel, r.chat_id) for r in requests} \
            | {(t.channel, t.chat_id) for t in tickets}
        ticket_ids = [t.id for t in tickets]
        lead_ids = list(await self._session.scalars(select(Lead.id).where(Lead.contact_id == contact.id)))
        traces = Traces.of(name=contact.name, phone=contact.phone, email=contact.email,
                           chat_ids=[chat for _, chat in chats], erased_name=erased_name,
                           typed=await self._typed_by(contact.id, ticket_ids),
                           refs=[ticket_ref(i) for i in ticket_ids] + [lead_ref(i) for i in lead_ids]
                           + [erasure_ref(r.id) for r in requests])

        interaction_ids = list(await self._session.scalars(
            select(Interaction.id).where(Interaction.contact_id == contact.id)))
        await self._session.execute(update(Interaction).where(Interaction.contact_id == contact.id)
                                    .values(summary=ERASED))
        messages = await self._session.execute(update(TicketMessage).where(TicketMessage.ticket_id.in_(ticket_ids))
                                               .values(text=ERASED))
        questions = await self._session.execute(update(CustomerQuestion)
                                                .where(CustomerQuestion.contact_id == contact.id)
                                                .values(question=ERASED, answer=ERASED))
        for ticket in tickets:  # nobody can answer them now; the chat they were in is forgotten
            if ticket.status != "closed":
                ticket.status, ticket.closed_at = "closed", self._now
            ticket.chat_id = ""
        for request in requests:
            request.chat_id = ""
        for deal in list(await self._session.scalars(select(Deal).where(Deal.contact_id == contact.id))):
            title = traces.scrub(deal.title, own=True)
            if title != deal.title:
                deal.title, deal.title_folded = title, fold(title)
            if deal.status == "open":
                await self._closing.close(await self._closing.mark(deal.id, "lost", admin), "lost", admin,
                                          reason=CUSTOMER_ERASED)
        for task in await self._session.scalars(select(Task).where(Task.contact_id == contact.id)):
            task.title = traces.scrub(task.title, own=True)
            if task.done_at is None:  # a call-back to someone erased is not to be made, reminded or listed
                task.done_at = self._now
        await self._forget_chats(chats, traces)
        await self._scrub_elsewhere(traces)
        rewritten = await self._scrub_free_text(contact, traces, erasing=erasing)
        contact.name, contact.name_folded = erased_name, fold(erased_name)
        contact.phone = contact.email = contact.title = None
        contact.erased_at = self._now
        await IdentityRepository(self._session).forget_contact(contact.id)  # they are a stranger if they write again
        return result.model_copy(update={
            "rewritten": {table: sorted({*result.rewritten.get(table, []), *ids})
                          for table, ids in {**result.rewritten, **rewritten}.items()},
            "interactions": [*result.interactions, *interaction_ids],
            "messages": result.messages + (getattr(messages, "rowcount", 0) or 0),
            "questions": result.questions + (getattr(questions, "rowcount", 0) or 0)})

    async def _scrub_free_text(self, contact: Contact, traces: Traces, *, erasing: set[int]) -> dict[str, list[int]]:
        """Take the customer's full name, phone and e-mail out of the free text of every table; return, per table,
        the ids of the records changed.

        Free text is every column marked `FREE_TEXT` (a note or call logged on a colleague's customer, a task or
        deal title, a lost reason, another customer's question or ticket, a dialog in progress): each exact
        occurrence becomes the `ERASED` marker, which the chat and the export word in the reader's language. A
        record of someone who bears the same full name (a namesake, not being erased) keeps the name, which is
        theirs there; her phone and e-mail go all the same. Changed with bulk statements: the audit trail of
        those records is not blanked (they are not hers); the erasure's own entry lists them.
        """
        namesakes = await self._namesakes(contact, erasing=erasing)
        rewritten: dict[str, list[int]] = {}
        for mapper in Base.registry.mappers:
            table = mapper.persist_selectable
            if not isinstance(table, Table):
                continue
            texts = [c for c in table.columns if c.info.get(FREE_TEXT)]
            if not texts:
                continue
            key, owner = mapper.primary_key[0], table.columns.get("contact_id")
            query = select(key, owner if owner is not None else literal(None), *texts)
            for row_id, contact_id, *values in (await self._session.execute(query)).all():
                names = contact_id not in namesakes
                changes: dict[str, Any] = {}
                for column, value in zip(texts, values, strict=True):
                    if value is None:
                        continue
                    redacted = traces.redact_json(value, names=names)
                    if redacted != value:
                        changes[mapper.get_property_by_column(column).key] = redacted
                        folded = table.columns.get(f"{column.name}_folded")
                        if folded is not None and isinstance(redacted, str):
                            changes[mapper.get_property_by_column(folded).key] = fold(redacted)
                if changes:
                    await self._session.execute(update(mapper.class_).where(key == row_id).values(**changes))
                    rewritten.setdefault(table.name, []).append(row_id)
        return rewritten

    async def _namesakes(self, contact: Contact, *, erasing: set[int]) -> set[int]:
        """The other contacts, not erased nor being erased, whose full name is the customer's."""
        words = _full_name(contact.name)
        if len(words) < MIN_NAME_WORDS:
            return set()
        rows = await self._session.execute(select(Contact.id, Contact.name).where(
            Contact.erased_at.is_(None), Contact.id.not_in([contact.id, *erasing]),
            Contact.name_folded.contains(words[-1], autoescape=True)))
        return {row_id for row_id, name in rows.all() if _full_name(name) == words}

    async def _typed_by(self, contact_id: int, ticket_ids: list[int]) -> list[str]:
        """What the customer wrote: their questions, their ticket messages, their interactions' summaries."""
        questions = await self._session.scalars(select(CustomerQuestion.question)
                                                .where(CustomerQuestion.contact_id == contact_id))
        messages = await self._session.scalars(select(TicketMessage.text).where(
            TicketMessage.ticket_id.in_(ticket_ids), TicketMessage.author == "customer"))
        summaries = await self._session.scalars(select(Interaction.summary).where(Interaction.contact_id == contact_id))
        return [*questions, *messages, *summaries]

    async def _forget_chats(self, chats: set[tuple[str, str]], traces: Traces) -> None:
        """Delete what is kept per chat: settings, dialogs, messages to them, routing and dedupe keys, the inbox."""
        for channel, chat_id in chats:
            await self._session.execute(delete(ChatPreference).where(
                ChatPreference.channel == channel, ChatPreference.user_id == chat_id))
            await self._session.execute(delete(DialogState).where(
                DialogState.channel == channel, or_(DialogState.chat_id == chat_id, DialogState.user_id == chat_id)))
            await self._session.execute(delete(SentMessage).where(
                SentMessage.channel == channel, SentMessage.chat_id == chat_id))
            await self._session.execute(delete(OutboxMessage).where(
                OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id))
            await self._session.execute(delete(ProcessedUpdate).where(
                ProcessedUpdate.key.startswith(f"{channel}:m:{chat_id}:", autoescape=True)))
        # Kept updates are raw channel JSON (their sender's id, name, text); the inbox holds only those in flight.
        for row in list(await self._session.scalars(select(InboxUpdate))):
            if traces.found_in(row.payload):
                await self._session.delete(row)

    async def _scrub_elsewhere(self, traces: Traces) -> None:
        """Forget messages to staff about the customer; scrub their name, phone, e-mail and chat ids elsewhere.

        Elsewhere: messages to staff, log drafts, and the audit trail (what an action noted, and the fields a
        change kept before and after: a colleague's log that recorded them under another contact, say).

        A message about them (their ticket, lead or request, their words quoted, their name or number) is
        deleted once settled (sent, unreachable, parked: its text is kept only for looking back); one still to
        be delivered loses their traces and every line quoting what they typed.
        """
        for message in list(await self._session.scalars(select(OutboxMessage))):
            if traces.concerns(message.payload):
                if message.status in SETTLED:
                    await self._session.delete(message)
                    continue
                payload = traces.scrub_json(message.payload, own=True)
            else:
                payload = traces.scrub_json(message.payload)
            if payload != message.payload:
                message.payload = payload
            if message.origin_chat_id and traces.found_in(message.origin_chat_id):
                message.origin_channel = message.origin_chat_id = None
        for draft in list(await self._session.scalars(select(LogDraft))):
            raw, fields = traces.scrub(draft.raw_text), traces.scrub_json(draft.fields)
            if raw != draft.raw_text or fields != draft.fields:
                draft.raw_text, draft.fields = raw, fields
        for entry in list(await self._session.scalars(select(AuditEntry))):  # a record's fields before and after too
            details, before, after = (traces.scrub_json(entry.details), traces.scrub_json(entry.before),
                                      traces.scrub_json(entry.after))
            if details != entry.details:
                entry.details = details
            if before != entry.before:
                entry.before = before
            if after != entry.after:
                entry.after = after


@dataclass(frozen=True)
class Traces:
    """What identifies an erased customer in free text, and what replaces it.

    Names are matched on accent- and case-folded text (so "Bich Ngoc", "BÍCH NGỌC" and "Bích Ngoc" are the
    same), as whole words: the full name, and runs of its words that end with the given name or are three
    words long ("Bích Ngọc", "Nguyễn Thị Bích"); in the customer's own records (`own`) the given name alone
    too. A short one-word name counts elsewhere only written as a proper noun. The name becomes the erased
    placeholder; the phone (any grouping of its digits), the e-mail and the chat ids become "***"; in their
    own records a line quoting what they typed becomes the placeholder.

    In the free text of other people's records (`redact`), only the full name (`MIN_NAME_WORDS` words or more), the
    phone and the e-mail count, and each becomes the `ERASED` marker.
    """

    names: tuple[tuple[re.Pattern[str], bool], ...]
    own_names: tuple[tuple[re.Pattern[str], bool], ...]
    others: re.Pattern[str] | None
    typed: tuple[str, ...]
    refs: frozenset[str]
    erased_name: str
    full_name: tuple[tuple[re.Pattern[str], bool], ...] = ()
    reach: re.Pattern[str] | None = None

    @classmethod
    def of(cls, *, name: str, phone: str | None, email: str | None, chat_ids: list[str], erased_name: str,
           typed: Iterable[str] = (), refs: Iterable[str] = ()) -> Traces:
        words = tuple(_fold_chars(unicodedata.normalize("NFC", name))[0].split())
        runs = {words[i:j] for i in range(len(words)) for j in range(i + 2, len(words) + 1)
                if j == len(words) or j - i >= 3}
        names = {words, *runs} if words else set()
        own = names | ({words[-1:]} if words else set())
        reach = [re.escape(email)] if email else []
        digits = "".join(ch for ch in phone or "" if ch.isdigit())
        if digits:  # the same digits however written: 0912 345 678, 0912.345.678, +84912345678, +84 912 345 678
            national = digits[2:] if digits.startswith("84") else digits.lstrip("0")
            reach.append(r"(?:\+?84|0)?[\s.\-]?" + r"[\s.\-]?".join(national))
        others = reach + [re.escape(chat) for chat in chat_ids if chat]
        quotes = {_quote(text) for text in typed}
        full = _full_name(name)
        return cls(names=_longest_first(names), own_names=_longest_first(own), others=_whole(others),
                   typed=tuple(sorted((q for q in quotes if len(q) >= MIN_QUOTE_CHARS), key=len, reverse=True)),
                   refs=frozenset(refs), erased_name=erased_name,
                   full_name=_longest_first({full}) if len(full) >= MIN_NAME_WORDS else (), reach=_whole(reach))

    def found_in(self, text: str) -> bool:
        """Tell whether `text` mentions the customer."""
        return self.scrub(text) != text

    def concerns(self, payload: Any) -> bool:
        """Tell whether a message (its JSON) is about the customer: their ref, their traces or their words."""
        if isinstance(payload, dict) and payload.get("ref") in self.refs:
            return True
        text = " ".join(_strings(payload))
        if self.found_in(text):
            return True
        flat = _quote(text, limit=None)
        return any(quote in flat for quote in self.typed if len(quote) >= DISTINCT_QUOTE_CHARS)

    def scrub(self, text: str, *, own: bool = False) -> str:
        """Return `text` with the customer's traces replaced (`own`: one of their own records)."""
        if own and self.typed:
            text = "\n".join(self.erased_name if any(q in _quote(line, limit=None) for q in self.typed) else line
                              for line in text.split("\n"))
        text = self._scrub_names(text, own=own)
        if self.others is not None:
            text = self.others.sub(HIDDEN, text)
        return text

    def _scrub_names(self, text: str, *, own: bool) -> str:
        return _replace_names(text, self.own_names if own else self.names, self.erased_name, proper_only=not own)

    def redact(self, text: str, *, names: bool = True) -> str:
        """Return the free text of someone else's record with the customer's full name (accents and case aside,
        whole words; not with `names` False), phone and e-mail each replaced by the `ERASED` marker."""
        if names:
            text = _replace_names(text, self.full_name, ERASED, proper_only=False)
        return self.reach.sub(ERASED, text) if self.reach is not None else text

    def redact_json(self, value: Any, *, names: bool = True) -> Any:
        """Return a text or JSON value with every string (keys too) redacted (`redact`)."""
        if isinstance(value, str):
            return self.redact(value, names=names)
        if isinstance(value, list):
            return [self.redact_json(v, names=names) for v in value]
        if isinstance(value, dict):
            return {self.redact(str(k), names=names): self.redact_json(v, names=names) for k, v in value.items()}
        return value

    def scrub_json(self, value: Any, *, own: bool = False) -> Any:
        """Return a JSON value with every string (keys too) scrubbed."""
        if isinstance(value, str):
            return self.scrub(value, own=own)
        if isinstance(value, list):
            return [self.scrub_json(v, own=own) for v in value]
        if isinstance(value, dict):
            return {self.scrub(str(k), own=own): self.scrub_json(v, own=own) for k, v in value.items()}
        return value


def _replace_names(text: str, names: tuple[tuple[re.Pattern[str], bool], ...], replacement: str, *,
                   proper_only: bool) -> str:
    """Replace each match of the folded-name patterns in `text` (longest first, never overlapping) by `replacement`;
    with `proper_only`, a short one-word name only where written as a proper noun (capitalised)."""
    if not names:
        return text
    composed = unicodedata.normalize("NFC", text)
    folded, origin = _fold_chars(composed)
    spans: list[tuple[int, int]] = []
    for pattern, short in names:
        for match in pattern.finditer(folded):
            start, end = origin[match.start()], origin[match.end() - 1] + 1
            if short and proper_only and not composed[start].isupper():
                continue
            if not any(s < end and start < e for s, e in spans):
                spans.append((start, end))
    if not spans:
        return text
    for start, end in sorted(spans, reverse=True):
        composed = composed[:start] + replacement + composed[end:]
    return composed


def _whole(alternatives: list[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern of the alternatives, each matched only as a whole (no word or address around)."""
    if not alternatives:
        return None
    return re.compile(r"(?<![\w@.])(?:" + "|".join(alternatives) + r")(?![\w@])", re.IGNORECASE)


def _full_name(name: str) -> tuple[str, ...]:
    """A name's folded words, honorifics before it aside ("Chị Nguyễn Thị Bích Ngọc" -> nguyen thi bich ngoc)."""
    words = _fold_chars(unicodedata.normalize("NFC", name))[0].split()
    honorifics = vocabulary.words("honorifics_before_name")
    while words and words[0] in honorifics:
        words = words[1:]
    return tuple(words)


def _fold_chars(text: str) -> tuple[str, list[int]]:
    """Fold `text` (no accents, đ -> d, case-folded) keeping, per folded character, its index in `text`."""
    folded: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        base = "d" if ch in "đĐ" else "".join(c for c in unicodedata.normalize("NFD", ch)
                                               if unicodedata.category(c) != "Mn").casefold()
        folded.append(base)
        origin.extend([index] * len(base))
    return "".join(folded), origin


def _quote(text: str, *, limit: int | None = QUOTE_CHARS) -> str:
    """What a quote of `text` is recognised by: NFC, spaces collapsed, its first `limit` characters."""
    flat = " ".join(unicodedata.normalize("NFC", text).split())
    return flat[:limit].rstrip() if limit is not None else flat


def _names_fit(one: str, other: str) -> bool:
    """Tell whether two records' names can be one person's: one's words, honorifics aside, are all in the other's
    ("Bích Ngọc" and "Nguyễn Thị Bích Ngọc"). A family sharing a phone ("Chị Hoa" and "Bích Ngọc") does not fit:
    erasing someone else's records cannot be undone, a duplicate left behind can still be erased on request."""
    honorifics = vocabulary.words("honorifics_before_name")
    words = [frozenset(fold(name).split()) - honorifics for name in (one, other)]
    return bool(words[0] and words[1]) and (words[0] <= words[1] or words[1] <= words[0])


def _longest_first(names: set[tuple[str, ...]]) -> tuple[tuple[re.Pattern[str], bool], ...]:
    """Whole-word patterns of folded names, longest first, each with whether it is a short one-word name."""
    return tuple((re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)"),
                  len(words) == 1 and len(words[0]) < SHORT_NAME_CHARS)
                 for words in sorted(names, key=lambda words: (-len(" ".join(words)), words)))


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)


async def purge_freed_pages(engine: AsyncEngine) -> None:
    """After an erasure commits, leave none of its old bytes in the SQLite files (nothing to do elsewhere).

    Secure delete zeroes what the erasure overwrote, but the write-ahead log still holds the pages as they
    were before, and rows deleted earlier (dialogs, updates) left their bytes in free space: a truncating
    checkpoint and a VACUUM rewrite the file from the live rows only. Must run outside any transaction.
    """
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return
    await asyncio.to_thread(_vacuum, engine.url.database)


def _vacuum(database: str) -> None:
    with closing(sqlite3.connect(database, timeout=30.0, isolation_level=None)) as connection:
        connection.execute("PRAGMA secure_delete = ON")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _request_out(request: PrivacyRequest, name: str) -> PrivacyRequestOut:
    return PrivacyRequestOut(id=request.id, contact_id=request.contact_id, customer=name, channel=request.channel,
                             chat_id=request.chat_id, language=request.language, status=request.status,
                             requested_at=request.requested_at)
