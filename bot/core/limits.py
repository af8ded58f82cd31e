"""The outbound rate limiter: Telegram's limits, shared by everything that sends (a port, two implementations).

Telegram answers 429 when a bot sends more than about 1 message a second to one chat, 20 a minute to
one group, or 30 a second overall. Waiting before the send is cheaper than a 429 (whose `retry_after`
is still obeyed by the sessions' retry middlewares). One process counts in memory (`LocalRateLimiter`);
several worker processes must count together, so `bot.core.redis_store.RedisRateLimiter` counts in Redis.

Both keep a sliding log of grant times per window (chat, group, overall): a send is granted when every
window it falls in has room, otherwise the caller waits until the oldest grant that blocks it leaves.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Window:
    """At most `count` sends in any `seconds`-long stretch."""

    count: int
    seconds: float


@dataclass(frozen=True)
class Limits:
    """Telegram's published limits (core.telegram.org/bots/faq), the defaults."""

    # A little under the published figures: a grant is counted when it is given, and the request reaches Telegram
    # a few milliseconds later, so sends granted at a window's edges arrived up to 32 in one second at 30/s.
    per_chat: Window = Window(1, 1.1)
    per_group: Window = Window(19, 60.0)
    overall: Window = Window(27, 1.0)

    def windows(self, chat_id: str, *, group: bool) -> list[tuple[str, Window]]:
        """Return the (key, window) pairs a send to `chat_id` counts against."""
        windows = [(f"chat:{chat_id}", self.per_chat), ("all", self.overall)]
        if group:
            windows.append((f"group:{chat_id}", self.per_group))
        return windows


def is_group_chat(chat_id: str) -> bool:
    """Tell a group or channel from a private chat: Telegram gives groups negative ids."""
    return chat_id.startswith("-")


class RateLimiter(Protocol):
    """Wait until a send to a chat is allowed; return the time it was granted (the limiter's clock, seconds)."""

    async def acquire(self, chat_id: str) -> float:
        """Wait for room in every window the chat's send counts against, and take it."""
        ...


class LocalRateLimiter:
    """Count sends in this process (one bot process; the default)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._grants: dict[str, collections.deque[float]] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, chat_id: str) -> float:
        """Wait for room in every window the chat's send counts against, and take it."""
        loop = asyncio.get_running_loop()
        windows = self.limits.windows(chat_id, group=is_group_chat(chat_id))
        while True:
            async with self._lock:
                now = loop.time()
                wait = max(self._wait(key, window, now) for key, window in windows)
                if wait <= 0:
                    for key, _ in windows:
                        self._grants.setdefault(key, collections.deque()).append(now)
                    return now
            await asyncio.sleep(wait)

    def _wait(self, key: str, window: Window, now: float) -> float:
        grants = self._grants.get(key)
        if grants is None:
            return 0.0
        while grants and grants[0] <= now - window.seconds:
            grants.popleft()
        if not grants:
            del self._grants[key]
            return 0.0
        if len(grants) < window.count:
            return 0.0
        return grants[len(grants) - window.count] + window.seconds - now
