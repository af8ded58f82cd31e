"""Customer support as use cases: answer from the knowledge base or hand off, relay, rate, leads, privacy.

The hand-off policy lives here: who is assigned a ticket (the person who already looks after
the customer, a keyword rule, round-robin), who hears about it (a support group, the assignee,
else managers), and what the customer is told (the ticket number and when someone will answer).
A customer never reaches CRM data: answers come from the knowledge base, and staff words reach
them only through their ticket.

Slow work (the knowledge search) runs after the reads and before any write, outside the write
transaction; the question, the ticket and the notices are written afterwards in one short go.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field
from sqlalchemy import event
from sqlalchemy.orm import Session

from crm_core.config import Settings
from crm_core.errors import NotFound
from crm_core.flows.notices import (
    CustomerNotice,
    DealNotice,
    ErasureRequestNotice,
    LeadNotice,
    Notice,
    Recipient,
    TicketNotice,
    chat_recipient,
    reachable,
    staff_recipient,
)
from crm_core.hours import WorkingHours
from crm_core.models import Interaction
from crm_core.policy import can_answer_ticket, hears_erasure_requests, hears_escalations
from crm_core.ports import HistoryPort, Ports
from crm_core.schemas import (
    CustomerData,
    CustomerOut,
    ErasurePreview,
    ErasureResult,
    InteractionOut,
    LeadOut,
    PrivacyRequestOut,
    QuestionOut,
    TicketMessageOut,
    TicketOut,
    UserOut,
)
from crm_core.services import Services
from crm_core.services.purging import purge_after_commit, when_committed
from crm_core.understanding.conversation import (
    TypedRating,
    addresses_the_person,
    chases_the_person,
    names_after_honorifics,
    read_rating,
    speaks_to_the_person,
)
from crm_core.understanding.customer_intent import (
    SmallTalkKind,
    asks_about_buying,
    asks_call_back,
    asks_price_of_nothing,
    decided_language,
    is_small_talk,
    small_talk_kind,
    speaks_of_data_rights,
)
from crm_core.uow import ReadPhase

if TYPE_CHECKING:
    from crm_core.retrieval.models import Answer

log = logging.getLogger(__name__)
ASK_HITS = 3
# A customer's further messages reach staff at most once a minute per ticket; the rest ride along with the next,
# or the scheduler announces them once the minute has passed (`SupportFlow.held_messages`).
TICKET_NOTICE_EVERY = timedelta(minutes=1)
TICKET_NOTICE_LOOKBACK = 40  # the ticket's latest messages replayed to find the last announced one
# Questions the bot answers on an open ticket reach its assignee at most once this often per ticket; the answers
# given meanwhile ride along with the next, or the scheduler announces them once the time has passed.
ANSWERS_NOTICE_EVERY = timedelta(minutes=5)
# A customer is offered a call-back (share your phone) once a conversation: not again within this long.
CALL_BACK_OFFER_EVERY = timedelta(hours=24)
# The customer's latest questions looked at for the language of a message whose letters do not decide it ("5").
LANGUAGE_LOOKBACK = 5
# A closed ticket waits this long for the customer's rating; a typed "4" later is read as a message again.
RATING_PENDING_FOR = timedelta(hours=24)
# A rating at or below this is passed on to whoever handled the ticket even with no reason typed beside it.
LOW_RATING = 2
# Reasons the bot declines itself (no ticket; a "talk to a person" button): a person would not answer better.
DECLINE_REASONS = frozenset({"unsafe", "out_of_scope"})
# Knowledge searches get threads of their own: a store that hangs holds these few, never the default pool that
# every other threaded call shares (staff /ask, files); further customers wait their turn up to the timeout.
KNOWLEDGE_THREADS = 4
_KNOWLEDGE_POOL = ThreadPoolExecutor(max_workers=KNOWLEDGE_THREADS, thread_name_prefix="knowledge")  # started lazily
# A knowledge base's first search in a process loads its models and indexes (about 16 s on a small, busy machine):
# that is no hang, so until it has answered once it is given at least this long (a console customer's first
# question, the demo). Knowledge bases that have answered, weakly held.
KNOWLEDGE_COLD_START_S = 90.0
_answered_once: weakref.WeakSet[object] = weakref.WeakSet()


class ChatPerson(BaseModel):
    """Someone writing from a chat: the channel, their id there, and the name the chat shows."""

    channel: str
    user_id: str
    name: str | None = None


class Relayed(BaseModel):
    """The customer's message went to their open ticket."""

    ticket_id: int
    notices: list[Notice] = Field(default_factory=list)


class SmallTalk(BaseModel):
    """Thanks, a greeting, an ok or laughter: a short reply in kind, no search, no ticket. `after_ticket`: thanks for
    a ticket just closed (acknowledged, not relayed), with its rating still to give."""

    kind: SmallTalkKind = "ack"
    after_ticket: int | None = None
    language: str | None = None


class WhichProduct(BaseModel):
    """A price asked without naming the product ("giá?"): the customer is asked which one, nothing is searched."""

    language: str


class TicketRated(BaseModel):
    """The customer typed their rating of the ticket just closed ("4", "5 sao", "tốt lắm"); with a reason beside it
    ("4 sao vì giao chậm") whoever handled the ticket hears of it (`notices`)."""

    ticket: TicketOut
    notices: list[Notice] = Field(default_factory=list)
    passed_on: bool = False  # a low rating someone was told of: the customer hears so, not a cheerful thanks


@dataclass(frozen=True)
class Answered:
    """The knowledge base answered; the customer may rate it or ask for a person.

    A dataclass, not a pydantic model: the answer's type lives in the retrieval package, which is
    heavy to import and optional, so it is named for the type checker only.
    """

    question_id: int
    answer: Answer
    offer_phone: bool
    ticket_id: int | None = None  # answered while this ticket is open (the answer is copied to it)
    # The answer tells of the customer's personal data: /privacy does it in this chat, whatever the document says.
    offer_privacy: bool = False
    notices: list[Notice] = field(default_factory=list)  # its assignee hears of it (`SupportFlow._answers_notices`)


class Declined(BaseModel):
    """The bot will not answer this (injection, other people's data, a subject the business does not cover);
    a person can still be asked."""

    question_id: int
    language: str
    reason: str = "unsafe"


class HandedOff(BaseModel):
    """A person takes over: the ticket, whether it is new, and when someone answers."""

    ticket: TicketOut
    new: bool
    reason: str
    language: str
    open_now: bool
    opens_at: datetime | None
    answer_within_minutes: int
    told: bool = True  # someone who could answer was told; False: no staff reached, no promise to the customer
    notices: list[Notice] = Field(default_factory=list)


class AnswerRated(BaseModel):
    """👍 or 👎 recorded."""

    question_id: int
    value: str


class LeadTaken(BaseModel):
    """The shared phone became a lead (or updated the existing one)."""

    lead: LeadOut
    told: bool = True  # someone who could call back was told (False: no staff reached, no promise)
    notices: list[Notice] = Field(default_factory=list)


class NotYourTicket(BaseModel):
    """A salesperson tried to answer or close a colleague's ticket."""

    ticket: TicketOut


class StaffAnswered(BaseModel):
    """A staff answer or a closing went to the customer."""

    ticket: TicketOut
    notices: list[Notice] = Field(default_factory=list)


class ErasureRequested(BaseModel):
    """A customer's erasure request was filed (or was pending already)."""

    request: PrivacyRequestOut
    new: bool
    notices: list[Notice] = Field(default_factory=list)


class ErasureDecided(BaseModel):
    """An admin's decision, what was erased, and the customer's notice."""

    request: PrivacyRequestOut
    approved: bool
    interactions: int
    tasks: int = 0
    deals: int = 0
    open_deals: int = 0
    tickets: int = 0
    messages: int
    questions: int
    notices: list[Notice] = Field(default_factory=list)


class HistoryFound(BaseModel):
    """Past interactions closest to a staff question, with the company it was scoped to."""

    company: str | None
    interactions: list[InteractionOut]


CustomerTextResult = Relayed | SmallTalk | WhichProduct | TicketRated | Answered | Declined | HandedOff


def _has_answered(knowledge: object) -> bool:
    """Tell whether this knowledge base has answered in this process (it is loaded)."""
    try:
        return knowledge in _answered_once
    except TypeError:  # unhashable: never known to have answered
        return False


def held_back(earlier: list[TicketMessageOut], *, now: datetime,
              announced_at: datetime | None = None) -> list[TicketMessageOut] | None:
    """Return the customer messages a notice sent `now` carries besides the new one, or None: no notice yet.

    The rule, replayed over the ticket's latest messages: a customer's message is announced unless one was
    announced less than a minute before it; a staff or bot message in between starts afresh (a customer
    answering a person is heard at once). Messages not announced stay on the ticket and ride along with the
    next notice, or the scheduler announces them once their minute has passed (`announced_at`: when it last
    did, which counts as an announcement then).
    """
    last, waiting = _replay(earlier, announced_at)
    if last is not None and now - last < TICKET_NOTICE_EVERY:
        return None
    return waiting


def notice_due(earlier: list[TicketMessageOut], *, announced_at: datetime | None = None) -> datetime | None:
    """When a message held back now (`held_back` said None) is to be announced: a minute after the last notice."""
    last, _waiting = _replay(earlier, announced_at)
    return None if last is None else last + TICKET_NOTICE_EVERY


def _replay(earlier: list[TicketMessageOut],
            announced_at: datetime | None) -> tuple[datetime | None, list[TicketMessageOut]]:
    """The time of the last announced customer message (None after a staff or bot one) and those waiting since."""
    last: datetime | None = None
    waiting: list[TicketMessageOut] = []
    pending = announced_at
    for line in earlier:
        if pending is not None and line.at > pending:  # the scheduler announced what was waiting then
            last, waiting, pending = pending, [], None
        if line.author != "customer":
            last = None
        elif last is None or line.at - last >= TICKET_NOTICE_EVERY:
            last, waiting = line.at, []
        else:
            waiting.append(line)
    if pending is not None:
        last, waiting = pending, []
    return last, waiting


@dataclass
class SupportFlow:
    """Use cases of customer support over one unit of work."""

    services: Services
    ports: Ports
    tx: ReadPhase
    settings: Settings

    # --- customers -------------------------------------------------------------------------------------

    async def customer_wrote(self, person: ChatPerson, text: str, *, language: str,
                             wording: Callable[[CustomerTextResult], str]) -> CustomerTextResult:
        """Answer from the knowledge base, relay to the customer's open ticket, greet back, or take a rating.

        Small talk (thanks, ok, greetings, laughter) is acknowledged before anything is screened or searched. While
        a ticket is open, words aimed at the person go to them; anything else the knowledge base answers (at its
        usual confidence) is answered and copied to the ticket. Right after a ticket is closed, a typed 1-5 is its
        rating and thanks are acknowledged. A message whose letters do not decide its language ("5", "ok") is
        answered in the customer's known one (`language`: their choice, their chat's, else the business's).
        `wording(result)` is what the customer reads; it is kept with the question so staff see the conversation
        as the customer saw it.
        """
        known = await self.services.support.find_customer(person.channel, person.user_id)
        decided = decided_language(text)
        language = decided or (await self._known_language(known) if known else None) or language
        ticket = await self.services.support.open_ticket_of(known) if known else None
        if known is not None and ticket is None:
            after_close = await self._after_close(known, text, language=language)
            if after_close is not None:
                return after_close
        chatter = small_talk_kind(text)
        if known is not None and ticket is not None:
            if chatter is not None or addresses_the_person(text) or chases_the_person(text) \
                    or speaks_to_the_person(text):
                return await self._relay(known, ticket, text)
            await self.tx.end_reads()  # the knowledge search may take a while: hold no lock meanwhile
            answer = await self._ask_knowledge(text, language=None if decided else language)
            if answer is None or answer.handoff:
                return await self._relay(known, ticket, text)
            return await self._answered(known, text, answer, language=language, wording=wording, ticket=ticket)
        if chatter is not None:
            await self.identify(person)
            return SmallTalk(kind=chatter, language=language)
        if asks_price_of_nothing(text):
            await self.identify(person)
            return WhichProduct(language=language)
        if asks_call_back(text):  # "sdt e 09… gọi lại giúp e": for a person to call, not for the knowledge base
            return await self._handed_unanswered(await self.identify(person), text, "asked_for_human",
                                                 language=language, wording=wording)
        await self.tx.end_reads()  # the knowledge search may take a while: hold no lock meanwhile
        answer = await self._ask_knowledge(text, language=None if decided else language)
        customer = await self.identify(person)
        return await self._answered(customer, text, answer, language=language, wording=wording)

    async def written_language(self, channel: str, user_id: str) -> str | None:
        """The language a chat user last wrote a question in (letters that decide it), None before any: what the
        bot's own words to them (a greeting, a ticket's acknowledgement) are said in, over their app's language."""
        known = await self.services.support.find_customer(channel, user_id)
        return await self._known_language(known) if known else None

    async def _known_language(self, customer: CustomerOut) -> str | None:
        """The language of the customer's latest question whose letters decide it, if any."""
        for question in await self.services.support.recent_questions(customer, limit=LANGUAGE_LOOKBACK):
            decided = decided_language(question)
            if decided is not None:
                return decided
        return None

    async def _relay(self, customer: CustomerOut, ticket: TicketOut, text: str) -> Relayed:
        """Put the customer's message on their open ticket; staff hear of it (at most once a minute)."""
        earlier = await self.services.support.transcript(ticket.id, limit=TICKET_NOTICE_LOOKBACK)
        await self.services.support.customer_wrote(ticket.id, customer, text)
        held = await self._held_back(ticket.id, earlier)
        notices = [] if held is None else await self._ticket_notices(ticket, "message", text=text, transcript=held)
        return Relayed(ticket_id=ticket.id, notices=notices)

    async def _held_back(self, ticket_id: int, earlier: list[TicketMessageOut]) -> list[TicketMessageOut] | None:
        """`held_back` for a message just put on the ticket; one held back is noted as due for the scheduler."""
        support = self.services.support
        announced_at = await support.held_announced_at(ticket_id)
        held = held_back(earlier, now=self.services.now, announced_at=announced_at)
        await support.hold_notice(ticket_id, due=notice_due(earlier, announced_at=announced_at)
                                  if held is None else None)
        return held

    async def _after_close(self, customer: CustomerOut, text: str, *, language: str) -> TicketRated | SmallTalk | None:
        """A typed rating or thanks for the ticket just closed (its rating pending); None for anything else."""
        since = self.services.now - RATING_PENDING_FOR
        pending = await self.services.support.rating_pending(customer, since=since)
        rating = read_rating(text)
        if pending is None:
            # Written as a rating ('3 sao thôi', '⭐⭐', 'thôi 2 sao vì phải chờ lâu'), it rates the ticket closed in
            # the last day even after other words since the close, or changes the rating it was given.
            # Only a score alone or with a reason ('vì', 'nhưng'): the words beside a later '5 sao' may be anything.
            written = rating is not None and rating.explicit and (rating.remark is None or rating.reasoned)
            closed = await self.services.support.closed_since(customer, since=since) if written else None
            if rating is None or closed is None:
                return None
            return await self._typed_rating(customer, closed, rating)
        if rating is not None:
            return await self._typed_rating(customer, pending, rating)
        if is_small_talk(text):
            return SmallTalk(kind="thanks", after_ticket=pending.id, language=pending.language)
        return None

    async def _typed_rating(self, customer: CustomerOut, closed: TicketOut, rating: TypedRating) -> TicketRated:
        support = self.services.support
        if closed.csat == rating.score and (rating.remark is None or [
                m.text for m in await support.transcript(closed.id, limit=1)] == [rating.remark]):
            return TicketRated(ticket=closed)  # the same again: nothing new to keep or tell
        ticket = await support.rate_ticket(closed.id, customer, rating.score)
        if rating.remark is not None:
            # The reason beside the score is kept on the ticket and read by whoever handled it: a complaint
            # ('4 sao vì giao chậm') must not vanish into a number.
            await support.customer_wrote(ticket.id, customer, rating.remark)
        before = closed.csat if closed.csat is not None and closed.csat != ticket.csat else None
        if before is not None and self._changed_in_a_row(closed, ticket):
            return TicketRated(ticket=ticket)  # kept; the handler hears of the score it settles on at a later change
        return await self._rated(ticket, remark=rating.remark, before=before)

    def _changed_in_a_row(self, earlier: TicketOut, ticket: TicketOut) -> bool:
        """Tell whether a rating changed within the minute of the last one (stars tapped or scores typed in a row):
        not a notice a change, but a fall to a low score is always told."""
        low, was_low = (ticket.csat or 0) <= LOW_RATING, (earlier.csat or 0) <= LOW_RATING
        return earlier.csat_at is not None and self.services.now - earlier.csat_at < TICKET_NOTICE_EVERY \
            and not (low and not was_low)

    async def identify(self, person: ChatPerson) -> CustomerOut:
        """Return the contact kept for a chat user, created on their first message."""
        return await self.services.support.identify(person.channel, person.user_id, person.name)

    async def _ask_knowledge(self, text: str, *, language: str | None = None) -> Answer | None:
        """The knowledge base's answer (in `language` when given), or None when it cannot be asked."""
        knowledge = self.ports.knowledge
        if knowledge is None:
            return None
        ask = functools.partial(knowledge.ask, text, language="vi" if language == "vi" else "en") \
            if language in ("vi", "en") else functools.partial(knowledge.ask, text)
        timeout = self.settings.kb_timeout_seconds
        if not _has_answered(knowledge):
            timeout = max(timeout, KNOWLEDGE_COLD_START_S)
        try:
            # Given up after the timeout (a search still queued is dropped); a hung one keeps only its own thread.
            answer = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(_KNOWLEDGE_POOL, ask),
                                            timeout)
        except TimeoutError:  # a store that hangs: the customer is handed to a person, as when it is down
            log.warning("the knowledge base did not answer within %.1f s", timeout)
            return None
        except Exception:  # Chroma down or its folder unreadable: a person answers instead
            log.warning("the knowledge base could not answer", exc_info=True)
            return None
        with contextlib.suppress(TypeError):  # a port that cannot be weakly held keeps the cold-start allowance
            _answered_once.add(knowledge)
        return answer

    async def _handed_unanswered(self, customer: CustomerOut, text: str, reason: str, *, language: str,
                                 wording: Callable[[CustomerTextResult], str]) -> HandedOff:
        """Hand a question the knowledge base is not asked (or cannot answer) to a person, kept with what she read."""
        question = await self.services.support.record_question(customer, question=text, answer="", handoff=True,
                                                               reason=reason, confidence=0.0, source=None)
        result = await self._hand_off(customer, question, reason, language)
        await self._said_on_hand_off(customer, question.id, result, wording(result))
        return result

    async def _answered(self, customer: CustomerOut, text: str, answer: Answer | None, *, language: str,
                        wording: Callable[[CustomerTextResult], str],
                        ticket: TicketOut | None = None) -> Answered | Declined | HandedOff:
        support = self.services.support
        result: Answered | Declined | HandedOff
        if answer is None:
            return await self._handed_unanswered(customer, text, "kb_unavailable", language=language,
                                                 wording=wording)
        top = (answer.sources[0].doc, answer.sources[0].section) if answer.sources else None
        question = await support.record_question(customer, question=text, answer="",
                                                 handoff=answer.handoff, reason=answer.reason,
                                                 confidence=answer.confidence, source=None if answer.handoff else top,
                                                 prompt=answer.prompt)
        if answer.handoff and answer.reason in DECLINE_REASONS:
            result = Declined(question_id=question.id, language=answer.language, reason=answer.reason or "unsafe")
        elif answer.handoff:
            result = await self._hand_off(customer, question, answer.reason or "low_confidence", answer.language)
            await self._said_on_hand_off(customer, question.id, result, wording(result))
            return result
        else:
            offer = ticket is None and customer.phone is None and asks_about_buying(text) \
                and not await self._offered_call_back(customer, question.id)
            result = Answered(question_id=question.id, answer=answer, offer_phone=offer,
                              ticket_id=ticket.id if ticket else None,
                              offer_privacy=speaks_of_data_rights(answer.body or ""))
        await support.said(customer, question.id, wording(result), ticket_id=ticket.id if ticket else None)
        if ticket is not None and isinstance(result, Answered):
            result = replace(result, notices=await self._answers_notices(ticket))
        return result

    async def _offered_call_back(self, customer: CustomerOut, question_id: int) -> bool:
        """Tell whether the customer was offered a call-back in this conversation (an answer to a buying question,
        no ticket open, within `CALL_BACK_OFFER_EVERY`): she is offered one once, not under every price."""
        earlier = await self.services.support.answered_off_ticket(
            customer, since=self.services.now - CALL_BACK_OFFER_EVERY, before=question_id)
        return any(asks_about_buying(question) for question in earlier)

    async def _answers_notices(self, ticket: TicketOut) -> list[Notice]:
        """Tell the ticket's assignee what the bot answered on it, at most once every few minutes; an answer held
        back rides along with the next notice, or the scheduler announces it once the time has passed."""
        support = self.services.support
        last = await support.answers_noticed_at(ticket.id)
        if last is not None and self.services.now - last < ANSWERS_NOTICE_EVERY:
            await support.answers_wait(ticket.id, due=last + ANSWERS_NOTICE_EVERY)
            return []
        return await self._announce_answers(ticket)

    async def _announce_answers(self, ticket: TicketOut) -> list[Notice]:
        """One notice per reader with every answer on the ticket they have not heard of; none without a reader (the
        answers wait for whoever takes the ticket)."""
        audience = await self._answers_audience(ticket)
        if not audience:
            return []
        support = self.services.support
        answers, after = await support.answers_to_announce(ticket.id)
        if not answers or not await support.answers_announced(ticket.id, after=after, through=answers[-1].id):
            return []
        opening = await support.ticket_opening(ticket.id)
        return [TicketNotice(kind="answered", to=to, ticket=ticket, answers=answers, opening=opening)
                for to in audience]

    async def _answers_audience(self, ticket: TicketOut) -> list[Recipient]:
        """Who hears of the bot's answers on a ticket: the support group when there is one, else its active
        assignee; never the managers an unassigned ticket falls back to (the bot answered: nothing waits on them)."""
        group = self.settings.support_chat_id
        if group and ticket.channel == self.settings.support_chat_channel:
            return [chat_recipient(ticket.channel, group, self.settings.language)]
        if ticket.assignee_id is None:
            return []
        assignee = await self.services.users.get(ticket.assignee_id)
        return [staff_recipient(assignee, ticket.channel)] if assignee.active else []

    async def _said_on_hand_off(self, customer: CustomerOut, question_id: int, result: HandedOff, text: str) -> None:
        """Keep what the customer was told; their ticket (which has the question already) gets it as the bot's line."""
        await self.services.support.said(customer, question_id, text, ticket_id=result.ticket.id,
                                         with_question=False)

    async def rate_answer(self, person: ChatPerson, question_id: int, value: str) -> AnswerRated:
        """Record 👍/👎 on an answer of this customer's; the latest press counts."""
        customer = await self.identify(person)
        question = await self.services.support.rate_answer(question_id, customer, value)
        return AnswerRated(question_id=question.id, value=value)

    async def ask_for_person(self, person: ChatPerson, question_id: int, *, language: str) -> HandedOff:
        """"Talk to a person" under an answer: open (or reuse) the customer's ticket."""
        customer = await self.identify(person)
        question = await self.services.support.question(question_id, customer)
        reason = "answer_down" if question.feedback == "down" else "asked_for_human"
        return await self._hand_off(customer, question, reason, language)

    async def rate_ticket(self, person: ChatPerson, ticket_id: int, score: int) -> TicketRated:
        """Record the customer's 1-5 rating of their closed ticket (a star button; the latest press counts)."""
        customer = await self.identify(person)
        earlier = await self.services.support.get(ticket_id)
        now = self.services.now
        if earlier.csat is not None and earlier.closed_at is not None and now - earlier.closed_at > RATING_PENDING_FOR:
            if earlier.contact_id != customer.contact_id:
                raise NotFound("no such ticket")  # as rating someone else's ticket says
            return TicketRated(ticket=earlier)  # a rating is settled a day after the close: old stars change nothing
        ticket = await self.services.support.rate_ticket(ticket_id, customer, score)
        if earlier.csat == ticket.csat:
            return TicketRated(ticket=ticket)  # pressed again: nothing new to tell
        if earlier.csat is not None and self._changed_in_a_row(earlier, ticket):
            return TicketRated(ticket=ticket)
        return await self._rated(ticket, remark=None, before=earlier.csat)

    async def _rated(self, ticket: TicketOut, *, remark: str | None, before: int | None) -> TicketRated:
        """Whoever handled the ticket hears of a rating with a reason, a low one (the customer is told so), or a
        rating changed (a star button pressed after a typed score): none of those stays unseen."""
        low = ticket.csat is not None and ticket.csat <= LOW_RATING
        if remark is None and not low and before is None:
            return TicketRated(ticket=ticket)
        notices: list[Notice] = [TicketNotice(kind="rated", to=to, ticket=ticket, text=remark, before=before)
                                 for to in await self.ticket_audience(ticket)]
        return TicketRated(ticket=ticket, notices=notices, passed_on=low and bool(notices))

    async def _hand_off(self, customer: CustomerOut, question: QuestionOut | None, reason: str,
                        language: str) -> HandedOff:
        support = self.services.support
        transcript = await support.recent_conversation(customer)
        ticket, new = await support.open_ticket(customer, reason=reason, language=language, transcript=transcript,
                                                assignee=await self._assignee(customer, question, transcript,
                                                                              language),
                                                question_id=question.id if question else None)
        hours = self.working_hours()
        now = self.services.now
        open_now = hours.is_open(now)
        audience = await self.ticket_audience(ticket)
        notices: list[Notice]
        if new:
            transcript = await support.transcript(ticket.id)
            opening = await support.ticket_opening(ticket.id)
            notices = [TicketNotice(kind="new", to=to, ticket=ticket, transcript=transcript, opening=opening)
                       for to in audience]
        else:
            notices = await self._onto_open_ticket(customer, ticket, question) if question else []
        return HandedOff(ticket=ticket, new=new, reason=reason, language=language, open_now=open_now,
                         opens_at=None if open_now else hours.next_opening(now),
                         answer_within_minutes=self.settings.escalate_after_minutes,
                         told=any(reachable(to) for to in audience), notices=notices)

    async def _onto_open_ticket(self, customer: CustomerOut, ticket: TicketOut, question: QuestionOut) -> list[Notice]:
        """Put the message that asked for a person on the customer's ticket found open (another of their messages
        opened it a moment before, maybe in another process); staff hear of it as of any message on the ticket.

        A question already on this ticket (a "talk to a person" pressed under an answer copied to it) is not
        added again.
        """
        if question.ticket_id == ticket.id:
            return []
        support = self.services.support
        earlier = await support.transcript(ticket.id, limit=TICKET_NOTICE_LOOKBACK)
        await support.put_on_ticket(ticket.id, customer, question.id)
        held = await self._held_back(ticket.id, earlier)
        return [] if held is None else await self._ticket_notices(ticket, "message", text=question.question,
                                                                  transcript=held)

    async def _assignee(self, customer: CustomerOut, question: QuestionOut | None,
                        transcript: list[TicketMessageOut], language: str) -> UserOut | None:
        """The active colleague the customer asks for by name ("cho gặp chị Lan") in her current conversation, else
        the person who already looks after her (`AssignmentService.keeper`: the contact's owner or her latest
        ticket's assignee, active and speaking her language), else a keyword rule, else the next salesperson in turn
        (one who speaks the customer's language when there is one).

        A name counts in the message that hands her off or in those since her latest ticket was closed: one she
        said in a conversation a person has closed does not outrank the person who looks after her now, nor the
        language rule once that person is gone.
        """
        current = await self.services.support.questions_since_close(customer)
        if question is not None:
            current = [question.question, *current]
        for text in current:  # the latest words naming someone count
            named = await self.services.assignment.named(names_after_honorifics(text))
            if named is not None:
                return named
        keeper = await self.services.assignment.keeper(customer.contact_id, language=language)
        if keeper is not None:
            return keeper
        text = " ".join(line.text for line in transcript if line.author == "customer")
        user, _rule = await self.services.assignment.pick(text=text, rules=self.settings.lead_rules, kind="ticket",
                                                          language=language)
        return user

    def working_hours(self) -> WorkingHours:
        """Return the support team's working hours."""
        return WorkingHours.parse(self.settings.support_hours, self.settings.tz)

    # --- who hears about a ticket ------------------------------------------------------------------------

    async def ticket_audience(self, ticket: TicketOut) -> list[Recipient]:
        """The support group when there is one for the ticket's channel, else its assignee, else managers."""
        group = self.settings.support_chat_id
        if group and ticket.channel == self.settings.support_chat_channel:
            return [chat_recipient(ticket.channel, group, self.settings.language)]
        people: list[UserOut] = []
        if ticket.assignee_id is not None:
            assignee = await self.services.users.get(ticket.assignee_id)
            people = [assignee] if assignee.active else []  # someone who left hears no more customers
        if not people:
            people = [u for u in await self.services.users.list() if hears_escalations(u)]
        return [staff_recipient(u, ticket.channel) for u in people]

    async def _ticket_notices(self, ticket: TicketOut, kind: Literal["new", "message"], *, text: str | None = None,
                              transcript: list[TicketMessageOut] | None = None) -> list[Notice]:
        return [TicketNotice(kind=kind, to=to, ticket=ticket, text=text, transcript=transcript or [])
                for to in await self.ticket_audience(ticket)]

    # --- staff -----------------------------------------------------------------------------------------

    async def staff_reply(self, staff: UserOut, ticket_id: int, text: str) -> StaffAnswered | NotYourTicket:
        """Send a staff answer to the ticket's customer (own and unassigned tickets; managers any)."""
        ticket = await self.services.support.get(ticket_id)
        if not can_answer_ticket(staff, ticket.assignee_id):
            return NotYourTicket(ticket=ticket)
        ticket = await self.services.support.staff_reply(ticket_id, staff, text)
        to = chat_recipient(ticket.channel, ticket.chat_id, ticket.language)
        notice = CustomerNotice(kind="staff_reply", to=to, ref_id=ticket.id, staff_name=staff.name, text=text.strip())
        return StaffAnswered(ticket=ticket, notices=[notice])

    async def close(self, staff: UserOut, ticket_id: int) -> StaffAnswered | NotYourTicket:
        """End a ticket and ask its customer for a 1-5 rating."""
        ticket = await self.services.support.get(ticket_id)
        if not can_answer_ticket(staff, ticket.assignee_id):
            return NotYourTicket(ticket=ticket)
        ticket = await self.services.support.close(ticket.id, staff)
        to = chat_recipient(ticket.channel, ticket.chat_id, ticket.language)
        return StaffAnswered(ticket=ticket, notices=[CustomerNotice(kind="rate_ticket", to=to, ref_id=ticket.id)])

    async def open_tickets(self, staff: UserOut) -> list[TicketOut]:
        """Open tickets a staff member may answer, oldest first."""
        return [t for t in await self.services.support.open_tickets() if can_answer_ticket(staff, t.assignee_id)]

    async def escalations(self, channel: str) -> list[Notice]:
        """Claim the channel's tickets nobody answered in time and tell the managers."""
        hours = self.working_hours()
        minutes = self.settings.escalate_after_minutes
        tickets = await self.services.support.claim_escalations(
            lambda opened: hours.add_working_minutes(opened, minutes), channel=channel)
        if not tickets:
            return []
        managers = [u for u in await self.services.users.list() if hears_escalations(u)]
        notices: list[Notice] = []
        for ticket in tickets:
            transcript = await self.services.support.transcript(ticket.id)
            opening = await self.services.support.ticket_opening(ticket.id)
            notices += [TicketNotice(kind="escalated", to=staff_recipient(m, channel), ticket=ticket,
                                     transcript=transcript, opening=opening, minutes=minutes) for m in managers]
        return notices

    async def held_messages(self, channel: str) -> list[Notice]:
        """Claim the channel's tickets whose held-back customer messages are due and tell their audience, once."""
        support = self.services.support
        notices: list[Notice] = []
        for ticket, announced_at in await support.claim_held_notices(channel=channel):
            transcript = await support.transcript(ticket.id, limit=TICKET_NOTICE_LOOKBACK)
            held = held_back(transcript, now=self.services.now, announced_at=announced_at)
            if not held:  # a later message carried them, or none is waiting any more
                continue
            await support.held_announced(ticket.id)
            notices += await self._ticket_notices(ticket, "message", text=held[-1].text, transcript=held[:-1])
        return notices

    async def held_answers(self, channel: str) -> list[Notice]:
        """Claim the channel's tickets whose held-back bot answers are due and tell their assignees, once."""
        notices: list[Notice] = []
        for ticket in await self.services.support.claim_answer_notices(channel=channel):
            notices += await self._announce_answers(ticket)
        return notices

    async def ask_history(self, staff: UserOut, question: str) -> HistoryFound | None:
        """Past interactions closest to a question, scoped to the company it names; None without an index."""
        history = self.ports.history
        if history is None:
            return None
        matches = await self.services.directory.companies_named_in(question)
        company = matches[0] if matches else None
        interactions = await self.services.directory.interactions_for_search(company.id if company else None,
                                                                             viewer=staff)
        await self.tx.end_reads()  # embedding and searching take a while
        try:
            hits = await asyncio.to_thread(_search_history, history, interactions, question,
                                           company.id if company else None)
        except Exception:  # the index is optional; staff still have /customer
            log.warning("history search failed", exc_info=True)
            return None
        by_id = {i.id: i for i in interactions}
        return HistoryFound(company=company.name if company else None,
                            interactions=[by_id[h] for h in hits if h in by_id])

    # --- leads -----------------------------------------------------------------------------------------

    async def capture_lead(self, person: ChatPerson, phone: str, *, deal_title: Callable[[int], str],
                           task_title: Callable[[int], str], language: str | None = None) -> LeadTaken:
        """Turn a phone shared after a price question into a lead; InvalidInput when it is no phone number.

        `deal_title(contact_id)` and `task_title(contact_id)` word the new deal and call-back task: both name the
        contact by its number, never by copies of their name or phone (views show the contact's current name
        through the deal's contact).
        """
        customer = await self.identify(person)
        last = await self.services.support.last_question(customer)
        lead = await self.services.leads.capture(customer, phone=phone, interest=last.question if last else "",
                                                 rules=self.settings.lead_rules, title=deal_title(customer.contact_id),
                                                 task_title=task_title(customer.contact_id), language=language)
        if not lead.created:
            return LeadTaken(lead=lead)
        # The salesperson it went to; with none to take it, whoever hears unassigned hand-offs (managers, admins).
        people = [await self.services.users.get(lead.assignee_id)] if lead.assignee_id is not None else \
            [u for u in await self.services.users.list() if hears_escalations(u)]
        transcript = await self.services.support.recent_conversation(customer)
        audience = [staff_recipient(u, customer.channel) for u in people]
        notices: list[Notice] = [LeadNotice(to=to, lead=lead, transcript=transcript) for to in audience]
        return LeadTaken(lead=lead, told=any(reachable(to) for to in audience), notices=notices)

    # --- privacy ---------------------------------------------------------------------------------------

    async def customer_data(self, person: ChatPerson) -> CustomerData:
        """What we hold about the customer writing."""
        return await self.services.privacy.data_of(await self.identify(person))

    async def request_erasure(self, person: ChatPerson, *, language: str) -> ErasureRequested:
        """File the customer's erasure request and tell the admins."""
        customer = await self.identify(person)
        request, new = await self.services.privacy.request_erasure(customer, language=language)
        if not new:
            return ErasureRequested(request=request, new=False)
        admins = [u for u in await self.services.users.list() if hears_erasure_requests(u)]
        notices: list[Notice] = [ErasureRequestNotice(to=staff_recipient(a, person.channel), request=request)
                                 for a in admins]
        return ErasureRequested(request=request, new=True, notices=notices)

    async def pending_erasures(self) -> list[PrivacyRequestOut]:
        """Erasure requests waiting for an admin."""
        return await self.services.privacy.pending()

    async def preview_erasure(self, admin: UserOut, request_id: int) -> ErasurePreview:
        """What approving a pending request will erase (her name and counts); its `confirmation` approves it."""
        return await self.services.privacy.preview(request_id, admin)

    async def decide_erasure(self, admin: UserOut, request_id: int, *, approve: bool,
                             erased_name: Callable[[int], str], erased_company: Callable[[int], str],
                             confirmation: int | None = None) -> ErasureDecided:
        """Approve (erase now, the history index too) or reject; the customer is told either way.

        An approval is confirmed by its preview (`preview_erasure`'s `confirmation`, by the same admin, within
        `Settings.admin_dialog_minutes`); `erased_name(contact_id)` words the name the erased contact keeps,
        `erased_company(company_id)` that of a company named after her that others link to, in the business's
        language.
        """
        result = await self.services.privacy.decide(
            request_id, admin, approve=approve, erased_name=erased_name, erased_company=erased_company,
            confirmation=confirmation,
            confirm_within=timedelta(minutes=self.settings.admin_dialog_minutes))
        request = result.request
        if approve:  # once committed, no old copy of what it erased stays in the database files
            purge_after_commit(self.services.session)
        history = self.ports.history
        # Hers go; others' that named her go too, their old words with them, and are indexed again as they read now.
        removed = [*result.interactions, *result.rewritten.get(Interaction.__tablename__, [])]
        if removed and history is not None:
            try:  # noted now, with the erasure; the index is rebuilt without them once it has committed
                await asyncio.to_thread(history.record_removal, removed)
            except Exception:  # the rows are erased already; /ask never shows erased rows
                log.warning("could not record the erased interactions to remove from the history index",
                            exc_info=True)
            else:
                event.listen(self.services.session.sync_session, "after_commit", _forget_when_committed(history))
        chat_state = self.ports.chat_state
        if result.chats and chat_state is not None:  # her chats' locks and send counts in Redis, once erased for good
            chats = list(result.chats)
            event.listen(self.services.session.sync_session, "after_commit",
                         when_committed(lambda: chat_state.forget_chats(chats),
                                        failed="could not forget an erased customer's chats in the shared chat state"))
        to = chat_recipient(request.channel, request.chat_id, request.language)
        notice = CustomerNotice(kind="erasure_approved" if approve else "erasure_rejected", to=to, ref_id=request.id)
        return ErasureDecided(request=request, approved=approve, interactions=len(result.interactions),
                              tasks=result.tasks, deals=result.deals, open_deals=result.open_deals,
                              tickets=result.tickets, messages=result.messages, questions=result.questions,
                              notices=[notice, *await self._closed_deal_notices(result, admin, request.channel)])

    async def _closed_deal_notices(self, result: ErasureResult, admin: UserOut, channel: str) -> list[Notice]:
        """Each owner of a deal the erasure closed lost hears of it: no record of theirs changes unseen. A deal whose
        owner has left is the team's: its managers hear of it instead."""
        notices: list[Notice] = []
        managers: list[UserOut] | None = None
        for deal_id, owner_id, title in result.closed_deals:
            if owner_id is None or owner_id == admin.id:
                continue
            owner = await self.services.users.get(owner_id)
            if owner.active:
                told = [owner]
            else:
                if managers is None:
                    managers = [u for u in await self.services.users.list() if hears_escalations(u)]
                told = [u for u in managers if u.id != admin.id]
            notices.extend(DealNotice(kind="erased", to=staff_recipient(person, channel), deal_id=deal_id,
                                      title=title, by=admin.name, new_owner="",
                                      owner_left=None if person.id == owner.id else owner.name) for person in told)
        return notices


def _forget_when_committed(history: HistoryPort) -> Callable[[Session], None]:
    """An `after_commit` hook that removes the erased interactions from the history index (`forget_removed`).

    The index is rebuilt without them, which takes seconds on a large one: after the commit, so the database's
    write lock is not held meanwhile; awaited there, so the admin hears "erased" once it is done. Should the
    process die first, or the removal fail, the journal `record_removal` wrote has them removed when the app next
    starts, at its hourly housekeeping or at the index's next use, whichever comes first (`forget_removed`).
    """
    return when_committed(lambda: asyncio.to_thread(history.forget_removed),
                          failed="could not remove the erased interactions from the history index yet")


def _search_history(history: HistoryPort, interactions: list[InteractionOut], question: str,
                    company_id: int | None) -> list[int]:
    """Rank the interactions the asker sees (indexed first when new or changed) by the question; return their ids."""
    from crm_core.retrieval.history import HistoryItem

    items = [HistoryItem(i.id, i.company_id, i.contact_id, i.summary, i.occurred_at) for i in interactions
             if company_id is None or i.company_id == company_id]
    return [hit.interaction_id for hit in history.rank(question, items, k=ASK_HITS)]
