"""Customers who write to the bot: who they are, what they asked, tickets with a person, satisfaction."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.errors import Conflict, Forbidden, InvalidInput, NotFound
from crm_core.models import Contact, ContactIdentity, CustomerQuestion, Interaction, Ticket, TicketMessage, User
from crm_core.repositories.channels import IdentityRepository
from crm_core.repositories.claims import claimed, skips_locked_rows
from crm_core.schemas import CustomerOut, QuestionOut, TicketMessageOut, TicketOut, UserOut
from crm_core.services.audit import AuditService
from crm_core.textnorm import clean_name, fold

MAX_MESSAGE_CHARS = 4000
OPENING_LINES = 12  # a ticket's first messages looked at for those that opened it (3 questions, answers, hand-off)
FEEDBACK_VALUES = ("up", "down")


def customer_out(contact: Contact, channel: str, chat_id: str) -> CustomerOut:
    """Convert a contact that writes to the bot from `chat_id` on `channel`."""
    return CustomerOut(contact_id=contact.id, name=contact.name, company_id=contact.company_id,
                       owner_id=contact.owner_id, phone=contact.phone, channel=channel, chat_id=chat_id)


def ticket_out(ticket: Ticket) -> TicketOut:
    """Convert a ticket row (contact and assignee loaded)."""
    contact = ticket.contact
    return TicketOut(id=ticket.id, contact_id=ticket.contact_id, customer=contact.name if contact else "—",
                     phone=contact.phone if contact else None, channel=ticket.channel, chat_id=ticket.chat_id,
                     language=ticket.language, status=ticket.status, reason=ticket.reason,
                     assignee_id=ticket.assignee_id, assignee=ticket.assignee.name if ticket.assignee else None,
                     opened_at=ticket.opened_at, first_response_at=ticket.first_response_at,
                     escalated_at=ticket.escalated_at, closed_at=ticket.closed_at, csat=ticket.csat,
                     csat_at=ticket.csat_at)


class SupportService:
    """Customer identity, the FAQ log, and tickets relayed between a customer and staff."""

    def __init__(self, session: AsyncSession, audit: AuditService, now: datetime) -> None:
        self._session = session
        self._identities = IdentityRepository(session)
        self._audit = audit
        self._now = now

    # --- customers -------------------------------------------------------------------------------------

    async def identify(self, channel: str, user_id: str, display_name: str | None) -> CustomerOut:
        """Return the contact of the chat user `user_id` on `channel`, creating it (and the identity) at first."""
        contact = await self._identities.contact(channel, user_id)
        if contact is None:
            contact = await self._new_customer(channel, user_id, display_name)
        return customer_out(contact, channel, user_id)

    async def _new_customer(self, channel: str, user_id: str, display_name: str | None) -> Contact:
        """Create the contact and its identity; when another process just did, use theirs (unique identity)."""
        name = clean_name(display_name or "")[:200] or f"{channel} {user_id}"
        try:
            async with self._session.begin_nested():
                contact = Contact(name=name, name_folded=fold(name), created_at=self._now)
                self._session.add(contact)
                await self._session.flush()
                self._identities.add_contact_identity(ContactIdentity(contact_id=contact.id, channel=channel,
                                                                      external_id=user_id, created_at=self._now))
                await self._identities.flush()
        except IntegrityError:
            existing = await self._identities.contact(channel, user_id)
            if existing is None:
                raise
            return existing
        return contact

    async def find_customer(self, channel: str, user_id: str) -> CustomerOut | None:
        """Return the contact for a chat user when there is one (reads only)."""
        contact = await self._identities.contact(channel, user_id)
        return customer_out(contact, channel, user_id) if contact else None

    async def note(self, customer: CustomerOut, text: str, *, source: str, owner_id: int | None = None) -> None:
        """Store one line of a customer conversation as an interaction on their contact."""
        self._session.add(Interaction(kind="message", occurred_at=self._now, contact_id=customer.contact_id,
                                      company_id=customer.company_id, owner_id=owner_id or customer.owner_id,
                                      summary=text[:MAX_MESSAGE_CHARS], source=source, created_at=self._now))

    # --- questions the bot answered ---------------------------------------------------------------------

    async def record_question(self, customer: CustomerOut, *, question: str, answer: str, handoff: bool,
                              reason: str | None, confidence: float, source: tuple[str, str] | None,
                              prompt: str | None = None) -> QuestionOut:
        """Keep what a customer asked and what the bot said (and which prompt version wrote it, when an LLM did),
        for the FAQ figures and the contact's history."""
        row = CustomerQuestion(contact_id=customer.contact_id, question=question[:MAX_MESSAGE_CHARS],
                               answer=answer[:MAX_MESSAGE_CHARS], source_doc=source[0] if source else None,
                               source_section=source[1][:300] if source else None, confidence=confidence,
                               handoff=handoff, reason=reason, prompt=prompt[:80] if prompt else None,
                               asked_at=self._now)
        self._session.add(row)
        await self._session.flush()
        if answer:
            await self.note(customer, f"{question}\n→ {answer}", source="bot")
        return _question_out(row)

    async def said(self, customer: CustomerOut, question_id: int, text: str, *, ticket_id: int | None = None,
                   with_question: bool = True) -> None:
        """Keep what the customer read for their question (on the question and their contact); with `ticket_id`,
        add that reply (and the question, unless the ticket has it already) to the customer's ticket too."""
        row = await self._own_question(question_id, customer)
        row.answer = text[:MAX_MESSAGE_CHARS]
        await self.note(customer, f"{row.question}\n→ {text}", source="bot")
        if ticket_id is None:
            return
        ticket = await self._load(ticket_id)
        if ticket.contact_id != customer.contact_id:
            raise Forbidden("not this customer's ticket")
        row.ticket_id = ticket.id
        if with_question:
            self._session.add(TicketMessage(ticket_id=ticket.id, author="customer", text=row.question, at=self._now))
        self._session.add(TicketMessage(ticket_id=ticket.id, author="bot", text=row.answer, at=self._now))

    async def put_on_ticket(self, ticket_id: int, customer: CustomerOut, question_id: int) -> None:
        """Add the customer's question to their ticket (the ticket's message and the question's link)."""
        row = await self._own_question(question_id, customer)
        ticket = await self._load(ticket_id)
        if ticket.contact_id != customer.contact_id:
            raise Forbidden("not this customer's ticket")
        row.ticket_id = ticket.id
        self._session.add(TicketMessage(ticket_id=ticket.id, author="customer", text=row.question, at=self._now))

    async def question(self, question_id: int, customer: CustomerOut) -> QuestionOut:
        """Return a question this customer asked (no one else's)."""
        return _question_out(await self._own_question(question_id, customer))

    async def _own_question(self, question_id: int, customer: CustomerOut) -> CustomerQuestion:
        row = await self._session.get(CustomerQuestion, question_id)
        if row is None or row.contact_id != customer.contact_id:
            raise NotFound("no such question")
        return row

    async def rate_answer(self, question_id: int, customer: CustomerOut, value: str) -> QuestionOut:
        """Record 👍/👎 on an answer; the latest press counts."""
        if value not in FEEDBACK_VALUES:
            raise InvalidInput("feedback is up or down")
        row = await self._own_question(question_id, customer)
        row.feedback = value
        row.feedback_at = self._now
        return _question_out(row)

    async def last_question(self, customer: CustomerOut) -> QuestionOut | None:
        """Return the customer's latest question."""
        query = (select(CustomerQuestion).where(CustomerQuestion.contact_id == customer.contact_id)
                 .order_by(CustomerQuestion.id.desc()).limit(1))
        row = await self._session.scalar(query)
        return _question_out(row) if row else None

    async def recent_questions(self, customer: CustomerOut, *, limit: int = 5) -> list[str]:
        """Return the texts of the customer's latest questions, newest first."""
        query = (select(CustomerQuestion.question).where(CustomerQuestion.contact_id == customer.contact_id)
                 .order_by(CustomerQuestion.id.desc()).limit(limit))
        return list(await self._session.scalars(query))

    async def recent_conversation(self, customer: CustomerOut, *, questions: int = 3) -> list[TicketMessageOut]:
        """Return the customer's latest questions and the bot's answers, oldest first."""
        query = (select(CustomerQuestion).where(CustomerQuestion.contact_id == customer.contact_id)
                 .order_by(CustomerQuestion.id.desc()).limit(questions))
        lines: list[TicketMessageOut] = []
        for row in reversed(list(await self._session.scalars(query))):
            lines.append(TicketMessageOut(author="customer", name=None, text=row.question, at=row.asked_at))
            if row.answer:  # empty while the reply to it is still being decided (a hand-off in progress)
                lines.append(TicketMessageOut(author="bot", name=None, text=row.answer, at=row.asked_at))
        return lines

    async def answered_off_ticket(self, customer: CustomerOut, *, since: datetime, before: int,
                                  limit: int = 20) -> list[str]:
        """Return the texts of the customer's questions the bot answered since `since`, before question `before`,
        with no ticket open (newest first): those a call-back may have been offered under."""
        query = (select(CustomerQuestion.question)
                 .where(CustomerQuestion.contact_id == customer.contact_id, CustomerQuestion.id < before,
                        CustomerQuestion.asked_at >= since, CustomerQuestion.handoff.is_(False),
                        CustomerQuestion.ticket_id.is_(None))
                 .order_by(CustomerQuestion.id.desc()).limit(limit))
        return list(await self._session.scalars(query))

    async def questions_since_close(self, customer: CustomerOut, *, limit: int = 20) -> list[str]:
        """Return the texts of the customer's questions since her latest ticket was closed (every one when none
        was), newest first: her current conversation, not the ones a person has already closed."""
        query = (select(CustomerQuestion.question).where(CustomerQuestion.contact_id == customer.contact_id)
                 .order_by(CustomerQuestion.id.desc()).limit(limit))
        closed = await self._session.scalar(
            select(Ticket).where(Ticket.contact_id == customer.contact_id, Ticket.closed_at.is_not(None))
            .order_by(Ticket.closed_at.desc(), Ticket.id.desc()).limit(1))
        if closed is not None and closed.closed_at is not None:
            # Asked after it closed; the question ids on it settle a clock that has not moved since (one instant).
            on_it = await self._session.scalar(select(func.max(CustomerQuestion.id))
                                               .where(CustomerQuestion.ticket_id == closed.id))
            query = query.where(CustomerQuestion.asked_at >= closed.closed_at, CustomerQuestion.id > (on_it or 0))
        return list(await self._session.scalars(query))

    # --- tickets ----------------------------------------------------------------------------------------

    async def open_ticket_of(self, customer: CustomerOut) -> TicketOut | None:
        """Return the customer's open ticket, if any."""
        row = await self._open_row(customer.contact_id)
        return ticket_out(row) if row else None

    async def _open_row(self, contact_id: int) -> Ticket | None:
        query = (_tickets()
                 .where(Ticket.contact_id == contact_id, Ticket.status == "open").order_by(Ticket.id.desc()))
        return (await self._session.scalars(query)).first()

    async def open_ticket(self, customer: CustomerOut, *, reason: str, language: str,
                          transcript: Sequence[TicketMessageOut], assignee: UserOut | None,
                          question_id: int | None = None) -> tuple[TicketOut, bool]:
        """Open a ticket with the conversation so far; return it and whether it is new (one open per customer)."""
        # The contact's row is locked first (PostgreSQL; SQLite has one writer anyway): a second process handing
        # the same customer off at once waits here, then finds this ticket instead of opening another. NO KEY
        # UPDATE: the key-share lock their question's foreign key took must not deadlock two hand-offs.
        await self._session.execute(select(Contact.id).where(Contact.id == customer.contact_id)
                                    .with_for_update(key_share=True))
        existing = await self._open_row(customer.contact_id)
        if existing is not None:
            return ticket_out(existing), False
        # The bot's answers staff hear of later are those given on the ticket: every question before it is older.
        asked_before = await self._session.scalar(select(func.max(CustomerQuestion.id))
                                                  .where(CustomerQuestion.contact_id == customer.contact_id))
        ticket = Ticket(contact_id=customer.contact_id, channel=customer.channel, chat_id=customer.chat_id,
                        language=language, status="open", reason=reason,
                        assignee_id=assignee.id if assignee else None, opened_at=self._now,
                        answers_noticed_through=asked_before)
        self._session.add(ticket)
        await self._session.flush()
        for line in transcript:
            self._session.add(TicketMessage(ticket_id=ticket.id, author=line.author, text=line.text[:MAX_MESSAGE_CHARS],
                                            at=line.at))
        if question_id is not None:
            question = await self._session.get(CustomerQuestion, question_id)
            if question is not None and question.contact_id == customer.contact_id:
                question.ticket_id = ticket.id
        await self._session.flush()
        return ticket_out(await self._load(ticket.id)), True

    async def _load(self, ticket_id: int) -> Ticket:
        query = (_tickets()
                 .where(Ticket.id == ticket_id).execution_options(populate_existing=True))
        ticket = await self._session.scalar(query)
        if ticket is None:
            raise NotFound("no such ticket")
        return ticket

    async def get(self, ticket_id: int) -> TicketOut:
        """Return a ticket."""
        return ticket_out(await self._load(ticket_id))

    async def customer_wrote(self, ticket_id: int, customer: CustomerOut, text: str) -> TicketOut:
        """Add the customer's message to their open ticket."""
        ticket = await self._load(ticket_id)
        if ticket.contact_id != customer.contact_id:
            raise Forbidden("not this customer's ticket")
        self._session.add(TicketMessage(ticket_id=ticket.id, author="customer", text=text[:MAX_MESSAGE_CHARS],
                                        at=self._now))
        await self.note(customer, text, source="customer")
        return ticket_out(ticket)

    async def staff_reply(self, ticket_id: int, staff: UserOut, text: str) -> TicketOut:
        """Relay a staff member's answer; the first one to answer an unassigned ticket takes it."""
        text = text.strip()
        if not text:
            raise InvalidInput("the reply is empty", reason="empty_reply")
        ticket = await self._load(ticket_id)
        if ticket.status != "open":
            raise Conflict(f"ticket #{ticket_id} is closed", reason="ticket_closed", ticket=ticket_id)
        self._session.add(TicketMessage(ticket_id=ticket.id, author="staff", user_id=staff.id,
                                        text=text[:MAX_MESSAGE_CHARS], at=self._now))
        if ticket.first_response_at is None:
            ticket.first_response_at = self._now
        if ticket.assignee_id is None:
            ticket.assignee_id = staff.id
        if ticket.contact is not None:
            customer = customer_out(ticket.contact, ticket.channel, ticket.chat_id)
            await self.note(customer, text, source="support", owner_id=staff.id)
        await self._session.flush()
        return ticket_out(await self._load(ticket_id))

    async def close(self, ticket_id: int, staff: UserOut) -> TicketOut:
        """End a ticket; the customer is then asked for a 1-5 rating."""
        ticket = await self._load(ticket_id)
        if ticket.status != "open":
            raise Conflict(f"ticket #{ticket_id} is already closed", reason="ticket_closed", ticket=ticket_id)
        ticket.status, ticket.closed_at, ticket.closed_by_id = "closed", self._now, staff.id
        await self._audit.record(actor=staff.name, actor_id=staff.id, action="ticket.close", entity="ticket",
                                 entity_id=ticket.id)
        return ticket_out(ticket)

    async def rate_ticket(self, ticket_id: int, customer: CustomerOut, score: int) -> TicketOut:
        """Record the customer's 1-5 satisfaction with a closed ticket; the latest press counts."""
        if not 1 <= score <= 5:
            raise InvalidInput("a rating is 1 to 5", reason="rating")
        ticket = await self._load(ticket_id)
        if ticket.contact_id != customer.contact_id:
            raise NotFound("no such ticket")
        if ticket.status != "closed":
            raise Conflict("the ticket is still open", reason="ticket_open", ticket=ticket_id)
        ticket.csat, ticket.csat_at = score, self._now
        return ticket_out(ticket)

    async def rating_pending(self, customer: CustomerOut, *, since: datetime) -> TicketOut | None:
        """Return the customer's ticket closed after `since` whose rating is still to come, unless they have asked
        the bot something since it closed (then the conversation has moved on)."""
        query = _tickets().where(Ticket.contact_id == customer.contact_id).order_by(Ticket.id.desc()).limit(1)
        ticket = await self._session.scalar(query)
        if ticket is None or ticket.status != "closed" or ticket.csat is not None or ticket.closed_at is None \
                or ticket.closed_at < since:
            return None
        asked_since = await self._session.scalar(
            select(func.count()).where(CustomerQuestion.contact_id == customer.contact_id,
                                       CustomerQuestion.asked_at > ticket.closed_at))
        return None if asked_since else ticket_out(ticket)

    async def closed_since(self, customer: CustomerOut, *, since: datetime) -> TicketOut | None:
        """Return the customer's latest ticket if it is closed and was closed after `since` (rated or not)."""
        query = _tickets().where(Ticket.contact_id == customer.contact_id).order_by(Ticket.id.desc()).limit(1)
        ticket = await self._session.scalar(query)
        if ticket is None or ticket.status != "closed" or ticket.closed_at is None or ticket.closed_at < since:
            return None
        return ticket_out(ticket)

    async def transcript(self, ticket_id: int, *, limit: int = 12) -> list[TicketMessageOut]:
        """Return the ticket's latest messages, oldest first."""
        query = (select(TicketMessage, User.name).outerjoin(User, User.id == TicketMessage.user_id)
                 .where(TicketMessage.ticket_id == ticket_id).order_by(TicketMessage.id.desc()).limit(limit))
        rows = (await self._session.execute(query)).all()
        return [_message_out(m, name) for m, name in reversed(rows)]

    async def ticket_opening(self, ticket_id: int, *, limit: int = OPENING_LINES) -> list[TicketMessageOut]:
        """Return the messages that opened the ticket, oldest first: the conversation copied onto it, through the
        customer's message that handed her off and the bot's reply to it, then her further words to the person
        before anything else was said (a "cho e gặp chị Lan" right after a complaint). Why the ticket exists,
        whatever was said on it since."""
        query = (select(TicketMessage, User.name).outerjoin(User, User.id == TicketMessage.user_id)
                 .where(TicketMessage.ticket_id == ticket_id).order_by(TicketMessage.id).limit(limit))
        head = [_message_out(m, name) for m, name in (await self._session.execute(query)).all()]
        opened_by = await self._session.scalar(select(CustomerQuestion.question)
                                               .where(CustomerQuestion.ticket_id == ticket_id)
                                               .order_by(CustomerQuestion.id).limit(1))
        customer = [i for i, line in enumerate(head) if line.author == "customer"]
        if not customer:
            return []
        end = next((i for i in customer if opened_by is not None and head[i].text == opened_by[:MAX_MESSAGE_CHARS]),
                   customer[0])
        if end + 1 < len(head) and head[end + 1].author == "bot":  # what she was told on the hand-off
            end += 1
        # Her words to the person right after: customer lines the bot did not answer (an answered one is a question).
        while end + 1 < len(head) and head[end + 1].author == "customer" \
                and not (end + 2 < len(head) and head[end + 2].author == "bot"):
            end += 1
        return head[: end + 1]

    async def tickets_of(self, contact_ids: Collection[int], *, limit: int = 5) -> list[TicketOut]:
        """Return these people's tickets for their card: the open ones first, then the latest closed ones."""
        if not contact_ids:
            return []
        query = (_tickets().where(Ticket.contact_id.in_(list(contact_ids)))
                 .order_by(case((Ticket.status == "open", 0), else_=1), Ticket.opened_at.desc(), Ticket.id.desc()))
        return [ticket_out(t) for t in await self._session.scalars(query.limit(limit))]

    async def latest_rated(self, contact_ids: Collection[int]) -> TicketOut | None:
        """Return the ticket these people rated last (their latest satisfaction score), if any."""
        if not contact_ids:
            return None
        query = (_tickets().where(Ticket.contact_id.in_(list(contact_ids)), Ticket.csat.is_not(None))
                 .order_by(Ticket.csat_at.desc(), Ticket.id.desc()))
        row = await self._session.scalar(query.limit(1))
        return ticket_out(row) if row else None

    async def open_tickets(self) -> list[TicketOut]:
        """Return open tickets, oldest first."""
        query = (_tickets()
                 .where(Ticket.status == "open").order_by(Ticket.opened_at, Ticket.id))
        return [ticket_out(t) for t in await self._session.scalars(query)]

    async def claim_escalations(self, deadline: Callable[[datetime], datetime], *, channel: str) -> list[TicketOut]:
        """Claim a channel's open tickets nobody answered by their deadline (counted from opening), each by one
        scheduler only; return them (see `repositories.claims`)."""
        unanswered = (Ticket.status == "open", Ticket.first_response_at.is_(None), Ticket.escalated_at.is_(None))
        query = select(Ticket.id, Ticket.opened_at).where(*unanswered, Ticket.channel == channel)
        if skips_locked_rows(self._session):
            query = query.with_for_update(skip_locked=True)
        due = [ticket_id for ticket_id, opened_at in await self._session.execute(query)
               if deadline(opened_at) <= self._now]
        ours = [ticket_id for ticket_id in due if await claimed(
            self._session, update(Ticket).where(Ticket.id == ticket_id, *unanswered).values(escalated_at=self._now))]
        if not ours:
            return []
        rows = await self._session.scalars(_tickets().where(Ticket.id.in_(ours)).order_by(Ticket.id)
                                           .execution_options(populate_existing=True))
        return [ticket_out(t) for t in rows]

    async def hold_notice(self, ticket_id: int, *, due: datetime | None) -> None:
        """Note when the ticket's held-back customer messages are due to be announced; None: none are waiting
        (a notice just carried them)."""
        await self._session.execute(update(Ticket).where(Ticket.id == ticket_id).values(notice_due_at=due)
                                    .execution_options(synchronize_session=False))

    async def claim_held_notices(self, *, channel: str) -> list[tuple[TicketOut, datetime | None]]:
        """Claim a channel's open tickets whose held-back messages are due, each by one scheduler only (see
        `repositories.claims`); return them with when the scheduler last announced such messages before."""
        waiting = (Ticket.status == "open", Ticket.notice_due_at.is_not(None), Ticket.notice_due_at <= self._now)
        query = select(Ticket.id, Ticket.notice_due_at, Ticket.held_announced_at).where(*waiting,
                                                                                      Ticket.channel == channel)
        if skips_locked_rows(self._session):
            query = query.with_for_update(skip_locked=True)
        due = list(await self._session.execute(query))
        ours: dict[int, datetime | None] = {}
        for ticket_id, due_at, announced_at in due:
            if await claimed(self._session, update(Ticket).where(Ticket.id == ticket_id, Ticket.notice_due_at == due_at)
                             .values(notice_due_at=None)):
                ours[ticket_id] = announced_at
        if not ours:
            return []
        rows = await self._session.scalars(_tickets().where(Ticket.id.in_(ours)).order_by(Ticket.id)
                                           .execution_options(populate_existing=True))
        return [(ticket_out(t), ours[t.id]) for t in rows]

    async def held_announced(self, ticket_id: int) -> None:
        """Note that the scheduler announced the ticket's held-back messages now."""
        await self._session.execute(update(Ticket).where(Ticket.id == ticket_id).values(held_announced_at=self._now)
                                    .execution_options(synchronize_session=False))

    async def held_announced_at(self, ticket_id: int) -> datetime | None:
        """When the scheduler last announced the ticket's held-back messages, if ever."""
        return await self._session.scalar(select(Ticket.held_announced_at).where(Ticket.id == ticket_id))

    async def answers_noticed_at(self, ticket_id: int) -> datetime | None:
        """When staff last heard of the bot's answers on the ticket, if ever."""
        return await self._session.scalar(select(Ticket.answers_noticed_at).where(Ticket.id == ticket_id))

    async def answers_to_announce(self, ticket_id: int) -> tuple[list[QuestionOut], int | None]:
        """Return the questions the bot answered on the ticket that staff have not heard of, oldest first, and the
        last question staff heard of (what `answers_announced` checks nobody announced meanwhile)."""
        through = await self._session.scalar(select(Ticket.answers_noticed_through).where(Ticket.id == ticket_id))
        query = select(CustomerQuestion).where(CustomerQuestion.ticket_id == ticket_id,
                                               CustomerQuestion.handoff.is_(False), CustomerQuestion.answer != "")
        if through is not None:
            query = query.where(CustomerQuestion.id > through)
        return [_question_out(row) for row in await self._session.scalars(query.order_by(CustomerQuestion.id))], \
            through

    async def answers_announced(self, ticket_id: int, *, after: int | None, through: int) -> bool:
        """Note that staff hear now of the bot's answers after question `after` up to `through`; False when another
        process announced some meanwhile (then this one does not)."""
        unchanged = Ticket.answers_noticed_through.is_(None) if after is None \
            else Ticket.answers_noticed_through == after
        return await claimed(self._session, update(Ticket).where(Ticket.id == ticket_id, unchanged).values(
            answers_noticed_at=self._now, answers_noticed_through=through, answers_due_at=None))

    async def answers_wait(self, ticket_id: int, *, due: datetime) -> None:
        """Note when the bot's answers held back on the ticket are due to be announced (by the scheduler)."""
        await self._session.execute(update(Ticket).where(Ticket.id == ticket_id).values(answers_due_at=due)
                                    .execution_options(synchronize_session=False))

    async def claim_answer_notices(self, *, channel: str) -> list[TicketOut]:
        """Claim a channel's open tickets whose held-back bot answers are due, each by one scheduler only (see
        `repositories.claims`)."""
        waiting = (Ticket.status == "open", Ticket.answers_due_at.is_not(None), Ticket.answers_due_at <= self._now)
        query = select(Ticket.id, Ticket.answers_due_at).where(*waiting, Ticket.channel == channel)
        if skips_locked_rows(self._session):
            query = query.with_for_update(skip_locked=True)
        ours = [ticket_id for ticket_id, due_at in list(await self._session.execute(query))
                if await claimed(self._session, update(Ticket).where(Ticket.id == ticket_id,
                                                                     Ticket.answers_due_at == due_at)
                                 .values(answers_due_at=None))]
        if not ours:
            return []
        rows = await self._session.scalars(_tickets().where(Ticket.id.in_(ours)).order_by(Ticket.id)
                                           .execution_options(populate_existing=True))
        return [ticket_out(t) for t in rows]

    async def faq_counts(self, start: datetime, end: datetime) -> dict[str, float | int | None]:
        """Count questions, answers, hand-offs and the mean CSAT between `start` and `end`."""
        in_range = (CustomerQuestion.asked_at >= start, CustomerQuestion.asked_at < end)
        total = await self._session.scalar(select(func.count()).where(*in_range)) or 0
        handoffs = await self._session.scalar(
            select(func.count()).where(*in_range, CustomerQuestion.handoff.is_(True))) or 0
        csat = await self._session.scalar(select(func.avg(Ticket.csat)).where(
            Ticket.csat_at >= start, Ticket.csat_at < end, Ticket.csat.is_not(None)))
        return {"questions": total, "answered": total - handoffs, "handoffs": handoffs,
                "csat": round(float(csat), 2) if csat is not None else None}


def _tickets() -> Select[Ticket]:
    """Select tickets with the customer and assignee loaded (what `ticket_out` reads)."""
    return select(Ticket).options(selectinload(Ticket.contact), selectinload(Ticket.assignee))


def _message_out(message: TicketMessage, name: str | None) -> TicketMessageOut:
    return TicketMessageOut(author=message.author, name=name, text=message.text, at=message.at, id=message.id)


def _question_out(row: CustomerQuestion) -> QuestionOut:
    return QuestionOut(id=row.id, contact_id=row.contact_id, question=row.question, answer=row.answer,
                       handoff=row.handoff,
                       feedback=row.feedback, ticket_id=row.ticket_id)
