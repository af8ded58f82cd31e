"""What every chat can do: start, help, language, cancel."""

from __future__ import annotations

from bot.core.callbacks import Callback, pack
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from bot.handlers.logs import cancel_open_log
from bot.handlers.team import open_invite
from bot.texts import LANGUAGES, Texts
from crm_core.policy import Audience, is_staff
from crm_core.services.invites import looks_like_token

router = Router()


@router.command("start", audience=Audience.EVERYONE)
async def on_start(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Greet staff with how to log, customers with what they may ask (no staff notes for them); an invite
    link's `/start TOKEN` registers whoever opened it."""
    payload = (msg.text or "").split()[1:2]
    if payload and looks_like_token(payload[0]):
        return await open_invite(msg, ctx, payload[0])
    if not is_staff(ctx.user):
        return Reply(ctx.t("support.welcome"))
    return Reply(ctx.t("common.welcome_staff", name=ctx.staff.name))


@router.command("id", audience=Audience.EVERYONE, in_menu=False)
async def on_my_id(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Tell whoever asks their id on this channel: what a new staff member sends an admin to be added."""
    return Reply(ctx.t("common.your_id", user_id=msg.user_id))


@router.command("help", audience=Audience.EVERYONE)
async def on_help(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """List the commands of the caller's role."""
    from bot.handlers import ROUTER

    if not is_staff(ctx.user):
        return Reply(ctx.t("support.help"))
    lines = [ctx.t("common.help_title")]
    lines += [f"/{name} — {ctx.t(f'cmd.{name}')}" for name in ROUTER.menu(ctx.staff)]
    lines.append(ctx.t("common.help_free_text"))
    return Reply("\n".join(lines))


@router.command("lang", audience=Audience.EVERYONE)
async def on_language_pick(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Switch language: `/lang en`, or pick with buttons."""
    wanted = (msg.text or "").split()[1:2]
    if wanted and wanted[0].lower() in LANGUAGES:
        return await _set_language(ctx, wanted[0].lower(), edit=False)
    return Reply(ctx.t("common.lang_pick"), keyboard=Keyboard.of([Button("Tiếng Việt", pack("lang", "set", "vi")),
                                                                  Button("English", pack("lang", "set", "en"))]))


@router.callback("lang", audience=Audience.EVERYONE)
async def on_language_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Apply the language picked with a button."""
    if cb.args[0] not in LANGUAGES:
        raise ValueError(cb.args[0])
    return await _set_language(ctx, cb.args[0], edit=True)


async def _set_language(ctx: Ctx, language: str, *, edit: bool) -> Reply:
    if ctx.user is not None:
        await ctx.services.users.set_language(ctx.user.id, language)
    else:
        await ctx.services.state.set_language(ctx.inbound.channel, ctx.inbound.user_id, language)
    return Reply(Texts(language)("common.lang_set"), edit=edit)


@router.command("cancel", audience=Audience.EVERYONE)
async def on_cancel(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Leave whatever dialog is in progress; for staff, a field edit, or else the newest unsaved log preview.

    An admin's dialog (a prompt edit, a gap answer, a stage's value) was already ended by the command itself
    (the engine ends it before any command runs): say that it is what was cancelled.
    """
    if ctx.ended_dialog is not None:
        return Reply(dialog_cancelled(ctx, *ctx.ended_dialog))
    if is_staff(ctx.user):
        cancelled = await cancel_open_log(msg, ctx)
        if cancelled is not None:
            return cancelled
    state = await ctx.services.state.get(msg.channel, msg.chat_id, msg.user_id)
    await ctx.clear_state()
    return Reply(ctx.t("common.cancelled" if state else "common.nothing_to_cancel"))


def dialog_cancelled(ctx: Ctx, name: str, data: dict[str, object]) -> str:
    """What /cancel says of the dialog `name` it ended: its own text (`common.dialog_cancelled.<name>`,
    naming what it was about: the prompt's name), else the general one."""
    key = f"common.dialog_cancelled.{name}"
    if not ctx.t.has(key):
        return ctx.t("common.cancelled")
    return ctx.t(key, name=str(data.get("name", "")))
