"""Prompt templates from the phone (admins): list, show, edit by sending the new text, save, history, roll back.

    /prompts              every prompt, its version in force and what it is for; a button each
    /prompt NAME          the version in force, its variables, its text, [✏️ Edit] [History] (viewing changes nothing)
      [✏️ Edit]            the next text sent is the new version (an admin dialog: a command or
                          `Settings.admin_dialog_minutes` end it)
      new text            checked (syntax, missing/unknown variables, a render with the sample): what is wrong,
                          or a short diff with [Save] [Cancel] (the text waits in the dialog state)
      [Save]              a new version, in force at once (audited); [Cancel] drops it
    /prompt NAME history  versions (who, when), a [↩️ vN] button for each one not in force
      [↩️ vN]              what vN changes against the version in force, [Restore] [Cancel]
      [Restore]           vN in force (audited); refused when another version was put in force since the diff
A text that is the one in force is said to be identical: there is nothing to save, so no [Save].

Everything here is the admins' (`Audience.ADMINS`, asked again by `flows.prompts`): a salesperson's command,
a forged button or a stale dialog gets "not allowed" and changes nothing.
"""

from __future__ import annotations

from bot.core import format as fmt
from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from crm_core.config import Settings
from crm_core.errors import NotFound
from crm_core.flows import Flows
from crm_core.policy import Audience
from crm_core.prompting.validation import MAX_TEMPLATE_CHARS, Problem
from crm_core.prompting.versions import PromptInvalid

router = Router()
NAMESPACE = "prm"
EDIT_STATE = "prompt_edit"
CONFIRM_STATE = "prompt_confirm"
TEMPLATE_SHOWN_CHARS = 3000
HISTORY_SHOWN = 15


def _args(msg: Inbound) -> str:
    text = (msg.text or "").strip()
    return text.split(maxsplit=1)[1].strip() if " " in text else ""


@router.command("prompts", audience=Audience.ADMINS)
async def on_prompts(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """List the prompts with the version in force."""
    prompts = await ctx.flows.prompts.catalogue(ctx.staff)
    lines = [ctx.t("prompts.list_title")]
    lines += [ctx.t("prompts.list_line", name=p.name, version=p.version,
                    description=fmt.clip(p.described_in(ctx.lang), 140)) for p in prompts]
    keyboard = Keyboard.column([Button(p.name, pack(NAMESPACE, "show", p.name)) for p in prompts], per_row=2)
    return Reply("\n".join(lines), keyboard=keyboard)


@router.command("prompt", audience=Audience.ADMINS)
async def on_prompt(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Show one prompt (with [✏️ Edit]), or its history."""
    words = _args(msg).split()
    if not words:
        return Reply(ctx.t("prompts.usage"))
    name = words[0]
    if len(words) > 1 and words[1].lower() in ("history", "lich-su", "lịch-sử", "lichsu"):
        return await _history(ctx, name)
    return await _show(ctx, name)


async def _show(ctx: Ctx, name: str) -> Reply:
    try:
        prompt = await ctx.flows.prompts.show(ctx.staff, name)
    except NotFound:
        return Reply(ctx.t("prompts.unknown", name=fmt.clip(name, 60)))
    variables = ", ".join("{" + v + "}" for v in prompt.input_variables) or "—"
    template = prompt.template if len(prompt.template) <= TEMPLATE_SHOWN_CHARS else \
        prompt.template[:TEMPLATE_SHOWN_CHARS].rstrip() + "\n…"
    text = "\n".join([ctx.t("prompts.show_title", name=prompt.name, version=prompt.version),
                      prompt.described_in(ctx.lang), ctx.t("prompts.variables", variables=variables), "", template, "",
                      ctx.t("prompts.how_to_edit")])
    keyboard = Keyboard.of([Button(ctx.t("prompts.btn_edit"), pack(NAMESPACE, "edit", prompt.name)),
                            Button(ctx.t("prompts.btn_history"), pack(NAMESPACE, "hist", prompt.name))])
    return Reply(fmt.clip_lines(text, 4000), keyboard=keyboard)


async def _start_edit(ctx: Ctx, name: str) -> Reply:
    """[✏️ Edit]: the next text this admin sends is the prompt's new version."""
    try:
        prompt = await ctx.flows.prompts.show(ctx.staff, name)
    except NotFound:
        return Reply(ctx.t("prompts.unknown", name=fmt.clip(name, 60)))
    await ctx.set_state(EDIT_STATE, {"name": prompt.name})
    return Reply(ctx.t("prompts.ask_new_text", name=prompt.name, minutes=ctx.settings.admin_dialog_minutes))


async def _history(ctx: Ctx, name: str) -> Reply:
    try:
        versions = await ctx.flows.prompts.history(ctx.staff, name)
    except NotFound:
        return Reply(ctx.t("prompts.unknown", name=fmt.clip(name, 60)))
    tz = ctx.settings.tz
    shown = versions[-HISTORY_SHOWN:]
    lines = [ctx.t("prompts.history_title", name=name)]
    lines += [ctx.t("prompts.history_line_in_force" if v.in_force else "prompts.history_line", version=v.version,
                    author=ctx.t("prompts.shipped") if v.author == "shipped" else v.author,
                    at=f"{v.created_at.astimezone(tz):%d/%m/%Y %H:%M}") for v in shown]
    buttons = [Button(ctx.t("prompts.btn_rollback", version=v.version), pack(NAMESPACE, "back", name, v.version))
               for v in shown if not v.in_force]
    return Reply("\n".join(lines), keyboard=Keyboard.column(buttons, per_row=3) if buttons else None)


@router.state(EDIT_STATE, audience=Audience.ADMINS, admin=True)
async def on_new_text(msg: Inbound, ctx: Ctx, data: dict[str, object]) -> HandlerResult:
    """The new text of the prompt being edited: what is wrong with it, or the diff and [Save] [Cancel]."""
    name = str(data.get("name") or "")
    text = (msg.text or "").strip("\n")
    preview = await ctx.flows.prompts.preview(ctx.staff, name, text)
    if preview.identical:  # still waiting for a text that changes something; an earlier draft's Save is gone
        await ctx.set_state(EDIT_STATE, {"name": name})
        return Reply(ctx.t("prompts.identical", name=name, version=preview.base_version))
    if preview.problems:
        return Reply(_problems_text(ctx, name, preview.problems))  # still waiting for a better text
    await ctx.set_state(CONFIRM_STATE, {"name": name, "base": preview.base_version, "text": text})
    diff = "\n".join(preview.diff) or ctx.t("prompts.no_change")
    keyboard = Keyboard.of([Button(ctx.t("prompts.btn_save"), pack(NAMESPACE, "save", name)),
                            Button(ctx.t("prompts.btn_cancel"), pack(NAMESPACE, "drop", name))])
    body = ctx.t("prompts.preview", name=name, version=preview.base_version + 1, diff=fmt.clip_lines(diff, 3000))
    return Reply(body, keyboard=keyboard)


@router.state(CONFIRM_STATE, audience=Audience.ADMINS, admin=True)
async def on_text_while_confirming(msg: Inbound, ctx: Ctx, data: dict[str, object]) -> HandlerResult:
    """Another text before [Save]: it is the newer draft of the same prompt."""
    return await on_new_text(msg, ctx, {"name": data.get("name")})


@router.callback(NAMESPACE, audience=Audience.ADMINS)
async def on_prompt_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """[name] [✏️ Edit] [History] [Save] [Cancel] [↩️ vN]."""
    if not cb.args:
        raise StaleCallback(cb.action)
    name = cb.args[0]
    if cb.action == "show":
        return await _show(ctx, name)
    if cb.action == "edit":
        return await _start_edit(ctx, name)
    if cb.action == "hist":
        return await _history(ctx, name)
    if cb.action == "back" and len(cb.args) == 2:
        return await _rollback_preview(ctx, name, cb.arg_int(1))
    if cb.action == "rb" and len(cb.args) == 3:
        return await _rollback(ctx, name, cb.arg_int(1), base_version=cb.arg_int(2))
    if cb.action == "rbno":
        return Reply(ctx.t("prompts.rollback_cancelled", name=name), edit=True)
    if cb.action in ("save", "drop"):
        return await _confirm(msg, ctx, name, save=cb.action == "save")
    raise StaleCallback(cb.action)


async def _confirm(msg: Inbound, ctx: Ctx, name: str, *, save: bool) -> Reply:
    data = await ctx.admin_dialog(CONFIRM_STATE)
    if data is None or data.get("name") != name:  # expired, ended by a command, or another prompt's
        text = ctx.t("prompts.nothing_pending")
        return Reply(text, toast=text[:200])
    await ctx.clear_state()
    if not save:
        return Reply(ctx.t("prompts.cancelled", name=name), edit=True)
    try:
        saved = await ctx.flows.prompts.save(ctx.staff, name, str(data.get("text") or ""),
                                             base_version=int(str(data.get("base") or 0)))
    except PromptInvalid as refused:
        return Reply(_problems_text(ctx, name, refused.problems))
    return Reply(ctx.t("prompts.saved", name=name, version=saved.version), edit=True)


async def _rollback_preview(ctx: Ctx, name: str, version: int) -> Reply:
    """[↩️ vN]: what vN changes against the version in force, with [Restore] [Cancel]."""
    try:
        preview = await ctx.flows.prompts.rollback_preview(ctx.staff, name, version)
    except NotFound:
        text = ctx.t("prompts.no_version", name=name, version=version)
        return Reply(text, toast=text[:200])
    if preview.to == preview.current:
        return Reply(ctx.t("prompts.rollback_in_force", name=name, version=version))
    diff = "\n".join(preview.diff) or ctx.t("prompts.no_change")
    keyboard = Keyboard.of([Button(ctx.t("prompts.btn_restore", version=version),
                                   pack(NAMESPACE, "rb", name, version, preview.current)),
                            Button(ctx.t("prompts.btn_cancel"), pack(NAMESPACE, "rbno", name))])
    return Reply(ctx.t("prompts.rollback_preview", name=name, version=version, current=preview.current,
                       diff=fmt.clip_lines(diff, 3000)), keyboard=keyboard)


async def _rollback(ctx: Ctx, name: str, version: int, *, base_version: int) -> Reply:
    try:
        prompt = await ctx.flows.prompts.rollback(ctx.staff, name, version, base_version=base_version)
    except NotFound:
        text = ctx.t("prompts.no_version", name=name, version=version)
        return Reply(text, toast=text[:200])
    return Reply(ctx.t("prompts.rolled_back", name=name, version=prompt.version), edit=True)


def _problems_text(ctx: Ctx, name: str, problems: list[Problem]) -> str:
    lines = [ctx.t("prompts.refused", name=name)]
    for problem in problems:
        # Said by kind, with the variables or the field: never the parser's or pydantic's English words.
        variables = ", ".join("{" + v + "}" for v in problem.variables)
        key = f"prompts.problem_{problem.kind}" + (f"_{problem.reason}" if problem.reason else "")
        lines.append(ctx.t(key, variables=variables, field="{" + fmt.clip(problem.field, 60) + "}",
                           limit=MAX_TEMPLATE_CHARS))
    lines.append(ctx.t("prompts.send_again"))
    return "\n".join(lines)


@router.periodic
async def refresh_prompts(flows: Flows, settings: Settings, channel: str) -> list[Reply]:
    """Serve the versions in force in the database: a change made with `chatcrm prompts` on the server."""
    await flows.prompts.refresh()
    return []
