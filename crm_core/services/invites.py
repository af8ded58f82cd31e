"""One-time invites: an admin makes a link, whoever opens it first (before it expires) joins with its role.

The token is 32 random bytes (urlsafe, 43 characters: Telegram's /start payload allows 64 of A-Za-z0-9_-);
only its SHA-256 is stored. Using an invite is one conditional UPDATE (`used_at IS NULL`), so two people
opening the same link at once cannot both join. An invite is only as good as its maker: it is refused
(invite_revoked) once whoever made it is no longer an active admin, and the team flow cancels a person's open
invites when they are deactivated or stop being admin.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import Conflict, InvalidInput
from crm_core.models import Invite, User
from crm_core.policy import STAFF_ROLES, can_manage_team, is_known_role
from crm_core.schemas import InviteOut

TOKEN_BYTES = 32
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def token_hash(token: str) -> str:
    """Return what is stored of a token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def looks_like_token(text: str) -> bool:
    """Tell whether a /start payload has the shape of an invite token (anything else is a plain /start)."""
    return 20 <= len(text) <= 64 and set(text) <= _TOKEN_CHARS


class InviteService:
    """Make invites and use them."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self._session = session
        self._now = now

    async def create(self, *, role: str, created_by_id: int | None, hours: int) -> InviteOut:
        """Make a one-time invite for `role`, valid `hours` from now."""
        if not is_known_role(role):
            raise InvalidInput(f"role must be one of {', '.join(STAFF_ROLES)}", reason="role",
                               roles=", ".join(STAFF_ROLES))
        token = secrets.token_urlsafe(TOKEN_BYTES)
        invite = Invite(token_hash=token_hash(token), role=role, created_by_id=created_by_id, created_at=self._now,
                        expires_at=self._now + timedelta(hours=hours))
        self._session.add(invite)
        await self._session.flush()
        return InviteOut(id=invite.id, token=token, role=role, expires_at=invite.expires_at)

    async def take(self, token: str) -> Invite:
        """Mark the invite of `token` used now and return it; Conflict when unknown, expired or used."""
        invite = await self._session.scalar(select(Invite).where(Invite.token_hash == token_hash(token)))
        if invite is None:
            raise Conflict("this invite link is not valid", reason="invite_unknown")
        if invite.used_at is not None:
            raise Conflict("this invite link was used already", reason="invite_used")
        if not await self._maker_may_invite(invite):
            raise Conflict("whoever made this invite can no longer invite", reason="invite_revoked")
        if invite.expires_at <= self._now:
            raise Conflict("this invite link has expired", reason="invite_expired")
        taken = await self._session.execute(update(Invite).where(Invite.id == invite.id, Invite.used_at.is_(None))
                                            .values(used_at=self._now).execution_options(synchronize_session=False))
        if taken.rowcount != 1:  # type: ignore[attr-defined]  # opened by someone else a moment ago
            raise Conflict("this invite link was used already", reason="invite_used")
        return invite

    async def _maker_may_invite(self, invite: Invite) -> bool:
        """Tell whether the invite's maker may still invite (an invite made from the CLI has none: the server's
        operator). Their row is read as committed now and share-locked until the commit (PostgreSQL), so a
        deactivation or demotion under way is waited for and seen."""
        if invite.created_by_id is None:
            return True
        query = (select(User).where(User.id == invite.created_by_id).with_for_update(read=True)
                 .execution_options(populate_existing=True))
        maker = await self._session.scalar(query)
        return maker is not None and can_manage_team(maker)

    async def cancel_open_of(self, maker_id: int) -> list[tuple[int, datetime]]:
        """End now the open invites `maker_id` made; return each one's id and when it would have expired."""
        query = select(Invite).where(Invite.created_by_id == maker_id, Invite.used_at.is_(None),
                                     Invite.expires_at > self._now).order_by(Invite.id)
        cancelled = []
        for invite in await self._session.scalars(query):
            cancelled.append((invite.id, invite.expires_at))
            invite.expires_at = self._now
        await self._session.flush()
        return cancelled

    async def used_by(self, invite: Invite, user_id: int) -> None:
        """Record who joined through an invite."""
        await self._session.execute(update(Invite).where(Invite.id == invite.id).values(used_by_id=user_id)
                                    .execution_options(synchronize_session=False))
