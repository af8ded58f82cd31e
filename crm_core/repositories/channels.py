"""Identities per channel (staff and contacts) and the messages we sent with a meaning."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import Contact, ContactIdentity, SentMessage, StaffIdentity, User


class IdentityRepository:
    """Who is (channel, external id): a staff member or a customer's contact."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def staff_user(self, channel: str, external_id: str) -> User | None:
        """Return the user with this identity."""
        query = (select(User).join(StaffIdentity, StaffIdentity.user_id == User.id)
                 .where(StaffIdentity.channel == channel, StaffIdentity.external_id == external_id))
        return await self._session.scalar(query)

    async def staff_identity(self, channel: str, external_id: str) -> StaffIdentity | None:
        """Return the staff identity (channel, external id)."""
        query = select(StaffIdentity).where(StaffIdentity.channel == channel, StaffIdentity.external_id == external_id)
        return await self._session.scalar(query)

    async def contact(self, channel: str, external_id: str) -> Contact | None:
        """Return the contact with this identity, unless it was erased."""
        query = (select(Contact).join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
                 .where(ContactIdentity.channel == channel, ContactIdentity.external_id == external_id,
                        Contact.erased_at.is_(None)))
        return await self._session.scalar(query)

    def add_contact_identity(self, identity: ContactIdentity) -> None:
        """Stage a contact's new identity."""
        self._session.add(identity)

    async def forget_contact(self, contact_id: int) -> int:
        """Delete every identity of a contact; return how many there were."""
        result = await self._session.execute(delete(ContactIdentity).where(ContactIdentity.contact_id == contact_id))
        return int(getattr(result, "rowcount", 0) or 0)

    async def flush(self) -> None:
        """Send staged rows (unique identities are checked here)."""
        await self._session.flush()


class SentMessageRepository:
    """Messages we sent that a reply may refer to."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, channel: str, chat_id: str, message_id: str) -> SentMessage | None:
        """Return the sent message (channel, chat, message id)."""
        query = select(SentMessage).where(SentMessage.channel == channel, SentMessage.chat_id == chat_id,
                                          SentMessage.message_id == message_id)
        return await self._session.scalar(query)

    def add(self, message: SentMessage) -> None:
        """Stage a sent message."""
        self._session.add(message)
