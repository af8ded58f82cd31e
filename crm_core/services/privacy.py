"""A customer's personal data (Decree 13/2023): show what we hold, erase it when an admin approves."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Table, and_, delete, func, literal, or_, select, text, update
from sqlalchemy.exc import IntegrityError
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
from crm_core.schemas import CustomerData, CustomerOut, ErasurePreview, ErasureResult, PrivacyRequestOut, UserOut
from crm_core.services.audit import AuditService
from crm_core.services.closing import DealClosingService
from crm_core.services.delivery import erasure_ref, lead_ref, ticket_ref
from crm_core.services.directory import contacts_reached_at
from crm_core.textnorm import fold
from crm_core.understanding import vocabulary
from crm_core.understanding.entities import EMAIL_RE, PHONE_RE

# What replaces a phone, an e-mail or a chat id found in free text (the name becomes the caller's placeholder).
HIDDEN = "***"
# What the customer typed is searched for in messages to staff by its first characters (a clipped quote
# keeps them); shorter texts ("4", "ok", "gặp nhân viên") are too common to mark a message as theirs alone.
QUOTE_CHARS = 40
DISTINCT_QUOTE_CHARS = 24
MIN_QUOTE_CHARS = 6
# The audit action of an erasure's preview; its entry's id is what confirms that erasure (`PrivacyService.decide`).
PREVIEWED = "privacy.previewed"
# Messages delivered or given up: nothing is waiting for them, so the erasure deletes them.
SETTLED = ("sent", "unreachable", "parked")
# In someone else's record, only a full name of at least this many words (honorifics aside: family, middle and
# given name, "Nguyễn Thị Ngọc") is taken for the customer, and only where no other name word goes on before or
# after it ("Trần Bích Ngọc" is someone else). A given name, even of two words ("Ngọc", "Bích Ngọc"), names too many
# other people, and a colleague's note about another Ngọc would lose its meaning for good. Her phone and e-mail
# are scrubbed always.
MIN_NAME_WORDS = 3
# What may stand between the digits of a phone number as people write it (after NFKC: full-width forms too):
# 0912 345 678, 0912  345 678, (091) 234-5678, 0912/345/678, 0912–345–678, 0912,345,678.
PHONE_SEPARATORS = r"[\s.,/()\-\u2010-\u2015]{0,3}"
# A phone number written with its country code or trunk prefix: +84, 84, 0084, 0.
PHONE_PREFIX = r"(?:(?:(?:\+|00)?84|0)" + PHONE_SEPARATORS + r")?"


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
        pending = await self._session.scalar(select(PrivacyRequest.id).where(
            PrivacyRequest.contact_id == contact.id, PrivacyRequest.status == "pending"))
        return CustomerData(
            name=contact.name, phone=contact.phone, email=contact.email, company=company.name if company else None,
            questions=await self._count(CustomerQuestion.contact_id == contact.id),
            tickets=await self._count(Ticket.contact_id == contact.id),
            interactions=await self._count(Interaction.contact_id == contact.id), since=contact.created_at,
            pending_request=pending)

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
        try:
            async with self._session.begin_nested():
                self._session.add(request)
                await self._session.flush()
        except IntegrityError:  # another process filed hers in the meantime (one pending per contact)
            filed = await self._session.scalar(select(PrivacyRequest).where(
                PrivacyRequest.contact_id == contact.id, PrivacyRequest.status == "pending"))
            if filed is None:
                raise
            return _request_out(filed, contact.name), False
        await self._audit.record(actor=f"customer:{contact.id}", action="privacy.request", entity="contact",
                                 entity_id=contact.id, details={"request": request.id})
        return _request_out(request, contact.name), True

    async def pending(self) -> list[PrivacyRequestOut]:
        """Return pending requests, oldest first."""
        rows = (await self._session.execute(
            select(PrivacyRequest, Contact.name).outerjoin(Contact, Contact.id == PrivacyRequest.contact_id)
            .where(PrivacyRequest.status == "pending").order_by(PrivacyRequest.id))).all()
        return [_request_out(r, name or "") for r, name in rows]

    async def preview(self, request_id: int, admin: UserOut) -> ErasurePreview:
        """Say what approving a pending request will erase, and record that this admin was shown it (audited): the
        confirmation of the approval is that entry (`decide`). Admins only."""
        if not can_decide_erasure(admin):
            raise Forbidden("only an admin decides erasure requests")
        request = await self._pending_request(request_id)
        contact = await self._session.get(Contact, request.contact_id) if request.contact_id else None
        people = [contact, *await self._same_person(contact, lock=False)] \
            if contact is not None and contact.erased_at is None else []
        counts = await self._held(person.id for person in people)
        await self._audit.record(actor=admin.name, actor_id=admin.id, action=PREVIEWED, entity="contact",
                                 entity_id=request.contact_id, details={"request": request.id, **counts})
        await self._audit.flush()
        confirmation = await self._session.scalar(select(func.max(AuditEntry.id)).where(
            AuditEntry.action == PREVIEWED, AuditEntry.actor_id == admin.id))
        name = contact.name if contact is not None else ""
        return ErasurePreview(request=_request_out(request, name), customer=name, contacts=len(people),
                              confirmation=int(confirmation or 0), **counts)

    async def _held(self, contact_ids: Iterable[int]) -> dict[str, int]:
        """How much the CRM holds on these contacts, by kind: what a preview promises and an approval confirms."""
        ids = list(contact_ids)
        ticket_ids = list(await self._session.scalars(select(Ticket.id).where(Ticket.contact_id.in_(ids))))
        return {"interactions": await self._count(Interaction.contact_id.in_(ids)),
                "tasks": await self._count(Task.contact_id.in_(ids)),
                "deals": await self._count(Deal.contact_id.in_(ids)),
                "open_deals": await self._count(and_(Deal.contact_id.in_(ids), Deal.status == "open")),
                "tickets": len(ticket_ids),
                "messages": await self._count(TicketMessage.ticket_id.in_(ticket_ids)),
                "questions": await self._count(CustomerQuestion.contact_id.in_(ids))}

    async def _pending_request(self, request_id: int) -> PrivacyRequest:
        """The request as committed now, its row locked until the transaction ends: two approvals at once decide
        it once (the second finds it decided). Conflict when it is decided already."""
        request = await self._session.scalar(select(PrivacyRequest).where(PrivacyRequest.id == request_id)
                                             .with_for_update().execution_options(populate_existing=True))
        if request is None:
            raise NotFound("no such request")
        if request.status != "pending":
            raise Conflict(f"request #{request_id} was already {request.status}", reason="request_decided",
                           request=request_id)
        return request

    async def _check_confirmation(self, request: PrivacyRequest, admin: UserOut, confirmation: int | None,
                                  within: timedelta) -> None:
        """Refuse an approval that no preview of this request by this admin, in the last `within`, confirms."""
        entry = await self._session.get(AuditEntry, confirmation) if confirmation else None
        if entry is None or entry.action != PREVIEWED or entry.actor_id != admin.id \
                or (entry.details or {}).get("request") != request.id or not (
                    timedelta(0) <= self._now - entry.at <= within):
            raise Conflict(f"approving request #{request.id} was not confirmed", reason="erasure_unconfirmed",
                           request=request.id)

    async def decide(self, request_id: int, admin: UserOut, *, approve: bool,
                     erased_name: Callable[[int], str], erased_company: Callable[[int], str],
                     confirmation: int | None = None,
                     confirm_within: timedelta = timedelta(minutes=15)) -> ErasureResult:
        """Approve (erase now) or reject a pending request; admins only, audited.

        An approval erases for good: it must be confirmed, `confirmation` being the audit entry of the preview this
        admin was shown of this request (`preview`) in the last `confirm_within`; anything else (another request's,
        another admin's, an old one, none) is refused (Conflict "erasure_unconfirmed"), as is a request decided
        already ("request_decided": a second tap erases nothing). `erased_name(contact_id)` words the name an
        erased contact keeps, `erased_company(company_id)` that of a company named after them that others still
        link to (`_erase_companies_named_after`), in the business's language.
        """
        if not can_decide_erasure(admin):
            raise Forbidden("only an admin decides erasure requests")
        request = await self._pending_request(request_id)
        if approve:
            await self._check_confirmation(request, admin, confirmation, confirm_within)
        # Her record is locked before anything of hers is read: a log saved onto her meanwhile (which locks it to
        # share, `LogService`) waits until she is erased and then finds her gone, or is saved first and erased too.
        contact = await self._locked(request.contact_id) if request.contact_id else None
        name = contact.name if contact else ""
        request.status = "approved" if approve else "rejected"
        request.decided_at, request.decided_by_id = self._now, admin.id
        result = ErasureResult(request=_request_out(request, name), interactions=[], messages=0, questions=0)
        also: list[int] = []
        if approve and contact is not None and contact.erased_at is None:
            self._audit.without_values()  # the trail keeps that records changed, never the data erased
            same = await self._same_person(contact)
            also = [other.id for other in same]
            held = await self._held([contact.id, *also])
            result = result.model_copy(update={key: held[key] for key in ("tasks", "deals", "open_deals", "tickets")})
            # Before her records lose her name: a company named after her goes or takes the placeholder, its trail
            # worded with the company's placeholder rather than hers.
            companies = await self._erase_companies_named_after([contact, *same], erased_company,
                                                                erasing={contact.id, *also})
            if companies:
                result = result.model_copy(update={"rewritten": {Company.__tablename__: companies}})
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

    async def _same_person(self, contact: Contact, *, lock: bool = True) -> list[Contact]:
        """The other contacts holding the customer's phone number or e-mail address: the same person, recorded again.

        A salesperson's log ("Gọi chị Bích Ngọc 0912.345.678") or an import may have made another record of
        them; it is erased with theirs. Only the number and the address tell (however the number is written):
        a company's line or mailbox reaches no one (`contacts_reached_at`), and a shared company or name is
        no reason.
        """
        rows = await contacts_reached_at(self._session, phone=contact.phone, email=contact.email)
        others = [await self._locked(row[0]) if lock else await self._session.get(Contact, row[0])
                  for row in rows if row[0] != contact.id]
        return [other for other in others
                if other is not None and other.erased_at is None and _names_fit(contact.name, other.name)]

    async def _kept_by_others(self, phone: str | None, email: str | None, erasing: set[int]) -> bool:
        """Tell whether a number or address is also a kept contact's: someone `_same_person` found to be another
        person (another name) on the same number. It is theirs as much as hers, so their records keep it; her own
        record loses it with the rest of her."""
        if not (phone or email):
            return False
        rows = await contacts_reached_at(self._session, phone=phone, email=email)
        return any(row[0] not in erasing for row in rows)

    async def _erase_companies_named_after(self, people: list[Contact], erased_company: Callable[[int], str], *,
                                           erasing: set[int]) -> list[int]:
        """Erase every company whose name is one of the customer's full names (`MIN_NAME_WORDS` words or more,
        honorifics aside: "Phạm Ngọc Ánh", "Chị Phạm Ngọc Ánh"); return their ids.

        A log that read her name as a company made one ("Gọi chị Ngọc Ánh (Phạm Ngọc Ánh)"): it is her record,
        not a business. One that nothing but her records links to is deleted (her records let go of it); one that
        others' records link to (a colleague, his calls, tasks, deals) keeps them and takes the placeholder
        `erased_company(id)`, its phone, e-mail, address and tax code dropped. Either way its audit trail loses
        every form of her name. A company whose name only holds hers ("Phạm Ngọc Ánh Furniture", "Trần Phạm Ngọc
        Ánh") or a part of it ("Ngọc Ánh") is someone else's and stays.
        """
        names = {full for person in people if len(full := _full_name(person.name)) >= MIN_NAME_WORDS}
        found: list[Company] = []
        for full in sorted(names):
            candidates = await self._session.scalars(select(Company).where(
                Company.name_folded.contains(full[-1], autoescape=True)).order_by(Company.id))
            found += [c for c in candidates if _full_name(c.name) == full and c not in found]
        for company in found:
            placeholder = erased_company(company.id)
            traces = Traces.of(name=company.name, phones=[], emails=[], chat_ids=[], erased_name=placeholder)
            for entry in list(await self._session.scalars(select(AuditEntry).where(
                    AuditEntry.entity == "company", AuditEntry.entity_id == str(company.id)))):
                entry.details, entry.before, entry.after = (traces.scrub_json(value, own=True)
                                                            for value in (entry.details, entry.before, entry.after))
            if await self._linked_by_others(company.id, erasing):
                company.name, company.name_folded = placeholder, fold(placeholder)
                company.phone = company.email = company.address = company.tax_code = None
                continue
            for mapper in Base.registry.mappers:  # her records let go of it
                column = _company_link(mapper.persist_selectable)
                if column is not None:
                    await self._session.execute(update(mapper.class_).where(column == company.id).values(
                        {mapper.get_property_by_column(column).key: None}))
            await self._session.delete(company)
        await self._session.flush()
        return [company.id for company in found]

    async def _linked_by_others(self, company_id: int, erasing: set[int]) -> bool:
        """Tell whether a record of someone other than the contacts being erased links to the company."""
        for mapper in Base.registry.mappers:
            table = mapper.persist_selectable
            column = _company_link(table)
            if not isinstance(table, Table) or column is None:
                continue
            owner = table.columns.get("id") if table.name == Contact.__tablename__ else table.columns.get("contact_id")
            query = select(func.count()).select_from(table).where(column == company_id)
            if owner is not None:
                query = query.where(or_(owner.is_(None), owner.not_in(erasing)))
            if await self._session.scalar(query):
                return True
        return False

    async def _locked(self, contact_id: int) -> Contact | None:
        """The contact as committed now, its row locked for update until the transaction ends (not on SQLite, where
        the erasure's writes lock the whole database)."""
        return await self._session.scalar(select(Contact).where(Contact.id == contact_id).with_for_update()
                                          .execution_options(populate_existing=True))

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
        written = await self._written_by(contact.id, ticket_ids)
        phones, emails = _reached_in(written)  # what she typed in chat reaches her as much as her record's fields
        namesakes = await self._namesakes(contact, erasing=erasing)
        phones = [p for p in [contact.phone or "", *phones] if not await self._kept_by_others(p, None, erasing)]
        emails = [e for e in [contact.email or "", *emails] if not await self._kept_by_others(None, e, erasing)]
        traces = Traces.of(name=contact.name, phones=phones, emails=emails, chat_ids=[chat for _, chat in chats],
                           erased_name=erased_name, typed=[*written, *await self._summaries_of(contact.id)],
                           refs=[ticket_ref(i) for i in ticket_ids] + [lead_ref(i) for i in lead_ids]
                           + [erasure_ref(r.id) for r in requests], kept=namesakes.values())
        own = {("contact", str(i)) for i in erasing} | {("ticket", str(i)) for i in ticket_ids} \
            | {("lead", str(i)) for i in lead_ids}

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
        closed: list[tuple[int, int | None, str]] = []
        for deal in list(await self._session.scalars(select(Deal).where(Deal.contact_id == contact.id))):
            own.add(("deal", str(deal.id)))
            title = traces.scrub(deal.title, own=True)
            if title != deal.title:
                deal.title, deal.title_folded = title, fold(title)
            if deal.status == "open":
                await self._closing.close(await self._closing.mark(deal.id, "lost", admin), "lost", admin,
                                          reason=CUSTOMER_ERASED)
                closed.append((deal.id, deal.owner_id, deal.title))
        for task in await self._session.scalars(select(Task).where(Task.contact_id == contact.id)):
            own.add(("task", str(task.id)))
            task.title = traces.scrub(task.title, own=True)
            if task.done_at is None:  # a call-back to someone erased is not to be made, reminded or listed
                task.done_at = self._now
        await self._forget_chats(chats)
        await self._scrub_elsewhere(traces, own=own)
        rewritten = await self._scrub_free_text(traces, namesakes=set(namesakes))
        contact.name, contact.name_folded = erased_name, fold(erased_name)
        contact.phone = contact.email = contact.title = None
        contact.erased_at = self._now
        await IdentityRepository(self._session).forget_contact(contact.id)  # they are a stranger if they write again
        return result.model_copy(update={
            "rewritten": {table: sorted({*result.rewritten.get(table, []), *ids})
                          for table, ids in {**result.rewritten, **rewritten}.items()},
            "interactions": [*result.interactions, *interaction_ids],
            "closed_deals": [*result.closed_deals, *closed],
            "chats": sorted({*result.chats, *((channel, chat) for channel, chat in chats if chat)}),
            "messages": result.messages + (getattr(messages, "rowcount", 0) or 0),
            "questions": result.questions + (getattr(questions, "rowcount", 0) or 0)})

    async def _scrub_free_text(self, traces: Traces, *, namesakes: set[int]) -> dict[str, list[int]]:
        """Take the customer's full name, phone and e-mail out of the free text of every table; return, per table,
        the ids of the records changed.

        Free text is every column marked `FREE_TEXT` (a note or call logged on a colleague's customer, a task or
        deal title, a lost reason, another customer's question or ticket, a dialog in progress): each exact
        occurrence becomes the `ERASED` marker, which the chat and the export word in the reader's language. A
        record of someone whose full name holds hers (a namesake, not being erased) keeps the name, which is
        theirs there; her phone and e-mail go all the same. Changed with bulk statements: the audit trail of
        those records is not blanked (they are not hers); the erasure's own entry lists them.
        """
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

    async def _namesakes(self, contact: Contact, *, erasing: set[int]) -> dict[int, str]:
        """The other contacts, not erased nor being erased, whose full name holds the customer's ("Trần Bích Ngọc"
        holds "Bích Ngọc"), with their names."""
        words = _full_name(contact.name)
        if not words:
            return {}
        rows = await self._session.execute(select(Contact.id, Contact.name).where(
            Contact.erased_at.is_(None), Contact.id.not_in([contact.id, *erasing]),
            Contact.name_folded.contains(words[-1], autoescape=True)))
        return {row_id: name for row_id, name in rows.all() if _holds(_full_name(name), words)}

    async def _written_by(self, contact_id: int, ticket_ids: list[int]) -> list[str]:
        """What the customer typed: their questions and their ticket messages."""
        questions = await self._session.scalars(select(CustomerQuestion.question)
                                                .where(CustomerQuestion.contact_id == contact_id))
        messages = await self._session.scalars(select(TicketMessage.text).where(
            TicketMessage.ticket_id.in_(ticket_ids), TicketMessage.author == "customer"))
        return [*questions, *messages]

    async def _summaries_of(self, contact_id: int) -> list[str]:
        """Their interactions' summaries (what a quote of their words may also come from)."""
        return list(await self._session.scalars(select(Interaction.summary)
                                                .where(Interaction.contact_id == contact_id)))

    async def _forget_chats(self, chats: set[tuple[str, str]]) -> None:
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
        # Only hers go, told by her chat or user id: an update of someone else is never lost for naming her.
        for row in list(await self._session.scalars(select(InboxUpdate))):
            if any((row.channel, chat) in chats for chat in {row.chat_key, *_senders_of(row.payload)}):
                await self._session.delete(row)

    async def _scrub_elsewhere(self, traces: Traces, *, own: set[tuple[str, str]]) -> None:
        """Forget messages to staff about the customer; scrub their name, phone, e-mail and chat ids elsewhere.

        Elsewhere: messages to staff, log drafts, and the audit trail (what an action noted, and the fields a
        change kept before and after: a colleague's log that recorded them under another contact, say). The
        trail of her own records (`own`: entity and id) loses every trace, that of other people's records only
        what `Traces.scrub` takes out of someone else's text.

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
        for draft in list(await self._session.scalars(select(LogDraft))):  # one that offered her record is about her
            hers = any(("contact", str(option.get("id"))) in own for option in draft.fields.get("contact_options") or []
                       if isinstance(option, dict)) or ("contact", str(draft.fields.get("contact_id"))) in own
            raw, fields = traces.scrub(draft.raw_text, own=hers), traces.scrub_json(draft.fields, own=hers)
            if raw != draft.raw_text or fields != draft.fields:
                draft.raw_text, draft.fields = raw, fields
        for entry in list(await self._session.scalars(select(AuditEntry))):  # a record's fields before and after too
            hers = (entry.entity, entry.entity_id) in own
            details, before, after = (traces.scrub_json(value, own=hers)
                                      for value in (entry.details, entry.before, entry.after))
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
    same), as whole words. In the customer's own records (`own`) her name goes in every form: the full name,
    runs of its words that end with the given name or are three words long ("Bích Ngọc", "Nguyễn Thị Bích"),
    the given name alone; and a line quoting what she typed becomes the placeholder. In anyone else's text only
    her full name of `MIN_NAME_WORDS` words or more counts, and not where it is part of a longer name: a name
    word before or after it ("Trần Nguyễn Thị Ngọc"), or the name of another contact (`kept`) that holds hers.
    Her phones (any prefix, any separators between the digits), e-mails and chat ids count everywhere. The
    name becomes the erased placeholder, the rest "***" (`scrub`); in the free text of other people's records
    (`redact`) each becomes the `ERASED` marker.
    """

    own_names: tuple[re.Pattern[str], ...]
    full_name: tuple[re.Pattern[str], ...]
    kept: tuple[re.Pattern[str], ...]
    others: re.Pattern[str] | None
    reach: re.Pattern[str] | None
    typed: tuple[str, ...]
    refs: frozenset[str]
    erased_name: str

    @classmethod
    def of(cls, *, name: str, phones: Iterable[str], emails: Iterable[str], chat_ids: list[str], erased_name: str,
           typed: Iterable[str] = (), refs: Iterable[str] = (), kept: Iterable[str] = ()) -> Traces:
        words = tuple(_fold_chars(unicodedata.normalize("NFC", name))[0].split())
        runs = {words[i:j] for i in range(len(words)) for j in range(i + 2, len(words) + 1)
                if j == len(words) or j - i >= 3}
        own = {words, *runs, words[-1:]} if words else set()
        reach = [_phone_pattern(phone) for phone in phones] + [_whole(re.escape(email)) for email in emails if email]
        reach = sorted({r for r in reach if r}, key=len, reverse=True)
        others = reach + [_whole(re.escape(chat)) for chat in chat_ids if chat]
        quotes = {_quote(text) for text in typed}
        full = _full_name(name)
        return cls(own_names=_longest_first(own),
                   full_name=_longest_first({full}) if len(full) >= MIN_NAME_WORDS else (),
                   kept=_longest_first({_full_name(other) for other in kept} - {full, ()}),
                   others=_any_of(others), reach=_any_of(reach),
                   typed=tuple(sorted((q for q in quotes if len(q) >= MIN_QUOTE_CHARS), key=len, reverse=True)),
                   refs=frozenset(refs), erased_name=erased_name)

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
        if own:
            text = _replace_names(text, self.own_names, self.erased_name)
        else:
            text = _replace_names(text, self.full_name, self.erased_name, alone=True, kept=self.kept)
        return _sub_wide(self.others, HIDDEN, text)

    def redact(self, text: str, *, names: bool = True) -> str:
        """Return the free text of someone else's record with the customer's full name (accents and case aside,
        whole words, not part of a longer name; not with `names` False), phone and e-mail each replaced by the
        `ERASED` marker."""
        if names:
            text = _replace_names(text, self.full_name, ERASED, alone=True, kept=self.kept)
        return _sub_wide(self.reach, ERASED, text)

    def redact_json(self, value: Any, *, names: bool = True) -> Any:
        """Return a text or JSON value with every string (keys too) redacted (`redact`)."""
        return _map_strings(value, lambda text: self.redact(text, names=names))

    def scrub_json(self, value: Any, *, own: bool = False) -> Any:
        """Return a JSON value with every string (keys too) scrubbed."""
        return _map_strings(value, lambda text: self.scrub(text, own=own))


def _map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """Return a text or JSON value with `change` applied to every string in it, keys too."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_map_strings(v, change) for v in value]
    if isinstance(value, dict):
        return {change(str(k)): _map_strings(v, change) for k, v in value.items()}
    return value


def _replace_names(text: str, names: tuple[re.Pattern[str], ...], replacement: str, *,
                   alone: bool = False, kept: tuple[re.Pattern[str], ...] = ()) -> str:
    """Replace each match of the folded-name patterns in `text` (longest first, never overlapping) by `replacement`;
    with `alone`, only a match that is no part of a longer name (`_part_of_a_name`, or inside one of `kept`)."""
    if not names:
        return text
    composed = unicodedata.normalize("NFC", text)
    folded, origin = _fold_chars(composed)
    spans = [(origin[m.start()], origin[m.end() - 1] + 1) for pattern in kept for m in pattern.finditer(folded)]
    taken: list[tuple[int, int]] = []
    for pattern in names:
        for match in pattern.finditer(folded):
            start, end = origin[match.start()], origin[match.end() - 1] + 1
            if alone and _part_of_a_name(composed, start, end):
                continue
            if not any(s < end and start < e for s, e in [*spans, *taken]):
                taken.append((start, end))
    if not taken:
        return text
    for start, end in sorted(taken, reverse=True):
        composed = composed[:start] + replacement + composed[end:]
    return composed


def _part_of_a_name(text: str, start: int, end: int) -> bool:
    """Tell whether a name word goes on right before or after `text[start:end]` (a space between, no punctuation):
    a capitalised family or middle name before it, a capitalised word after it, that is no honorific or common
    word ("Trần Bích Ngọc", "Nguyễn Thị Ngọc Anh"; not "Gọi Nguyễn Thị Ngọc", "chị Nguyễn Thị Ngọc bên Hòa Phát")."""
    before = re.search(r"(\w+)[^\S\n]+$", text[:start])
    after = re.match(r"[^\S\n]+(\w+)", text[end:])
    return (before is not None and _name_word(before.group(1), after=False)) or \
        (after is not None and _name_word(after.group(1), after=True))


def _name_word(word: str, *, after: bool) -> bool:
    if not word[:1].isupper() or word[:1].isdigit():
        return False
    folded = fold(word)
    if folded in vocabulary.words("surnames") | vocabulary.words("middle_names") or \
            (after and folded in vocabulary.words("second_given_names")):
        return True
    if not after:  # before a full name, only a family or middle name goes on with it
        return False
    return not (folded in _not_name_words() or word.lower() in vocabulary.words("not_a_name_accented")
                or word.lower() in vocabulary.words("capitalised_breaks_accented"))


@cache
def _not_name_words() -> frozenset[str]:
    """Capitalised words that go on no name: honorifics, verbs, particles, cues, CTY, Zalo."""
    return frozenset().union(*(vocabulary.words(name) for name in (
        "honorifics_before_name", "not_a_name", "name_stop", "contact_cues_vi", "vi_style_not_a_name",
        "capitalised_not_a_name")))


def _company_link(table: Any) -> Any:
    """The column of `table` that links a row to a company (a foreign key to companies.id), or None."""
    if not isinstance(table, Table):
        return None
    return next((c for c in table.columns for fk in c.foreign_keys
                 if fk.column.table.name == Company.__tablename__), None)


def _whole(alternative: str) -> str:
    """An alternative matched only as a whole (no word or address around)."""
    return r"(?<![\w@.])(?:" + alternative + r")(?![\w@])"


def _any_of(alternatives: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


def _phone_pattern(phone: str) -> str:
    """A pattern of a phone number's national digits however written: with +84, 84, 0084 or 0 before them or none,
    any common separators between them, right after a word ("sđt0912345678", "ĐT.0912...") but never inside a
    longer run of digits. Empty for what is too short to be a phone number."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", phone) if ch.isdigit())
    digits = digits[2:] if digits.startswith("00") else digits
    national = digits[2:] if digits.startswith("84") and len(digits) > 10 else digits.lstrip("0")
    if len(national) < 8:
        return ""
    return r"(?<!\d)" + PHONE_PREFIX + PHONE_SEPARATORS.join(national) + r"(?!\d)"


def _sub_wide(pattern: re.Pattern[str] | None, replacement: str, text: str) -> str:
    """Replace the matches of `pattern` in `text`, read with its full-width forms as ASCII (NFKC, one character
    for one: "０９１２" reads 0912)."""
    if pattern is None:
        return text
    narrow = text if text.isascii() else "".join(
        n if len(n := unicodedata.normalize("NFKC", ch)) == 1 else ch for ch in text)
    spans = [match.span() for match in pattern.finditer(narrow)]
    for start, end in reversed(spans):
        text = text[:start] + replacement + text[end:]
    return text


def _reached_in(texts: Iterable[str]) -> tuple[list[str], list[str]]:
    """The phone numbers and e-mail addresses written in `texts` (what she typed in chat), a shared mailbox
    (info@, sales@) aside."""
    phones: list[str] = []
    emails: list[str] = []
    mailboxes = vocabulary.words("generic_mailboxes")
    for typed in texts:
        narrow = unicodedata.normalize("NFKC", typed)
        phones += [m.group() for m in PHONE_RE.finditer(narrow) if _phone_pattern(m.group())]
        emails += [m.group().rstrip(".") for m in EMAIL_RE.finditer(narrow)
                   if fold(m.group().split("@")[0]) not in mailboxes]
    return phones, emails


def _senders_of(payload: str) -> set[str]:
    """The chat and user ids of a raw channel update's own message or action (not of one it replies to)."""
    try:
        update = json.loads(payload)
    except ValueError:
        return set()
    found: set[str] = set()
    for part in update.values() if isinstance(update, dict) else ():
        if not isinstance(part, dict):
            continue
        for node in (part.get("chat"), part.get("from"), part.get("user"),
                     (part.get("message") or {}).get("chat") if isinstance(part.get("message"), dict) else None):
            if isinstance(node, dict) and isinstance(node.get("id"), int | str):
                found.add(str(node["id"]))
    return found


def _holds(name: tuple[str, ...], words: tuple[str, ...]) -> bool:
    """Tell whether a name's words hold `words` in a row ("tran bich ngoc" holds "bich ngoc")."""
    return any(name[i:i + len(words)] == words for i in range(len(name) - len(words) + 1))


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


def _longest_first(names: set[tuple[str, ...]]) -> tuple[re.Pattern[str], ...]:
    """Whole-word patterns of folded names, longest first."""
    return tuple(re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)")
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
