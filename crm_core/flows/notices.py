"""Notices a flow asks to send besides its reply: to staff, to a support group, to a customer.

A flow decides who hears what (the hand-off policy lives in the flows, not in chat code);
the chat layer phrases each notice in its reader's language and sends it after the commit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from crm_core.schemas import LeadOut, PrivacyRequestOut, QuestionOut, TicketMessageOut, TicketOut, UserOut


class Recipient(BaseModel):
    """Who a notice is for: a staff member (addressed on `channel`) or a chat (customer, support group)."""

    channel: str
    language: str
    user: UserOut | None = None
    chat_id: str | None = None


class TicketNotice(BaseModel):
    """Staff hear of a new ticket, a customer's further message, a ticket nobody answered, questions the bot
    answered on the ticket (`answered`: those in `answers`, what the customer asked and read), or the reason a
    customer gave beside their rating of the closed ticket, a low rating, or a rating changed (`rated`: `text`,
    `before`).

    `opening`: the messages that opened the ticket (why it exists), shown before the latest ones in `transcript`
    however long the ticket has grown.
    """

    kind: Literal["new", "message", "escalated", "answered", "rated"]
    to: Recipient
    ticket: TicketOut
    transcript: list[TicketMessageOut] = Field(default_factory=list)
    text: str | None = None
    before: int | None = None  # `rated`: the score the customer changed (a star pressed after a typed rating)
    minutes: int | None = None
    answers: list[QuestionOut] = Field(default_factory=list)
    opening: list[TicketMessageOut] = Field(default_factory=list)


class LeadNotice(BaseModel):
    """A salesperson gets a lead: a customer shared their phone after asking about price."""

    to: Recipient
    lead: LeadOut
    transcript: list[TicketMessageOut] = Field(default_factory=list)


class CustomerNotice(BaseModel):
    """A customer hears from staff: an answer, a request to rate the ticket, an erasure decision."""

    kind: Literal["staff_reply", "rate_ticket", "erasure_approved", "erasure_rejected"]
    to: Recipient
    ref_id: int
    staff_name: str | None = None
    text: str | None = None


class ErasureRequestNotice(BaseModel):
    """An admin is asked to approve or reject a customer's erasure request."""

    to: Recipient
    request: PrivacyRequestOut


class DealNotice(BaseModel):
    """Staff hear that a manager reassigned a deal: the new owner (`assigned`), the old one (`taken`), and whoever
    else's open tasks of the deal went along (`tasks_moved`); a deal's owner hears that a colleague's log was kept
    as a note on it (`noted`, `by` the writer, `text` the log); a deal's owner hears that it closed lost because
    its customer was erased (`erased`, `by` the approving admin; told to the managers when its owner has left,
    named in `owner_left`)."""

    kind: Literal["assigned", "taken", "tasks_moved", "noted", "erased"]
    to: Recipient
    deal_id: int
    title: str
    by: str
    new_owner: str
    tasks: int = 0
    text: str | None = None
    owner_left: str | None = None


Notice = TicketNotice | LeadNotice | CustomerNotice | ErasureRequestNotice | DealNotice


def staff_recipient(user: UserOut, channel: str) -> Recipient:
    """Address a staff member on a channel, in their language."""
    return Recipient(channel=channel, language=user.language, user=user)


def chat_recipient(channel: str, chat_id: str, language: str) -> Recipient:
    """Address one chat (a customer's, or a support group)."""
    return Recipient(channel=channel, language=language, chat_id=chat_id)


def reachable(to: Recipient) -> bool:
    """Tell whether a notice to `to` can be delivered: a chat, or a staff member with an address on its channel."""
    return to.chat_id is not None or (to.user is not None and to.channel in to.user.addresses)
