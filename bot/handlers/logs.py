"""The salesperson's free-text log: understand, preview with buttons, fix, save, undo."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

from bot.core import format as fmt
from bot.core.callbacks import Callback, pack
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from bot.handlers.support import relay_to_customer, ticket_in_reply
from bot.handlers.views import about, due_text, task_buttons
from crm_core.errors import AlreadyDone, UndoExpired
from crm_core.llm import fill_missing_with_llm
from crm_core.policy import Audience
from crm_core.services.logs import due_datetime
from crm_core.textnorm import fold
from crm_core.understanding import KnownContact, KnownNames, parse_amount_text, parse_due_text, parse_log

router = Router()

EDITABLE_FIELDS = ("contact", "company", "amount", "next_step", "due", "kind", "stage")
_REMINDER_RE = re.compile(r"^\s*(?:nhac (?:toi|minh|em|anh|chi)|remind me)(?: to| de| la)?\s+", re.IGNORECASE)
_KIND_WORDS = {"call": ("call", "goi", "dien"), "meeting": ("meeting", "gap", "hop", "meet"),
               "email": ("email", "mail"), "message": ("message", "nhan", "zalo", "sms", "tin"),
               "note": ("note", "ghi chu")}


def _has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


@router.text(Audience.STAFF)
async def on_staff_text(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Free text from staff is an answer to a ticket they reply to, a log, or a reminder request."""
    text = (msg.text or "").strip()
    ticket_id = await ticket_in_reply(msg, ctx)
    if ticket_id is not None and text:
        return await relay_to_customer(ctx, ticket_id, text)
    if msg.is_group:
        return []  # staff talk among themselves in a support group; only replies to tickets are for the bot
    if msg.attachment is not None and not text:
        kind = ctx.t(f"att.{msg.attachment.kind}")
        return Reply(ctx.t("common.attachment", kind=kind))
    if len(text) > ctx.settings.max_message_chars:
        await ctx.services.logs.draft(owner=ctx.staff, raw_text=text, fields={}, status="too_long")
        return Reply(ctx.t("log.too_long", length=len(text), limit=ctx.settings.max_message_chars))
    if not _has_words(text):
        return Reply(ctx.t("common.emoji_only"))
    if msg.is_edit:
        return await _reparse_edited(msg, ctx, text)
    if _REMINDER_RE.match(fold(text)):
        return await _create_reminder(ctx, text)
    fields = await understand(ctx, text)
    draft_id = await ctx.services.logs.draft(owner=ctx.staff, raw_text=text, fields=fields,
                                             source_key=_source_key(msg))
    return preview(ctx, draft_id, fields)


def _source_key(msg: Inbound) -> str | None:
    return f"{msg.channel}:{msg.chat_id}:{msg.message_id}" if msg.message_id else None


async def _reparse_edited(msg: Inbound, ctx: Ctx, text: str) -> HandlerResult:
    key = _source_key(msg)
    draft_id = await ctx.services.logs.open_draft_from(key, ctx.staff) if key else None
    if draft_id is None:
        return []
    fields = await understand(ctx, text)
    await ctx.services.logs.replace(draft_id, ctx.staff, raw_text=text, fields=fields)
    return preview(ctx, draft_id, fields)


async def _known_names(ctx: Ctx) -> KnownNames:
    companies, contacts = await ctx.services.directory.known_names()
    return KnownNames(companies=companies, contacts=[KnownContact(name, company) for name, company in contacts])


async def understand(ctx: Ctx, text: str) -> dict[str, Any]:
    """Parse a log and resolve its names against the CRM, as draft fields."""
    parsed = parse_log(text, now=ctx.now, language=None, known=await _known_names(ctx))
    if ctx.extensions.chat_model is not None and ctx.extensions.log_prompt is not None:
        parsed = await fill_missing_with_llm(parsed, model=ctx.extensions.chat_model, prompt=ctx.extensions.log_prompt,
                                             timeout_s=ctx.settings.llm.timeout_s, now_iso=ctx.now.isoformat())
    fields: dict[str, Any] = dict(parsed.to_contract())
    fields["unreadable"] = list(parsed.unreadable)
    if fields.get("amount") is not None:
        fields["amount"] = str(parsed.amount)
    if len(parsed.contact_candidates) > 1 and parsed.company and fold(parsed.company) not in fold(text):
        fields["company"] = None  # guessed from one of several namesakes: ask instead
    await _resolve_names(ctx, fields)
    return fields


async def _resolve_names(ctx: Ctx, fields: dict[str, Any]) -> None:
    fields["company_choice"], fields["company_options"] = None, []
    fields["contact_choice"], fields["contact_options"] = None, []
    company_id: int | None = None
    if fields.get("company"):
        matches = await ctx.services.directory.match_companies(str(fields["company"]))
        exact = [m for m in matches if m.exact]
        if exact:
            fields["company_choice"] = {"id": exact[0].id, "name": exact[0].name}
            company_id = exact[0].id
        elif matches:
            fields["company_options"] = [{"id": m.id, "name": m.name} for m in matches[:3]]
            fields["company_choice"] = fields["company_options"][0]
            company_id = matches[0].id
    if fields.get("contact"):
        await _resolve_contact(ctx, fields, company_id)


async def _resolve_contact(ctx: Ctx, fields: dict[str, Any], company_id: int | None) -> None:
    name = str(fields["contact"])
    matches = [m for m in await ctx.services.directory.match_contacts(name, company_id=company_id) if m.exact]
    if company_id is not None and not matches:
        return
    if not matches:
        return
    options = []
    for match in matches[:4]:
        contact = await ctx.services.directory.contact(match.id)
        options.append({"id": match.id, "name": match.name, "company": contact.company,
                        "company_id": contact.company_id})
    fields["contact_choice"] = options[0]
    if len(options) > 1:
        fields["contact_options"] = options
    if company_id is None and options[0]["company_id"] and not fields.get("company"):
        fields["company"] = options[0]["company"]
        fields["company_choice"] = {"id": options[0]["company_id"], "name": options[0]["company"]}


def _line(ctx: Ctx, key: str, value: str | None) -> str:
    return f"{ctx.t(f'field.{key}')}: {value if value else ctx.t('log.unread')}"


def preview(ctx: Ctx, draft_id: int, fields: dict[str, Any], *, edit: bool = False) -> Reply:
    """The card of what was understood, with Save first, then Edit and Cancel, then the questions."""
    t, lang = ctx.t, ctx.lang
    lines = [t("log.preview_title")]
    kind = fields.get("kind")
    lines.append(_line(ctx, "kind", t(f"kind.{kind}") if kind else None))
    lines.append(_line(ctx, "contact", _contact_label(ctx, fields)))
    lines.append(_line(ctx, "company", _company_label(ctx, fields)))
    amount = Decimal(fields["amount"]) if fields.get("amount") else None
    amount_text = fmt.money(amount, fields.get("currency"), lang) if amount is not None else None
    if amount_text and fields.get("quantity"):
        amount_text += f" ({fields['quantity']})"
    lines.append(_line(ctx, "amount", amount_text))
    lines.append(_line(ctx, "next_step", fields.get("next_step")))
    due = _as_date(fields.get("due"))
    lines.append(_line(ctx, "due", fmt.weekday_day(due, lang, today=ctx.now.date()) if due else None))
    if fields.get("occurred_on"):
        occurred = _as_date(fields["occurred_on"])
        lines.append(_line(ctx, "occurred_on", fmt.day(occurred, lang) if occurred else None))
    if fields.get("stage"):
        lines.append(_line(ctx, "stage", _stage_label(ctx, str(fields["stage"]))))
    for key in ("phone", "email"):
        if fields.get(key):
            lines.append(_line(ctx, key, str(fields[key])))
    rows: list[list[Button]] = [[Button(t("btn.save"), pack("log", "save", draft_id)),
                                 Button(t("btn.edit"), pack("log", "edit", draft_id)),
                                 Button(t("btn.cancel"), pack("log", "cancel", draft_id))]]
    rows += _question_rows(ctx, draft_id, fields, lines)
    if not any(fields.get(k) for k in ("contact", "company", "amount", "next_step", "due")):
        lines.append(t("log.nothing_understood"))
    elif fields.get("unreadable"):
        names = ", ".join(t(f"field.{f}") if ctx.t.has(f"field.{f}") else f for f in fields["unreadable"])
        lines.append(t("log.could_not_read", fields=names))
    return Reply(fmt.clip_lines("\n".join(lines)), keyboard=Keyboard.of(*rows), edit=edit)


def _question_rows(ctx: Ctx, draft_id: int, fields: dict[str, Any], lines: list[str]) -> list[list[Button]]:
    t, rows = ctx.t, []
    if fields.get("company_options"):
        lines.append(t("log.ask_company"))
        buttons = [Button(fmt.clip(f"🏢 {o['name']}", 40), pack("log", "co", draft_id, o["id"]))
                   for o in fields["company_options"]]
        buttons.append(Button(fmt.clip(t("btn.new_company", name=fields.get("company") or ""), 40),
                              pack("log", "co", draft_id, 0)))
        rows.extend([buttons[i:i + 2] for i in range(0, len(buttons), 2)])
    if fields.get("contact_options"):
        lines.append(t("log.ask_contact", name=fields.get("contact") or ""))
        buttons = [Button(fmt.clip(f"👤 {o['name']} ({o.get('company') or '—'})", 40),
                          pack("log", "ct", draft_id, o["id"])) for o in fields["contact_options"]]
        buttons.append(Button(fmt.clip(t("btn.new_contact", name=fields.get("contact") or ""), 40),
                              pack("log", "ct", draft_id, 0)))
        rows.extend([buttons[i:i + 2] for i in range(0, len(buttons), 2)])
    options = [d for d in (fields.get("due_options") or []) if _as_date(d)]
    if len(options) > 1:
        lines.append(t("log.ask_due"))
        rows.append([Button(fmt.weekday_day(_as_date(d) or date.min, ctx.lang), pack("log", "due", draft_id,
                                                                                      str(d).replace("-", "")))
                     for d in options[:4]])
    return rows


def _contact_label(ctx: Ctx, fields: dict[str, Any]) -> str | None:
    choice = fields.get("contact_choice")
    if isinstance(choice, dict) and choice.get("id"):
        return ctx.t("log.contact_existing", name=choice["name"])
    return ctx.t("log.contact_new", name=fields["contact"]) if fields.get("contact") else None


def _company_label(ctx: Ctx, fields: dict[str, Any]) -> str | None:
    choice = fields.get("company_choice")
    if isinstance(choice, dict) and choice.get("id"):
        return ctx.t("log.company_existing", name=choice["name"])
    return ctx.t("log.company_new", name=fields["company"]) if fields.get("company") else None


def _stage_label(ctx: Ctx, key: str) -> str:
    return ctx.t(f"stage.{key}") if ctx.t.has(f"stage.{key}") else key


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@router.callback("log", audience=Audience.STAFF)
async def on_log_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Save, edit, cancel, undo, or answer a question of the preview."""
    draft_id = cb.arg_int(0)
    logs = ctx.services.logs
    if cb.action == "save":
        return await _save(ctx, draft_id)
    if cb.action == "undo":
        return await _undo(ctx, draft_id)
    draft = await logs.get(draft_id, ctx.staff)
    if draft.status != "draft":
        return _already(ctx, draft.status)
    if cb.action == "cancel":
        await logs.cancel(draft_id, ctx.staff)
        await ctx.clear_state()
        return Reply(ctx.t("log.cancelled"), edit=True)
    if cb.action == "edit":
        buttons = [Button(ctx.t(f"field.{f}"), pack("log", "f", draft_id, f)) for f in EDITABLE_FIELDS]
        buttons.append(Button(ctx.t("btn.back"), pack("log", "show", draft_id)))
        return Reply(ctx.t("log.pick_field"), keyboard=Keyboard.column(buttons, per_row=3), edit=True)
    if cb.action == "f":
        field = cb.args[1]
        if field not in EDITABLE_FIELDS:
            raise ValueError(field)
        await ctx.set_state("log_edit", {"draft": draft_id, "field": field})
        return Reply(ctx.t("log.ask_value", field=ctx.t(f"field.{field}").lower()), edit=True)
    fields = await logs.update_fields(draft_id, ctx.staff, _choice_changes(cb, dict(draft.fields)))
    return preview(ctx, draft_id, fields, edit=True)


def _choice_changes(cb: Callback, fields: dict[str, Any]) -> dict[str, Any]:
    if cb.action == "co":
        chosen = cb.arg_int(1)
        option = next((o for o in fields.get("company_options") or [] if o["id"] == chosen), None)
        return {"company_choice": option}
    if cb.action == "ct":
        chosen = cb.arg_int(1)
        option = next((o for o in fields.get("contact_options") or [] if o["id"] == chosen), None)
        changes: dict[str, Any] = {"contact_choice": option}
        if option and option.get("company_id") and not fields.get("company_options"):
            changes["company"] = option["company"]
            changes["company_choice"] = {"id": option["company_id"], "name": option["company"]}
        return changes
    if cb.action == "due":
        raw = cb.args[1]
        return {"due": f"{raw[:4]}-{raw[4:6]}-{raw[6:8]}"}
    return {}


def _already(ctx: Ctx, status: str) -> Reply:
    key = {"saved": "log.already_saved", "cancelled": "log.already_cancelled", "undone": "log.already_undone"}
    text = ctx.t(key.get(status, "common.stale_button"))
    return Reply(text, toast=text[:200])


async def _save(ctx: Ctx, draft_id: int) -> HandlerResult:
    try:
        saved = await ctx.services.logs.save(draft_id, ctx.staff, default_task_title=ctx.t("log.default_task"))
    except AlreadyDone as error:
        return _already(ctx, str(error.details.get("status", "saved")))
    await ctx.clear_state()
    draft = await ctx.services.logs.get(draft_id, ctx.staff)
    fields = draft.fields
    parts = [ctx.t("log.saved_interaction", kind=ctx.t(f"kind.{fields.get('kind') or 'note'}").lower(),
                   who=", ".join(p for p in (_chosen_name(fields, "contact"), _chosen_name(fields, "company")) if p)
                   or "—")]
    if saved.task_id:
        task = await ctx.services.tasks.get(saved.task_id, ctx.staff)
        due = due_text(task.due_at, ctx.t, ctx.now, ctx.settings)
        parts.append(ctx.t("log.saved_task", title=task.title, due=due) if task.due_at else
                     ctx.t("log.saved_task_nodue", title=task.title))
    if saved.deal_id:
        deal = await ctx.services.deals.get(saved.deal_id, ctx.staff.model_copy(update={"role": "manager"}))
        parts.append(ctx.t("log.saved_deal_new" if saved.deal_created else "log.saved_deal_updated",
                           title=deal.title))
    text = ctx.t("log.saved", what="; ".join(parts)) + "\n" + ctx.t("log.undo_hint", minutes=ctx.settings.undo_minutes)
    undo = Keyboard.of([Button(ctx.t("btn.undo"), pack("log", "undo", draft_id))])
    return Reply(fmt.clip(text, 4000), keyboard=undo, edit=True)


def _chosen_name(fields: dict[str, Any], kind: str) -> str | None:
    choice = fields.get(f"{kind}_choice")
    if isinstance(choice, dict) and choice.get("name"):
        return str(choice["name"])
    value = fields.get(kind)
    return str(value) if value else None


async def _undo(ctx: Ctx, draft_id: int) -> HandlerResult:
    try:
        await ctx.services.logs.undo(draft_id, ctx.staff)
    except UndoExpired:
        text = ctx.t("log.undo_expired", minutes=ctx.settings.undo_minutes)
        return Reply(text, toast=text[:200])
    except AlreadyDone as error:
        return _already(ctx, str(error.details.get("status", "undone")))
    return Reply(ctx.t("log.undone"), edit=True)


@router.state("log_edit")
async def on_log_field_value(msg: Inbound, ctx: Ctx, state: dict[str, object]) -> HandlerResult:
    """The user typed the new value of the field they chose to fix."""
    draft_id, field = int(str(state["draft"])), str(state["field"])
    text = (msg.text or "").strip()
    draft = await ctx.services.logs.get(draft_id, ctx.staff)
    if draft.status != "draft":
        await ctx.clear_state()
        return _already(ctx, draft.status)
    changes = await _field_change(ctx, field, text, dict(draft.fields))
    if isinstance(changes, Reply):
        return changes
    await ctx.clear_state()
    fields = await ctx.services.logs.update_fields(draft_id, ctx.staff, changes)
    return preview(ctx, draft_id, fields)


async def _field_change(ctx: Ctx, field: str, text: str, fields: dict[str, Any]) -> dict[str, Any] | Reply:
    if field == "amount":
        found = parse_amount_text(text, ctx.lang)
        if found is None:
            return Reply(ctx.t("log.bad_amount", text=text))
        return {"amount": str(found[0]), "currency": found[1], "unreadable": _without(fields, "amount")}
    if field == "due":
        due = parse_due_text(text, now=ctx.now, language=ctx.lang)
        if due is None:
            return Reply(ctx.t("log.bad_due", text=text))
        return {"due": due.isoformat(), "due_options": [due.isoformat()], "unreadable": _without(fields, "due")}
    if field == "kind":
        folded = fold(text)
        kind = next((k for k, words in _KIND_WORDS.items() if any(w in folded for w in words)), "note")
        return {"kind": kind}
    if field == "stage":
        stage = await ctx.services.pipelines.default_stage(text)
        return {"stage": stage.key}
    if field in ("company", "contact"):
        updated = {**fields, field: text}
        if field == "company":
            updated["contact_choice"] = None
        await _resolve_names(ctx, updated)
        return {k: updated[k] for k in ("company", "contact", "company_choice", "company_options", "contact_choice",
                                        "contact_options")}
    return {field: text}


def _without(fields: dict[str, Any], name: str) -> list[str]:
    return [f for f in fields.get("unreadable") or [] if f != name]


async def _create_reminder(ctx: Ctx, text: str) -> HandlerResult:
    parsed = parse_log(text, now=ctx.now, language=None, known=await _known_names(ctx))
    trigger = _REMINDER_RE.match(fold(text))
    trigger_words = len(trigger.group(0).split()) if trigger else 0
    title = " ".join(text.split()[trigger_words:]) or text  # folding keeps the words, so count them
    due_at = due_datetime(parsed.due, ctx.now) if parsed.due else None
    company_id = contact_id = None
    if parsed.company:
        matches = [m for m in await ctx.services.directory.match_companies(parsed.company) if m.exact]
        company_id = matches[0].id if matches else None
    if parsed.contact:
        matches = [m for m in await ctx.services.directory.match_contacts(parsed.contact, company_id=company_id)
                   if m.exact]
        contact_id = matches[0].id if len(matches) == 1 else None
    task = await ctx.services.tasks.create(owner_id=ctx.staff.id, title=title, due_at=due_at, contact_id=contact_id,
                                           company_id=company_id)
    await ctx.services.session.flush()
    out = await ctx.services.tasks.get(task.id, ctx.staff)
    key = "task.created" if due_at else "task.created_nodue"
    reply_text = ctx.t(key, title=out.title + about(out), due=due_text(due_at, ctx.t, ctx.now, ctx.settings))
    return Reply(fmt.clip(reply_text, 4000), keyboard=Keyboard.of(task_buttons(task.id, ctx.t)))
