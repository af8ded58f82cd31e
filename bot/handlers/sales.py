"""Deals, customers and search for salespeople; team views for managers (tasks: bot/handlers/tasks.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from bot.core import format as fmt
from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.context import Ctx
from bot.core.inputs import parse_id
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from bot.handlers import deal_actions
from bot.handlers.views import deal_amount, due_text, reminder_reply, staff_label, totals, words_of
from bot.texts import Texts
from crm_core.markers import ERASED
from crm_core.policy import Audience, can_change_deal, can_reassign_deal, can_view_colleague
from crm_core.schemas import (
    DealOut,
    DealSummary,
    InteractionOut,
    NameMatch,
    Person360,
    TaskOut,
    TaskSummary,
    TicketOut,
)
from crm_core.services.search import MIN_PHONE_DIGITS
from crm_core.understanding.products import title_product

__all__ = ["reminder_reply", "router"]

router = Router()
# A query is echoed back in replies; a 4,000-character one must not push them past Telegram's limit.
QUERY_SHOWN = 100
DEALS_PER_PAGE = 8
# A person by her number, as lists and notices show it ("liên hệ #5"): "#5", "# 5".
_CONTACT_NUMBER = re.compile(r"#\s*([0-9]+)")


def _args(msg: Inbound) -> str:
    text = (msg.text or "").strip()
    return text.split(maxsplit=1)[1].strip() if " " in text else ""


# --- deals -------------------------------------------------------------------------------------------------


@router.command("deals", audience=Audience.STAFF)
async def on_deals_list(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """List open deals by stage, paged; managers may name a salesperson."""
    owner_id = None
    query = _args(msg)
    if query and can_view_colleague(ctx.staff):
        rep = await ctx.services.users.by_name(query)
        owner_id = rep.id if rep else None
    return await _deals_page(ctx, page=1, owner_id=owner_id, edit=False)


async def _deals_page(ctx: Ctx, *, page: int, owner_id: int | None, edit: bool) -> Reply:
    deals = await ctx.services.deals.list_open(ctx.staff, owner_id=owner_id)
    pages = max(1, math.ceil(len(deals) / DEALS_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = deals[(page - 1) * DEALS_PER_PAGE: page * DEALS_PER_PAGE]
    whose = ""
    if owner_id is not None:
        whose = ctx.t("deal.whose_rep", name=(await ctx.services.users.get(owner_id)).name)
    elif not can_view_colleague(ctx.staff):  # their own list, named as such
        whose = ctx.t("deal.whose_rep", name=ctx.staff.name)
    lines = [ctx.t("deal.list_title", whose=whose, page=page, pages=pages)]
    if not deals:
        lines.append(ctx.t("deal.none"))
    lines += _stage_blocks(ctx, shown, deals)
    rows = [[Button(fmt.clip(f"#{d.id} {ctx.t.words(d.title)}", 40), pack("deal", "open", d.id))] for d in shown]
    nav = []
    filter_arg = owner_id or 0
    if page > 1:
        nav.append(Button(ctx.t("btn.prev"), pack("deals", "page", page - 1, filter_arg)))
    if page < pages:
        nav.append(Button(ctx.t("btn.next"), pack("deals", "page", page + 1, filter_arg)))
    rows.append(nav)
    if can_view_colleague(ctx.staff):
        reps = await ctx.services.users.salespeople()
        rows.append([Button(fmt.clip(staff_label(r, reps), 20), pack("deals", "page", 1, r.id)) for r in reps[:6]]
                    + [Button(ctx.t("btn.all_reps"), pack("deals", "page", 1, 0))])
    return Reply(fmt.clip_lines("\n".join(lines)), keyboard=Keyboard.of(*rows), edit=edit)


def _stage_blocks(ctx: Ctx, shown: list[DealOut], every: list[DealOut]) -> list[str]:
    lines: list[str] = []
    for stage_key in dict.fromkeys(d.stage.key for d in shown):
        in_stage = [d for d in every if d.stage.key == stage_key]
        stage = in_stage[0].stage
        lines.append(ctx.t("deal.stage_header", stage=stage.name(ctx.lang), count=len(in_stage),
                           total=fmt.money_totals(totals(in_stage), ctx.lang)))
        for deal in (d for d in shown if d.stage.key == stage_key):
            stalled = ctx.t("deal.stalled", days=deal.stalled_days) if deal.stalled_days else ""
            lines.append(fmt.clip(ctx.t("deal.line", id=deal.id, title=deal.title, amount=deal_amount(deal, ctx.lang),
                                        stalled=stalled), 300))
    return lines


@router.callback("deals", audience=Audience.STAFF)
async def on_deals_page(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Turn a page of the deal list, or filter by salesperson."""
    owner = cb.arg_int(1, allow_zero=True) or None
    if owner is not None and not can_view_colleague(ctx.staff):
        owner = None
    return await _deals_page(ctx, page=cb.arg_int(0), owner_id=owner, edit=True)


@router.command("deal", audience=Audience.STAFF)
async def on_deal_show(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Show one deal found by name, or let the user pick."""
    query = _args(msg)
    if not query:
        return Reply(ctx.t("deal.usage"))
    if query.lstrip("#").isdigit():
        deal_id = parse_id(query.lstrip("#"))
        return await deal_card(ctx, deal_id) if deal_id is not None else Reply(ctx.t("common.not_found"))
    found = await ctx.services.deals.find(query, ctx.staff)
    if not found:
        return Reply(ctx.t("deal.not_found", query=fmt.clip(query, QUERY_SHOWN)))
    if len(found) == 1:
        return await deal_card(ctx, found[0].id)
    rows = [[Button(fmt.clip(_deal_label(ctx, d), 40), pack("deal", "open", d.id))] for d in found]
    return Reply(ctx.t("deal.pick", query=fmt.clip(query, QUERY_SHOWN)), keyboard=Keyboard.of(*rows))


def _deal_label(ctx: Ctx, deal: DealOut | DealSummary) -> str:
    """A deal on a button: its title and stage, or a colleague's as its id, company and owner."""
    if isinstance(deal, DealSummary):
        return ctx.t("deal.summary_line", id=deal.id, company=deal.company or "—", owner=deal.owner or "—")
    return f"#{deal.id} {ctx.t.words(deal.title)} · {deal.stage.name(ctx.lang)}"


async def deal_card(ctx: Ctx, deal_id: int, *, edit: bool = False, note: str | None = None) -> Reply:
    """One deal with its latest history and what can be done with it; a colleague's as its id and owner only."""
    deal = await ctx.services.deals.look(deal_id, ctx.staff)
    if isinstance(deal, DealSummary):
        return _deal_summary_card(ctx, deal, edit=edit)
    history = await ctx.services.deals.history(deal_id, ctx.staff)
    status = ctx.t(f"deal.status_{deal.status}")
    lines = [note] if note else []
    lines.append(ctx.t("deal.card", title=deal.title, company=deal.company or "—", contact=deal.contact or "—",
                       owner=deal.owner or "—", stage=deal.stage.name(ctx.lang), probability=deal.stage.probability,
                       amount=deal_amount(deal, ctx.lang), status=status))
    if deal.quantity:
        lines.append(ctx.t("deal.quantity_line", quantity=quantity_with_unit(deal)))
    if deal.status == "lost" and deal.lost_reason:
        lines.append(ctx.t("deal.lost_reason_line", reason=deal_actions.reason_text(ctx.t, deal.lost_reason)))
    lines.append(ctx.t("deal.history") if history else ctx.t("deal.history_none"))
    for item in history:
        when = fmt.day(item.occurred_at.astimezone(ctx.now.tzinfo).date(), ctx.lang)
        lines.append(ctx.t("customer.interaction_line", when=when, kind=ctx.t(f"kind.{item.kind}"),
                           owner=written_by(item, ctx.t), summary=fmt.clip(words_of(item.summary, ctx.t), 160)))
    rows: list[list[Button]] = []
    if deal.status == "open" and can_change_deal(ctx.staff, deal.owner_id):
        rows.append([Button(ctx.t("btn.move_stage"), pack("deal", "stages", deal.id)),
                     Button(ctx.t("btn.won"), pack("deal", "move", deal.id, "won")),
                     Button(ctx.t("btn.lost"), pack("deal", "move", deal.id, "lost"))])
    if can_reassign_deal(ctx.staff):
        rows.append([Button(ctx.t("btn.reassign"), pack("deal", "assign", deal.id))])
    if deal.company_id:
        rows.append([Button(fmt.clip(ctx.t("btn.open_customer", name=deal.company or ""), 40),
                            pack("cust", "open", deal.company_id))])
    return Reply(fmt.clip_lines("\n".join(lines)), keyboard=Keyboard.of(*rows) if rows else None, edit=edit)


def quantity_with_unit(deal: DealOut) -> str:
    """ "125 bộ bàn AP-D160": the deal's quantity with what its title says it counts (the number alone if nothing)."""
    title_quantity, product = title_product(deal.title)
    return f"{deal.quantity} {product}" if product and title_quantity == deal.quantity else str(deal.quantity)


def _deal_summary_card(ctx: Ctx, deal: DealSummary, *, edit: bool) -> Reply:
    """A colleague's deal under the `team` visibility: "#21 · Hòa Phát · Tuấn phụ trách", and its company."""
    text = ctx.t("deal.summary_card", id=deal.id, company=deal.company or "—", owner=deal.owner or "—")
    rows = [[Button(fmt.clip(ctx.t("btn.open_customer", name=deal.company or ""), 40),
                    pack("cust", "open", deal.company_id))]] if deal.company_id else []
    return Reply(text, keyboard=Keyboard.of(*rows) if rows else None, edit=edit)


@router.callback("deal", audience=Audience.STAFF)
async def on_deal_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Open a deal, move its stage, win or lose it, reassign it."""
    deal_id = cb.arg_int(0)
    if cb.action == "open":
        return await deal_card(ctx, deal_id, edit=True)
    if cb.action == "stages":
        deal = await ctx.services.deals.to_change(deal_id, ctx.staff)
        if deal.status != "open":  # a stale button: a closed deal is reopened by its Undo only, never by a stage
            return await deal_actions.closed_card(ctx, deal)
        stages = [s for s in await ctx.services.pipelines.stages_of(deal.stage.pipeline_id)
                  if s.key != deal.stage.key]
        buttons = [Button(s.name(ctx.lang), pack("deal", "move", deal_id, s.key)) for s in stages]
        buttons.append(Button(ctx.t("btn.back"), pack("deal", "open", deal_id)))
        return Reply(ctx.t("deal.pick_stage", title=deal.title), keyboard=Keyboard.column(buttons, per_row=3),
                     edit=True)
    if cb.action in deal_actions.ACTIONS:
        return await deal_actions.on_lifecycle_button(ctx, cb, deal_id)  # moves; won/lost confirmed, undo, reassign
    raise ValueError(cb.action)


# --- customers and search ----------------------------------------------------------------------------------


@router.command("customer", audience=Audience.STAFF)
async def on_customer_show(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Show the 360° view of a company found by name or phone (or by one of its people), or the card of the person
    numbered so ("#5", as lists and notices show her); a bare number is a name or phone first (see the README)."""
    query = _args(msg)
    if not query:
        return Reply(ctx.t("customer.usage"))
    if (number := _CONTACT_NUMBER.fullmatch(query)) is not None:
        person = await _numbered(ctx, number[1])
        return _person_reply(ctx, person, edit=False) if person is not None \
            else Reply(ctx.t("customer.not_found_number", number=fmt.clip(number[1], QUERY_SHOWN)))
    found = await ctx.services.directory.search(query)
    # A bare number no name has, too short for a phone, is the person's number ("5" for "#5").
    if not found and query.isascii() and query.isdigit() and len(query) < MIN_PHONE_DIGITS \
            and (person := await _numbered(ctx, query)) is not None:
        return _person_reply(ctx, person, edit=False)
    if not found:
        return Reply(ctx.t("customer.not_found", query=fmt.clip(query, QUERY_SHOWN)))
    exact = [m for m in found if m.exact]
    exact_companies = [m for m in exact if m.kind == "company"]
    one = (exact_companies[0] if len(exact_companies) == 1 else exact[0] if len(exact) == 1
           else found[0] if len(found) == 1 else None)
    if one is not None:
        return await customer_card(ctx, one.id) if one.kind == "company" else await _contact_card(ctx, one.id)
    return Reply(ctx.t("customer.pick", query=fmt.clip(query, QUERY_SHOWN)),
                 keyboard=Keyboard.of(*([_match_button(match)] for match in found)))


def written_by(item: InteractionOut, t: Texts) -> str:
    """Who a line of the history is from: the customer's own messages and the customer bot's replies are labelled
    as theirs, not as the contact owner's."""
    if item.source == "customer":  # an erased customer's name already says "customer": said once, not twice
        if item.summary == ERASED:
            return t("customer.by_erased_customer", contact=item.contact_id or "—")
        return t("customer.by_customer", name=item.contact or "—")
    if item.source == "bot":
        return t("customer.by_bot")
    return item.owner or "—"


def _match_button(match: NameMatch) -> Button:
    """A company opens its 360° view, a person their card."""
    if match.kind == "company":
        return Button(fmt.clip(f"🏢 {match.name}", 40), pack("cust", "open", match.id))
    company = f" — {match.company}" if match.company else ""
    return Button(fmt.clip(f"👤 {match.name}{company}", 40), pack("cust", "person", match.id))


async def customer_card(ctx: Ctx, company_id: int, *, edit: bool = False) -> Reply:
    """The company, its people, deals, latest interactions and open tasks; its people's tickets and rating."""
    view = await ctx.flows.customers.company(company_id, viewer=ctx.staff)
    company, t = view.company, ctx.t
    lines = [t("customer.header", name=company.name),
             t("customer.info", industry=company.industry or "—", phone=company.phone or "—",
               email=company.email or "—", address=company.address or "—"), t("customer.contacts")]
    lines += [t("customer.contact_line", name=c.name, title=f" — {c.title}" if c.title else "",
                phone=f" · {c.phone}" if c.phone else "") for c in view.contacts] or [t("customer.none")]
    lines.append(t("customer.deals"))
    lines += _deal_lines(ctx, view.deals) or [t("customer.none")]
    lines.append(t("customer.interactions"))
    lines += [t("customer.interaction_line", when=fmt.day(i.occurred_at.astimezone(ctx.now.tzinfo).date(), ctx.lang),
                kind=t(f"kind.{i.kind}"), owner=written_by(i, t), summary=fmt.clip(words_of(i.summary, t), 140))
              for i in view.interactions] or [t("customer.none")]
    lines.append(t("customer.tasks"))
    lines += _task_lines(ctx, view.open_tasks) or [t("customer.none")]
    if view.tickets:  # most companies never write to the bot: no empty section for them
        lines.append(t("customer.tickets"))
        lines += _ticket_lines(ctx, view.tickets, named=True)
    lines += _rating_lines(ctx, view.rated)
    return Reply(fmt.clip_lines("\n".join(lines)), keyboard=Keyboard.of(*_deal_buttons(ctx, view.deals)), edit=edit)


def _deal_lines(ctx: Ctx, deals: Sequence[DealOut | DealSummary]) -> list[str]:
    """ "#12 Khách từ bot — Mới · 5.000.000 ₫" per deal, a colleague's as its number and owner."""
    return [ctx.t("customer.deal_summary_line", id=d.id, owner=d.owner or "—") if isinstance(d, DealSummary)
            else ctx.t("customer.deal_line", id=d.id, title=d.title, stage=d.stage.name(ctx.lang),
                       amount=deal_amount(d, ctx.lang)) for d in deals[:8]]


def _task_lines(ctx: Ctx, tasks: Sequence[TaskOut | TaskSummary]) -> list[str]:
    """ "Gọi lại khách — mai 09:00" per open task, a colleague's followed by whose it is; one the viewer may not
    read as whose it is only ("việc của Tuấn")."""
    return [ctx.t("customer.task_summary_line", owner=task.owner or ctx.t("customer.task_nobody"))
            if isinstance(task, TaskSummary)
            else ctx.t("customer.task_line", title=task.title + _whose(ctx, task),
                       due=due_text(task.due_at, ctx.t, ctx.now, ctx.settings)) for task in tasks[:8]]


def _ticket_lines(ctx: Ctx, tickets: Sequence[TicketOut], *, named: bool) -> list[str]:
    """ "Phiếu #2 — đang mở · mở 03/12 · Tuấn" per ticket; on a company's card, whose ticket it is too."""
    tz = ctx.now.tzinfo or ctx.settings.tz
    return [ctx.t("customer.ticket_line", id=ticket.id, status=ctx.t(f"customer.ticket_{ticket.status}"),
                  opened=fmt.moment(ticket.opened_at, ctx.lang, tz, today=ctx.now.date()),
                  customer=ctx.t("customer.ticket_customer", name=ticket.customer) if named else "",
                  assignee=ctx.t("customer.ticket_assignee", name=ticket.assignee) if ticket.assignee else "")
            for ticket in tickets]


def _rating_lines(ctx: Ctx, rated: TicketOut | None) -> list[str]:
    """ "⭐ Đánh giá gần nhất: 4/5 (phiếu #1, 02/12)", when the customer ever rated a ticket."""
    if rated is None or rated.csat is None:
        return []
    when = rated.csat_at or rated.closed_at or rated.opened_at
    return [ctx.t("customer.rating", score=rated.csat, ticket=rated.id,
                  when=fmt.day(when.astimezone(ctx.now.tzinfo).date(), ctx.lang))]


def _deal_buttons(ctx: Ctx, deals: Sequence[DealOut | DealSummary]) -> list[list[Button]]:
    """A button per open deal seen in full (at most six), a row each."""
    rows = [[Button(fmt.clip(f"💼 #{d.id} {ctx.t.words(d.title)}", 40), pack("deal", "open", d.id))]
            for d in deals if isinstance(d, DealOut) and d.status == "open"]
    return rows[:6]


def _whose(ctx: Ctx, task: TaskOut) -> str:
    """ " (Lan)" after a colleague's task in a list of the viewer's and others' tasks; nothing after their own."""
    if task.owner_id == ctx.staff.id:
        return ""
    return ctx.t("customer.task_owner", name=task.owner or ctx.t("customer.task_nobody"))


async def _contact_card(ctx: Ctx, contact_id: int) -> Reply:
    contact = await ctx.services.directory.contact(contact_id)
    if contact.company_id:
        return await customer_card(ctx, contact.company_id)
    return await person_card(ctx, contact_id)


async def person_card(ctx: Ctx, contact_id: int, *, edit: bool = False) -> Reply:
    """A person: details, their company (a button to it), her open deals and tasks, her support tickets and
    latest rating, then her latest conversations (last: the longest part, the one clipped)."""
    return _person_reply(ctx, await ctx.flows.customers.person(contact_id, viewer=ctx.staff), edit=edit)


async def _numbered(ctx: Ctx, digits: str) -> Person360 | None:
    """The card of the person numbered `digits`, or None: nobody has the number, or no record could (0, ≥ 2^31)."""
    contact_id = parse_id(digits)
    return await ctx.flows.customers.person_numbered(contact_id, viewer=ctx.staff) if contact_id else None


def _person_reply(ctx: Ctx, view: Person360, *, edit: bool) -> Reply:
    contact, t = view.contact, ctx.t
    lines = [t("customer.person_header", name=contact.name, phone=contact.phone or "—", email=contact.email or "—")]
    if contact.company:
        lines.append(t("customer.person_company", company=contact.company,
                       title=f" — {contact.title}" if contact.title else ""))
    lines.append(t("customer.open_deals"))
    lines += _deal_lines(ctx, view.deals) or [t("customer.none")]
    lines.append(t("customer.tasks"))
    lines += _task_lines(ctx, view.open_tasks) or [t("customer.none")]
    lines.append(t("customer.tickets"))
    lines += _ticket_lines(ctx, view.tickets, named=False) or [t("customer.none")]
    lines += _rating_lines(ctx, view.rated)
    lines.append(t("customer.interactions"))
    lines += [t("customer.interaction_line", when=fmt.day(i.occurred_at.astimezone(ctx.now.tzinfo).date(), ctx.lang),
                kind=t(f"kind.{i.kind}"), owner=written_by(i, t),
                summary=fmt.clip(" ".join(words_of(i.summary, t).split()), 140))
              for i in view.interactions] or [t("customer.none")]
    rows = _deal_buttons(ctx, view.deals)
    if contact.company_id and contact.company:
        rows.append([Button(fmt.clip(t("btn.open_customer", name=contact.company), 40),
                            pack("cust", "open", contact.company_id))])
    return Reply(fmt.clip_lines("\n".join(lines)), keyboard=Keyboard.of(*rows), edit=edit)


@router.callback("cust", audience=Audience.STAFF)
async def on_customer_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Open a company's 360° view, or a person's card."""
    if cb.action == "person":
        return await person_card(ctx, cb.arg_int(0))
    if cb.action != "open":
        raise StaleCallback(f"no customer action {cb.action!r}")
    return await customer_card(ctx, cb.arg_int(0))


@router.command("find", audience=Audience.STAFF)
async def on_directory_search(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Search people and companies by name (accents and case ignored) or phone; every result a button."""
    query = _args(msg)
    if not query:
        return Reply(ctx.t("find.usage"))
    found = await ctx.services.directory.search(query)
    if not found:
        return Reply(ctx.t("find.none", query=fmt.clip(query, QUERY_SHOWN)))
    lines = [ctx.t("find.title", query=fmt.clip(query, QUERY_SHOWN))]
    for match in found:
        if match.kind == "company":
            lines.append(ctx.t("find.company_line", name=match.name))
        else:
            lines.append(ctx.t("find.contact_line", name=match.name,
                               company=f" — {match.company}" if match.company else ""))
    return Reply(fmt.clip_lines("\n".join(lines)), keyboard=Keyboard.of(*([_match_button(m)] for m in found)))
