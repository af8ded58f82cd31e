"""Per-chat locks: in-process FIFO locks (one process) behind a port that a Redis lock also fills (several).

The engine holds a chat's lock while it handles one of its inbounds, so two fast taps in one chat
never race on the dialog state. One process needs only asyncio locks; with several worker processes
the lock must be shared, so `bot.core.redis_store.RedisChatLocks` takes it in Redis instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class ChatLock(Protocol):
    """Hold one chat's lock for the duration of a block (the key is a chat, e.g. (channel, chat_id))."""

    def hold(self, key: Hashable) -> AbstractAsyncContextManager[None]:
        """Return a context that holds the key's lock."""
        ...


class ChatLocks:
    """One asyncio lock per key (a chat), dropped when the last holder or waiter leaves."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Hold the key's lock for the duration of the block, in arrival order."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
