"""Recently handled updates, remembered outside the database so a redelivery is dropped before any work.

The truth about "handled" is the engine's processed-update table, written in the unit of work that
did the handling. This is a cheaper filter in front of it: the webhook ingress does not keep, and a
worker does not hand to the engine, an update remembered here. One process remembers in memory;
several share Redis (`bot.core.redis_store.RedisRecentUpdates`). Forgetting is harmless: the engine's
dedupe still drops the update.
"""

from __future__ import annotations

import collections
from typing import Protocol


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
