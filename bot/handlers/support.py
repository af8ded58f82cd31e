"""The staff side of customer support: answering tickets, /reply, /close, /tickets, escalation, /ask."""

from __future__ import annotations

import re

from bot.core import format as fmt
from bot.core.context import Ctx
from bot.core.inputs import parse_id
from bot.core.messages import Inbound, Reply
from bot.core.notices import render_notice
from bot.core.router import HandlerResult, Router
from crm_core.config import Settings
from crm_core.flows import Flows
from crm_core.flows.support import NotYourTicket, StaffAnswered
from crm_core.policy import Audience
from crm_core.services.delivery import ticket_of

router = Router()

_TICKET_ARGS = re.compile(r"^#?([0-9]+)(?:\s+(.*))?$", re.DOTALL)
TICKETS_SHOWN = 30


async def replied_ref(msg: Inbound, ctx: Ctx) -> str | None:
    """Return what the message a staff member replies to stands for (recorded with its id when we sent it)."""
    if msg.reply_to_message_id is None:
        return None
    return await ctx.services.delivery.ref_of(msg.channel, msg.chat_id, msg.reply_to_message_id)


async def answer_ticket_replied_to(msg: Inbound, ctx: Ctx, text: str) -> Reply | None:
    """Send a staff message to a ticket's customer when it replies to that ticket's notice; None otherwise.

    Only the replied-to message's recorded id says which ticket: its text (which a customer's chosen name can
    imitate) never does. A reply to another notice of ours (a lead, an erasure request) reaches nobody and says
    how to answer a customer instead.
    """
    ref = await replied_ref(msg, ctx)
    if ref is None or not text:
        return None
    ticket_id = ticket_of(ref)
    if ticket_id is None:
        return Reply(ctx.t("staff.reply_not_a_ticket"))
    return _answered(ctx, await ctx.flows.support.staff_reply(ctx.staff, ticket_id, text), "staff.sent")


def _answered(ctx: Ctx, result: StaffAnswered | NotYourTicket, done_key: str) -> Reply:
    if isinstance(result, NotYourTicket):
        return Reply(ctx.t("staff.not_yours", ticket=result.ticket.id, assignee=result.ticket.assignee or "—"))
    ctx.notify(result.notices)
    return Reply(ctx.t(done_key, ticket=result.ticket.id))


@router.command("tickets", audience=Audience.STAFF)
async def on_tickets_list(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """List open tickets (a salesperson sees theirs and the unassigned ones)."""
    tickets = await ctx.flows.support.open_tickets(ctx.staff)
    if not tickets:
        return Reply(ctx.t("staff.tickets_none"))
    tz = ctx.now.tzinfo or ctx.settings.tz
    lines = [ctx.t("staff.tickets_title")]
    lines += [ctx.t("staff.ticket_line", ticket=t.id, customer=t.customer, reason=ctx.t(f"staff.reason_{t.reason}"),
                    opened=fmt.moment(t.opened_at, ctx.lang, tz, today=ctx.now.date()),
                    assignee=f" · {t.assignee}" if t.assignee else ctx.t("staff.unassigned_mark"))
              for t in tickets[:TICKETS_SHOWN]]
    return Reply(fmt.clip_lines("\n".join(lines), 3900))


@router.command("reply", audience=Audience.STAFF)
async def on_ticket_reply(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """`/reply 12 text`: answer the customer of ticket 12."""
    match = _TICKET_ARGS.match(_args(msg))
    if match is None or not (match.group(2) or "").strip():
        return Reply(ctx.t("staff.reply_usage"))
    ticket_id = parse_id(match.group(1))
    if ticket_id is None:
        return Reply(ctx.t("common.not_found"))
    result = await ctx.flows.support.staff_reply(ctx.staff, ticket_id, match.group(2))
    return _answered(ctx, result, "staff.sent")


@router.command("close", audience=Audience.STAFF)
async def on_ticket_close(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """`/close 12`: end ticket 12 and ask its customer for a 1-5 rating."""
    match = _TICKET_ARGS.match(_args(msg))
    if match is None:
        return Reply(ctx.t("staff.close_usage"))
    ticket_id = parse_id(match.group(1))
    if ticket_id is None:
        return Reply(ctx.t("common.not_found"))
    return _answered(ctx, await ctx.flows.support.close(ctx.staff, ticket_id), "staff.closed")


def _args(msg: Inbound) -> str:
    parts = (msg.text or "").strip().split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


@router.periodic
async def escalate_unanswered(flows: Flows, settings: Settings, channel: str) -> list[Reply]:
    """Send managers the tickets nobody answered within the working minutes allowed."""
    now = flows.support.services.now
    return [reply for notice in await flows.support.escalations(channel)
            if (reply := render_notice(notice, settings, now=now)) is not None]


@router.periodic
async def announce_held_messages(flows: Flows, settings: Settings, channel: str) -> list[Reply]:
    """Tell staff of customer messages the once-a-minute cap held back, once their minute has passed."""
    now = flows.support.services.now
    return [reply for notice in await flows.support.held_messages(channel)
            if (reply := render_notice(notice, settings, now=now)) is not None]


@router.periodic
async def announce_held_answers(flows: Flows, settings: Settings, channel: str) -> list[Reply]:
    """Tell assignees of the bot's answers on their tickets held back by the few-minute cap, once it has passed."""
    now = flows.support.services.now
    return [reply for notice in await flows.support.held_answers(channel)
            if (reply := render_notice(notice, settings, now=now)) is not None]


# --- /ask over customer history ------------------------------------------------------------------------------


@router.command("ask", audience=Audience.STAFF)
async def on_history_ask(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """`/ask Hòa Phát nói gì về giao hàng?`: the customer's past interactions closest to the question."""
    question = _args(msg)
    if not question:
        return Reply(ctx.t("staff.ask_usage"))
    found = await ctx.flows.support.ask_history(ctx.staff, question)
    if found is None:
        return Reply(ctx.t("staff.ask_down"))
    scope = ctx.t("staff.ask_scope", company=found.company) if found.company else ""
    if not found.interactions:
        return Reply(ctx.t("staff.ask_none", scope=scope))
    tz = ctx.now.tzinfo or ctx.settings.tz
    lines = [ctx.t("staff.ask_title", scope=scope)]
    lines += [ctx.t("staff.ask_line", when=fmt.day(i.occurred_at.astimezone(tz).date(), ctx.lang),
                    kind=ctx.t(f"kind.{i.kind}"), owner=i.owner or i.contact or "—",
                    text=fmt.clip(" ".join(i.summary.split()), 300)) for i in found.interactions]
    return Reply(fmt.clip_lines("\n".join(lines), 3900))
