"""Staff users and their roles."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from crm_core.errors import Conflict, InvalidInput, NotFound
from crm_core.models import User
from crm_core.policy import ADMIN, STAFF_ROLES, is_known_role, takes_leads
from crm_core.repositories.people import UserRepository
from crm_core.schemas import UserOut
from crm_core.services.audit import AuditService
from crm_core.services.convert import user_out
from crm_core.services.identities import CONSOLE, TELEGRAM, IdentityService
from crm_core.textnorm import clean_name, fold

LANGUAGES = ("vi", "en")


# The console names a customer's chat "customer:NAME"; a staff member so named would be mistaken for one.
CUSTOMER_PREFIX = "customer:"


class UnknownUser(NotFound):
    """Nobody on the team has the name (or number) an admin typed; they are told to look at /users."""

    code = "unknown_user"


def _names_part(wanted: str, name_folded: str) -> bool:
    """Tell whether the folded words `wanted` are the first or the last words of a folded name."""
    words, name = wanted.split(), name_folded.split()
    return len(words) < len(name) and (name[:len(words)] == words or name[-len(words):] == words)


def describe(user: UserOut) -> str:
    """One staff member on one line, for the admin's messages: `#3 Lan (sales, telegram 1001)`."""
    parts = [user.role] + [f"{channel} {address}" for channel, address in sorted(user.addresses.items())
                           if channel != CONSOLE]  # the console knows them by their name, shown already
    return f"#{user.id} {user.name} ({', '.join(parts)}{'' if user.active else ', inactive'})"


def _same_person_name(a: str, b: str) -> bool:
    """Tell whether two folded names would be taken for one person: equal, or one is the other's given name
    ("lan" and "nguyen thi lan"; a Vietnamese given name comes last)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=lambda n: len(n.split()))
    return len(short.split()) == 1 and long.split()[-1] == short


class UserService:
    """Register, find and change staff users."""

    def __init__(self, repo: UserRepository, identities: IdentityService, audit: AuditService, now: datetime) -> None:
        self._repo = repo
        self._identities = identities
        self._audit = audit
        self._now = now

    async def add(self, *, name: str, role: str, telegram_id: int | None = None, language: str = "vi",
                  actor: str = "cli", force: bool = False) -> UserOut:
        """Register a staff member, with their Telegram identity when `telegram_id` is given.

        A name an active colleague already has (accents and case ignored, or their given name alone) is
        refused, naming them, unless `force`.
        """
        name = clean_name(name)
        if not name:
            raise InvalidInput("a user needs a name")
        if name.casefold().startswith(CUSTOMER_PREFIX):
            raise InvalidInput(f"a staff name cannot start with {CUSTOMER_PREFIX!r} (the console's customers)")
        namesakes = await self.namesakes(name)
        if namesakes and not force:
            raise InvalidInput(f"there is already a staff member named like {name!r}: "
                               f"{'; '.join(describe(u) for u in namesakes)}; add a surname to tell them apart, "
                               "or --force to add another")
        if not is_known_role(role):
            raise InvalidInput(f"role must be one of {', '.join(STAFF_ROLES)}")
        if language not in LANGUAGES:
            raise InvalidInput("language must be vi or en")
        user = User(name=name, name_folded=fold(name), role=role, language=language, active=True,
                    created_at=self._now, identities=[])
        self._repo.add(user)
        await self._audit.flush()
        out = user_out(user)
        if telegram_id is not None:
            out = await self._identities.link_staff(user.id, TELEGRAM, str(telegram_id))
        await self._audit.record(actor=actor, action="user.add", entity="user", entity_id=user.id,
                                 details={"name": name, "role": role, "telegram_id": telegram_id})
        return out

    async def namesakes(self, name: str) -> builtins.list[UserOut]:
        """Return the active staff whose name would be taken for `name` (accents and case ignored)."""
        wanted = fold(clean_name(name))
        active = await self._repo.list_all(active_only=True)
        return [user_out(u) for u in active if _same_person_name(u.name_folded, wanted)]

    async def resolve(self, name_or_id: str) -> UserOut:
        """Return the one user (active or not) with this id or name, accents and case ignored; the name of
        several people is refused, naming them.

        A name is the full name, else the given name alone (or any leading or trailing words of the name:
        "Bình" finds "Bình Nguyễn" as Telegram names them, "Lan" finds "Nguyễn Thị Lan") when it is one
        active colleague's; the CLI, /role, /deactivate and /audit all find people this way.
        """
        text = name_or_id.strip().lstrip("#")
        if text.isascii() and text.isdigit():
            user = await self._repo.get(int(text)) if len(text) <= 10 and int(text) < 2**31 else None
            if user is None:
                raise UnknownUser(f"no user #{text}; see `chatcrm users list`", name=name_or_id.strip())
            return user_out(user)
        wanted = fold(clean_name(text))
        named = [user_out(u) for u in await self._repo.list_by_folded_name(wanted)] if wanted else []
        if not named and wanted:
            named = [user_out(u) for u in await self._repo.list_all() if _names_part(wanted, u.name_folded)]
        if len(named) > 1:
            active = [u for u in named if u.active]
            named = active if len(active) == 1 else named
        if not named:
            raise UnknownUser(f"no user named {name_or_id!r}; see `chatcrm users list`", name=name_or_id.strip())
        if len(named) > 1:
            raise InvalidInput(f"{len(named)} users are named {name_or_id!r}: {'; '.join(describe(u) for u in named)}; "
                               "give the number instead", reason="several_users", name=name_or_id.strip(),
                               people=", ".join(f"#{u.id} {u.name}" for u in named), first=named[0].id)
        return named[0]

    async def resolve_first(self, names: Sequence[str]) -> tuple[int, UserOut]:
        """Return the first of `names` that is someone's as `resolve` reads it, with its place in `names`; when none
        is, refuse the last as `resolve` does, as it refuses the name of several people (/audit NAME PERIOD tries
        where the name ends, the longest first)."""
        if not names:
            raise UnknownUser("no name given", name="")
        for at, name in enumerate(names[:-1]):
            try:
                return at, await self.resolve(name)
            except UnknownUser:
                continue
        return len(names) - 1, await self.resolve(names[-1])

    async def set_role(self, name_or_id: str, role: str, *, actor: str = "cli",
                       record: bool = True) -> tuple[UserOut, str]:
        """Give a user another role; return them and their former role (unchanged roles are not recorded).

        `record=False`: the caller writes the one audit entry of the change (the chat's, with who and the channel).
        """
        if not is_known_role(role):
            raise InvalidInput(f"role must be one of {', '.join(STAFF_ROLES)}")
        found = await self.resolve(name_or_id)
        user = await self._repo.get(found.id)
        assert user is not None
        before = user.role
        if before != role:
            await self._keep_an_admin(user)
            user.role = role
            if record:
                await self._audit.record(actor=actor, action="user.set_role", entity="user", entity_id=user.id,
                                         details={"name": user.name, "from": before, "to": role})
                await self._audit.flush()
        return user_out(user), before

    async def deactivate(self, name_or_id: str, *, actor: str = "cli", record: bool = True) -> tuple[UserOut, bool]:
        """Stop a user being staff (they keep their records; their chats are answered as a customer's);
        return them and whether they were active. `record=False`: the caller writes the one audit entry."""
        found = await self.resolve(name_or_id)
        user = await self._repo.get(found.id)
        assert user is not None
        was_active = user.active
        if was_active:
            await self._keep_an_admin(user)
            user.active = False
            if record:
                await self._audit.record(actor=actor, action="user.deactivate", entity="user", entity_id=user.id,
                                         details={"name": user.name, "role": user.role})
                await self._audit.flush()
        return user_out(user), was_active

    async def _keep_an_admin(self, user: User) -> None:
        """Refuse to demote or deactivate the last active admin (themselves included): nobody could undo it."""
        if user.role != ADMIN or not user.active:
            return
        if await self._repo.lock_active_admins(ADMIN) in ([user.id], []):
            raise InvalidInput(f"{user.name} is the last active admin; make someone else admin first",
                               reason="last_admin", name=user.name)

    async def join(self, *, name: str, role: str, channel: str, external_id: str, language: str,
                   actor: str) -> tuple[UserOut, bool]:
        """Register whoever is `external_id` on `channel` as staff with `role` (an invite, or a listed admin).

        Someone registered and active there is refused (Conflict "already_registered"); a former colleague
        (inactive) comes back with the new role. Returns the user and whether they came back.
        """
        existing = await (self._identities.staff_by(channel, external_id) if channel == CONSOLE
                          else self._identities.any_staff_by(channel, external_id))
        if existing is not None and existing.active:
            raise Conflict("you are registered already", reason="already_registered", name=existing.name,
                           role=existing.role)
        if existing is not None:
            user = await self._repo.get(existing.id)
            assert user is not None
            # They act here (not "customer", as whoever writes unregistered is): their record's change is theirs.
            self._audit.act_as(user.name, user.id)
            before = {"role": user.role, "active": user.active}
            user.role, user.active = role, True
            await self._audit.record(actor=user.name, actor_id=user.id, action="user.rejoin", entity="user",
                                     entity_id=user.id, details={"name": user.name, "via": actor}, before=before,
                                     after={"role": role, "active": True})
            await self._audit.flush()
            return user_out(user), True
        name = clean_name(name)[:120] or f"{channel} {external_id}"
        if name.casefold().startswith(CUSTOMER_PREFIX):
            name = name[len(CUSTOMER_PREFIX):].strip() or f"{channel} {external_id}"
        user = User(name=name, name_folded=fold(name), role=role, language=language if language in LANGUAGES
                    else "vi", active=True, created_at=self._now, identities=[])
        self._repo.add(user)
        self._audit.act_as(name)
        await self._audit.flush()
        self._audit.act_as(name, user.id)
        # The console knows staff by their name: nothing to link there.
        out = user_out(user) if channel == CONSOLE else await self._identities.link_staff(user.id, channel, external_id)
        await self._audit.record(actor=name, actor_id=user.id, action="user.join", entity="user", entity_id=user.id,
                                 details={"name": name, "role": role, "channel": channel, "via": actor})
        return out, False

    async def active_admins(self) -> builtins.list[UserOut]:
        """Return the active admins."""
        return [user_out(u) for u in await self._repo.list_all(active_only=True) if u.role == ADMIN]

    async def list(self) -> list[UserOut]:
        """Return every user."""
        return [user_out(u) for u in await self._repo.list_all()]

    async def by_name(self, name: str) -> UserOut | None:
        """Return the active user named `name`, accents and case ignored."""
        users = [u for u in await self._repo.list_by_folded_name(fold(name)) if u.active]
        return user_out(users[0]) if users else None

    async def get(self, user_id: int) -> UserOut:
        """Return the user with `user_id`."""
        user = await self._repo.get(user_id)
        if user is None:
            raise NotFound("no such user")
        return user_out(user)

    async def salespeople(self) -> builtins.list[UserOut]:
        """Return the active staff who take leads and deals (salespeople)."""
        return [user_out(u) for u in await self._repo.list_all(active_only=True) if takes_leads(u)]

    async def set_language(self, user_id: int, language: str) -> None:
        """Change a user's language."""
        if language not in LANGUAGES:
            raise InvalidInput("language must be vi or en")
        user = await self._repo.get(user_id)
        if user is None:
            raise NotFound("no such user")
        user.language = language
