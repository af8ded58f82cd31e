"""The audit trail of admin actions and sensitive changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import AuditEntry


class AuditService:
    """Record who did what."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self._session = session
        self._now = now

    async def record(self, *, actor: str, action: str, entity: str, entity_id: int | str | None,
                     details: dict[str, Any] | None = None, actor_id: int | None = None) -> None:
        """Append an audit entry in the current unit of work."""
        self._session.add(AuditEntry(at=self._now, actor_id=actor_id, actor_label=actor, action=action,
                                     entity=entity, entity_id=None if entity_id is None else str(entity_id),
                                     details=details or {}))

    async def flush(self) -> None:
        """Send staged rows so they get ids."""
        await self._session.flush()
