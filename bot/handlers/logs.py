"""The salesperson's free-text log in chat: parse the message, call one flow, render the card."""

from __future__ import annotations

import unicodedata
from datetime import date

from bot.core import format as fmt
from bot.core.callbacks import Callback, pack
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from bot.handlers.support import answer_ticket_replied_to
from bot.handlers.views import about, due_text, task_buttons
from crm_core.flows.logs import (
    FieldTooLong,
    FieldUnreadable,
    LogClosed,
    LogPreview,
    LogSaved,
    LogUndone,
    UndoTooLate,
    is_reminder_request,
    require_editable,
)
from crm_core.policy import Audience
from crm_core.schemas import EDITABLE_FIELDS, DraftFields, TaskOut

router = Router()
BUTTON_CHARS = 40


def _has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


def _source_key(msg: Inbound) -> str | None:
    return msg.message_key


@router.text(Audience.STAFF)
async def on_staff_text(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Free text from staff is an answer to a ticket they reply to, a log, or a reminder request."""
    text = (msg.text or "").strip()
    answered = await answer_ticket_replied_to(msg, ctx, text)
    if answered is not None:
        return answered
    if msg.is_group:
        return []  # staff talk among themselves in a support group; only replies to tickets are for the bot
    if msg.attachment is not None and not text:
        return Reply(ctx.t("common.attachment", kind=ctx.t(f"att.{msg.attachment.kind}")))
    if len(text) > ctx.settings.max_message_chars:
        await ctx.flows.logs.keep_unread(ctx.staff, text, status="too_long")
        return Reply(ctx.t("log.too_long", length=len(text), limit=ctx.settings.max_message_chars))
    if not _has_words(text):
        return Reply(ctx.t("common.emoji_only"))
    if msg.is_edit:
        key = _source_key(msg)
        edited = await ctx.flows.logs.redraft_edited(ctx.staff, text, source_key=key) if key else None
        if isinstance(edited, LogPreview):
            return preview(ctx, edited)
        return _edit_not_applied(ctx, edited)
    if is_reminder_request(text):
        return _reminder_created(ctx, await ctx.flows.logs.remind_from_text(ctx.staff, text, now=ctx.now))
    return preview(ctx, await ctx.flows.logs.draft_from_text(ctx.staff, text, source_key=_source_key(msg)))


# --- the card ------------------------------------------------------------------------------------------------


def _line(ctx: Ctx, key: str, value: str | None) -> str:
    return f"{ctx.t(f'field.{key}')}: {value if value else ctx.t('log.unread')}"


def preview(ctx: Ctx, shown: LogPreview, *, edit: bool = False) -> Reply:
    """The card of what was understood, with Save first, then Edit and Cancel, then the questions."""
    t, fields, draft_id = ctx.t, shown.fields, shown.draft_id
    lines = [t("log.preview_title"), *_field_lines(ctx, fields)]
    rows: list[list[Button]] = [[Button(t("btn.save"), pack("log", "save", draft_id)),
                                 Button(t("btn.edit"), pack("log", "edit", draft_id)),
                                 Button(t("btn.cancel"), pack("log", "cancel", draft_id))]]
    rows += _question_rows(ctx, draft_id, fields, lines)
    if not fields.understood_anything():
        lines.append(t("log.nothing_understood"))
    elif fields.unreadable:
        names = ", ".join(t(f"field.{f}") if t.has(f"field.{f}") else f for f in fields.unreadable)
        lines.append(t("log.could_not_read", fields=names))
    lines += [t("log.too_long_field", field=t(f"field.{f}"), limit=limit) for f, limit in fields.too_long.items()]
    return Reply(fmt.clip_lines("\n".join(lines)), keyboard=Keyboard.of(*rows), edit=edit)


def _field_lines(ctx: Ctx, fields: DraftFields) -> list[str]:
    t, lang = ctx.t, ctx.lang
    amount_text = fmt.money(fields.amount, fields.currency, lang) if fields.amount is not None else None
    if amount_text and fields.quantity:
        amount_text += f" ({fields.quantity})"
    due = fmt.weekday_day(fields.due, lang, today=ctx.now.date()) if fields.due else None
    lines = [_line(ctx, "kind", t(f"kind.{fields.kind}") if fields.kind else None),
             _line(ctx, "contact", _contact_label(ctx, fields)), _line(ctx, "company", _company_label(ctx, fields)),
             _line(ctx, "amount", amount_text), _line(ctx, "next_step", fields.next_step), _line(ctx, "due", due)]
    if fields.occurred_on:
        lines.append(_line(ctx, "occurred_on", fmt.day(fields.occurred_on, lang)))
    if fields.stage:
        lines.append(_line(ctx, "stage", t(f"stage.{fields.stage}") if t.has(f"stage.{fields.stage}")
                           else fields.stage))
    lines += [_line(ctx, key, value) for key, value in (("phone", fields.phone), ("email", fields.email)) if value]
    return lines


def _question_rows(ctx: Ctx, draft_id: int, fields: DraftFields, lines: list[str]) -> list[list[Button]]:
    t, rows = ctx.t, []
    if fields.company_options:
        lines.append(t("log.ask_company"))
        buttons = [Button(fmt.clip(f"🏢 {o.name}", BUTTON_CHARS), pack("log", "co", draft_id, o.id))
                   for o in fields.company_options]
        buttons.append(Button(fmt.clip(t("btn.new_company", name=fields.company or ""), BUTTON_CHARS),
                              pack("log", "co", draft_id, 0)))
        rows.extend(_pairs(buttons))
    if fields.contact_options:
        lines.append(t("log.ask_contact", name=fields.contact or ""))
        buttons = [Button(fmt.clip(f"👤 {o.name} ({o.company or '—'})", BUTTON_CHARS),
                          pack("log", "ct", draft_id, o.id)) for o in fields.contact_options]
        buttons.append(Button(fmt.clip(t("btn.new_contact", name=fields.contact or ""), BUTTON_CHARS),
                              pack("log", "ct", draft_id, 0)))
        rows.extend(_pairs(buttons))
    if len(fields.due_options) > 1:
        lines.append(t("log.ask_due"))
        rows.append([Button(fmt.weekday_day(d, ctx.lang), pack("log", "due", draft_id, d.strftime("%Y%m%d")))
                     for d in fields.due_options[:4]])
    return rows


def _pairs(buttons: list[Button]) -> list[list[Button]]:
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]


def _contact_label(ctx: Ctx, fields: DraftFields) -> str | None:
    if fields.contact_choice is not None:
        return ctx.t("log.contact_existing", name=fields.contact_choice.name)
    return ctx.t("log.contact_new", name=fields.contact) if fields.contact else None


def _company_label(ctx: Ctx, fields: DraftFields) -> str | None:
    if fields.company_choice is not None:
        return ctx.t("log.company_existing", name=fields.company_choice.name)
    return ctx.t("log.company_new", name=fields.company) if fields.company else None


# --- buttons and typed values --------------------------------------------------------------------------------


@router.callback("log", audience=Audience.STAFF)
async def on_log_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Save, edit, cancel, undo, or answer a question of the preview."""
    draft_id, logs, owner = cb.arg_int(0), ctx.flows.logs, ctx.staff
    if cb.action == "save":
        saved = await logs.save(owner, draft_id, default_task_title=ctx.t("log.default_task"))
        if isinstance(saved, LogSaved):
            await ctx.clear_state()
        return _rendered(ctx, saved)
    if cb.action == "undo":
        return _rendered(ctx, await logs.undo(owner, draft_id))
    if cb.action == "cancel":
        closed = await logs.cancel(owner, draft_id)
        await ctx.clear_state()
        return _already(ctx, closed) if closed else Reply(ctx.t("log.cancelled"), edit=True)
    if cb.action == "edit":
        return _rendered(ctx, await logs.show(owner, draft_id), pick_field=True)
    if cb.action == "f":
        field = require_editable(cb.args[1])
        shown = await logs.show(owner, draft_id)
        if isinstance(shown, LogClosed):
            return _already(ctx, shown)
        await ctx.set_state("log_edit", {"draft": draft_id, "field": field})
        return Reply(ctx.t("log.ask_value", field=ctx.t(f"field.{field}").lower()), edit=True)
    return _rendered(ctx, await _choice(ctx, cb, draft_id), edit=True)


async def _choice(ctx: Ctx, cb: Callback, draft_id: int) -> LogPreview | LogClosed:
    logs, owner = ctx.flows.logs, ctx.staff
    if cb.action == "co":
        return await logs.choose_company(owner, draft_id, cb.arg_int(1, allow_zero=True))
    if cb.action == "ct":
        return await logs.choose_contact(owner, draft_id, cb.arg_int(1, allow_zero=True))
    if cb.action == "due":
        raw = cb.args[1]
        return await logs.choose_due(owner, draft_id, date(int(raw[:4]), int(raw[4:6]), int(raw[6:8])))
    return await logs.show(owner, draft_id)  # "show": back from the field list


@router.state("log_edit", audience=Audience.STAFF)
async def on_log_field_value(msg: Inbound, ctx: Ctx, state: dict[str, object]) -> HandlerResult:
    """The user typed the new value of the field they chose to fix."""
    draft_id, field = int(str(state["draft"])), require_editable(str(state["field"]))
    result = await ctx.flows.logs.set_field(ctx.staff, draft_id, field, msg.text or "", language=ctx.lang,
                                            now=ctx.now)
    if not isinstance(result, FieldUnreadable):
        await ctx.clear_state()
    return _rendered(ctx, result)


def _rendered(ctx: Ctx, result: LogPreview | LogClosed | LogSaved | LogUndone | UndoTooLate | FieldUnreadable, *,
              edit: bool = False, pick_field: bool = False) -> Reply:
    if isinstance(result, LogClosed):
        return _already(ctx, result)
    if isinstance(result, LogSaved):
        return _saved(ctx, result)
    if isinstance(result, LogUndone):
        return _undone(ctx, result)
    if isinstance(result, UndoTooLate):
        text = ctx.t("log.undo_expired", minutes=result.minutes)
        return Reply(text, toast=text[:200])
    if isinstance(result, FieldTooLong):
        return Reply(ctx.t("log.too_long_value", field=ctx.t(f"field.{result.field}").lower(),
                           length=len(result.text), limit=result.limit))
    if isinstance(result, FieldUnreadable):
        return Reply(ctx.t("log.bad_amount" if result.field == "amount" else "log.bad_due", text=result.text))
    if pick_field:
        return _field_picker(ctx, result.draft_id)
    return preview(ctx, result, edit=edit)


def _field_picker(ctx: Ctx, draft_id: int) -> Reply:
    buttons = [Button(ctx.t(f"field.{f}"), pack("log", "f", draft_id, f)) for f in EDITABLE_FIELDS]
    buttons.append(Button(ctx.t("btn.back"), pack("log", "show", draft_id)))
    return Reply(ctx.t("log.pick_field"), keyboard=Keyboard.column(buttons, per_row=3), edit=True)


def _undone(ctx: Ctx, undone: LogUndone) -> Reply:
    kept = [ctx.t("log.kept_deal", title=undone.kept_deal) if undone.kept_deal else None,
            ctx.t("log.kept_company", name=undone.kept_company) if undone.kept_company else None,
            ctx.t("log.kept_contact", name=undone.kept_contact) if undone.kept_contact else None]
    names = ", ".join(k for k in kept if k)
    return Reply(fmt.clip(ctx.t("log.undone_kept", kept=names) if names else ctx.t("log.undone"), 4000), edit=True)


def _edit_not_applied(ctx: Ctx, closed: LogClosed | None) -> Reply:
    """An edited message whose log is saved or closed, or that made none: the edit was kept, not applied."""
    if closed is None:
        return Reply(ctx.t("log.edit_not_applied"))
    if closed.status != "saved":
        return Reply(ctx.t("log.edit_after_cancel"))
    undo = Keyboard.of([Button(ctx.t("btn.undo"), pack("log", "undo", closed.draft_id))])
    return Reply(ctx.t("log.edit_after_save", minutes=ctx.settings.undo_minutes), keyboard=undo)


def _already(ctx: Ctx, closed: LogClosed) -> Reply:
    key = {"saved": "log.already_saved", "cancelled": "log.already_cancelled", "undone": "log.already_undone"}
    text = ctx.t(key.get(closed.status, "common.stale_button"))
    return Reply(text, toast=text[:200])


def _saved(ctx: Ctx, saved: LogSaved) -> Reply:
    parts = [ctx.t("log.saved_interaction", kind=ctx.t(f"kind.{saved.kind}").lower(),
                   who=", ".join(saved.about) or "—")]
    task = saved.task
    if task is not None:
        due = due_text(task.due_at, ctx.t, ctx.now, ctx.settings)
        parts.append(ctx.t("log.saved_task", title=task.title, due=due) if task.due_at else
                     ctx.t("log.saved_task_nodue", title=task.title))
    if saved.deal_title is not None:
        parts.append(ctx.t("log.saved_deal_new" if saved.deal_created else "log.saved_deal_updated",
                           title=saved.deal_title))
    text = ctx.t("log.saved", what="; ".join(parts)) + "\n" + ctx.t("log.undo_hint", minutes=saved.undo_minutes)
    undo = Keyboard.of([Button(ctx.t("btn.undo"), pack("log", "undo", saved.draft_id))])
    return Reply(fmt.clip(text, 4000), keyboard=undo, edit=True)


def _reminder_created(ctx: Ctx, task: TaskOut) -> Reply:
    key = "task.created" if task.due_at else "task.created_nodue"
    text = ctx.t(key, title=task.title + about(task), due=due_text(task.due_at, ctx.t, ctx.now, ctx.settings))
    return Reply(fmt.clip(text, 4000), keyboard=Keyboard.of(task_buttons(task.id, ctx.t)))
