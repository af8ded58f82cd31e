"""What our sent messages were about, so that a reply to one is routed by the message it answers.

A message that stands for something (a ticket notice stands for `ticket_ref(12)`, "ticket:12") is
recorded once its channel has sent it, under the message id the channel gave it. When a staff
member replies to that message, `ref_of(channel, chat, replied-to message id)` says what they are
answering: never a pattern over our own wording, which changes with the language and the texts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import SentMessage
from crm_core.repositories.channels import SentMessageRepository

_TICKET_PREFIX = "ticket:"


def ticket_ref(ticket_id: int) -> str:
    """Return the ref of messages about ticket `ticket_id`."""
    return f"{_TICKET_PREFIX}{ticket_id}"


def lead_ref(lead_id: int) -> str:
    """Return the ref of the notice about lead `lead_id` (a reply to it reaches nobody: it is no ticket)."""
    return f"lead:{lead_id}"


def erasure_ref(request_id: int) -> str:
    """Return the ref of the notice about erasure request `request_id`."""
    return f"privacy:{request_id}"


def ticket_of(ref: str | None) -> int | None:
    """Return the ticket a ref stands for, or None when it stands for something else."""
    if ref is None or not ref.startswith(_TICKET_PREFIX):
        return None
    number = ref.removeprefix(_TICKET_PREFIX)
    return int(number) if number.isdigit() else None


class DeliveryLog:
    """Remember sent messages that carry a ref, and answer what a replied-to message was about."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self._repo = SentMessageRepository(session)
        self._now = now

    async def record(self, *, channel: str, chat_id: str, message_id: str, ref: str) -> None:
        """Remember that message `message_id` in `chat_id` on `channel` stands for `ref`."""
        existing = await self._repo.get(channel, chat_id, message_id)
        if existing is not None:  # an edited message now stands for the newer ref
            existing.ref, existing.sent_at = ref, self._now
            return
        self._repo.add(SentMessage(channel=channel, chat_id=chat_id, message_id=message_id, ref=ref,
                                   sent_at=self._now))

    async def ref_of(self, channel: str, chat_id: str, message_id: str) -> str | None:
        """Return what the message `message_id` in `chat_id` on `channel` stands for, if we recorded it."""
        sent = await self._repo.get(channel, chat_id, message_id)
        return sent.ref if sent is not None else None
