"""The salesperson's free-text log in chat: parse the message, call one flow, render the card."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import date

from bot.core import format as fmt
from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from bot.handlers import deal_actions
from bot.handlers.support import answer_ticket_replied_to
from bot.handlers.views import about, due_text, task_buttons
from bot.texts import Texts
from crm_core.config import Settings
from crm_core.flows import Flows
from crm_core.flows.knowledge import looks_like_url
from crm_core.flows.logs import (
    DraftReminder,
    FieldTooLong,
    FieldUnreadable,
    LogClosed,
    LogPreview,
    LogSaved,
    LogUnclear,
    LogUndone,
    NewLogInstead,
    ReminderMade,
    UndoTooLate,
    is_reminder_request,
    require_editable,
)
from crm_core.knowledge_admin.links import asks_to_add_link
from crm_core.pipelines.reasons import is_reason_key, lost_reasons
from crm_core.policy import Audience, can_curate_knowledge
from crm_core.schemas import EDITABLE_FIELDS, DealValues, DraftFields, LogDraftOut
from crm_core.understanding.chatter import is_greeting

router = Router()
BUTTON_CHARS = 40
DRAFTS_SHOWN = 10
DRAFT_LABEL_CHARS = 48


def _has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


def _has_emoji(text: str) -> bool:
    """Tell whether a wordless text shows an emoji (a pictograph), not just "?" or "...". """
    return any(unicodedata.category(ch) == "So" for ch in text)


def _source_key(msg: Inbound) -> str | None:
    return msg.message_key


@router.text(Audience.STAFF)
async def on_staff_text(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Free text from staff is an answer to a ticket they reply to, a log, a reminder request, or a greeting."""
    text = msg.text or ""
    if can_curate_knowledge(ctx.staff) and (looks_like_url(text) or asks_to_add_link(text)):
        # An admin's bare link, or a link they ask to be added/read/learned, is knowledge to add: no page is fetched.
        return Reply(ctx.t("kb.url_not_fetched"))
    return (await _staff_text(msg, ctx, after=None))[0]


@router.state("log_more", audience=Audience.STAFF)
async def on_log_more(msg: Inbound, ctx: Ctx, state: dict[str, object]) -> HandlerResult:
    """The answer to "what happened?" after a log with nothing understood: read together with it."""
    reply, asked_again = await _staff_text(msg, ctx, after=int(str(state["draft"])))
    if not asked_again:
        await ctx.clear_state()
    return reply


async def _staff_text(msg: Inbound, ctx: Ctx, *, after: int | None) -> tuple[HandlerResult, bool]:
    """Handle a staff text; tell whether it asked what happened (and waits for the answer)."""
    text = (msg.text or "").strip()
    answered = await answer_ticket_replied_to(msg, ctx, text)
    if answered is not None:
        return answered, False
    done = await _not_a_log(msg, ctx, text)
    if done is not None:
        return done, False
    made = await ctx.flows.logs.draft_from_text(ctx.staff, text, source_key=_source_key(msg), after=after)
    return await _made(ctx, made), isinstance(made, LogUnclear)


async def _not_a_log(msg: Inbound, ctx: Ctx, text: str) -> HandlerResult | None:
    """Answer what is not a new log: group talk, attachments, over-long or wordless text, edits, greetings,
    reminder requests; None for a log."""
    if msg.is_group:
        return []  # staff talk among themselves in a support group; only replies to tickets are for the bot
    if msg.attachment is not None and not text:
        return Reply(ctx.t("common.attachment", kind=ctx.t(f"att.{msg.attachment.kind}")))
    if len(text) > ctx.settings.max_message_chars:
        await ctx.flows.logs.keep_unread(ctx.staff, text, status="too_long")
        return Reply(ctx.t("log.too_long", length=len(text), limit=ctx.settings.max_message_chars))
    if not _has_words(text):
        return Reply(ctx.t("common.emoji_only" if _has_emoji(text) else "common.no_words"))
    if msg.is_edit:
        key = _source_key(msg)
        edited = await ctx.flows.logs.redraft_edited(ctx.staff, text, source_key=key) if key else None
        if isinstance(edited, LogPreview | LogUnclear):
            return await _made(ctx, edited)
        return _edit_not_applied(ctx, edited)
    if is_greeting(text):
        return Reply(ctx.t("log.greeting", name=ctx.staff.name))
    if is_reminder_request(text):
        return _reminder_created(ctx, await ctx.flows.logs.remind_from_text(ctx.staff, text, now=ctx.now))
    return None


async def _made(ctx: Ctx, made: LogPreview | LogUnclear) -> Reply:
    """The card of a new log; for one with nothing understood, the question what happened (its answer awaited)."""
    if isinstance(made, LogPreview):
        return preview(ctx, made)
    await ctx.set_state("log_more", {"draft": made.draft_id})
    kind = ctx.t(f"kind.{made.kind}") if made.kind and made.kind != "note" else None
    return Reply(ctx.t("log.what_happened_kind", kind=kind) if kind else ctx.t("log.what_happened"))


# --- the card ------------------------------------------------------------------------------------------------


def _line(ctx: Ctx, key: str, value: str | None) -> str:
    return f"{ctx.t(f'field.{key}')}: {value if value else ctx.t('log.unread')}"


def preview(ctx: Ctx, shown: LogPreview, *, edit: bool = False) -> Reply:
    """The card of what was understood, with Save first, then Edit and Cancel, then the questions."""
    t, fields, draft_id = ctx.t, shown.fields, shown.draft_id
    lines = [t("log.plan_stale")] if shown.stale else []
    lines += [t("log.preview_title"), *_field_lines(ctx, fields)]
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
    due = fmt.weekday_day(fields.due, lang, today=ctx.now.date()) if fields.due else None
    if due and fields.due_time is not None:
        due = f"{due} {fields.due_time.strftime('%H:%M')}"  # "3h chiều" is shown as it will be saved
    lines = [_line(ctx, "kind", t(f"kind.{fields.kind}") if fields.kind else None),
             _line(ctx, "contact", _contact_label(ctx, fields)), _line(ctx, "company", _company_label(ctx, fields)),
             _line(ctx, "amount", amount_text), _line(ctx, "next_step", fields.next_step), _line(ctx, "due", due)]
    if fields.quantity:
        lines.insert(4, _line(ctx, "quantity", _quantity_text(fields.quantity, fields.product)))
    if fields.occurred_on:
        lines.append(_line(ctx, "occurred_on", fmt.day(fields.occurred_on, lang)))
    if fields.stage:
        lines.append(_line(ctx, "stage", t(f"stage.{fields.stage}") if t.has(f"stage.{fields.stage}")
                           else fields.stage))
    lines += [_line(ctx, key, value) for key, value in (("phone", fields.phone), ("email", fields.email)) if value]
    return lines + _deal_lines(ctx, fields)


def _quantity_text(quantity: int, product: str | None) -> str:
    """ "200 bộ", "30 AP-C300 chairs": the quantity with what it counts."""
    return f"{quantity} {product}" if product else str(quantity)


def _stage_name(ctx: Ctx, key: str | None) -> str:
    if not key:
        return "—"
    return ctx.t(f"stage.{key}") if ctx.t.has(f"stage.{key}") else key


def _deal_lines(ctx: Ctx, fields: DraftFields) -> list[str]:
    """Which deal the log creates, updates (old → new per field) or only notes; nothing hidden."""
    t, plan = ctx.t, fields.deal_plan
    if plan is None or plan.action == "none":
        return []
    lines: list[str] = []
    if plan.action == "new":
        lines.append(t("log.deal_new", title=plan.title or "", owner=plan.owner or "—"))
    elif plan.action == "note":
        lines.append(t("log.deal_note", id=plan.deal_id, owner=plan.owner or "—"))
    elif plan.before is not None and plan.after is not None:
        lines.append(t("log.deal_update", id=plan.deal_id, title=plan.title or "", owner=plan.owner or "—"))
        changes = [t("log.deal_change", field=t(f"field.{name}"), old=_deal_value(ctx, plan.before, name),
                     new=_deal_value(ctx, plan.after, name)) for name in plan.changed()]
        lines += changes or [t("log.deal_unchanged")]
        if plan.new_title:
            lines.append(t("log.deal_change", field=t("log.deal_title_field"), old=plan.title or "",
                           new=plan.new_title))
        elif "quantity" in plan.changed():
            lines.append(t("log.deal_title_stays", title=plan.title or ""))
    if plan.why == "colleague" and plan.other_id is not None:
        lines.append(t("log.deal_not_yours", id=plan.other_id, owner=plan.other_owner or "—"))
    if plan.closes and plan.action in ("new", "update"):
        lines.append(t("log.closes", stage=_stage_name(ctx, plan.closes)))
    return lines


def _deal_value(ctx: Ctx, values: DealValues, name: str) -> str:
    if name == "amount":
        return fmt.money(values.amount, values.currency, ctx.lang) if values.amount is not None else "—"
    if name == "quantity":
        return str(values.quantity) if values.quantity is not None else "—"
    if name == "stage":
        own = values.stage_vi if ctx.lang == "vi" else values.stage_en  # the pipeline's name (renamed, industry)
        return own or _stage_name(ctx, values.stage)
    return values.contact or "—"


def _tick(chosen: bool) -> str:
    return "✓ " if chosen else ""


def _question_rows(ctx: Ctx, draft_id: int, fields: DraftFields, lines: list[str]) -> list[list[Button]]:
    t, rows = ctx.t, []
    if fields.company_options:
        # once one is chosen the question goes and the chosen button shows ✓ (the others still change it)
        co_picked = "company" in fields.picked
        chosen = fields.company_choice.id if fields.company_choice else 0
        if not co_picked:
            lines.append(t("log.ask_company"))
        buttons = [Button(fmt.clip(_tick(co_picked and o.id == chosen) + f"🏢 {o.name}", BUTTON_CHARS),
                          pack("log", "co", draft_id, o.id)) for o in fields.company_options]
        new_label = _tick(co_picked and chosen == 0) + t("btn.new_company", name=fields.company or "")
        buttons.append(Button(fmt.clip(new_label, BUTTON_CHARS), pack("log", "co", draft_id, 0)))
        rows.extend(_pairs(buttons))
    if fields.contact_options:
        ct_picked = "contact" in fields.picked
        chosen = fields.contact_choice.id if fields.contact_choice else 0
        if not ct_picked:
            one = fields.contact_options[0] if len(fields.contact_options) == 1 else None
            if one is not None:
                lines.append(t("log.ask_contact_one", name=one.name, company=one.company or "—"))
            else:  # people holding the log's phone or e-mail are not namesakes
                lines.append(t("log.ask_contact_reached") if fields.contact_reached
                             else t("log.ask_contact", name=fields.contact or ""))
        buttons = [Button(fmt.clip(_tick(ct_picked and o.id == chosen) + f"👤 {o.name} ({o.company or '—'})",
                                   BUTTON_CHARS), pack("log", "ct", draft_id, o.id)) for o in fields.contact_options]
        new_label = _tick(ct_picked and chosen == 0) + t("btn.new_contact", name=fields.contact or "")
        buttons.append(Button(fmt.clip(new_label, BUTTON_CHARS), pack("log", "ct", draft_id, 0)))
        rows.extend(_pairs(buttons))
    if len(fields.due_options) > 1:
        lines.append(t("log.ask_due"))
        rows.append([Button(fmt.weekday_day(d, ctx.lang), pack("log", "due", draft_id, d.strftime("%Y%m%d")))
                     for d in fields.due_options[:4]])
    plan = fields.deal_plan
    if plan is not None and plan.choices and plan.other_id is not None:
        lines.append(t(f"log.ask_deal_{plan.why}", id=plan.other_id, title=plan.other_title or plan.title or ""))
        picked = plan.action if plan.action != "none" else None
        rows.append([Button(("✓ " if choice == picked else "") + t(f"btn.deal_{choice}", id=plan.other_id),
                            pack("log", "dl", draft_id, choice)) for choice in plan.choices])
    similar = fields.similar_task
    if similar is not None:
        updating = fields.task_choice != "new"
        lines.append(t("log.task_update" if updating else "log.task_new_beside", title=similar.title))
        lines.append(t("log.ask_task", title=similar.title))
        rows.append([Button(("✓ " if updating else "") + t("btn.task_update"), pack("log", "tk", draft_id, "update")),
                     Button(("" if updating else "✓ ") + t("btn.task_new"), pack("log", "tk", draft_id, "new"))])
    return rows


def _close_question(ctx: Ctx, shown: LogPreview) -> Reply:
    """Save was pressed on a log that wins or loses a deal: confirm it (and for a lost one, why) on the card."""
    t, draft_id, plan = ctx.t, shown.draft_id, shown.fields.deal_plan
    card = preview(ctx, shown, edit=True)
    keep = Button(t("btn.keep_stage"), pack("log", "keep", draft_id))
    if plan is not None and plan.closes == "lost":
        buttons = [Button(t(f"lost_reason.{r.key}"), pack("log", "close", draft_id, r.key)) for r in lost_reasons()]
        rows = [*_pairs(buttons), [keep]]
        text = card.text + "\n" + t("log.confirm_lost")
    else:
        rows = [[Button(t("btn.confirm_won"), pack("log", "close", draft_id, "-")), keep]]
        text = card.text + "\n" + t("log.confirm_won")
    return Reply(fmt.clip_lines(text), keyboard=Keyboard.of(*rows), edit=True)


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
    if cb.action in ("save", "close"):
        reason = cb.args[1] if cb.action == "close" and len(cb.args) > 1 and cb.args[1] != "-" else None
        if reason is not None and not is_reason_key(reason):  # as on the deal card: a listed reason or none
            raise StaleCallback(f"no reason {reason!r}")
        saved = await logs.save(owner, draft_id, default_task_title=ctx.t("log.default_task"),
                                confirmed=cb.action == "close", lost_reason=reason, channel=ctx.inbound.channel)
        if isinstance(saved, LogSaved):
            await ctx.clear_state()
            ctx.notify(saved.notices)
        if isinstance(saved, LogPreview) and saved.confirm_close:
            return _close_question(ctx, saved)
        return _rendered(ctx, saved, edit=isinstance(saved, LogPreview))
    if cb.action == "undo":
        return _rendered(ctx, await logs.undo(owner, draft_id))
    if cb.action == "tdone":  # close the open tasks of the deal the log won or lost
        closed_tasks = await logs.close_open_tasks(owner, draft_id)
        return Reply(ctx.t("log.tasks_closed", count=closed_tasks.count))
    if cb.action == "cancel":
        closed = await logs.cancel(owner, draft_id)
        await ctx.clear_state()
        return _already(ctx, closed) if closed else Reply(ctx.t("log.cancelled"), edit=True)
    if cb.action == "edit":
        return _rendered(ctx, await logs.show(owner, draft_id), pick_field=True)
    if cb.action == "open":  # from /drafts or a reminder: the card again, as a new message
        return _rendered(ctx, await logs.show(owner, draft_id))
    if cb.action == "asval":  # the text that became a new log was the value of the field being edited after all
        field = require_editable(cb.args[2])
        result = await logs.use_as_value(owner, draft_id, cb.arg_int(1), field, language=ctx.lang, now=ctx.now)
        if isinstance(result, FieldUnreadable):
            await ctx.set_state("log_edit", {"draft": result.draft_id, "field": field})
        return _rendered(ctx, result, edit=True)
    if cb.action == "stg":  # a stage picked after a typed one could not be read: the field edit is done
        picked = await logs.choose_stage(owner, draft_id, cb.arg_int(1))
        await ctx.clear_state()
        return _rendered(ctx, picked, edit=True)
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
    if cb.action == "dl":
        return await logs.choose_deal(owner, draft_id, cb.args[1])
    if cb.action == "tk":
        return await logs.choose_task(owner, draft_id, cb.args[1])
    if cb.action == "keep":
        return await logs.keep_stage(owner, draft_id)
    if cb.action == "due":
        raw = cb.args[1]
        return await logs.choose_due(owner, draft_id, date(int(raw[:4]), int(raw[4:6]), int(raw[6:8])))
    return await logs.show(owner, draft_id)  # "show": back from the field list


@router.state("log_edit", audience=Audience.STAFF)
async def on_log_field_value(msg: Inbound, ctx: Ctx, state: dict[str, object]) -> HandlerResult:
    """The user typed the new value of the field they chose to fix, or a new log (the draft edited stays open)."""
    draft_id, field = int(str(state["draft"])), require_editable(str(state["field"]))
    result = await ctx.flows.logs.value_or_new_log(ctx.staff, draft_id, field, msg.text or "", language=ctx.lang,
                                                   now=ctx.now, source_key=_source_key(msg))
    if isinstance(result, NewLogInstead):
        await ctx.clear_state()
        return await _new_log_instead(ctx, result)
    if not isinstance(result, FieldUnreadable):
        await ctx.clear_state()
    return _rendered(ctx, result)


async def _new_log_instead(ctx: Ctx, instead: NewLogInstead) -> Reply:
    """The new log's card, saying the draft being edited is kept, with a way back if it was the value after all."""
    reply = await _made(ctx, instead.made)
    field = ctx.t(f"field.{instead.field}").lower()
    text = reply.text + "\n" + ctx.t("log.old_draft_kept", field=field)
    rows = list(reply.keyboard.rows) if reply.keyboard else []
    if isinstance(instead.made, LogPreview):
        label = fmt.clip(ctx.t("btn.use_as_value", field=field), BUTTON_CHARS)
        rows.append((Button(label, pack("log", "asval", instead.made.draft_id, instead.kept_draft_id,
                                        instead.field)),))
    return replace(reply, text=fmt.clip_lines(text), keyboard=Keyboard.of(*rows))


# --- /cancel, /drafts and the reminder of a forgotten preview ------------------------------------------------


async def cancel_open_log(msg: Inbound, ctx: Ctx) -> Reply | None:
    """/cancel from staff: leave a field edit (the card again), or cancel the newest unsaved preview of this chat.

    None when no field edit or preview is open, or another dialog is (the caller leaves it).
    """
    state = await ctx.services.state.get(msg.channel, msg.chat_id, msg.user_id)
    if state is not None and state[0] == "log_edit":
        shown = await ctx.flows.logs.show(ctx.staff, int(str(state[1]["draft"])))
        await ctx.clear_state()
        if isinstance(shown, LogPreview):
            card = preview(ctx, shown)
            return replace(card, text=ctx.t("log.edit_left") + "\n" + card.text)
        return Reply(ctx.t("common.cancelled"))
    if state is not None:
        return None
    cancelled = await ctx.flows.logs.cancel_latest(ctx.staff, f"{msg.channel}:{msg.chat_id}")
    if cancelled is None:
        return None
    return Reply(ctx.t("log.cancelled_latest", text=fmt.clip(" ".join(cancelled.raw_text.split()), 200)))


@router.command("drafts", audience=Audience.STAFF)
async def on_drafts_list(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """List the caller's unsaved previews, newest first; each button opens its card again."""
    found = await ctx.flows.logs.drafts(ctx.staff, limit=DRAFTS_SHOWN)
    if not found.drafts:
        return Reply(ctx.t("log.drafts_none"))
    lines = [ctx.t("log.drafts_title", count=found.total)]
    buttons = [Button(_draft_label(ctx.t, ctx.lang, draft, ctx.settings), pack("log", "open", draft.id))
               for draft in found.drafts]
    if found.total > len(found.drafts):
        lines.append(ctx.t("log.drafts_more", count=found.total - len(found.drafts)))
    return Reply("\n".join(lines), keyboard=Keyboard.column(buttons))


def _draft_label(t: Texts, lang: str, draft: LogDraftOut, settings: Settings) -> str:
    """A draft as one button: when it was written and how it starts."""
    when = ""
    if draft.created_at is not None:
        local = draft.created_at.astimezone(settings.tz)
        when = f"{fmt.day(local.date(), lang)} {local:%H:%M} · "
    return fmt.clip(when + " ".join(draft.raw_text.split()), DRAFT_LABEL_CHARS)


@router.periodic
async def remind_unsaved_drafts(flows: Flows, settings: Settings, channel: str) -> list[Reply]:
    """Remind once of a preview left unsaved for `draft_reminder_minutes`, in the chat it was made in."""
    reminders = await flows.logs.draft_reminders(channel, after_minutes=settings.draft_reminder_minutes)
    return [_draft_reminder(reminder, settings) for reminder in reminders]


def _draft_reminder(reminder: DraftReminder, settings: Settings) -> Reply:
    t, draft = Texts(reminder.owner.language), reminder.draft
    text = t("log.draft_reminder", text=fmt.clip(" ".join(draft.raw_text.split()), 300))
    keyboard = Keyboard.of([Button(t("btn.save"), pack("log", "save", draft.id)),
                            Button(t("btn.open_draft"), pack("log", "open", draft.id)),
                            Button(t("btn.cancel"), pack("log", "cancel", draft.id))])
    return Reply(fmt.clip(text, 4000), keyboard=keyboard, chat_id=reminder.chat_id, channel=reminder.channel)


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
    if isinstance(result, FieldUnreadable):
        return _ask_again(ctx, result)
    if pick_field:
        return _field_picker(ctx, result.draft_id)
    return preview(ctx, result, edit=edit)


# What to say when a typed value of a field cannot be read (the fields read as text always can be).
UNREADABLE_HINTS = {"amount": "log.bad_amount", "quantity": "log.bad_quantity", "due": "log.bad_due"}


def _ask_again(ctx: Ctx, result: FieldUnreadable) -> Reply:
    """What to type for the field, below the card as it stands (the edit stays open)."""
    field = ctx.t(f"field.{result.field}").lower()
    if isinstance(result, FieldTooLong):
        hint = ctx.t("log.too_long_value", field=field, length=len(result.text), limit=result.limit)
    elif result.stages:
        return _which_stage(ctx, result)
    else:
        hint = ctx.t(UNREADABLE_HINTS.get(result.field, "log.bad_due"), text=result.text)
    hint += "\n" + ctx.t("log.type_again", field=field)
    if result.fields is None:
        return Reply(hint)
    card = preview(ctx, LogPreview(draft_id=result.draft_id, fields=result.fields))
    return replace(card, text=fmt.clip_lines(card.text + "\n\n" + hint))


def _which_stage(ctx: Ctx, result: FieldUnreadable) -> Reply:
    """No stage in what was typed: the pipeline's stages to tap (typing one still works, the edit stays open)."""
    text = ctx.t("log.which_stage", text=fmt.clip(" ".join(result.text.split()), 200))
    buttons = [Button(fmt.clip(s.name(ctx.lang), BUTTON_CHARS), pack("log", "stg", result.draft_id, s.id))
               for s in result.stages]
    buttons.append(Button(ctx.t("btn.back"), pack("log", "show", result.draft_id)))
    return Reply(text, keyboard=Keyboard.column(buttons, per_row=2))


def _field_picker(ctx: Ctx, draft_id: int) -> Reply:
    buttons = [Button(ctx.t(f"field.{f}"), pack("log", "f", draft_id, f)) for f in EDITABLE_FIELDS]
    buttons.append(Button(ctx.t("btn.back"), pack("log", "show", draft_id)))
    return Reply(ctx.t("log.pick_field"), keyboard=Keyboard.column(buttons, per_row=3), edit=True)


def _undone(ctx: Ctx, undone: LogUndone) -> Reply:
    kept = [ctx.t("log.kept_deal", title=undone.kept_deal) if undone.kept_deal else None,
            ctx.t("log.kept_company", name=undone.kept_company) if undone.kept_company else None,
            ctx.t("log.kept_contact", name=undone.kept_contact) if undone.kept_contact else None,
            ctx.t("log.kept_task", title=undone.kept_task) if undone.kept_task else None]
    names = ", ".join(k for k in kept if k)
    if undone.deal_changed_since and undone.kept_deal:  # changed or given away since: it stays as it is now
        names = ", ".join(k for k in kept[1:] if k)
        text = ctx.t("log.undone_deal_changed", title=undone.kept_deal)
        if names:
            text += "\n" + ctx.t("log.undone_kept", kept=names)
        return Reply(fmt.clip(text, 4000), edit=True)
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
    return Reply(text, toast=text[:200], toast_only=True)  # a tap on a closed card: the popup says it all


def _saved(ctx: Ctx, saved: LogSaved) -> Reply:
    parts = [ctx.t("log.saved_interaction", kind=ctx.t(f"kind.{saved.kind}").lower(),
                   who=", ".join(saved.about) or "—")]
    task = saved.task
    if task is not None:
        due = due_text(task.due_at, ctx.t, ctx.now, ctx.settings)
        parts.append(ctx.t("log.saved_task_updated" if saved.task_updated else "log.saved_task", title=task.title,
                           due=due) if task.due_at else
                     ctx.t("log.saved_task_nodue", title=task.title))
    if saved.deal_noted:
        parts.append(ctx.t("log.saved_deal_note"))
    elif saved.deal_title is not None:
        deal = ctx.t("log.saved_deal_new" if saved.deal_created else "log.saved_deal_updated", title=saved.deal_title)
        if saved.closed == "lost":
            deal += " " + (ctx.t("log.saved_lost_because", stage=_stage_name(ctx, "lost"),
                                 reason=deal_actions.reason_text(ctx.t, saved.lost_reason))
                           if saved.lost_reason else "→ " + _stage_name(ctx, "lost"))
        elif saved.closed == "won":
            deal += " → " + _stage_name(ctx, "won")
        parts.append(deal)
    text = ctx.t("log.saved", what="; ".join(parts))
    # "Next": what to do now that this is logged (issue 14).
    rows = [[Button(ctx.t("btn.undo"), pack("log", "undo", saved.draft_id)), Button(ctx.t("nba.btn_next"),
                                                                                 pack("nba", "next"))]]
    if saved.open_tasks:  # the deal is closed but work on it is still open: offer to close it
        titles = ", ".join(f"«{t.title}»" + (f" ({t.owner})" if t.owner_id != ctx.staff.id and t.owner else "")
                           for t in saved.open_tasks[:5])
        text += "\n" + ctx.t("log.closed_deal_open_tasks", count=len(saved.open_tasks), titles=titles)
        rows.append([Button(ctx.t("btn.close_open_tasks"), pack("log", "tdone", saved.draft_id))])
    text += "\n" + ctx.t("log.undo_hint", minutes=saved.undo_minutes)
    return Reply(fmt.clip(text, 4000), keyboard=Keyboard.of(*rows), edit=True)


def _reminder_created(ctx: Ctx, made: ReminderMade) -> Reply:
    task = made.task
    key = "task.created" if task.due_at else "task.created_nodue"
    text = ctx.t(key, title=task.title + about(task), due=due_text(task.due_at, ctx.t, ctx.now, ctx.settings))
    rows = [task_buttons(task.id, ctx.t)]
    if made.similar is not None:  # the same person has an open task much like it: say so, offer the old one
        old = made.similar
        text += "\n" + ctx.t("task.similar_open", title=fmt.clip(old.title, 200),
                             due=due_text(old.due_at, ctx.t, ctx.now, ctx.settings))
        rows.append([Button(fmt.clip(ctx.t("btn.open_similar_task", id=old.id), 40), pack("task", "open", old.id))])
    return Reply(fmt.clip(text, 4000), keyboard=Keyboard.of(*rows))
