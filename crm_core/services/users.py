"""Staff users and their roles."""

from __future__ import annotations

import builtins
from datetime import datetime

from crm_core.errors import InvalidInput, NotFound
from crm_core.models import User
from crm_core.policy import STAFF_ROLES, is_known_role, takes_leads
from crm_core.repositories.people import UserRepository
from crm_core.schemas import UserOut
from crm_core.services.audit import AuditService
from crm_core.services.convert import user_out
from crm_core.services.identities import TELEGRAM, IdentityService
from crm_core.textnorm import clean_name, fold

LANGUAGES = ("vi", "en")


# The console names a customer's chat "customer:NAME"; a staff member so named would be mistaken for one.
CUSTOMER_PREFIX = "customer:"


class UserService:
    """Register, find and change staff users."""

    def __init__(self, repo: UserRepository, identities: IdentityService, audit: AuditService, now: datetime) -> None:
        self._repo = repo
        self._identities = identities
        self._audit = audit
        self._now = now

    async def add(self, *, name: str, role: str, telegram_id: int | None = None, language: str = "vi",
                  actor: str = "cli") -> UserOut:
        """Register a staff member, with their Telegram identity when `telegram_id` is given."""
        name = clean_name(name)
        if not name:
            raise InvalidInput("a user needs a name")
        if name.casefold().startswith(CUSTOMER_PREFIX):
            raise InvalidInput(f"a staff name cannot start with {CUSTOMER_PREFIX!r} (the console's customers)")
        if any(u.active for u in await self._repo.list_by_folded_name(fold(name))):
            raise InvalidInput(f"there is already a staff member named like {name!r}; add a surname to tell them apart")
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
