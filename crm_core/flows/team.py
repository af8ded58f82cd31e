"""The team from the phone: invites, joining, roles, deactivating and handing a leaver's work over.

Every step is the admins' (`policy.can_manage_team`), checked here whatever asked (a command, a button, a
forged callback, the CLI); the last active admin is never demoted or deactivated (`UserService`). Each change
is audited once (admin.set_role, admin.deactivate: not also the service's user.* entry) with who, when, the
channel, and the role or state before and after.

Deactivating someone, and demoting an admin (oneself included), lock people out: they are asked first
(`ask_deactivate`, `ask_role` say who, their role and open work) and done only with the confirmation's stamp,
which holds the person's role and state when asked, the minute it was asked and the latest audit entry about
them (any change since, even one undone, e.g. demoted then promoted back, is another entry). A stamp whose
person changed since, older than `Settings.admin_dialog_minutes`, or malformed is refused (Conflict
"stale_confirmation").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC

from crm_core.config import Settings
from crm_core.errors import Conflict, Forbidden, InvalidInput
from crm_core.policy import ADMIN, can_manage_team, takes_leads
from crm_core.schemas import InviteOut, UserOut
from crm_core.services import Services
from crm_core.services.identities import TELEGRAM
from crm_core.services.invites import InviteService


@dataclass(frozen=True)
class Joined:
    """Someone opened an invite and is now staff."""

    user: UserOut
    came_back: bool
    invited_by: UserOut | None


@dataclass(frozen=True)
class RoleChanged:
    """A colleague's role, before and after (the same when nothing changed)."""

    user: UserOut
    before: str

    @property
    def changed(self) -> bool:
        """Tell whether the role is another one now."""
        return self.before != self.user.role


@dataclass(frozen=True)
class Deactivated:
    """A colleague no longer uses the CRM; what they held, and who could take it."""

    user: UserOut
    was_active: bool
    open_deals: int
    open_tasks: int
    takers: list[UserOut] = field(default_factory=list)


@dataclass(frozen=True)
class Pending:
    """What a deactivation or a demotion would do, waiting for the admin's confirmation."""

    user: UserOut
    role: str  # the role asked (a demotion), or the person's role (a deactivation)
    open_deals: int
    open_tasks: int
    is_self: bool
    stamp: str


@dataclass(frozen=True)
class HandedOver:
    """A leaver's open deals and tasks given to a colleague."""

    from_user: UserOut
    to_user: UserOut
    deals: int
    tasks: int


class TeamFlow:
    """Invite, register, change roles, deactivate, hand over."""

    def __init__(self, *, services: Services, settings: Settings) -> None:
        self.services = services
        self.settings = settings
        self._invites = InviteService(services.session, services.now)

    @staticmethod
    def _admin(actor: UserOut | None) -> UserOut:
        if actor is None or not can_manage_team(actor):
            raise Forbidden("only an admin manages the team")
        return actor

    async def invite(self, actor: UserOut | None, role: str) -> InviteOut:
        """Make a one-time invite for `role` (valid `settings.invite_hours`)."""
        admin = self._admin(actor)
        invite = await self._invites.create(role=role, created_by_id=admin.id, hours=self.settings.invite_hours)
        await self.services.audit.record(actor=admin.name, actor_id=admin.id, action="invite.create",
                                         entity="invite", entity_id=invite.id,
                                         details={"role": role, "expires_at": invite.expires_at.isoformat()})
        return invite

    async def accept(self, token: str, *, channel: str, external_id: str, name: str, language: str) -> Joined:
        """Register whoever opened an invite with its role; Conflict when it is unknown, expired, used, or
        when they are registered already (then the invite stays unused)."""
        existing = await self.services.identities.staff_by(channel, external_id)
        if existing is not None:
            raise _already_registered(existing)
        invite = await self._invites.take(token)
        user, came_back = await self.services.users.join(name=name, role=invite.role, channel=channel,
                                                         external_id=external_id, language=language,
                                                         actor=f"invite:{invite.id}")
        await self._invites.used_by(invite, user.id)
        self.services.audit.act_as(user.name, user.id)
        await self.services.audit.record(actor=user.name, actor_id=user.id, action="invite.use", entity="invite",
                                         entity_id=invite.id, details={"role": invite.role, "came_back": came_back},
                                         after={"user": user.id, "role": user.role})
        inviter = await self.services.users.get(invite.created_by_id) if invite.created_by_id else None
        return Joined(user=user, came_back=came_back, invited_by=inviter)

    async def first_admin(self, *, channel: str, external_id: str, name: str, language: str) -> UserOut | None:
        """Register a Telegram id listed in CHATCRM_ADMIN_TELEGRAM_IDS as admin when it first writes.

        Only someone never registered on Telegram: a listed admin who was demoted or deactivated stays so.
        """
        if channel != TELEGRAM or not external_id.isdigit() or int(external_id) not in self.settings.admin_telegram_ids:
            return None
        if await self.services.identities.any_staff_by(channel, external_id) is not None:
            return None
        user, _ = await self.services.users.join(name=name, role=ADMIN, channel=channel, external_id=external_id,
                                                 language=language, actor="CHATCRM_ADMIN_TELEGRAM_IDS")
        return user

    async def users(self, actor: UserOut | None) -> list[UserOut]:
        """Return the team, active first."""
        self._admin(actor)
        return sorted(await self.services.users.list(), key=lambda u: (not u.active, u.name.casefold()))

    async def ask_role(self, actor: UserOut | None, who: str, role: str) -> Pending | None:
        """Return what demoting an active admin to `role` would do (to be confirmed); None for any other change."""
        admin = self._admin(actor)
        user = await self.services.users.resolve(who)
        if not _demotes_admin(user, role):
            return None
        await self._refuse_last_admin(user)
        return await self._pending(admin, user, role)

    async def ask_deactivate(self, actor: UserOut | None, who: str) -> Pending:
        """Return what deactivating a colleague would do (to be confirmed); the last admin is refused at once."""
        admin = self._admin(actor)
        user = await self.services.users.resolve(who)
        if user.active:
            await self._refuse_last_admin(user)
        return await self._pending(admin, user, user.role)

    async def set_role(self, actor: UserOut | None, who: str, role: str, *, stamp: str | None = None) -> RoleChanged:
        """Give a colleague another role; the last active admin keeps theirs. Demoting an active admin takes
        the stamp of its confirmation (`ask_role`)."""
        admin = self._admin(actor)
        found = await self.services.users.resolve(who)
        if _demotes_admin(found, role) or stamp is not None:
            await self._check_stamp(found, stamp)
        user, before = await self.services.users.set_role(f"#{found.id}", role, actor=admin.name, record=False)
        if before != user.role:
            await self.services.audit.record(actor=admin.name, actor_id=admin.id, action="admin.set_role",
                                             entity="user", entity_id=user.id, details={"name": user.name},
                                             before={"role": before}, after={"role": user.role})
        if not can_manage_team(user):
            await self._cancel_invites(admin, user, "maker_demoted")
        return RoleChanged(user=user, before=before)

    async def deactivate(self, actor: UserOut | None, who: str, *, stamp: str) -> Deactivated:
        """Stop a colleague using the CRM, as confirmed (`stamp` from `ask_deactivate`); say what they hold and
        who could take it over."""
        admin = self._admin(actor)
        await self._check_stamp(await self.services.users.resolve(who), stamp)
        user, was_active = await self.services.users.deactivate(who, actor=admin.name, record=False)
        if was_active:
            await self.services.audit.record(actor=admin.name, actor_id=admin.id, action="admin.deactivate",
                                             entity="user", entity_id=user.id, details={"name": user.name},
                                             before={"active": True}, after={"active": False})
            await self._cancel_invites(admin, user, "maker_deactivated")
        deals = await self.services.deals.list_open(admin, owner_id=user.id)
        tasks = await self.services.tasks.open_ids_of(user.id)
        takers = [u for u in await self.services.users.salespeople() if u.id != user.id]
        return Deactivated(user=user, was_active=was_active, open_deals=len(deals), open_tasks=len(tasks),
                           takers=takers)

    async def _pending(self, admin: UserOut, user: UserOut, role: str) -> Pending:
        deals = await self.services.deals.list_open(admin, owner_id=user.id)
        tasks = await self.services.tasks.open_ids_of(user.id)
        return Pending(user=user, role=role, open_deals=len(deals), open_tasks=len(tasks), is_self=user.id == admin.id,
                       stamp=f"{await self._state_of(user)}.{self._minute()}")

    async def _state_of(self, user: UserOut) -> str:
        """The person as a confirmation saw them: role, active, and the latest audit entry about them."""
        changed = await self.services.audit.last_id_about("user", user.id)
        return f"{user.role[:1]}{int(user.active)}.{changed}"

    def _minute(self) -> int:
        return int(self.services.now.astimezone(UTC).timestamp() // 60)

    async def _check_stamp(self, user: UserOut, stamp: str | None) -> None:
        """Refuse a confirmation made for another state of `user`, too old, or not made here at all."""
        state, _, minute = (stamp or "").rpartition(".")
        fresh = (minute.isascii() and minute.isdigit() and len(minute) <= 12
                 and 0 <= self._minute() - int(minute) <= self.settings.admin_dialog_minutes)
        if not fresh or state != await self._state_of(user):
            raise Conflict("this confirmation is out of date", reason="stale_confirmation", name=user.name)

    async def _refuse_last_admin(self, user: UserOut) -> None:
        """Say at once, before any confirmation, that the last active admin stays (`UserService` checks again)."""
        if not (user.role == ADMIN and user.active):
            return
        if [a.id for a in await self.services.users.active_admins()] == [user.id]:
            raise InvalidInput(f"{user.name} is the last active admin", reason="last_admin", name=user.name)

    async def _cancel_invites(self, admin: UserOut, maker: UserOut, why: str) -> None:
        """End the open invites of someone who may no longer invite, each audited (invite.cancel)."""
        for invite_id, expires_at in await self._invites.cancel_open_of(maker.id):
            await self.services.audit.record(actor=admin.name, actor_id=admin.id, action="invite.cancel",
                                             entity="invite", entity_id=invite_id,
                                             details={"reason": why, "maker": maker.name},
                                             before={"expires_at": expires_at.isoformat()},
                                             after={"expires_at": self.services.now.isoformat()})

    async def hand_over(self, actor: UserOut | None, from_user_id: int, to_user_id: int) -> HandedOver:
        """Give an inactive colleague's open deals and tasks to an active salesperson."""
        admin = self._admin(actor)
        leaver = await self.services.users.get(from_user_id)
        taker = await self.services.users.get(to_user_id)
        if leaver.active:
            raise InvalidInput("hand over the work of a deactivated colleague only", reason="still_active",
                               name=leaver.name)
        if not takes_leads(taker):
            raise InvalidInput("deals go to an active salesperson", reason="not_a_taker", name=taker.name)
        # Locked, then handed over: the same button tapped twice (two processes) hands over once; the second
        # tap waits for the first's commit and finds nothing left.
        deal_ids = await self.services.deals.lock_open_ids_of(leaver.id)
        task_ids = await self.services.tasks.lock_open_ids_of(leaver.id)
        if not deal_ids and not task_ids:
            raise Conflict("nothing left to hand over", reason="nothing_to_hand_over", name=leaver.name)
        for deal_id in deal_ids:
            await self.services.deals.reassign(deal_id, taker.id, admin)
        tasks = await self.services.tasks.hand_over(task_ids, taker.id, admin)
        await self.services.audit.record(actor=admin.name, actor_id=admin.id, action="admin.hand_over",
                                         entity="user", entity_id=leaver.id,
                                         details={"from": leaver.name, "to": taker.name},
                                         after={"deals": deal_ids, "tasks": tasks})
        return HandedOver(from_user=leaver, to_user=taker, deals=len(deal_ids), tasks=len(tasks))


def _demotes_admin(user: UserOut, role: str) -> bool:
    return user.active and user.role == ADMIN and role != ADMIN


def _already_registered(user: UserOut) -> Conflict:
    return Conflict("you are registered already", reason="already_registered", name=user.name, role=user.role)
