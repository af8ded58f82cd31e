"""/audit [NAME|today|DAY|week|month|NAME PERIOD] (admins): what people did, newest first, ten a page, in words.

A day ("hôm qua", "20/11"), "tuần"/"tuần trước" or "tháng"/"tháng trước" is read as `/summary` reads it. A name
(or "#3") followed by one is that person's entries in that period ("/audit Lan tuần trước"); what reads whole as
a person's name or as a period stays that (`_name_and_period`).

Each entry is one sentence in the admin's language (`audit.did.*`: "Peter Tran đổi vai trò của Bình Nguyễn:
Quản trị viên → Nhân viên kinh doanh"), its values as people read them (Có/Không, a local short time, money,
names instead of record numbers), without bookkeeping fields (created_at, ids). The view is
`AuditService.entries(readable=True)`: what people did, once each; `chatcrm audit --json` keeps every entry.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.context import Ctx
from bot.core.format import clip, clip_lines, day, moment, money
from bot.core.inputs import MAX_ID
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from bot.handlers.deal_actions import reason_text
from bot.handlers.reports import period_title
from crm_core.errors import Forbidden
from crm_core.policy import Audience, sees_audit
from crm_core.reports.periods import PeriodKind, askable, period_of, read_period
from crm_core.schemas import AuditEntryOut
from crm_core.services.users import UnknownUser

router = Router()
PER_PAGE = 10
CHANGES_SHOWN = 3
_TODAY_WORDS = frozenset({"today", "hôm nay", "hom nay", "homnay"})
# Bookkeeping a person never changes by hand: left out of what an entry says changed.
_NOISE_FIELDS = frozenset({"id", "created_at", "updated_at", "stage_changed_at", "source", "erased_at"})
# Fields holding another record's id, said by that record's name.
_ID_FIELDS = {"owner_id": "user", "user_id": "user", "stage_id": "stage", "company_id": "company",
              "contact_id": "contact", "deal_id": "deal", "pipeline_id": "pipeline"}
_MONEY_FIELDS = frozenset({"amount"})
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A period's view in page buttons: "pd2026-11-20" (that day), "pw…" (its week), "pm…" (its month).
_PERIOD_VIEW = re.compile(r"^p([dwm])(\d{4}-\d{2}-\d{2})$")
# A person's view, "u7", or her entries in a period, "u7pw2026-11-16".
_USER_VIEW = re.compile(r"^u([0-9]{1,10})(p[dwm]\d{4}-\d{2}-\d{2})?$")
_KIND_CODES: dict[PeriodKind, str] = {"day": "d", "week": "w", "month": "m"}
# A person's number ("#7", "7"), as `UserService.resolve` reads it: never a date.
_NUMBER = re.compile(r"^#?\d+$")
# The most words a period after a name takes ("tháng 11 năm 2026"): a long text is not read at every word.
_PERIOD_WORDS = 5
Names = dict[tuple[str, str], str]


@router.command("audit", audience=Audience.ADMINS)
async def on_audit(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Show the latest entries; `/audit today` today's, `/audit NAME` one person's, `/audit NAME PERIOD` hers then."""
    asked = (msg.text or "").partition(" ")[2].strip()
    if asked.casefold() in _TODAY_WORDS:
        return await _page(ctx, "today", 0, edit=False)
    if not asked:
        return await _page(ctx, "all", 0, edit=False)
    period_view = None if _NUMBER.match(asked) else _period_view(ctx, asked)
    if period_view is not None and not asked.isascii():
        return await _page(ctx, period_view, 0, edit=False)
    # Typed without accents a period word may be a name ("tuan" for Tuấn, "thang" for Thắng): the name wins, and
    # the name of several people is still a name (they are listed).
    try:
        user = await ctx.services.users.resolve(asked)
    except UnknownUser:
        if period_view is not None:
            return await _page(ctx, period_view, 0, edit=False)
        if cuts := _name_then_period(ctx, asked):  # "Lan tuần trước", "#3 hôm qua"
            at, user = await ctx.services.users.resolve_first([name for name, _when in cuts])
            return await _page(ctx, f"u{user.id}{cuts[at][1]}", 0, edit=False)
        if any(ch.isdigit() for ch in asked) and not _NUMBER.match(asked):  # a date it cannot read
            return Reply(ctx.t("audit.usage"))
        raise
    return await _page(ctx, f"u{user.id}", 0, edit=False)


def _period_view(ctx: Ctx, text: str) -> str | None:
    """The view of the period `text` names as `/summary` reads it ("pw2026-11-16"), or None."""
    period = read_period(text, ctx.now.astimezone(ctx.settings.tz).date(), ctx.lang)
    return f"p{_KIND_CODES[period.kind]}{period.day.isoformat()}" if period is not None else None


def _name_then_period(ctx: Ctx, asked: str) -> list[tuple[str, str]]:
    """Where `asked` may be a name followed by a period ("Lan tuần trước"): each (name, period view), the longest
    name first.

    The text is cut where what follows reads whole as a period; the longest name that is someone's is taken
    ("Lan Tuấn tuần" is Lan Tuấn's week when she is on the team; "Tuấn tuần" is no period), and when none is, the
    shortest is said to be nobody's. The name of several people is still a name: they are listed.
    """
    words = asked.split()
    return [(" ".join(words[:i]), view) for i in range(len(words) - 1, max(0, len(words) - 1 - _PERIOD_WORDS), -1)
            if (view := _period_view(ctx, " ".join(words[i:]))) is not None]


@router.callback("audit", audience=Audience.ADMINS)
async def on_audit_page(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Another page of the same view."""
    if cb.action != "page" or len(cb.args) != 2 or not _valid_view(cb.args[1], ctx.now.astimezone(ctx.settings.tz)):
        raise StaleCallback(cb.args)
    return await _page(ctx, cb.args[1], cb.arg_int(0, allow_zero=True), edit=True)


def _valid_view(view: str, now: datetime) -> bool:
    """A view a page button of ours can carry: a person's number that fits the database, a day we could show."""
    if view in ("all", "today"):
        return True
    if view[:1] == "u":
        user = _USER_VIEW.match(view)
        return (user is not None and int(user[1]) <= MAX_ID
                and (user[2] is None or _valid_view(user[2], now)))
    match = _PERIOD_VIEW.match(view)
    if match is None:
        return False
    try:
        return askable(date.fromisoformat(match[2]), now.date())
    except ValueError:
        return False


async def _page(ctx: Ctx, view: str, page: int, *, edit: bool) -> Reply:
    if not sees_audit(ctx.user):
        raise Forbidden("only admins read the audit trail")
    since = until = actor_id = None
    title = ctx.t("audit.title_all")
    when = view  # "u7pw2026-11-16": Lan's entries in that week
    if (user_view := _USER_VIEW.match(view)) is not None:
        actor_id, when = int(user_view[1]), user_view[2] or ""
    if match := _PERIOD_VIEW.match(when):
        kind = next(k for k, code in _KIND_CODES.items() if code == match[1])
        period = period_of(kind, date.fromisoformat(match[2]), ctx.settings.tz)
        since, until = period.start, period.end
        if actor_id is None:
            title = period_title(ctx.t, ctx.lang, kind, period.first, period.last, prefix="audit.title")
        else:
            title = ctx.t("audit.title_user_period", name=(await ctx.services.users.get(actor_id)).name,
                          period=period_title(ctx.t, ctx.lang, kind, period.first, period.last, prefix="audit.period"))
    elif when == "today":
        local = ctx.now.astimezone(ctx.settings.tz)
        since = datetime.combine(local.date(), time.min, tzinfo=ctx.settings.tz)
        title = ctx.t("audit.title_today")
    elif actor_id is not None:
        title = ctx.t("audit.title_user", name=(await ctx.services.users.get(actor_id)).name)
    audit = ctx.services.audit
    total = await audit.count(since=since, until=until, actor_id=actor_id, readable=True)
    entries = await audit.entries(since=since, until=until, actor_id=actor_id, limit=PER_PAGE,
                                  offset=page * PER_PAGE, readable=True)
    if not entries:
        return Reply(ctx.t("audit.empty", title=title), edit=edit)
    names = await audit.names(_refs(entries), ctx.lang)
    pages = (total + PER_PAGE - 1) // PER_PAGE
    lines = [ctx.t("audit.header", title=title, page=page + 1, pages=pages, total=total)]
    lines += [entry_line(ctx, e, names) for e in entries]
    nav = []
    if page > 0:
        nav.append(Button(ctx.t("audit.btn_newer"), pack("audit", "page", page - 1, view)))
    if page + 1 < pages:
        nav.append(Button(ctx.t("audit.btn_older"), pack("audit", "page", page + 1, view)))
    return Reply(clip_lines("\n".join(lines)), keyboard=Keyboard.of(nav), edit=edit)


def _refs(entries: list[AuditEntryOut]) -> set[tuple[str, str]]:
    """Every record an entry names by number: what it is about, and the ids among its values."""
    refs: set[tuple[str, str]] = set()
    for entry in entries:
        if entry.entity_id:
            refs.add((entry.entity, entry.entity_id))
        for values in (entry.before or {}, entry.after or {}, entry.details):
            for key, value in values.items():
                if key in _ID_FIELDS and value is not None:
                    refs.add((_ID_FIELDS[key], str(value)))
        if entry.action in ("deal.reassign", "deal.reassign_tasks"):
            refs.update({("user", str(entry.details.get(k))) for k in ("from", "to") if entry.details.get(k)})
    return refs


def entry_line(ctx: Ctx, entry: AuditEntryOut, names: Names) -> str:
    """One entry: when, then who did what, in words."""
    return ctx.t("audit.line", at=moment(entry.at, ctx.lang, ctx.settings.tz), what=describe(ctx, entry, names))


def describe(ctx: Ctx, entry: AuditEntryOut, names: Names) -> str:
    """Say an entry as a sentence: `audit.did.<action>` (dots as underscores), else the generic one."""
    details, before, after = entry.details or {}, entry.before or {}, entry.after or {}
    target = (names.get((entry.entity, entry.entity_id or "")) or details.get("name") or after.get("name")
              or after.get("title") or before.get("name") or before.get("title") or entry.entity_id or "")
    values: dict[str, Any] = {
        "actor": _actor(ctx, entry.actor), "target": clip(str(target), 60),
        "entity": ctx.t(f"audit.entity.{entry.entity}") if ctx.t.has(f"audit.entity.{entry.entity}")
        else entry.entity,
        "changes": _changes(ctx, entry, names),
        "role": _role(ctx, after.get("role") or details.get("role")),
        "before": _role(ctx, before.get("role") or details.get("from")),
        "after": _role(ctx, after.get("role") or details.get("to")),
        "file": clip(str(details.get("file") or entry.entity_id or ""), 60),
        "version": details.get("version", ""), "previous": details.get("previous", ""),
        "reason": _reason(ctx, entry.action, details.get("reason")), "maker": details.get("maker") or "",
        "to": _user(names, details.get("to")), "from": _user(names, details.get("from")),
        "deals": len(after.get("deals") or []), "tasks": len(after.get("tasks") or []),
        "created": details.get("created", 0), "updated": details.get("updated", 0),
        "skipped": details.get("skipped", 0), "errors": details.get("errors", 0),
        "assignee": details.get("assignee") or "—", "question": clip(str(details.get("question") or ""), 60),
        "id": entry.entity_id or "",
    }
    if entry.action == "admin.hand_over":
        values["from"], values["to"] = details.get("from", ""), details.get("to", "")
    key = "audit.did." + entry.action.replace(".", "_")
    if entry.action == "record.update" and not values["changes"]:  # an erasure kept no values: no dangling colon
        withheld = [k for k in details.get("fields") or [] if k not in _NOISE_FIELDS and not k.endswith("_folded")]
        values["fields"] = ", ".join(_field(ctx, k) for k in withheld[:CHANGES_SHOWN]) \
            + (", …" if len(withheld) > CHANGES_SHOWN else "")
        key = "audit.did.record_update_withheld" if withheld else "audit.did.record_update_unsaid"
    if not ctx.t.has(key):
        key = "audit.did.other"
        values["what"] = entry.action
    text = ctx.t(key, **values)
    if entry.action.startswith("pipeline.") and values["changes"]:
        text += ": " + values["changes"]
    return text


def _actor(ctx: Ctx, actor: str) -> str:
    """Who acted: a person's name, or who else (a customer, the server's command line, the system)."""
    kind = actor.partition(":")[0]
    if kind in ("customer", "cli", "system"):
        return ctx.t(f"audit.actor.{kind}")
    return actor


def _reason(ctx: Ctx, action: str, reason: object) -> str:
    """Why: a lost deal's listed reason by its name ("Giá cao", not "price"), other reasons as given."""
    if not reason:
        return "—"
    return reason_text(ctx.t, str(reason)) if action == "deal.lost" else str(reason)


def _role(ctx: Ctx, role: object) -> str:
    key = f"team.role.{role}"
    return ctx.t(key) if role and ctx.t.has(key) else str(role or "—")


def _user(names: Names, value: object) -> str:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return names.get(("user", str(value)), f"#{value}")
    return str(value or "—")


def _changes(ctx: Ctx, entry: AuditEntryOut, names: Names) -> str:
    """The changed fields of a record's update, up to `CHANGES_SHOWN`, as "field: before → after"."""
    if entry.action != "record.update" and not entry.action.startswith("pipeline."):
        return ""
    before, after = entry.before or {}, entry.after or {}
    keys = [k for k in dict.fromkeys([*before, *after]) if k not in _NOISE_FIELDS and not k.endswith("_folded")]
    currency = after.get("currency") or before.get("currency")
    said = [ctx.t("audit.change", field=_field(ctx, k), before=_value(ctx, k, before.get(k), names, currency),
                  after=_value(ctx, k, after.get(k), names, currency)) for k in keys[:CHANGES_SHOWN]]
    if len(keys) > CHANGES_SHOWN:
        said.append("…")
    return "; ".join(said)


def _field(ctx: Ctx, key: str) -> str:
    return ctx.t(f"audit.field.{key}") if ctx.t.has(f"audit.field.{key}") else key.replace("_", " ")


def _value(ctx: Ctx, key: str, value: Any, names: Names, currency: str | None) -> str:
    """A value as people read it: Có/Không, a role's name, a record's name, money, a local time or day."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return ctx.t("audit.value_yes" if value else "audit.value_no")
    if key == "role":
        return _role(ctx, value)
    if key == "status" and ctx.t.has(f"audit.status.{value}"):
        return ctx.t(f"audit.status.{value}")
    if key == "lost_reason":
        return clip(reason_text(ctx.t, str(value)), 40)
    if key in _ID_FIELDS:
        return clip(names.get((_ID_FIELDS[key], str(value)), f"#{value}"), 40)
    if key in _MONEY_FIELDS:
        try:
            return money(Decimal(str(value)), currency, ctx.lang)
        except InvalidOperation:
            return clip(str(value), 40)
    if isinstance(value, str) and _MOMENT.match(value):
        try:
            return moment(datetime.fromisoformat(value), ctx.lang, ctx.settings.tz)
        except ValueError:
            return clip(value, 40)
    if isinstance(value, str) and _DAY.match(value):
        try:
            return day(date.fromisoformat(value), ctx.lang)
        except ValueError:
            return value
    return clip(str(value), 40)
