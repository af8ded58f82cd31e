"""Customers (anyone who is not staff): answers from the knowledge base, hand-off to a person, leads, privacy.

Each handler parses, calls one flow of `crm_core.flows.support`, and renders its result; the
flow decides what is answered, who is assigned and who hears about it.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core import format as fmt
from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.context import Ctx
from bot.core.limits import is_group_chat
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.notices import erasure_buttons, rating_buttons
from bot.core.router import HandlerResult, Router
from bot.texts import Texts
from bot.texts.answers import phrase_answer
from crm_core.errors import InvalidInput
from crm_core.flows.support import (
    Answered,
    ChatPerson,
    CustomerTextResult,
    Declined,
    ErasureDecided,
    HandedOff,
    Relayed,
    SmallTalk,
    TicketRated,
    WhichProduct,
)
from crm_core.hours import WorkingHours
from crm_core.policy import Audience, can_decide_erasure
from crm_core.schemas import ErasurePreview
from crm_core.services.delivery import erasure_ref

router = Router()
PENDING_SHOWN = 20
PENDING_BUTTONS = 10


def chat_person(msg: Inbound) -> ChatPerson:
    """Who is writing, as the flows know them: channel, id there, and the name the chat shows."""
    name = msg.display_name or msg.username or (msg.user_id.removeprefix("customer:") if msg.channel == "console"
                                                else None)
    return ChatPerson(channel=msg.channel, user_id=msg.user_id, name=name)


@router.text(Audience.CUSTOMERS)
async def on_customer_text(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Answer a customer from the knowledge base, relay to their open ticket, or take their phone."""
    if msg.is_group:
        return []  # the bot serves customers in private chats; a support group is for staff
    if msg.shared_phone is not None:
        return await _on_phone_shared(msg, ctx, msg.shared_phone)
    text = (msg.text or "").strip()
    if msg.attachment is not None and not text:
        return Reply(ctx.t("support.attachment", kind=ctx.t(f"att.{msg.attachment.kind}")))
    if len(text) > ctx.settings.max_message_chars:
        return Reply(ctx.t("support.too_long", length=len(text), limit=ctx.settings.max_message_chars))
    result = await ctx.flows.support.customer_wrote(chat_person(msg), text, language=ctx.lang,
                                                    wording=lambda said: _replies(ctx, said)[0].text)
    if isinstance(result, Relayed | HandedOff | Answered | TicketRated):
        ctx.notify(result.notices)
    return _replies(ctx, result)


def _replies(ctx: Ctx, result: CustomerTextResult) -> list[Reply]:
    """What the customer reads for a result (the first reply's text is kept with their question)."""
    if isinstance(result, Relayed):
        return [Reply(ctx.t("support.relayed", ticket=result.ticket_id))]
    if isinstance(result, TicketRated):
        return [rated_reply(result)]
    if isinstance(result, SmallTalk):
        t = Texts(result.language or ctx.lang)
        if result.after_ticket is not None:
            return [Reply(t("support.thanks_after_close", ticket=result.after_ticket),
                          keyboard=rating_buttons(result.after_ticket))]
        return [Reply(t(f"support.small_talk.{result.kind}"))]
    if isinstance(result, WhichProduct):
        return [Reply(Texts(result.language)("support.which_product"))]
    if isinstance(result, Declined):
        t = Texts(result.language)
        human = Button(t("support.btn_human"), pack("faq", "human", result.question_id))
        return [Reply(declined_text(result.reason, t), keyboard=Keyboard.of([human]))]
    if isinstance(result, HandedOff):
        return [_handed_off_reply(ctx, result)]
    return _answer(result)


def _answer(result: Answered) -> list[Reply]:
    t = Texts(result.answer.language)
    text = fmt.clip_lines(phrase_answer(result.answer, t), 4000)  # lists and table rows keep their lines
    if result.offer_privacy:
        text += "\n\n" + t("support.privacy_hint")
    if result.ticket_id is not None:
        text += "\n\n" + t("support.answered_on_ticket", ticket=result.ticket_id)
    replies = [Reply(text, keyboard=_answer_buttons(t, result.question_id))]
    if result.offer_phone:
        share = Keyboard.of([Button(t("support.btn_share_phone"), kind="request_contact")])
        replies.append(Reply(t("support.offer_phone"), keyboard=share))
    return replies


def _answer_buttons(t: Texts, question_id: int) -> Keyboard | None:
    return Keyboard.of([Button(t("support.btn_up"), pack("faq", "up", question_id)),
                        Button(t("support.btn_down"), pack("faq", "down", question_id))],
                       [Button(t("support.btn_human"), pack("faq", "human", question_id))])


def handed_off(ctx: Ctx, result: HandedOff) -> Reply:
    """Tell the customer a person takes over, and when; staff hear about a new ticket."""
    ctx.notify(result.notices)
    return _handed_off_reply(ctx, result)


def _handed_off_reply(ctx: Ctx, result: HandedOff) -> Reply:
    t = Texts(result.language)
    ticket = result.ticket
    if not result.new:
        return Reply(t("support.already_open", ticket=ticket.id))
    # A complaint or a refund/compensation demand is met with an apology before the next steps.
    prefix = {"complaint": "support.handoff_complaint", "dispute": "support.handoff_complaint",
              "kb_unavailable": "support.handoff_down"}.get(result.reason)
    if not result.told:  # nobody could be told: no promise of when
        steps = t("support.handoff_nobody", ticket=ticket.id)
    elif result.open_now or result.opens_at is None:
        steps = t("support.handoff_open", ticket=ticket.id, minutes=result.answer_within_minutes)
    else:
        tz = ctx.settings.tz
        when = fmt.moment(result.opens_at, t.language, tz, today=ctx.now.astimezone(tz).date())
        hours = hours_text(WorkingHours.parse(ctx.settings.support_hours, tz), t)
        steps = t("support.handoff_closed", ticket=ticket.id, hours=hours, when=when)
    return Reply((t(prefix) if prefix else "") + steps)


def hours_text(hours: WorkingHours, t: Texts) -> str:
    """The working hours as the reader writes them ("Thứ 2–Thứ 7, 8:00–17:30"), never the setting's own text."""
    days = sorted(hours.days)
    names = [t(f"weekday.{day}") for day in days]
    span = t("support.hours_days", first=names[0], last=names[-1]) \
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)) else ", ".join(names)
    return t("support.hours", days=span, opens=f"{hours.opens.hour}:{hours.opens.minute:02d}",
             closes=f"{hours.closes.hour}:{hours.closes.minute:02d}")


def declined_text(reason: str, t: Texts) -> str:
    """Why the bot does not answer this itself (the same words `chatcrm kb ask` shows)."""
    return t("support.unsafe") if reason == "unsafe" else t(f"support.handoff_line.{reason}")


@router.callback("faq", audience=Audience.CUSTOMERS)
async def on_answer_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """👍 / 👎 on an answer, or "Talk to a person"."""
    question_id = cb.arg_int(0)
    if cb.action in ("up", "down"):
        await ctx.flows.support.rate_answer(chat_person(msg), question_id, cb.action)
        if cb.action == "up":
            return Reply(ctx.t("support.thanks_up"), toast=ctx.t("support.thanks_up"))
        human = Button(ctx.t("support.btn_human"), pack("faq", "human", question_id))
        return Reply(ctx.t("support.sorry_down"), keyboard=Keyboard.of([human]))
    if cb.action != "human":
        raise ValueError(cb.action)
    return handed_off(ctx, await ctx.flows.support.ask_for_person(chat_person(msg), question_id, language=ctx.lang))


@router.callback("csat", audience=Audience.CUSTOMERS)
async def on_satisfaction_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """The customer's 1-5 rating of a closed ticket."""
    rated = await ctx.flows.support.rate_ticket(chat_person(msg), cb.arg_int(0), cb.arg_int(1))
    ctx.notify(rated.notices)
    return replace(rated_reply(rated), edit=True)


def rated_reply(result: TicketRated) -> Reply:
    """Thanks for a rating; for a low one passed on to a person, regret and that it was passed on."""
    t = Texts(result.ticket.language)
    return Reply(t("support.rated_low" if result.passed_on else "support.rated", score=result.ticket.csat))


async def _on_phone_shared(msg: Inbound, ctx: Ctx, phone: str) -> HandlerResult:
    """The customer pressed "share my phone" after asking about price: a lead for a salesperson."""
    business = Texts(ctx.settings.language)
    try:
        taken = await ctx.flows.support.capture_lead(
            chat_person(msg), phone, deal_title=lambda contact: business("support.lead_deal", contact=contact),
            task_title=lambda contact: business("support.lead_task", contact=contact), language=ctx.lang)
    except InvalidInput:
        return Reply(ctx.t("support.bad_phone"))
    if not taken.lead.created:
        return Reply(ctx.t("support.lead_again"), remove_keyboard=True)
    ctx.notify(taken.notices)
    if not taken.told:  # nobody could be told: no promise of a call back
        return Reply(ctx.t("support.lead_thanks_nobody"), remove_keyboard=True)
    key = "support.lead_thanks" if taken.lead.assignee else "support.lead_thanks_team"
    return Reply(ctx.t(key, name=taken.lead.assignee or ""), remove_keyboard=True)


# --- privacy ---------------------------------------------------------------------------------------------


@router.command("privacy", audience=Audience.CUSTOMERS_OR_ADMINS)
async def on_privacy(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Customers see what we hold about them and may ask for erasure; admins see the pending requests.

    Only in a private chat: in a group her phone, e-mail and company (or the customers asking to be erased) would be
    posted to everyone there.
    """
    if msg.is_group or is_group_chat(msg.chat_id):
        return Reply(ctx.t("privacy.private_only"))
    if ctx.user is not None and can_decide_erasure(ctx.user):
        return await _pending_requests(ctx)
    data = await ctx.flows.support.customer_data(chat_person(msg))
    tz = ctx.settings.tz
    text = ctx.t("privacy.data", name=data.name, phone=data.phone or "—", email=data.email or "—",
                 company=data.company or "—", questions=data.questions, tickets=data.tickets,
                 interactions=data.interactions, since=fmt.day(data.since.astimezone(tz).date(), ctx.lang))
    if data.pending_request is not None:
        return Reply(f"{text}\n\n{ctx.t('privacy.already', request=data.pending_request)}")
    return Reply(text, keyboard=Keyboard.of([Button(ctx.t("privacy.btn_erase"), pack("privreq", "erase"))]))


@router.callback("privreq", audience=Audience.CUSTOMERS)
async def on_erasure_request(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """File the customer's erasure request and tell the admins."""
    if cb.action != "erase":
        raise ValueError(cb.action)
    filed = await ctx.flows.support.request_erasure(chat_person(msg), language=ctx.lang)
    if not filed.new:
        return Reply(ctx.t("privacy.already", request=filed.request.id))
    ctx.notify(filed.notices)
    return Reply(ctx.t("privacy.requested", request=filed.request.id), edit=True)


async def _pending_requests(ctx: Ctx) -> Reply:
    pending = await ctx.flows.support.pending_erasures()
    if not pending:
        return Reply(ctx.t("privacy.admin_none"))
    tz = ctx.settings.tz
    lines = [ctx.t("privacy.admin_title")]
    lines += [ctx.t("privacy.admin_line", request=r.id, customer=r.customer or ctx.t("privacy.unknown_customer"),
                    when=fmt.moment(r.requested_at, ctx.lang, tz, today=ctx.now.date()))
              for r in pending[:PENDING_SHOWN]]
    rows = [list(keyboard.buttons()) for r in pending[:PENDING_BUTTONS]
            if (keyboard := erasure_buttons(ctx.t, r.id)) is not None]
    return Reply("\n".join(lines), keyboard=Keyboard.of(*rows))


@router.callback("priv", audience=Audience.ADMINS)
async def on_erasure_decision(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """An admin approves a request in two taps (Approve shows what will be erased, Erase permanently erases; Cancel
    leaves it waiting) or rejects it in two (Reject asks, Reject confirms); the customer is told either way."""
    if cb.action == "ok":
        return _erasure_preview(ctx, await ctx.flows.support.preview_erasure(ctx.staff, cb.arg_int(0)))
    if cb.action == "keep":
        return Reply(ctx.t("privacy.confirm_cancelled", request=cb.arg_int(0)), edit=True)
    if cb.action == "ask_no":  # the customer is told at once: a tap next to Approve is confirmed first
        request = cb.arg_int(0)
        return Reply(ctx.t("privacy.confirm_reject", request=request), edit=True, keyboard=Keyboard.of([
            Button(ctx.t("privacy.btn_reject_for_good", request=request), pack("priv", "no", request)),
            Button(ctx.t("privacy.btn_keep"), pack("priv", "keep", request))]))
    if cb.action not in ("yes", "no"):
        raise StaleCallback(cb.action)
    approve = cb.action == "yes"
    business = Texts(ctx.settings.language)
    decided = await ctx.flows.support.decide_erasure(  # a confirmation names its preview; the flow checks it
        ctx.staff, cb.arg_int(0), approve=approve, confirmation=cb.arg_int(1) if approve else None,
        erased_name=lambda contact: business("privacy.erased_name", contact=contact),
        erased_company=lambda company: business("privacy.erased_company", company=company))
    ctx.notify(decided.notices)
    if decided.approved:
        return Reply(_erased_counts(ctx, decided), edit=True)
    return Reply(ctx.t("privacy.admin_rejected", request=decided.request.id), edit=True)


def _erased_counts(ctx: Ctx, decided: ErasureDecided) -> str:
    """What an approval erased, as its preview said it would: only what she had (no "0 questions")."""
    parts = _held_parts(ctx, decided)
    if not parts:
        return ctx.t("privacy.admin_done_no_counts", request=decided.request.id)
    return ctx.t("privacy.admin_done", request=decided.request.id, counts=", ".join(parts))


def _erasure_counts(ctx: Ctx, preview: ErasurePreview) -> str:
    """What an approval erases besides her name and numbers: only what she has (no "0 tasks"), and that open deals
    close as lost only when she has one."""
    parts = _held_parts(ctx, preview)
    return ctx.t("privacy.confirm_counts", counts=", ".join(parts)) if parts else ctx.t("privacy.confirm_no_counts")


def _held_parts(ctx: Ctx, held: ErasurePreview | ErasureDecided) -> list[str]:
    parts = [ctx.t(f"privacy.count_{key}", count=count) for key, count in (
        ("interactions", held.interactions), ("tasks", held.tasks)) if count]
    if held.deals:
        parts.append(ctx.t("privacy.count_deals_open", count=held.deals, open=held.open_deals)
                     if held.open_deals else ctx.t("privacy.count_deals", count=held.deals))
    if held.tickets:
        parts.append(ctx.t("privacy.count_tickets_messages", count=held.tickets, messages=held.messages)
                     if held.messages else ctx.t("privacy.count_tickets", count=held.tickets))
    if held.questions:
        parts.append(ctx.t("privacy.count_questions", count=held.questions))
    return parts


def _erasure_preview(ctx: Ctx, preview: ErasurePreview) -> Reply:
    """Who and what an approval erases for good, with [Erase permanently] [Cancel]."""
    request = preview.request.id
    lines = [ctx.t("privacy.confirm_erase", request=request,
                   customer=preview.customer or ctx.t("privacy.unknown_customer")),
             _erasure_counts(ctx, preview)]
    if preview.contacts > 1:
        lines.append(ctx.t("privacy.confirm_records", count=preview.contacts))
    lines.append(ctx.t("privacy.confirm_final"))
    buttons = [Button(ctx.t("privacy.btn_erase_for_good", request=request),
                      pack("priv", "yes", request, preview.confirmation)),
               Button(ctx.t("privacy.btn_keep"), pack("priv", "keep", request))]
    # It names her: as her request's notice does, it is about her (`ref`), so her erasure deletes its stored copy.
    return Reply("\n".join(lines), keyboard=Keyboard.of(buttons), edit=True, ref=erasure_ref(request))
