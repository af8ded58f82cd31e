"""A customer's personal data (Decree 13/2023): show what we hold, erase it when an admin approves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import Conflict, Forbidden, NotFound
from crm_core.models import Company, Contact, CustomerQuestion, Deal, Interaction, PrivacyRequest, Ticket, TicketMessage
from crm_core.policy import can_decide_erasure
from crm_core.repositories.channels import IdentityRepository
from crm_core.schemas import CustomerData, CustomerOut, ErasureResult, PrivacyRequestOut, UserOut
from crm_core.services.audit import AuditService
from crm_core.services.directory import ERASED

ERASED_NAME = "(erased customer)"


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
        return [_request_out(r, name or ERASED_NAME) for r, name in rows]

    async def decide(self, request_id: int, admin: UserOut, *, approve: bool) -> ErasureResult:
        """Approve (erase now) or reject a pending request; admins only, audited."""
        if not can_decide_erasure(admin):
            raise Forbidden("only an admin decides erasure requests")
        request = await self._session.get(PrivacyRequest, request_id)
        if request is None:
            raise NotFound("no such request")
        if request.status != "pending":
            raise Conflict(f"request #{request_id} was already {request.status}")
        contact = await self._session.get(Contact, request.contact_id) if request.contact_id else None
        name = contact.name if contact else ERASED_NAME
        request.status = "approved" if approve else "rejected"
        request.decided_at, request.decided_by_id = self._now, admin.id
        result = ErasureResult(request=_request_out(request, name), interactions=[], messages=0, questions=0)
        if approve and contact is not None:
            result = await self._erase(contact, result)
        await self._audit.record(actor=admin.name, actor_id=admin.id, action=f"privacy.{request.status}",
                                 entity="contact", entity_id=request.contact_id,
                                 details={"request": request.id, "interactions": len(result.interactions),
                                          "messages": result.messages, "questions": result.questions})
        return result

    async def _erase(self, contact: Contact, result: ErasureResult) -> ErasureResult:
        interaction_ids = list(await self._session.scalars(
            select(Interaction.id).where(Interaction.contact_id == contact.id)))
        await self._session.execute(update(Interaction).where(Interaction.contact_id == contact.id)
                                    .values(summary=ERASED))
        ticket_ids = select(Ticket.id).where(Ticket.contact_id == contact.id).scalar_subquery()
        messages = await self._session.execute(update(TicketMessage).where(TicketMessage.ticket_id.in_(ticket_ids))
                                               .values(text=ERASED))
        questions = await self._session.execute(update(CustomerQuestion)
                                                .where(CustomerQuestion.contact_id == contact.id)
                                                .values(question=ERASED, answer=ERASED))
        await self._session.execute(update(Deal).where(Deal.contact_id == contact.id, Deal.title.contains(contact.name))
                                    .values(title=f"Lead #{contact.id}", title_folded=f"lead #{contact.id}"))
        contact.name, contact.name_folded = ERASED_NAME, ERASED_NAME
        contact.phone = contact.email = contact.title = None
        contact.erased_at = self._now
        await IdentityRepository(self._session).forget_contact(contact.id)  # they are a stranger if they write again
        return result.model_copy(update={"interactions": interaction_ids,
                                         "messages": getattr(messages, "rowcount", 0) or 0,
                                         "questions": getattr(questions, "rowcount", 0) or 0})


def _request_out(request: PrivacyRequest, name: str) -> PrivacyRequestOut:
    return PrivacyRequestOut(id=request.id, contact_id=request.contact_id, customer=name, channel=request.channel,
                             chat_id=request.chat_id, language=request.language, status=request.status,
                             requested_at=request.requested_at)
