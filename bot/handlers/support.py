"""The staff side of customer support: ticket notifications, /reply, /close, /tickets, escalation, /ask."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from bot.core import format as fmt
from bot.core.callbacks import pack
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, Reply, staff_chat_id
from bot.core.router import HandlerResult, Router
from bot.texts import Texts
from crm_core.config import Settings
from crm_core.hours import WorkingHours
from crm_core.policy import Audience
from crm_core.schemas import TicketMessageOut, TicketOut, UserOut
from crm_core.services import Services
from crm_core.services.deals import sees_everything
from crm_core.services.delivery import ticket_of, ticket_ref

log = logging.getLogger(__name__)
router = Router()

_TICKET_ARGS = re.compile(r"^#?(\d+)\s*(.*)$", re.DOTALL)
TRANSCRIPT_LINES = 8
ASK_HITS = 3


def working_hours(settings: Settings) -> WorkingHours:
    """Return the support team's working hours from the settings."""
    return WorkingHours.parse(settings.support_hours, settings.tz)


def transcript_text(lines: list[TicketMessageOut], t: Texts) -> str:
    """Render a ticket's conversation for staff, one line per message."""
    rendered = []
    for line in lines[-TRANSCRIPT_LINES:]:
        text = fmt.clip(" ".join(line.text.split()), 300)
        if line.author == "customer":
            rendered.append(t("staff.line_customer", text=text))
        elif line.author == "bot":
            rendered.append(t("staff.line_bot", text=text))
        else:
            rendered.append(t("staff.line_staff", name=line.name or "—", text=text))
    return "\n".join(rendered)


async def ticket_audience(services: Services, settings: Settings, ticket: TicketOut) -> list[tuple[str, str]]:
    """Return (chat id, language) of who hears about a ticket: the support group, its assignee, or managers."""
    if settings.support_chat_id and ticket.channel == "telegram":
        return [(settings.support_chat_id, settings.language)]
    people: list[UserOut] = []
    if ticket.assignee_id is not None:
        people = [await services.users.get(ticket.assignee_id)]
    if not people:
        people = [u for u in await services.users.list() if u.active and u.role in ("manager", "admin")]
    return [(chat, u.language) for u in people if (chat := staff_chat_id(u, ticket.channel)) is not None]


async def notify_staff(ctx: Ctx, ticket: TicketOut, key: str, **values: Any) -> None:
    """Push a ticket message to its audience, in each reader's language."""
    for chat_id, language in await ticket_audience(ctx.services, ctx.settings, ticket):
        t = Texts(language)
        text = fmt.clip(t(key, ticket=ticket.id, customer=ticket.customer, **_localized(values, t)), 4000)
        ctx.push(Reply(text, chat_id=chat_id, channel=ticket.channel, ref=ticket_ref(ticket.id)))


def _localized(values: dict[str, Any], t: Texts) -> dict[str, Any]:
    """Resolve values that are text keys or transcripts in the reader's language."""
    out = dict(values)
    if "reason" in out:
        out["reason"] = t(f"staff.reason_{out['reason']}")
    if "transcript" in out and isinstance(out["transcript"], list):
        out["transcript"] = transcript_text(out["transcript"], t)
    return out


async def announce_ticket(ctx: Ctx, ticket: TicketOut) -> None:
    """Tell staff about a new ticket, with the conversation so far."""
    lines = await ctx.services.support.transcript(ticket.id)
    phone = f" · {ticket.phone}" if ticket.phone else ""
    await notify_staff(ctx, ticket, "staff.ticket_new", reason=ticket.reason, transcript=lines, phone=phone)


async def ticket_in_reply(msg: Inbound, ctx: Ctx) -> int | None:
    """Return the ticket a staff message replies to, when the replied-to message is one of our ticket notices."""
    if msg.reply_to_message_id is None:
        return None
    return ticket_of(await ctx.services.delivery.ref_of(msg.channel, msg.chat_id, msg.reply_to_message_id))


async def relay_to_customer(ctx: Ctx, ticket_id: int, text: str) -> HandlerResult:
    """Send a staff answer to the ticket's customer."""
    ticket = await ctx.services.support.get(ticket_id)
    refusal = _refuse_foreign(ctx, ticket)
    if refusal is not None:
        return refusal
    ticket = await ctx.services.support.staff_reply(ticket_id, ctx.staff, text)
    t = Texts(ticket.language)
    ctx.push(Reply(fmt.clip(t("support.staff_reply", name=ctx.staff.name, text=text.strip()), 4000),
                   chat_id=ticket.chat_id, channel=ticket.channel))
    return Reply(ctx.t("staff.sent", ticket=ticket.id))


def _refuse_foreign(ctx: Ctx, ticket: TicketOut) -> Reply | None:
    """A salesperson answers their own and unassigned tickets; managers and admins any."""
    if ticket.assignee_id in (None, ctx.staff.id) or sees_everything(ctx.staff):
        return None
    return Reply(ctx.t("staff.not_yours", ticket=ticket.id, assignee=ticket.assignee or "—"))


@router.command("tickets", audience=Audience.STAFF)
async def on_tickets_list(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """List open tickets (a salesperson sees theirs and the unassigned ones)."""
    tickets = [t for t in await ctx.services.support.open_tickets()
               if sees_everything(ctx.staff) or t.assignee_id in (None, ctx.staff.id)]
    if not tickets:
        return Reply(ctx.t("staff.tickets_none"))
    tz = ctx.now.tzinfo or ctx.settings.tz
    lines = [ctx.t("staff.tickets_title")]
    lines += [ctx.t("staff.ticket_line", ticket=t.id, customer=t.customer, reason=ctx.t(f"staff.reason_{t.reason}"),
                    opened=fmt.moment(t.opened_at, ctx.lang, tz, today=ctx.now.date()),
                    assignee=f" · {t.assignee}" if t.assignee else "") for t in tickets[:30]]
    return Reply(fmt.clip_lines("\n".join(lines), 3900))


@router.command("reply", audience=Audience.STAFF)
async def on_ticket_reply(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """`/reply 12 text`: answer the customer of ticket 12."""
    match = _TICKET_ARGS.match(_args(msg))
    if match is None or not match.group(2).strip():
        return Reply(ctx.t("staff.reply_usage"))
    return await relay_to_customer(ctx, int(match.group(1)), match.group(2))


@router.command("close", audience=Audience.STAFF)
async def on_ticket_close(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """`/close 12`: end ticket 12 and ask its customer for a 1-5 rating."""
    match = _TICKET_ARGS.match(_args(msg))
    if match is None:
        return Reply(ctx.t("staff.close_usage"))
    ticket = await ctx.services.support.get(int(match.group(1)))
    refusal = _refuse_foreign(ctx, ticket)
    if refusal is not None:
        return refusal
    ticket = await ctx.services.support.close(ticket.id, ctx.staff)
    t = Texts(ticket.language)
    stars = [Button("⭐" * n, pack("csat", "rate", ticket.id, n)) for n in range(1, 6)]
    ctx.push(Reply(t("support.closed", ticket=ticket.id), keyboard=Keyboard.column(stars, per_row=5),
                   chat_id=ticket.chat_id, channel=ticket.channel))
    return Reply(ctx.t("staff.closed", ticket=ticket.id))


def _args(msg: Inbound) -> str:
    parts = (msg.text or "").strip().split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


@router.periodic
async def escalate_unanswered(services: Services, settings: Settings, channel: str) -> list[Reply]:
    """Send managers the tickets nobody answered within the working minutes allowed."""
    hours = working_hours(settings)
    minutes = settings.escalate_after_minutes
    tickets = await services.support.claim_escalations(lambda opened: hours.add_working_minutes(opened, minutes),
                                                       channel=channel)
    if not tickets:
        return []
    managers = [u for u in await services.users.list() if u.active and u.role in ("manager", "admin")]
    pushes = []
    for ticket in tickets:
        lines = await services.support.transcript(ticket.id)
        for manager in managers:
            chat_id = staff_chat_id(manager, channel)
            if chat_id is None:
                continue
            t = Texts(manager.language)
            text = t("staff.ticket_escalated", ticket=ticket.id, customer=ticket.customer, minutes=minutes,
                     assignee=ticket.assignee or "—", transcript=transcript_text(lines, t))
            pushes.append(Reply(fmt.clip(text, 4000), chat_id=chat_id, channel=channel, ref=ticket_ref(ticket.id)))
    return pushes


# --- /ask over customer history ------------------------------------------------------------------------------


@router.command("ask", audience=Audience.STAFF)
async def on_history_ask(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """`/ask Hòa Phát nói gì về giao hàng?`: the customer's past interactions closest to the question."""
    question = _args(msg)
    if not question:
        return Reply(ctx.t("staff.ask_usage"))
    history = ctx.extensions.history
    if history is None:
        return Reply(ctx.t("staff.ask_down"))
    company = await _company_named_in(ctx, question)
    scope = ctx.t("staff.ask_scope", company=company[1]) if company else ""
    interactions = await ctx.services.directory.interactions_for_search(company[0] if company else None)
    try:
        hits = await asyncio.to_thread(_search_history, history, interactions, question,
                                       company[0] if company else None)
    except Exception:  # the index is optional; staff still have /customer
        log.warning("history search failed", exc_info=True)
        return Reply(ctx.t("staff.ask_down"))
    by_id = {i.id: i for i in interactions}
    found = [by_id[h.interaction_id] for h in hits if h.interaction_id in by_id]
    if not found:
        return Reply(ctx.t("staff.ask_none", scope=scope))
    tz = ctx.now.tzinfo or ctx.settings.tz
    lines = [ctx.t("staff.ask_title", scope=scope)]
    lines += [ctx.t("staff.ask_line", when=fmt.day(i.occurred_at.astimezone(tz).date(), ctx.lang),
                    kind=ctx.t(f"kind.{i.kind}"), owner=i.owner or i.contact or "—",
                    text=fmt.clip(" ".join(i.summary.split()), 300)) for i in found]
    return Reply(fmt.clip_lines("\n".join(lines), 3900))


async def _company_named_in(ctx: Ctx, question: str) -> tuple[int, str] | None:
    matches = await ctx.services.directory.companies_named_in(question)
    return (matches[0].id, matches[0].name) if matches else None


def _search_history(history: Any, interactions: list[Any], question: str, company_id: int | None) -> list[Any]:
    """Index what is not indexed yet (idempotent by interaction id), then search."""
    from crm_core.retrieval.history import HistoryItem

    history.sync([HistoryItem(i.id, i.company_id, i.contact_id, i.summary, i.occurred_at) for i in interactions])
    return list(history.search(question, company_id=company_id, k=ASK_HITS))
