"""Identities per channel: who is writing, and where a staff member is reached.

A staff member's identity on a channel (their Telegram user id, ...) is also their address there.
The console is the one exception: its staff identity is the user's name (`chatcrm chat --as Lan`),
so nobody registers for it. Customers' identities point at their contact (see `SupportService`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from crm_core.errors import Conflict, InvalidInput, NotFound
from crm_core.models import StaffIdentity, User
from crm_core.repositories.channels import IdentityRepository
from crm_core.repositories.people import UserRepository
from crm_core.schemas import UserOut
from crm_core.textnorm import clean_name, fold

CONSOLE = "console"
TELEGRAM = "telegram"
MAX_EXTERNAL_ID_CHARS = 64


def staff_addresses(user: User) -> dict[str, str]:
    """Return where a staff member is reached, channel -> chat id (on the console: their name)."""
    return {CONSOLE: user.name} | {identity.channel: identity.external_id for identity in user.identities}


def reminded_on(user: UserOut, channel: str) -> bool:
    """Tell whether a staff member's reminders go out on `channel`.

    Everyone has a console address (their name), but the console is where reminders go only for
    people reached nowhere else: a console session must not take the Telegram users' reminders.
    """
    return channel in user.addresses and (channel != CONSOLE or set(user.addresses) == {CONSOLE})


def user_out(user: User) -> UserOut:
    """Convert a user row, with their addresses."""
    return UserOut(id=user.id, name=user.name, role=user.role, language=user.language, active=user.active,
                   addresses=staff_addresses(user))


class IdentityService:
    """Find staff by their identity on a channel and give them identities."""

    def __init__(self, users: UserRepository, identities: IdentityRepository, now: datetime) -> None:
        self._users = users
        self._identities = identities
        self._now = now

    async def staff_by(self, channel: str, external_id: str) -> UserOut | None:
        """Return the active staff member who is `external_id` on `channel`, or None (a customer)."""
        if channel == CONSOLE:
            named = [u for u in await self._users.list_by_folded_name(fold(external_id)) if u.active]
            exact = [u for u in named if u.name == clean_name(external_id)]
            # "Lân" is not "Lan": the exact name wins; an unaccented name two people share names nobody.
            user = exact[0] if exact else named[0] if len(named) == 1 else None
        else:
            user = await self._identities.staff_user(channel, external_id)
        return user_out(user) if user is not None and user.active else None

    async def any_staff_by(self, channel: str, external_id: str) -> UserOut | None:
        """Return the staff member, active or not, who is `external_id` on `channel` (not the console)."""
        user = await self._identities.staff_user(channel, external_id)
        return user_out(user) if user is not None else None

    async def link_staff(self, user_id: int, channel: str, external_id: str) -> UserOut:
        """Make `external_id` the staff member's identity on `channel`, replacing the one they had there."""
        external_id = external_id.strip()
        if channel == CONSOLE:
            raise InvalidInput("the console knows staff by their name; there is nothing to link")
        if not channel or not external_id or len(external_id) > MAX_EXTERNAL_ID_CHARS:
            raise InvalidInput(f"a {channel} id is 1-{MAX_EXTERNAL_ID_CHARS} characters")
        taken = await self._identities.staff_identity(channel, external_id)
        if taken is not None and taken.user_id != user_id:
            raise Conflict(f"{channel} id {external_id} is already registered")
        user = await self._users.get(user_id)
        if user is None:
            raise NotFound("no such user")
        current = next((i for i in user.identities if i.channel == channel), None)
        if current is None:
            user.identities.append(StaffIdentity(channel=channel, external_id=external_id, created_at=self._now))
        else:
            current.external_id = external_id
        try:
            await self._identities.flush()
        except IntegrityError as error:  # another process linked the same id in the meantime
            raise Conflict(f"{channel} id {external_id} is already registered") from error
        return user_out(user)
