"""Phrase the notices flows ask to send, each in its reader's language, as replies pushed to their chat."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from crm_core.config import Settings
from crm_core.flows.notices import (
    CustomerNotice,
    DealNotice,
    ErasureRequestNotice,
    LeadNotice,
    Notice,
    Recipient,
    TicketNotice,
)
from crm_core.schemas import TicketMessageOut, TicketOut
from crm_core.services.delivery import erasure_ref, lead_ref, ticket_ref

from bot.core import format as fmt
from bot.core.callbacks import pack
from bot.core.messages import Button, Keyboard, Reply, staff_chat_id
from bot.texts import LANGUAGES, Texts

TRANSCRIPT_LINES = 8
NOTICE_CHARS = 4000
# Each message of a conversation shown to staff is cut at a line end past this many characters (8 fit a notice).
MESSAGE_CHARS = 420
CONTINUATION = "   "  # a message's further lines, indented under its 👤/🤖 mark
# A notice of the bot's answers on a ticket is compact: the latest few, each answer's opening (all are on the ticket).
ANSWERS_SHOWN = 4
QUESTION_CHARS = 200
ANSWER_CHARS = 240


@cache
def _customer_only_notes() -> re.Pattern[str]:
    """Lines the customer read that are about the ticket itself, not the conversation ("I copied this to #3")."""
    notes = [re.escape(Texts(lang)("support.answered_on_ticket", ticket="{ticket}")).replace(r"\{ticket\}", r"\d+")
             for lang in LANGUAGES]
    return re.compile(rf"^\s*(?:{'|'.join(notes)})\s*$")


def message_text(text: str, limit: int = MESSAGE_CHARS) -> str:
    """One message as staff read it: its own line breaks kept (blank lines and the customer-only note about the
    ticket dropped), spaces tidied, cut at a line end past `limit`; further lines indented."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    kept = [line for line in lines if line and not _customer_only_notes().match(line)]
    return fmt.clip_lines("\n".join(kept), limit).replace("\n", "\n" + CONTINUATION)


def transcript_text(lines: list[TicketMessageOut], t: Texts) -> str:
    """Render a ticket's conversation for staff: each message on its own lines, clipped on its own."""
    rendered = []
    for line in lines[-TRANSCRIPT_LINES:]:
        text = message_text(line.text)
        if line.author == "customer":
            rendered.append(t("staff.line_customer", text=text))
        elif line.author == "bot":
            rendered.append(t("staff.line_bot", text=text))
        else:
            rendered.append(t("staff.line_staff", name=line.name or "—", text=text))
    return "\n".join(rendered)


def address(to: Recipient) -> str | None:
    """Return the chat a recipient is reached in, if they have one on its channel."""
    if to.chat_id is not None:
        return to.chat_id
    return staff_chat_id(to.user, to.channel) if to.user is not None else None


def render_notice(notice: Notice, settings: Settings, *, now: datetime) -> Reply | None:
    """Phrase one notice; None when its reader cannot be reached on that channel."""
    chat_id = address(notice.to)
    if chat_id is None:
        return None
    t = Texts(notice.to.language)
    reply = _phrased(notice, t)
    return Reply(fmt.clip_lines(reply.text, NOTICE_CHARS), keyboard=reply.keyboard, chat_id=chat_id,
                 channel=notice.to.channel, ref=reply.ref, forget_when_sent=reply.forget_when_sent,
                 remove_keyboard=reply.remove_keyboard)


def _phrased(notice: Notice, t: Texts) -> Reply:
    if isinstance(notice, TicketNotice):
        return _ticket(notice, t)
    if isinstance(notice, LeadNotice):
        lead = notice.lead
        return Reply(t("staff.lead_new", customer=lead.customer, phone=lead.phone, deal=lead.deal_id,
                       rule=rule_text(lead.rule, t), transcript=transcript_text(notice.transcript, t)),
                     ref=lead_ref(lead.id))
    if isinstance(notice, DealNotice):
        return _deal(notice, t)
    if isinstance(notice, ErasureRequestNotice):
        request = notice.request
        return Reply(t("privacy.admin_new", request=request.id, customer=request.customer,
                       contact=request.contact_id), keyboard=erasure_buttons(t, request.id),
                     ref=erasure_ref(request.id))
    return _to_customer(notice, t)


def _ticket(notice: TicketNotice, t: Texts) -> Reply:
    ticket = notice.ticket
    ref = ticket_ref(ticket.id)
    if notice.kind == "new":
        return Reply(t("staff.ticket_new", ticket=ticket.id, customer=ticket.customer, phone=_phone_line(ticket, t),
                       reason=t(f"staff.reason_{ticket.reason}"), transcript=transcript_text(notice.transcript, t)),
                     ref=ref)
    if notice.kind == "message" and notice.transcript:  # messages held back by the cap, then this one
        latest = t("staff.line_customer", text=message_text(notice.text or "", 1000))
        lines = transcript_text(notice.transcript, t) + "\n" + latest
        return Reply(t("staff.ticket_messages", ticket=ticket.id, customer=ticket.customer,
                       count=len(notice.transcript) + 1, transcript=lines), ref=ref)
    if notice.kind == "message":
        return Reply(t("staff.ticket_message", ticket=ticket.id, customer=ticket.customer,
                       text=message_text(notice.text or "", 3000)), ref=ref)
    if notice.kind == "answered":
        return _answered(notice, t)
    return Reply(t("staff.ticket_escalated", ticket=ticket.id, customer=ticket.customer, phone=_phone_line(ticket, t),
                   minutes=notice.minutes, assignee=ticket.assignee or t("staff.nobody_assigned"),
                   transcript=transcript_text(notice.transcript, t)), ref=ref)


def _answered(notice: TicketNotice, t: Texts) -> Reply:
    """The bot's answers on a ticket, compact: each question and the answer's opening, the latest few."""
    shown = notice.answers[-ANSWERS_SHOWN:]
    lines = [t("staff.answers_earlier", count=len(notice.answers) - len(shown))] if len(shown) < len(notice.answers) \
        else []
    for answer in shown:
        lines += [t("staff.line_customer", text=message_text(answer.question, QUESTION_CHARS)),
                  t("staff.line_bot", text=message_text(answer.answer, ANSWER_CHARS))]
    key = "staff.ticket_answered_one" if len(notice.answers) == 1 else "staff.ticket_answered"
    return Reply(t(key, ticket=notice.ticket.id, customer=notice.ticket.customer, count=len(notice.answers),
                   transcript="\n".join(lines)), ref=ticket_ref(notice.ticket.id))


def _phone_line(ticket: TicketOut, t: Texts) -> str:
    return t("staff.phone_line", phone=ticket.phone) if ticket.phone else ""


def rule_text(rule: str, t: Texts) -> str:
    """Say how a lead was assigned in the reader's words (never the setting's value, e.g. round_robin)."""
    if rule.startswith("keyword:"):
        return t("staff.rule_keyword", keyword=rule.removeprefix("keyword:"))
    return t(f"staff.rule_{rule}") if t.has(f"staff.rule_{rule}") else t("staff.rule_other")


def _deal(notice: DealNotice, t: Texts) -> Reply:
    what = {"manager": notice.by, "id": notice.deal_id, "title": notice.title, "name": notice.new_owner,
            "count": notice.tasks}
    if notice.kind == "assigned":
        return Reply(t("deal.reassigned_notice", **what),
                     keyboard=Keyboard.of([Button(t("btn.open_deal"), pack("deal", "open", notice.deal_id))]))
    if notice.kind == "taken":
        return Reply(t("deal.taken_notice", **what))
    if notice.kind == "noted":
        return Reply(fmt.clip(t("deal.noted_notice", **what, text=notice.text or ""), 4000),
                     keyboard=Keyboard.of([Button(t("btn.open_deal"), pack("deal", "open", notice.deal_id))]))
    return Reply(t("deal.tasks_moved_notice", **what))


def _to_customer(notice: CustomerNotice, t: Texts) -> Reply:
    if notice.kind == "staff_reply":
        return Reply(t("support.staff_reply", name=notice.staff_name or "", text=notice.text or ""))
    if notice.kind == "rate_ticket":
        return Reply(t("support.closed", ticket=notice.ref_id), keyboard=rating_buttons(notice.ref_id))
    if notice.kind == "erasure_approved":  # their chat id is not kept once they have been told
        # Nor is a keyboard of ours left on their screen: the share-your-phone button would invite the data back.
        return Reply(t("privacy.approved", request=notice.ref_id), forget_when_sent=True, remove_keyboard=True)
    return Reply(t("privacy.rejected", request=notice.ref_id))


def rating_buttons(ticket_id: int) -> Keyboard:
    """⭐ to ⭐⭐⭐⭐⭐ for the customer's rating of a closed ticket."""
    stars = [Button("⭐" * n, pack("csat", "rate", ticket_id, n)) for n in range(1, 6)]
    return Keyboard.column(stars, per_row=5)


def erasure_buttons(t: Texts, request_id: int) -> Keyboard | None:
    """Approve and Reject for one erasure request."""
    return Keyboard.of([Button(t("privacy.btn_approve", request=request_id), pack("priv", "ok", request_id)),
                        Button(t("privacy.btn_reject", request=request_id), pack("priv", "no", request_id))])
