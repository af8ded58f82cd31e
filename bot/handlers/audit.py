"""/audit [NAME|today] (admins): the audit trail, newest first, a page at a time."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from bot.core.callbacks import Callback, pack
from bot.core.context import Ctx
from bot.core.format import clip, clip_lines, moment
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from crm_core.errors import Forbidden
from crm_core.policy import Audience, sees_audit
from crm_core.schemas import AuditEntryOut

router = Router()
PER_PAGE = 10
_TODAY_WORDS = frozenset({"today", "hôm nay", "hom nay", "homnay"})


@router.command("audit", audience=Audience.ADMINS)
async def on_audit(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Show the latest entries; `/audit today` today's, `/audit NAME` one person's."""
    asked = (msg.text or "").partition(" ")[2].strip()
    if asked.casefold() in _TODAY_WORDS:
        return await _page(ctx, "today", 0, edit=False)
    if asked:
        user = await ctx.services.users.resolve(asked)
        return await _page(ctx, f"u{user.id}", 0, edit=False)
    return await _page(ctx, "all", 0, edit=False)


@router.callback("audit", audience=Audience.ADMINS)
async def on_audit_page(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Another page of the same view."""
    if cb.action != "page" or len(cb.args) != 2 or not (cb.args[1] in ("all", "today") or cb.args[1][1:].isdigit()):
        raise ValueError(cb.args)
    return await _page(ctx, cb.args[1], cb.arg_int(0, allow_zero=True), edit=True)


async def _page(ctx: Ctx, view: str, page: int, *, edit: bool) -> Reply:
    if not sees_audit(ctx.user):
        raise Forbidden("only admins read the audit trail")
    since = actor_id = None
    title = ctx.t("audit.title_all")
    if view == "today":
        local = ctx.now.astimezone(ctx.settings.tz)
        since = datetime.combine(local.date(), time.min, tzinfo=ctx.settings.tz)
        title = ctx.t("audit.title_today")
    elif view.startswith("u"):
        actor_id = int(view[1:])
        title = ctx.t("audit.title_user", name=(await ctx.services.users.get(actor_id)).name)
    total = await ctx.services.audit.count(since=since, actor_id=actor_id)
    entries = await ctx.services.audit.entries(since=since, actor_id=actor_id, limit=PER_PAGE, offset=page * PER_PAGE)
    if not entries:
        return Reply(ctx.t("audit.empty", title=title), edit=edit)
    pages = (total + PER_PAGE - 1) // PER_PAGE
    lines = [ctx.t("audit.header", title=title, page=page + 1, pages=pages, total=total)]
    lines += [entry_line(ctx, e) for e in entries]
    nav = []
    if page > 0:
        nav.append(Button(ctx.t("audit.btn_newer"), pack("audit", "page", page - 1, view)))
    if page + 1 < pages:
        nav.append(Button(ctx.t("audit.btn_older"), pack("audit", "page", page + 1, view)))
    return Reply(clip_lines("\n".join(lines)), keyboard=Keyboard.of(nav), edit=edit)


def _value(value: Any) -> str:
    return "—" if value is None else clip(str(value), 30)


def entry_line(ctx: Ctx, entry: AuditEntryOut) -> str:
    """One entry: when, who, channel, what, and up to three fields before → after."""
    changes = []
    keys = list(dict.fromkeys([*(entry.before or {}), *(entry.after or {})]))
    for key in keys[:3]:
        changes.append(f"{key}: {_value((entry.before or {}).get(key))} → {_value((entry.after or {}).get(key))}")
    if len(keys) > 3:
        changes.append("…")
    return ctx.t("audit.line", at=moment(entry.at, ctx.lang, ctx.settings.tz), actor=entry.actor,
                 channel=entry.channel or "—", action=entry.action,
                 entity=f"{entry.entity}#{entry.entity_id}" if entry.entity_id else entry.entity,
                 changes=("\n   " + "; ".join(changes)) if changes else "")
