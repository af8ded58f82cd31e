"""A customer's personal data (Decree 13/2023): show what we hold, erase it when an admin approves."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import Conflict, Forbidden, NotFound
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
    LogDraft,
    OutboxMessage,
    PrivacyRequest,
    ProcessedUpdate,
    SentMessage,
    Task,
    Ticket,
    TicketMessage,
)
from crm_core.policy import can_decide_erasure
from crm_core.repositories.channels import IdentityRepository
from crm_core.schemas import CustomerData, CustomerOut, ErasureResult, PrivacyRequestOut, UserOut
from crm_core.services.audit import AuditService
from crm_core.services.directory import ERASED
from crm_core.textnorm import fold

# What replaces a phone, an e-mail or a chat id found in free text (the name becomes the caller's placeholder).
HIDDEN = "***"
# Shorter names are not searched for in free text (too many innocent words would match).
MIN_NAME_CHARS = 4


class PrivacyService:
    """Data access and erasure requests of customers."""

    def __init__(self, session: AsyncSession, audit: AuditService, now: datetime) -> None:
        self._session = session
        self._audit = audit
        self._now = now

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
            raise Conflict(f"request #{request_id} was already {request.status}")
        contact = await self._session.get(Contact, request.contact_id) if request.contact_id else None
        name = contact.name if contact else ""
        request.status = "approved" if approve else "rejected"
        request.decided_at, request.decided_by_id = self._now, admin.id
        result = ErasureResult(request=_request_out(request, name), interactions=[], messages=0, questions=0)
        if approve and contact is not None:
            result = await self._erase(contact, result, erased_name(contact.id))
        await self._audit.record(actor=admin.name, actor_id=admin.id, action=f"privacy.{request.status}",
                                 entity="contact", entity_id=request.contact_id,
                                 details={"request": request.id, "interactions": len(result.interactions),
                                          "messages": result.messages, "questions": result.questions})
        return result

    async def _erase(self, contact: Contact, result: ErasureResult, erased_name: str) -> ErasureResult:
        """Erase the contact and every trace that identifies them, in every table (see `Traces`)."""
        identities = list(await self._session.scalars(
            select(ContactIdentity).where(ContactIdentity.contact_id == contact.id)))
        requests = list(await self._session.scalars(
            select(PrivacyRequest).where(PrivacyRequest.contact_id == contact.id)))
        tickets = list(await self._session.scalars(select(Ticket).where(Ticket.contact_id == contact.id)))
        chats = {(i.channel, i.external_id) for i in identities} | {(r.channel, r.chat_id) for r in requests} \
            | {(t.channel, t.chat_id) for t in tickets}
        traces = Traces.of(name=contact.name, phone=contact.phone, email=contact.email,
                           chat_ids=[chat for _, chat in chats], erased_name=erased_name)

        interaction_ids = list(await self._session.scalars(
            select(Interaction.id).where(Interaction.contact_id == contact.id)))
        await self._session.execute(update(Interaction).where(Interaction.contact_id == contact.id)
                                    .values(summary=ERASED))
        ticket_ids = [t.id for t in tickets]
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
        for deal in await self._session.scalars(select(Deal).where(Deal.contact_id == contact.id)):
            title = traces.scrub(deal.title)
            if title != deal.title:
                deal.title, deal.title_folded = title, fold(title)
        for task in await self._session.scalars(select(Task).where(Task.contact_id == contact.id)):
            task.title = traces.scrub(task.title)
            if task.done_at is None:  # a call-back to someone erased is not to be made, reminded or listed
                task.done_at = self._now
        await self._forget_chats(chats, traces)
        await self._scrub_elsewhere(traces)
        contact.name, contact.name_folded = erased_name, fold(erased_name)
        contact.phone = contact.email = contact.title = None
        contact.erased_at = self._now
        await IdentityRepository(self._session).forget_contact(contact.id)  # they are a stranger if they write again
        return result.model_copy(update={"interactions": interaction_ids,
                                         "messages": getattr(messages, "rowcount", 0) or 0,
                                         "questions": getattr(questions, "rowcount", 0) or 0})

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
        """Replace the customer's name, phone, e-mail and chat ids in messages to staff, drafts and the audit log."""
        for message in list(await self._session.scalars(select(OutboxMessage))):
            payload = traces.scrub_json(message.payload)
            if payload != message.payload:
                message.payload = payload
            if message.origin_chat_id and traces.found_in(message.origin_chat_id):
                message.origin_channel = message.origin_chat_id = None
        for draft in list(await self._session.scalars(select(LogDraft))):
            raw, fields = traces.scrub(draft.raw_text), traces.scrub_json(draft.fields)
            if raw != draft.raw_text or fields != draft.fields:
                draft.raw_text, draft.fields = raw, fields
        for entry in list(await self._session.scalars(select(AuditEntry))):
            details = traces.scrub_json(entry.details)
            if details != entry.details:
                entry.details = details


@dataclass(frozen=True)
class Traces:
    """What identifies an erased customer in free text, and what replaces it.

    The name (as written and accent-folded, whole words, any case) becomes the erased placeholder;
    the phone (in any grouping of its digits), the e-mail and the chat ids become "***".
    """

    name: re.Pattern[str] | None
    others: re.Pattern[str] | None
    erased_name: str

    @classmethod
    def of(cls, *, name: str, phone: str | None, email: str | None, chat_ids: list[str],
           erased_name: str) -> Traces:
        names = sorted({n for n in (name.strip(), fold(name).strip()) if len(n) >= MIN_NAME_CHARS}, key=len,
                       reverse=True)
        others = [re.escape(email)] if email else []
        digits = "".join(ch for ch in phone or "" if ch.isdigit())
        if digits:
            national = digits[2:] if digits.startswith("84") else digits.lstrip("0")
            others.append(r"(?:\+?84|0)?[\s.\-]?" + r"[\s.\-]?".join(national))
        others += [re.escape(chat) for chat in chat_ids if chat]
        return cls(name=re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", re.IGNORECASE)
                   if names else None,
                   others=re.compile(r"(?<![\w@.])(?:" + "|".join(others) + r")(?![\w@])", re.IGNORECASE)
                   if others else None,
                   erased_name=erased_name)

    def found_in(self, text: str) -> bool:
        """Tell whether `text` mentions the customer."""
        return self.scrub(text) != text

    def scrub(self, text: str) -> str:
        """Return `text` with the customer's traces replaced."""
        if self.name is not None:
            text = self.name.sub(self.erased_name, text)
        if self.others is not None:
            text = self.others.sub(HIDDEN, text)
        return text

    def scrub_json(self, value: Any) -> Any:
        """Return a JSON value with every string (keys too) scrubbed."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self.scrub_json(v) for v in value]
        if isinstance(value, dict):
            return {self.scrub(str(k)): self.scrub_json(v) for k, v in value.items()}
        return value


def _request_out(request: PrivacyRequest, name: str) -> PrivacyRequestOut:
    return PrivacyRequestOut(id=request.id, contact_id=request.contact_id, customer=name, channel=request.channel,
                             chat_id=request.chat_id, language=request.language, status=request.status,
                             requested_at=request.requested_at)
