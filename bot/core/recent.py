"""Recently handled updates, remembered outside the database so a redelivery is dropped before any work.

The truth about "handled" is the engine's processed-update table, written in the unit of work that
did the handling. This is a cheaper filter in front of it: the webhook ingress does not keep, and a
worker does not hand to the engine, an update remembered here. One process remembers in memory;
several share Redis (`bot.core.redis_store.RedisRecentUpdates`). Forgetting is harmless: the engine's
dedupe still drops the update.
"""

from __future__ import annotations

import collections
import logging
from typing import Protocol

log = logging.getLogger(__name__)


class RecentUpdates(Protocol):
    """Remember update keys for a while."""

    async def seen(self, key: str) -> bool:
        """Tell whether the update was handled recently."""
        ...

    async def remember(self, key: str) -> None:
        """Remember that the update was handled."""
        ...


class LocalRecentUpdates:
    """The last `size` handled update keys of this process."""

    def __init__(self, size: int = 10_000) -> None:
        self._keys: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._size = size

    async def seen(self, key: str) -> bool:
        """Tell whether the update was handled recently."""
        return key in self._keys

    async def remember(self, key: str) -> None:
        """Remember that the update was handled (the oldest key is forgotten past `size`)."""
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)


async def seen_or_not(recent: RecentUpdates | None, key: str) -> bool:
    """Ask `recent`; a failing store (Redis down) means "not seen": the engine's dedupe is the truth."""
    if recent is None:
        return False
    try:
        return await recent.seen(key)
    except Exception:
        log.warning("could not ask whether update %s was handled recently; treated as not seen", key, exc_info=True)
        return False


async def remember_if_possible(recent: RecentUpdates | None, key: str) -> None:
    """Remember a handled update, best-effort: forgetting it only costs the engine's dedupe a look."""
    if recent is None:
        return
    try:
        await recent.remember(key)
    except Exception:
        log.warning("could not remember handled update %s", key, exc_info=True)
