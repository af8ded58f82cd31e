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
# A bot answer in a ticket's conversation is shown by its opening (the customer read it whole; it is on the ticket).
BOT_CHARS = 160
# (customer/staff, bot) characters per message, tried in turn until a conversation fits its notice.
CLIP_STEPS = ((MESSAGE_CHARS, BOT_CHARS), (200, 100), (100, 60))
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


def transcript_text(lines: list[TicketMessageOut], t: Texts, *, opening: list[TicketMessageOut] | None = None,
                    budget: int = NOTICE_CHARS) -> str:
    """Render a ticket's conversation for staff: the messages that opened it first (why it exists), then the
    latest ones; each message on its own lines, bot answers by their opening, a repeated message shown once;
    within `budget` characters (the latest dropped oldest first, then every message clipped shorter)."""
    opening = opening or []
    opened = {line.id for line in opening if line.id is not None}
    latest = [line for line in lines if line.id is None or line.id not in opened]
    # Messages between the opening and the latest ones are left out (they are on the ticket); a mark says so.
    joined = bool(opening) and bool(latest) and any(line.id in opened for line in lines)
    latest = latest[-TRANSCRIPT_LINES:]
    gap = bool(opening) and bool(latest) and (len(latest) < len(lines) - len(opened) or not joined)
    text = ""
    for limits in CLIP_STEPS:
        shown = list(latest)
        while True:
            text = _conversation(opening, shown, t, gap=gap or len(shown) < len(latest), limits=limits)
            if len(text) <= budget or len(shown) <= 1:
                break
            shown = shown[1:]
        if len(text) <= budget:
            return text
    return fmt.clip_lines(text, budget)


def _conversation(opening: list[TicketMessageOut], latest: list[TicketMessageOut], t: Texts, *, gap: bool,
                  limits: tuple[int, int]) -> str:
    """The opening, a mark for what is left out, the latest: identical messages in a row shown once with their
    count, a bot answer given before shown again as a short reference."""
    rendered: list[list[str | int]] = []  # [line, times said in a row]
    said: set[tuple[str, str]] = set()
    previous: tuple[str, str] | None = None
    for line in [*opening, None, *latest] if gap else [*opening, *latest]:
        if line is None:
            rendered.append([t("staff.lines_between"), 1])
            previous = None
            continue
        # As staff read it: the customer-only note about the ticket does not make an answer a different one.
        key = (line.author if line.author != "staff" else f"staff:{line.name}",
               " ".join(message_text(line.text, len(line.text)).split()))
        if key == previous:
            rendered[-1][1] = int(rendered[-1][1]) + 1
            continue
        previous = key
        if line.author == "bot" and key in said:
            rendered.append([t("staff.line_bot", text=t("staff.same_answer")), 1])
        else:
            rendered.append([_line(line, t, limits), 1])
        said.add(key)
    return "\n".join(str(text) if times == 1 else t("staff.line_repeated", line=text, count=times)
                     for text, times in rendered)


def _line(line: TicketMessageOut, t: Texts, limits: tuple[int, int]) -> str:
    customer_chars, bot_chars = limits
    if line.author == "customer":
        return t("staff.line_customer", text=message_text(line.text, customer_chars))
    if line.author == "bot":
        return t("staff.line_bot", text=message_text(line.text, bot_chars))
    return t("staff.line_staff", name=line.name or "—", text=message_text(line.text, customer_chars))


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
                       rule=rule_text(lead.rule, t, matched=lead.matched_contact),
                       transcript=transcript_text(notice.transcript, t) if notice.transcript
                       else t("staff.transcript_none")),
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
        what = {"ticket": ticket.id, "customer": ticket.customer, "phone": _phone_line(ticket, t),
                "reason": t(f"staff.reason_{ticket.reason}")}
        return Reply(_with_conversation(t, "staff.ticket_new", what, notice), ref=ref)
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
    if notice.kind == "rated":
        what = {"ticket": ticket.id, "customer": ticket.customer, "score": ticket.csat}
        if notice.before is not None and notice.text:
            return Reply(t("staff.ticket_rerated_remark", **what, before=notice.before,
                           text=message_text(notice.text, 1000)), ref=ref)
        if notice.before is not None:
            return Reply(t("staff.ticket_rerated", **what, before=notice.before), ref=ref)
        if notice.text:
            return Reply(t("staff.ticket_rated", **what, text=message_text(notice.text, 1000)), ref=ref)
        return Reply(t("staff.ticket_rated_low", **what), ref=ref)
    what = {"ticket": ticket.id, "customer": ticket.customer, "phone": _phone_line(ticket, t),
            "minutes": notice.minutes, "assignee": ticket.assignee or t("staff.nobody_assigned")}
    return Reply(_with_conversation(t, "staff.ticket_escalated", what, notice), ref=ref)


def _with_conversation(t: Texts, key: str, what: dict[str, object], notice: TicketNotice) -> str:
    """A ticket notice whose conversation (opening first, then the latest) fits the notice whole."""
    budget = NOTICE_CHARS - len(t(key, **what, transcript=""))
    return t(key, **what, transcript=transcript_text(notice.transcript, t, opening=notice.opening, budget=budget))


def _answered(notice: TicketNotice, t: Texts) -> Reply:
    """The bot's answers on a ticket, compact: each question and the answer's opening, the latest few."""
    shown = notice.answers[-ANSWERS_SHOWN:]
    lines = [t("staff.answers_earlier", count=len(notice.answers) - len(shown))] if len(shown) < len(notice.answers) \
        else []
    for answer in shown:
        lines += [t("staff.line_customer", text=message_text(answer.question, QUESTION_CHARS)),
                  t("staff.line_bot", text=message_text(answer.answer, ANSWER_CHARS))]
    key = "staff.ticket_answered_one" if len(notice.answers) == 1 else "staff.ticket_answered"
    what = {"ticket": notice.ticket.id, "customer": notice.ticket.customer, "count": len(notice.answers)}
    answers = "\n".join(lines)
    if notice.opening:  # why the ticket is open, before what the bot answered on it since
        budget = NOTICE_CHARS - len(t(key, **what, transcript="")) - len(answers) - 1
        opening = transcript_text([], t, opening=notice.opening, budget=max(budget, 0))
        answers = opening + "\n" + t("staff.lines_between") + "\n" + answers if opening else answers
    return Reply(t(key, **what, transcript=answers), ref=ticket_ref(notice.ticket.id))


def _phone_line(ticket: TicketOut, t: Texts) -> str:
    return t("staff.phone_line", phone=ticket.phone) if ticket.phone else ""


def rule_text(rule: str, t: Texts, *, matched: str | None = None) -> str:
    """Say how a lead was assigned in the reader's words (never the setting's value, e.g. round_robin)."""
    if rule.startswith("keyword:"):
        return t("staff.rule_keyword", keyword=rule.removeprefix("keyword:"))
    if rule.startswith("same_phone:"):
        return t("staff.rule_same_phone", contact=matched or f"#{rule.removeprefix('same_phone:')}")
    return t(f"staff.rule_{rule}") if t.has(f"staff.rule_{rule}") else t("staff.rule_other")


def _deal(notice: DealNotice, t: Texts) -> Reply:
    what = {"manager": notice.by, "id": notice.deal_id, "title": notice.title, "name": notice.new_owner,
            "count": notice.tasks}
    if notice.kind == "assigned":
        return Reply(t("deal.reassigned_notice", **what),
                     keyboard=Keyboard.of([Button(t("btn.open_deal"), pack("deal", "open", notice.deal_id))]))
    if notice.kind == "taken":
        return Reply(t("deal.taken_notice", **what))
    if notice.kind == "erased" and notice.owner_left:  # told to the managers: not "your" deal
        return Reply(t("deal.erased_notice_team", **what, owner=notice.owner_left))
    if notice.kind == "erased":
        return Reply(t("deal.erased_notice", **what))
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
                        Button(t("privacy.btn_reject", request=request_id), pack("priv", "ask_no", request_id))])
