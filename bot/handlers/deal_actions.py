"""The deal card's lifecycle buttons: won and lost after a confirmation (lost with a reason), undo, reassign.

Buttons (namespace `deal`, routed here by `bot.handlers.sales.on_deal_button`):

    move:<deal>:<stage>            moves to an open stage; a won or lost one (whatever its key) asks first:
                                   "Đánh dấu thắng #N (…)?" / "… thua? Lý do:"
    ok:<deal>:<outcome>:<version>[:<reason>]   closes, while the deal is still at `version` (its latest move)
    why:<deal>:<version>           "Khác…": the next text is the reason (dialog `deal_lost_reason`)
    no:<deal>                      cancels the question
    undo:<deal>:<move>             takes the close back within CHATCRM_UNDO_MINUTES
    assign:<deal> / to:<deal>:<user>[:move|keep]   reassigns (managers), asking about others' tasks
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from bot.core import format as fmt
from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.context import Ctx
from bot.core.inputs import parse_id
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from bot.handlers.views import deal_amount
from bot.texts import Texts
from crm_core.flows.deals import (
    CloseQuestion,
    CloseRefused,
    CloseUndone,
    DealClosed,
    DealMoved,
    DealReassigned,
    Outcome,
    ReassignQuestion,
    ReassignUnchanged,
    UndoRefused,
)
from crm_core.pipelines.reasons import REASON_CHARS, clean_reason, is_reason_key
from crm_core.policy import Audience, can_reassign_deal
from crm_core.schemas import DealOut

router = Router()
ACTIONS = frozenset({"move", "ok", "why", "no", "undo", "assign", "to"})
REASON_STATE = "deal_lost_reason"


def reason_text(t: Texts, reason: str) -> str:
    """Name a stored lost reason: a listed one in the reader's language, the salesperson's words as typed."""
    return t(f"lost_reason.{reason}") if is_reason_key(reason) else reason


async def on_lifecycle_button(ctx: Ctx, cb: Callback, deal_id: int) -> HandlerResult:
    """Handle a lifecycle button of the deal card (one of ACTIONS)."""
    if cb.action == "move":
        moved = await ctx.flows.deals.move(ctx.staff, deal_id, cb.args[1])
        if isinstance(moved, DealMoved):
            stage = moved.deal.stage.name(ctx.lang)
            return await _card(ctx, deal_id, note=ctx.t("deal.moved", title=moved.deal.title, stage=stage), edit=True)
        return _question(ctx, moved)
    if cb.action == "ok":
        reason = cb.args[3] if len(cb.args) > 3 else None
        if reason is not None and not is_reason_key(reason):
            raise StaleCallback(f"no reason {reason!r}")
        result = await ctx.flows.deals.close_deal(ctx.staff, deal_id, _outcome(cb.args[1]), reason,
                                                  version=cb.arg_int(2, allow_zero=True))
        await ctx.clear_state()
        return await _closed(ctx, result, edit=True)
    if cb.action == "why":
        question = await ctx.flows.deals.ask_close(ctx.staff, deal_id, "lost")
        if isinstance(question, CloseRefused):
            return await _closed(ctx, question, edit=True)
        await ctx.set_state(REASON_STATE, {"deal": deal_id, "version": cb.arg_int(1, allow_zero=True)})
        return Reply(ctx.t("deal.type_reason", id=deal_id, title=question.deal.title, limit=REASON_CHARS),
                     keyboard=Keyboard.of([Button(ctx.t("btn.cancel"), pack("deal", "no", deal_id))]), edit=True)
    if cb.action == "no":
        await ctx.clear_state()
        return await _card(ctx, deal_id, note=ctx.t("deal.close_cancelled", id=deal_id), edit=True)
    if cb.action == "undo":
        return await _undone(ctx, await ctx.flows.deals.undo_close(ctx.staff, deal_id, cb.arg_int(1)))
    return await _reassign(ctx, cb, deal_id)


async def closed_card(ctx: Ctx, deal: DealOut) -> Reply:
    """A stale stage button of a closed deal: its card, saying it is closed and nothing changed (no stage list)."""
    return await _closed(ctx, CloseRefused(deal=deal, why="closed"), edit=True)


def _outcome(value: str) -> Outcome:
    if value == "won":
        return "won"
    if value == "lost":
        return "lost"
    raise StaleCallback(f"no outcome {value!r}")


def _question(ctx: Ctx, question: CloseQuestion | CloseRefused) -> Reply:
    if isinstance(question, CloseRefused):
        return _refused_note(ctx, question)
    deal, t = question.deal, ctx.t
    what = {"id": deal.id, "title": deal.title, "amount": deal_amount(deal, ctx.lang)}
    cancel = Button(t("btn.cancel"), pack("deal", "no", deal.id))
    if question.outcome == "won":
        confirm = Button(t("btn.confirm"), pack("deal", "ok", deal.id, "won", question.version))
        return Reply(t("deal.confirm_won", **what), keyboard=Keyboard.of([confirm, cancel]), edit=True)
    reasons = [Button(t(f"lost_reason.{key}"), pack("deal", "ok", deal.id, "lost", question.version, key))
               for key in question.reasons]
    rows = [reasons[i:i + 2] for i in range(0, len(reasons), 2)]
    rows.append([Button(t("btn.reason_other"), pack("deal", "why", deal.id, question.version)), cancel])
    return Reply(t("deal.ask_lost_reason", **what), keyboard=Keyboard.of(*rows), edit=True)


@router.state(REASON_STATE, audience=Audience.STAFF)
async def on_lost_reason_text(msg: Inbound, ctx: Ctx, state: dict[str, object]) -> HandlerResult:
    """Take the salesperson's own words as the reason a deal was lost; a text too long for one is a new log."""
    deal_id = parse_id(str(state.get("deal", "")))
    version = parse_id(str(state.get("version", "")), allow_zero=True)
    reason = clean_reason(msg.text or "")
    if deal_id is None or version is None:
        await ctx.clear_state()
        return Reply(ctx.t("common.stale_button"))
    if reason is None:  # not a reason: the deal stays open and the text is read as a log, so nothing is lost
        from bot.handlers.logs import on_staff_text

        logged = await on_staff_text(msg, ctx)  # it reads before it writes: the dialog is left after it
        await ctx.clear_state()
        return [Reply(ctx.t("deal.reason_not_taken", id=deal_id)), *([logged] if isinstance(logged, Reply)
                                                                      else logged)]
    result = await ctx.flows.deals.close_deal(ctx.staff, deal_id, "lost", reason, version=version)
    await ctx.clear_state()
    return await _closed(ctx, result, edit=False)


async def _closed(ctx: Ctx, result: DealClosed | CloseRefused, *, edit: bool) -> Reply:
    if isinstance(result, CloseRefused):
        refused = _refused_note(ctx, result)
        return await _card(ctx, result.deal.id, note=refused.text, edit=edit, toast=refused.toast)
    deal, t = result.deal, ctx.t
    if result.outcome == "won":
        note = t("deal.won", title=deal.title)
    elif result.reason:
        note = t("deal.lost_because", title=deal.title, reason=reason_text(t, result.reason))
    else:
        note = t("deal.lost", title=deal.title)
    note += t("deal.undo_hint", minutes=result.undo_minutes)
    card = await _card(ctx, deal.id, note=note, edit=edit)
    undo = [Button(t("btn.undo"), pack("deal", "undo", deal.id, result.move_id))]
    return replace(card, keyboard=Keyboard.of(undo, *(card.keyboard.rows if card.keyboard else ())))


def _refused_note(ctx: Ctx, refused: CloseRefused) -> Reply:
    deal = refused.deal
    if refused.why == "closed":
        text = ctx.t("deal.already_closed", id=deal.id, status=ctx.t(f"deal.status_{deal.status}"))
    else:
        text = ctx.t("deal.changed_since", id=deal.id)
    return Reply(text, toast=fmt.clip(text, 200), edit=True)


async def _undone(ctx: Ctx, result: CloseUndone | UndoRefused) -> Reply:
    deal = result.deal
    if isinstance(result, CloseUndone):
        return await _card(ctx, deal.id, note=ctx.t("deal.reopened", id=deal.id, stage=deal.stage.name(ctx.lang)),
                           edit=True)
    key = {"done": "deal.undo_done", "changed": "deal.undo_changed", "too_late": "deal.undo_too_late"}[result.why]
    text = ctx.t(key, id=deal.id, minutes=result.minutes)
    return await _card(ctx, deal.id, note=text, edit=True, toast=fmt.clip(text, 200))


async def _card(ctx: Ctx, deal_id: int, *, note: str, edit: bool, toast: str | None = None) -> Reply:
    from bot.handlers.sales import deal_card  # the card lives with the deal views; it routes its buttons here

    card = await deal_card(ctx, deal_id, edit=edit, note=note)
    return replace(card, toast=toast) if toast else card


# --- reassigning -------------------------------------------------------------------------------------------


async def _reassign(ctx: Ctx, cb: Callback, deal_id: int) -> HandlerResult:
    if not can_reassign_deal(ctx.staff):
        return Reply(ctx.t("common.not_allowed"), toast=ctx.t("common.not_allowed"))
    if cb.action == "assign":
        deal = await ctx.services.deals.get(deal_id, ctx.staff)
        reps = [r for r in await ctx.services.users.salespeople() if r.id != deal.owner_id]
        buttons = [Button(fmt.clip(r.name, 30), pack("deal", "to", deal_id, r.id)) for r in reps[:12]]
        buttons.append(Button(ctx.t("btn.back"), pack("deal", "open", deal_id)))
        return Reply(ctx.t("deal.pick_owner", title=deal.title), keyboard=Keyboard.column(buttons, per_row=2),
                     edit=True)
    if cb.action != "to":
        raise ValueError(cb.action)
    to_user_id = cb.arg_int(1)
    others = _others(cb.args[2] if len(cb.args) > 2 else "ask")
    result = await ctx.flows.deals.reassign(ctx.staff, deal_id, to_user_id, channel=ctx.inbound.channel,
                                            others=others)
    if isinstance(result, ReassignQuestion):
        return _reassign_question(ctx, result)
    if isinstance(result, ReassignUnchanged):
        return await _card(ctx, deal_id, note=ctx.t("deal.already_owner", id=deal_id, name=result.deal.owner or "—"),
                           edit=True)
    return await _reassigned(ctx, result)


def _others(value: str) -> Literal["ask", "move", "keep"]:
    if value in ("ask", "move", "keep"):
        return value  # type: ignore[return-value]  # narrowed by the membership test
    raise StaleCallback(f"no choice {value!r}")


def _reassign_question(ctx: Ctx, question: ReassignQuestion) -> Reply:
    deal, to_user, t = question.deal, question.to_user, ctx.t
    names = ", ".join(h.name for h in question.holders)
    holders = ", ".join(t("deal.holder", name=h.name, count=h.tasks) for h in question.holders)
    rows = [[Button(fmt.clip(t("btn.move_others_tasks", names=names), 60),
                    pack("deal", "to", deal.id, to_user.id, "move"))],
            [Button(t("btn.keep_tasks"), pack("deal", "to", deal.id, to_user.id, "keep"))],
            [Button(t("btn.back"), pack("deal", "open", deal.id))]]
    return Reply(t("deal.reassign_ask", title=deal.title, holders=holders, name=to_user.name),
                 keyboard=Keyboard.of(*rows), edit=True)


async def _reassigned(ctx: Ctx, result: DealReassigned) -> Reply:
    ctx.notify(result.notices)
    deal: DealOut = result.deal
    note = ctx.t("deal.reassigned", title=deal.title, name=result.to_user.name)
    if result.moved_tasks:
        note += ctx.t("deal.tasks_moved", count=result.moved_tasks)
    if result.kept_tasks:
        note += ctx.t("deal.tasks_kept", count=result.kept_tasks)
    return await _card(ctx, deal.id, note=note, edit=True)
