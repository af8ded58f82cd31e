"""The team from the phone (admins): /invite, /users, /role, /deactivate, and opening an invite (/start TOKEN).

/deactivate, and /role demoting an admin (oneself included), first show what will happen (who, their role,
their open deals and tasks; "you will lose access" for oneself) with [Confirm] [Cancel]; only the confirmation
changes anything (`TeamFlow` checks it is the admin's, and still about the person as they are now).

Whoever's role changes gets their command menu refreshed at once: a reply carrying `menu` goes through the
outbox to their chat, and the channel sets that chat's menu (Telegram: setMyCommands with a chat scope).
"""

from __future__ import annotations

from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.channel import BotIdentity
from bot.core.context import Ctx
from bot.core.format import moment
from bot.core.limits import is_group_chat
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from bot.texts import Texts
from crm_core.flows.team import Deactivated, Pending
from crm_core.policy import STAFF_ROLES, Audience
from crm_core.schemas import UserOut
from crm_core.services.identities import CONSOLE, reminded_on
from crm_core.understanding.roles import split_role

router = Router()
# The console has no bot username: its links show where Telegram's would be.
BOT_USERNAME_PLACEHOLDER = "<bot_username>"


def chat_menu(user: UserOut | None) -> tuple[tuple[str, str], ...]:
    """Return the command menu of a person's chat: their role's commands, or () for the default one."""
    from bot.handlers import ROUTER

    if user is None or not user.active:
        return ()
    t = Texts(user.language)
    return tuple((name, t(f"cmd.{name}")) for name in ROUTER.menu(user))


def _role(t: Texts, role: str) -> str:
    return t(f"team.role.{role}")


def _args(msg: Inbound) -> list[str]:
    return (msg.text or "").split()[1:]


def _menu_pushes(user: UserOut, text: str) -> list[Reply]:
    """Tell a person their new role on every channel they are reached on, with their new menu."""
    return [Reply(text, chat_id=chat_id, channel=channel, menu=chat_menu(user))
            for channel, chat_id in user.addresses.items() if reminded_on(user, channel)]


# --- invites -----------------------------------------------------------------------------------------------


@router.command("invite", audience=Audience.ADMINS)
async def on_invite(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Make a one-time invite link: `/invite sales|manager|admin`, or pick the role with a button."""
    args = _args(msg)
    if not args:
        buttons = [Button(_role(ctx.t, role), pack("team", "invite", role)) for role in STAFF_ROLES]
        return Reply(ctx.t("team.invite_pick"), keyboard=Keyboard.of(buttons))
    return await _invite(ctx, args[0].lower())


async def _invite(ctx: Ctx, role: str) -> Reply:
    invite = await ctx.flows.team.invite(ctx.user, role)
    username = await ctx.io.bot_username() if isinstance(ctx.io, BotIdentity) else None
    link = f"https://t.me/{username or BOT_USERNAME_PLACEHOLDER}?start={invite.token}"
    until = moment(invite.expires_at, ctx.lang, ctx.settings.tz)
    return Reply(ctx.t("team.invite_made", role=_role(ctx.t, role), link=link, until=until,
                       hours=ctx.settings.invite_hours))


async def open_invite(msg: Inbound, ctx: Ctx, token: str) -> HandlerResult:
    """Register whoever opened an invite link (`/start TOKEN`) with its role; tell the admin who made it.

    Only in a private chat: in a group the welcome (and the sender's new role) would be posted to everyone there,
    and the link stays unused for its owner to open in a private chat with the bot.
    """
    if msg.is_group or is_group_chat(msg.chat_id):
        return Reply(ctx.t("team.invite_private_only"))
    joined = await ctx.flows.team.accept(token, channel=msg.channel, external_id=msg.user_id,
                                         name=msg.display_name or msg.username or msg.user_id, language=ctx.lang)
    user = joined.user
    t = Texts(user.language)
    replies = [Reply(t("team.joined", name=user.name, role=_role(t, user.role)), menu=chat_menu(user))]
    inviter = joined.invited_by
    if inviter is not None and inviter.active:
        it = Texts(inviter.language)
        replies += [Reply(it("team.joined_admin", name=user.name, role=_role(it, user.role)), chat_id=chat_id,
                          channel=channel)
                    for channel, chat_id in inviter.addresses.items() if reminded_on(inviter, channel)
                    and not (channel == msg.channel and chat_id == msg.chat_id)]
    return replies


@router.callback("team", audience=Audience.ADMINS)
async def on_team_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """An invite's role, or whom a leaver's work goes to."""
    if cb.action == "invite":
        return await _invite(ctx, cb.args[0])
    if cb.action == "give":
        done = await ctx.flows.team.hand_over(ctx.user, cb.arg_int(0), cb.arg_int(1))
        return Reply(ctx.t("team.handed_over", name=done.from_user.name, to=done.to_user.name, deals=done.deals,
                           tasks=done.tasks), edit=True)
    if cb.action == "later":
        return Reply(ctx.t("team.hand_over_later"), edit=True)
    if cb.action == "deact" and len(cb.args) == 2:
        return await _deactivate(msg, ctx, f"#{cb.arg_int(0)}", cb.args[1])
    if cb.action == "demote" and len(cb.args) == 3:
        return await _set_role(msg, ctx, f"#{cb.arg_int(0)}", cb.args[1], stamp=cb.args[2])
    if cb.action == "keep":
        return Reply(ctx.t("team.confirm_cancelled"), edit=True)
    raise StaleCallback(cb.action)


# --- users and roles ---------------------------------------------------------------------------------------


@router.command("users", audience=Audience.ADMINS)
async def on_users(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """List the team with roles and whether they are active."""
    users = await ctx.flows.team.users(ctx.user)
    lines = [ctx.t("team.users_title", count=sum(u.active for u in users))]
    for user in users:
        where = ", ".join(f"{channel} {address}" for channel, address in sorted(user.addresses.items())
                          if channel != CONSOLE)
        lines.append(ctx.t("team.user_line", id=user.id, name=user.name, role=_role(ctx.t, user.role),
                           where=f" · {where}" if where else "",
                           inactive=ctx.t("team.inactive") if not user.active else ""))
    lines.append(ctx.t("team.users_hint"))
    return Reply("\n".join(lines))


@router.command("role", audience=Audience.ADMINS)
async def on_role(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """`/role NAME sales|manager|admin`: change a colleague's role; their menu follows at once."""
    asked = split_role(" ".join(_args(msg)))  # the role's key or its words: "quản lý", "bán hàng"…
    if asked is None:
        return Reply(ctx.t("team.role_usage"))
    who, role = asked
    pending = await ctx.flows.team.ask_role(ctx.user, who, role)
    if pending is not None:  # an admin demoted: confirmed first
        return _confirm(ctx, pending, "team.demote_confirm",
                        pack("team", "demote", pending.user.id, role, pending.stamp))
    return await _set_role(msg, ctx, who, role, stamp=None)


async def _set_role(msg: Inbound, ctx: Ctx, who: str, role: str, *, stamp: str | None) -> HandlerResult:
    if role not in STAFF_ROLES:
        raise StaleCallback(role)
    changed = await ctx.flows.team.set_role(ctx.user, who, role, stamp=stamp)
    edit = stamp is not None
    user = changed.user
    if not changed.changed:
        return Reply(ctx.t("team.role_same", name=user.name, role=_role(ctx.t, user.role)), edit=edit)
    t = Texts(user.language)
    told = _menu_pushes(user, t("team.role_changed_you", role=_role(t, user.role)))
    for push in told:
        if push.chat_id == msg.chat_id and push.channel == msg.channel:  # an admin changing their own role
            return [Reply(ctx.t("team.role_changed", name=user.name, before=_role(ctx.t, changed.before),
                                role=_role(ctx.t, user.role)), menu=push.menu, edit=edit)]
    return [Reply(ctx.t("team.role_changed", name=user.name, before=_role(ctx.t, changed.before),
                        role=_role(ctx.t, user.role)), edit=edit), *told]


@router.command("deactivate", audience=Audience.ADMINS)
async def on_deactivate(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """`/deactivate NAME`: they stop using the CRM; their open deals and tasks are offered to a colleague."""
    who = " ".join(_args(msg))
    if not who:
        return Reply(ctx.t("team.deactivate_usage"))
    pending = await ctx.flows.team.ask_deactivate(ctx.user, who)
    if not pending.user.active:
        return Reply(ctx.t("team.already_inactive", name=pending.user.name))
    return _confirm(ctx, pending, "team.deactivate_confirm", pack("team", "deact", pending.user.id, pending.stamp))


def _confirm(ctx: Ctx, pending: Pending, key: str, data: str) -> Reply:
    """What a deactivation or a demotion will do, with [Confirm] [Cancel]."""
    lines = [ctx.t(key, name=pending.user.name, role=_role(ctx.t, pending.user.role),
                   to=_role(ctx.t, pending.role)),
             ctx.t("team.confirm_open_work", name=pending.user.name, deals=pending.open_deals,
                   tasks=pending.open_tasks)]
    if pending.is_self:
        lines.append(ctx.t("team.confirm_self_deactivate" if key == "team.deactivate_confirm"
                           else "team.confirm_self_demote"))
    buttons = [Button(ctx.t("team.btn_confirm"), data), Button(ctx.t("team.btn_keep"), pack("team", "keep"))]
    return Reply("\n".join(lines), keyboard=Keyboard.of(buttons))


async def _deactivate(msg: Inbound, ctx: Ctx, who: str, stamp: str) -> HandlerResult:
    gone = await ctx.flows.team.deactivate(ctx.user, who, stamp=stamp)
    # Their chat goes back to the default menu; they are sent nothing else (an inactive user gets nothing).
    resets = [Reply("", chat_id=chat_id, channel=channel, menu=())
              for channel, chat_id in gone.user.addresses.items() if channel != CONSOLE]
    return [_deactivated(ctx, gone), *resets]


def _deactivated(ctx: Ctx, gone: Deactivated) -> Reply:
    text = ctx.t("team.deactivated", name=gone.user.name)
    if ctx.user is not None and gone.user.id == ctx.user.id:  # no longer an admin: nothing to hand over from here
        return Reply(text + "\n" + ctx.t("team.deactivated_self"), edit=True)
    if not gone.open_deals and not gone.open_tasks:
        return Reply(text, edit=True)
    text += "\n" + ctx.t("team.hand_over_ask", deals=gone.open_deals, tasks=gone.open_tasks)
    if not gone.takers:
        return Reply(text + "\n" + ctx.t("team.no_takers"), edit=True)
    buttons = [Button(u.name, pack("team", "give", gone.user.id, u.id)) for u in gone.takers[:12]]
    buttons.append(Button(ctx.t("team.btn_later"), pack("team", "later")))
    return Reply(text, keyboard=Keyboard.column(buttons, per_row=2), edit=True)
