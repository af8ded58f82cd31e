"""Leads from the customer bot and who gets them: the customer's owner when she has one, else a keyword rule,
else round-robin among salespeople."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import InvalidInput
from crm_core.models import Contact, Lead, Ticket, User
from crm_core.pipelines.stage_words import first_open
from crm_core.policy import takes_leads
from crm_core.schemas import CustomerOut, LeadOut, UserOut
from crm_core.services.audit import AuditService
from crm_core.services.convert import user_out
from crm_core.services.deals import DealService
from crm_core.services.directory import contacts_reached_at
from crm_core.services.pipelines import PipelineService
from crm_core.services.tasks import TaskService
from crm_core.textnorm import fold

# The salesperson is notified at once; the task reminds them again if the call has not happened by then.
CALL_BACK_WITHIN = timedelta(hours=2)
# How alike (rapidfuzz ratio, 0-100) the words after an honorific and a colleague's folded full name must be.
NAME_MATCH = 90
PHONE_DIGITS = range(8, 16)


class AssignmentService:
    """Choose the salesperson for a lead or a ticket."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def pick(self, *, text: str, rules: Mapping[str, str], kind: str,
                   language: str | None = None) -> tuple[UserOut | None, str]:
        """Return (salesperson, rule): the first keyword rule found in `text`, else the next in turn among those
        who speak `language` (everyone when nobody does)."""
        salespeople = await self._salespeople()
        if not salespeople:
            return None, "none"
        folded = fold(text)
        for keyword, name in rules.items():
            if fold(keyword) and fold(keyword) in folded:
                chosen = next((u for u in salespeople if u.name_folded == fold(name)), None)
                if chosen is not None:
                    return user_out(chosen), f"keyword:{keyword}"[:60]
        speakers = [u for u in salespeople if u.language == language] or salespeople
        last = await self._last_assignee(kind)
        later = [u for u in speakers if last is not None and u.id > last]
        return user_out((later or speakers)[0]), "round_robin"

    async def keeper(self, contact_id: int, *, language: str | None = None) -> UserOut | None:
        """Return the person who already looks after this customer, or None: the contact's owner, else the assignee of
        her open or latest ticket, if still active and, when some salesperson speaks `language`, speaking it.

        One customer keeps one person across tickets and leads; the rule (keyword, round-robin) is for new customers
        and for those whose person left, was deactivated or cannot speak with them.
        """
        owner_id = await self._session.scalar(select(Contact.owner_id).where(Contact.id == contact_id))
        # The open ticket, if any, is her latest: a new one is opened only when none is open.
        assignee_id = await self._session.scalar(
            select(Ticket.assignee_id).where(Ticket.contact_id == contact_id, Ticket.assignee_id.is_not(None))
            .order_by(Ticket.id.desc()).limit(1))
        candidates = [i for i in dict.fromkeys((owner_id, assignee_id)) if i is not None]
        if not candidates:
            return None
        spoken = language is not None and any(u.language == language for u in await self._salespeople())
        for user_id in candidates:
            user = await self._session.get(User, user_id)
            if user is not None and user.active and (not spoken or user.language == language):
                return user_out(user)
        return None

    async def owner_of(self, contact_id: int, *, language: str | None = None) -> UserOut | None:
        """Return the contact's owner if they take leads (an active salesperson) and, when some salesperson speaks
        `language`, speak it; else None."""
        owner_id = await self._session.scalar(select(Contact.owner_id).where(Contact.id == contact_id))
        owner = await self._session.get(User, owner_id) if owner_id is not None else None
        if owner is None or not takes_leads(owner):
            return None
        spoken = language is not None and any(u.language == language for u in await self._salespeople())
        return user_out(owner) if not spoken or owner.language == language else None

    async def named(self, candidates: list[str]) -> UserOut | None:
        """Return the one active staff member a customer names ("chị Lan", "anh Tuấn kỹ thuật"), or None.

        `candidates` are the folded words after each honorific in the customer's text; a colleague matches when
        those words start with their given name (their name's last word) or read like their full name. Two
        colleagues matching (two Lans) is no answer: the usual rules choose.
        """
        if not candidates:
            return None
        active = list(await self._session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
        for words in candidates:
            first = words.split()[0]
            matching = [u for u in active if u.name_folded.split() and (
                u.name_folded.split()[-1] == first
                or fuzz.ratio(" ".join(words.split()[:len(u.name_folded.split())]), u.name_folded) >= NAME_MATCH)]
            if len(matching) == 1:
                return user_out(matching[0])
        return None

    async def _salespeople(self) -> list[User]:
        # The policy decides who takes leads; filtering the few active staff rows here, rather than in SQL,
        # keeps that rule in one place (a team is tens of people, read once per lead).
        active = await self._session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
        return [user for user in active if takes_leads(user)]

    async def _last_assignee(self, kind: str) -> int | None:
        if kind == "lead":
            query = select(Lead.assignee_id).where(Lead.assignee_id.is_not(None)).order_by(Lead.id.desc())
        else:
            query = select(Ticket.assignee_id).where(Ticket.assignee_id.is_not(None)).order_by(Ticket.id.desc())
        return await self._session.scalar(query.limit(1))


class LeadService:
    """Turn a customer who shared their phone into a contact with a phone, a deal and a call-back task."""

    def __init__(self, session: AsyncSession, assignment: AssignmentService, deals: DealService, tasks: TaskService,
                 pipelines: PipelineService, audit: AuditService, now: datetime) -> None:
        self._session = session
        self._pipelines = pipelines
        self._assignment = assignment
        self._deals = deals
        self._tasks = tasks
        self._audit = audit
        self._now = now

    async def capture(self, customer: CustomerOut, *, phone: str, interest: str, title: str, task_title: str,
                      rules: Mapping[str, str], language: str | None = None) -> LeadOut:
        """Record the consented phone and hand the lead to a salesperson; a second share only updates the phone."""
        phone = normalize_phone(phone)
        contact = await self._session.get(Contact, customer.contact_id)
        if contact is None:
            raise InvalidInput("unknown customer")
        contact.phone = phone
        existing = await self._session.scalar(select(Lead).where(Lead.contact_id == contact.id).limit(1))
        if existing is not None:
            assignee = await self._session.get(User, existing.assignee_id) if existing.assignee_id else None
            return _lead_out(existing, contact, assignee, created=False, matched=await self._matched(existing.rule))
        # Her own owner; else whoever owns the contact already on the books with her number (a salesperson who
        # logged her call outranks who happened to answer her ticket); else her ticket's assignee; else the rules.
        owner, rule = await self._assignment.owner_of(contact.id, language=language), "owner"
        if owner is None:
            owner, rule = await self._known_by_phone(contact.id, phone, language)
        if owner is None:
            owner, rule = await self._assignment.keeper(contact.id, language=language), "owner"
        if owner is None:
            owner, rule = await self._assignment.pick(text=interest, rules=rules, kind="lead", language=language)
        if owner is not None and contact.owner_id is None:
            contact.owner_id = owner.id
        # A lead starts where any new deal does: the default pipeline's first open stage, whatever its template.
        stage = first_open(await self._pipelines.default_stages())
        deal = await self._deals.create(title=title, owner_id=owner.id if owner else None,
                                        company_id=contact.company_id, contact_id=contact.id, stage_key=stage.key,
                                        amount=None, currency=None, quantity=None)
        if owner is not None:
            await self._tasks.create(title=task_title, owner_id=owner.id, due_at=self._now + CALL_BACK_WITHIN,
                                     deal_id=deal.id, contact_id=contact.id, company_id=contact.company_id)
        lead = Lead(contact_id=contact.id, deal_id=deal.id, assignee_id=owner.id if owner else None, rule=rule,
                    consent_at=self._now, created_at=self._now)
        self._session.add(lead)
        await self._session.flush()
        await self._audit.record(actor=f"customer:{contact.id}", action="lead.capture", entity="lead",
                                 entity_id=lead.id, details={"rule": rule, "assignee": owner.name if owner else None})
        return _lead_out(lead, contact, await self._session.get(User, owner.id) if owner else None, created=True,
                         matched=await self._matched(rule))

    async def _matched(self, rule: str) -> str | None:
        """The name of the contact a `same_phone:<id>` rule names, for the salesperson's notice (not stored)."""
        if not rule.startswith("same_phone:"):
            return None
        contact = await self._session.get(Contact, int(rule.removeprefix("same_phone:")))
        return contact.name if contact is not None and contact.erased_at is None else None

    async def _known_by_phone(self, contact_id: int, phone: str, language: str | None) -> tuple[UserOut | None, str]:
        """The one who looks after a contact already on the books with this number, and the rule naming that contact.

        A salesperson who logged her call has her as a contact; the bot's contact is a second record of the same
        person, so her lead goes to that salesperson, not round-robin, and the notice says which contact it matches.
        The contacts are not merged: a number typed in chat proves nothing, and a merge would show her the other
        record's data under /privacy.
        """
        for row in await contacts_reached_at(self._session, phone=phone, email=None):
            if row[0] != contact_id and (owner := await self._assignment.owner_of(row[0], language=language)):
                return owner, f"same_phone:{row[0]}"
        return None, ""


def normalize_phone(raw: str) -> str:
    """Keep a shared phone as digits with its leading +; refuse what cannot be a phone number."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) not in PHONE_DIGITS:
        raise InvalidInput("that is not a phone number", reason="not_a_phone")
    return f"+{digits}" if raw.strip().startswith("+") or not digits.startswith("0") else digits


def _lead_out(lead: Lead, contact: Contact, owner: User | None, *, created: bool, matched: str | None) -> LeadOut:
    return LeadOut(id=lead.id, contact_id=contact.id, customer=contact.name, phone=contact.phone or "",
                   deal_id=lead.deal_id, assignee_id=owner.id if owner else None,
                   assignee=owner.name if owner else None, rule=lead.rule, created=created, matched_contact=matched)
