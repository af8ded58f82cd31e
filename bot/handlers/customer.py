"""Customers (anyone who is not staff): answers from the knowledge base, hand-off to a person, leads, privacy.

A customer never reaches CRM data: every answer comes from the knowledge base, and what staff
write reaches them only through a ticket they opened.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.core import format as fmt
from bot.core.callbacks import Callback, pack
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, Reply, staff_chat_id
from bot.core.router import HandlerResult, Router
from bot.handlers.support import announce_ticket, notify_staff, transcript_text, working_hours
from bot.texts import Texts
from bot.texts.answers import phrase_answer
from crm_core.errors import InvalidInput
from crm_core.policy import Audience, can_decide_erasure
from crm_core.schemas import CustomerOut, QuestionOut, TicketMessageOut, TicketOut, UserOut
from crm_core.understanding.customer_intent import asks_about_buying, is_small_talk

log = logging.getLogger(__name__)
router = Router()
TICKET_REASONS = ("low_confidence", "out_of_scope", "asked_for_human", "complaint")


@router.text(Audience.CUSTOMERS)
async def on_customer_text(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Answer a customer from the knowledge base, relay to their open ticket, or take their phone."""
    if msg.is_group:
        return []  # the bot serves customers in private chats; a support group is for staff
    customer = await _customer(msg, ctx)
    if msg.shared_phone is not None:
        return await _on_phone_shared(ctx, customer, msg.shared_phone)
    text = (msg.text or "").strip()
    if msg.attachment is not None and not text:
        return Reply(ctx.t("support.attachment", kind=ctx.t(f"att.{msg.attachment.kind}")))
    if len(text) > ctx.settings.max_message_chars:
        return Reply(ctx.t("support.too_long", length=len(text), limit=ctx.settings.max_message_chars))
    ticket = await ctx.services.support.open_ticket_of(customer)
    if ticket is not None:
        await ctx.services.support.customer_wrote(ticket.id, customer, text)
        await notify_staff(ctx, ticket, "staff.ticket_message", text=fmt.clip(text, 3000))
        return Reply(ctx.t("support.relayed", ticket=ticket.id))
    if is_small_talk(text):
        return Reply(ctx.t("support.small_talk"))
    return await _answer(ctx, customer, text)


async def _customer(msg: Inbound, ctx: Ctx) -> CustomerOut:
    name = msg.display_name or msg.username or (msg.user_id.removeprefix("customer:") if msg.channel == "console"
                                                else None)
    return await ctx.services.support.identify(msg.channel, msg.user_id, name)


async def _ask_knowledge(ctx: Ctx, text: str) -> Any | None:
    """Return the knowledge base's answer, or None when it is missing or failing (the customer is handed off)."""
    knowledge = ctx.extensions.knowledge
    if knowledge is None:
        return None
    try:
        return await asyncio.to_thread(knowledge.ask, text)
    except Exception:  # Chroma down or its folder unreadable: a person answers instead
        log.warning("the knowledge base could not answer", exc_info=True)
        return None


async def _answer(ctx: Ctx, customer: CustomerOut, text: str) -> HandlerResult:
    answer = await _ask_knowledge(ctx, text)
    if answer is None:
        question = await ctx.services.support.record_question(
            customer, question=text, answer="—", handoff=True, reason="kb_unavailable", confidence=0.0, source=None)
        return await _hand_off(ctx, customer, question, "kb_unavailable", ctx.lang)
    t = Texts(answer.language)
    top = (answer.sources[0].doc, answer.sources[0].section) if answer.sources else None
    shown = phrase_answer(answer, t)
    question = await ctx.services.support.record_question(
        customer, question=text, answer=shown, handoff=answer.handoff, reason=answer.reason,
        confidence=answer.confidence, source=None if answer.handoff else top)
    if answer.handoff and answer.reason == "unsafe":
        return Reply(shown, keyboard=Keyboard.of([Button(t("support.btn_human"), pack("faq", "human", question.id))]))
    if answer.handoff:
        return await _hand_off(ctx, customer, question, answer.reason or "low_confidence", answer.language)
    replies = [Reply(fmt.clip(shown, 4000), keyboard=_answer_buttons(t, question.id))]
    if asks_about_buying(text) and customer.phone is None:
        share = Keyboard.of([Button(t("support.btn_share_phone"), kind="request_contact")])
        replies.append(Reply(t("support.offer_phone"), keyboard=share))
    return replies


def _answer_buttons(t: Texts, question_id: int) -> Keyboard | None:
    return Keyboard.of([Button(t("support.btn_up"), pack("faq", "up", question_id)),
                        Button(t("support.btn_down"), pack("faq", "down", question_id))],
                       [Button(t("support.btn_human"), pack("faq", "human", question_id))])


async def _hand_off(ctx: Ctx, customer: CustomerOut, question: QuestionOut | None, reason: str,
                    language: str) -> Reply:
    """Open (or reuse) the customer's ticket, tell staff, and tell the customer what happens next."""
    t = Texts(language)
    transcript = await ctx.services.support.recent_conversation(customer)
    ticket, new = await ctx.services.support.open_ticket(
        customer, reason=reason, language=language, transcript=transcript,
        assignee=await _ticket_assignee(ctx, customer, transcript),
        question_id=question.id if question else None)
    if not new:
        return Reply(t("support.already_open", ticket=ticket.id))
    await announce_ticket(ctx, ticket)
    return Reply(_prefix(t, reason) + _next_steps(ctx, t, ticket))


async def _ticket_assignee(ctx: Ctx, customer: CustomerOut, transcript: list[TicketMessageOut]) -> UserOut | None:
    if customer.owner_id is not None:
        owner = await ctx.services.users.get(customer.owner_id)
        if owner.active:
            return owner
    text = " ".join(line.text for line in transcript if line.author == "customer")
    user, _rule = await ctx.services.assignment.pick(text=text, rules=ctx.settings.lead_rules, kind="ticket")
    return user


def _prefix(t: Texts, reason: str) -> str:
    if reason == "complaint":
        return t("support.handoff_complaint")
    if reason == "kb_unavailable":
        return t("support.handoff_down")
    return ""


def _next_steps(ctx: Ctx, t: Texts, ticket: TicketOut) -> str:
    hours = working_hours(ctx.settings)
    if hours.is_open(ctx.now):
        return t("support.handoff_open", ticket=ticket.id, minutes=ctx.settings.escalate_after_minutes)
    opening = hours.next_opening(ctx.now)
    when = fmt.moment(opening, t.language, ctx.settings.tz, today=ctx.now.astimezone(ctx.settings.tz).date())
    return t("support.handoff_closed", ticket=ticket.id, hours=ctx.settings.support_hours, when=when)


@router.callback("faq", audience=Audience.CUSTOMERS)
async def on_answer_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """👍 / 👎 on an answer, or "Talk to a person"."""
    customer = await _customer(msg, ctx)
    question_id = cb.arg_int(0)
    if cb.action in ("up", "down"):
        question = await ctx.services.support.rate_answer(question_id, customer, cb.action)
        if cb.action == "up":
            return Reply(ctx.t("support.thanks_up"), toast=ctx.t("support.thanks_up"))
        human = Button(ctx.t("support.btn_human"), pack("faq", "human", question.id))
        return Reply(ctx.t("support.sorry_down"), keyboard=Keyboard.of([human]))
    if cb.action != "human":
        raise ValueError(cb.action)
    question = await ctx.services.support.question(question_id, customer)
    reason = "answer_down" if question.feedback == "down" else "asked_for_human"
    return await _hand_off(ctx, customer, question, reason, ctx.lang)


@router.callback("csat", audience=Audience.CUSTOMERS)
async def on_satisfaction_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """The customer's 1-5 rating of a closed ticket."""
    customer = await _customer(msg, ctx)
    ticket = await ctx.services.support.rate_ticket(cb.arg_int(0), customer, cb.arg_int(1))
    return Reply(Texts(ticket.language)("support.rated", score=ticket.csat), edit=True)


async def _on_phone_shared(ctx: Ctx, customer: CustomerOut, phone: str) -> HandlerResult:
    """The customer pressed "share my phone" after asking about price: a lead for a salesperson."""
    business = Texts(ctx.settings.language)
    last = await ctx.services.support.last_question(customer)
    try:
        lead = await ctx.services.leads.capture(
            customer, phone=phone, interest=last.question if last else "", rules=ctx.settings.lead_rules,
            title=business("support.lead_deal", name=customer.name),
            task_title=business("support.lead_task", name=customer.name, phone=phone))
    except InvalidInput:
        return Reply(ctx.t("support.bad_phone"))
    if not lead.created:
        return Reply(ctx.t("support.lead_again"), remove_keyboard=True)
    if lead.assignee_id is not None:
        assignee = await ctx.services.users.get(lead.assignee_id)
        chat_id = staff_chat_id(assignee, customer.channel)
        if chat_id is not None:
            t = Texts(assignee.language)
            transcript = transcript_text(await ctx.services.support.recent_conversation(customer), t)
            text = t("staff.lead_new", customer=lead.customer, phone=lead.phone, deal=lead.deal_id,
                     rule=lead.rule, transcript=transcript)
            ctx.push(Reply(fmt.clip(text, 4000), chat_id=chat_id, channel=customer.channel))
    key = "support.lead_thanks" if lead.assignee else "support.lead_thanks_nobody"
    return Reply(ctx.t(key, name=lead.assignee or ""), remove_keyboard=True)


# --- privacy ---------------------------------------------------------------------------------------------


@router.command("privacy", audience=Audience.CUSTOMERS_OR_ADMINS)
async def on_privacy(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Customers see what we hold about them and may ask for erasure; admins see the pending requests."""
    if ctx.user is not None and can_decide_erasure(ctx.user):
        return await _pending_requests(ctx)
    customer = await _customer(msg, ctx)
    data = await ctx.services.privacy.data_of(customer)
    tz = ctx.settings.tz
    text = ctx.t("privacy.data", name=data.name, phone=data.phone or "—", email=data.email or "—",
                 company=data.company or "—", questions=data.questions, tickets=data.tickets,
                 interactions=data.interactions, since=fmt.day(data.since.astimezone(tz).date(), ctx.lang))
    return Reply(text, keyboard=Keyboard.of([Button(ctx.t("privacy.btn_erase"), pack("privreq", "erase"))]))


@router.callback("privreq", audience=Audience.CUSTOMERS)
async def on_erasure_request(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """File the customer's erasure request and tell the admins."""
    if cb.action != "erase":
        raise ValueError(cb.action)
    customer = await _customer(msg, ctx)
    request, new = await ctx.services.privacy.request_erasure(customer, language=ctx.lang)
    if not new:
        return Reply(ctx.t("privacy.already", request=request.id))
    for admin in await ctx.services.users.list():
        chat_id = staff_chat_id(admin, msg.channel) if admin.active and admin.role == "admin" else None
        if chat_id is None:
            continue
        t = Texts(admin.language)
        ctx.push(Reply(t("privacy.admin_new", request=request.id, customer=request.customer,
                         contact=request.contact_id), keyboard=_decision_buttons(t, request.id),
                       chat_id=chat_id, channel=msg.channel))
    return Reply(ctx.t("privacy.requested", request=request.id), edit=True)


def _decision_buttons(t: Texts, request_id: int) -> Keyboard | None:
    return Keyboard.of([Button(t("privacy.btn_approve", request=request_id), pack("priv", "ok", request_id)),
                        Button(t("privacy.btn_reject", request=request_id), pack("priv", "no", request_id))])


async def _pending_requests(ctx: Ctx) -> Reply:
    pending = await ctx.services.privacy.pending()
    if not pending:
        return Reply(ctx.t("privacy.admin_none"))
    tz = ctx.settings.tz
    lines = [ctx.t("privacy.admin_title")]
    lines += [ctx.t("privacy.admin_line", request=r.id, customer=r.customer,
                    when=fmt.moment(r.requested_at, ctx.lang, tz, today=ctx.now.date())) for r in pending[:20]]
    rows = [list(_decision_buttons(ctx.t, r.id).buttons()) for r in pending[:10]]  # type: ignore[union-attr]
    return Reply("\n".join(lines), keyboard=Keyboard.of(*rows))


@router.callback("priv", audience=Audience.ADMINS)
async def on_erasure_decision(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """An admin approves (erase now) or rejects a request; the customer is told either way."""
    if cb.action not in ("ok", "no"):
        raise ValueError(cb.action)
    result = await ctx.services.privacy.decide(cb.arg_int(0), ctx.staff, approve=cb.action == "ok")
    request = result.request
    history = ctx.extensions.history
    if result.interactions and history is not None:
        try:
            await asyncio.to_thread(history.remove, result.interactions)
        except Exception:  # the DB rows are erased already; /ask never shows erased rows
            log.warning("could not remove erased interactions from the history index", exc_info=True)
    customer_t = Texts(request.language)
    ctx.push(Reply(customer_t("privacy.approved" if cb.action == "ok" else "privacy.rejected", request=request.id),
                   chat_id=request.chat_id, channel=request.channel))
    if cb.action == "ok":
        return Reply(ctx.t("privacy.admin_done", request=request.id, interactions=len(result.interactions),
                           messages=result.messages, questions=result.questions), edit=True)
    return Reply(ctx.t("privacy.admin_rejected", request=request.id), edit=True)

