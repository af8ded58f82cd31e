"""Build the aiogram Bot: plain text by default, a Bot API server of our choice, and 429 retries.

aiogram has no retry of its own: a 429 raises `TelegramRetryAfter(retry_after)`. The
`RetryAfterMiddleware` on the client session waits `retry_after` seconds and tries again, a bounded
number of times, for every outbound call (messages, edits, callback answers, pushes alike).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter

from bot.core.limits import RateLimiter

if TYPE_CHECKING:
    from aiogram.methods import Response, TelegramMethod
    from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Retry a call Telegram rate-limited (429) after the `retry_after` it asked for, at most `max_attempts` times."""

    def __init__(self, *, max_attempts: int = 3, max_wait_s: float = 60.0, sleep: Sleep = asyncio.sleep) -> None:
        self.max_attempts = max_attempts
        self.max_wait_s = max_wait_s
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Make the request, waiting out 429 answers."""
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt >= self.max_attempts or exc.retry_after > self.max_wait_s:
                    raise
                log.warning(
                    "%s rate-limited; retrying in %ss (attempt %d of %d)",
                    method.__api_method__,
                    exc.retry_after,
                    attempt + 1,
                    self.max_attempts,
                )
                await self._sleep(exc.retry_after)
                attempt += 1


# Methods that put a message in a chat, the ones Telegram's per-chat and overall limits count.
_LIMITED_PREFIXES = ("send", "copy", "forward", "edit")


class RateLimitMiddleware(BaseRequestMiddleware):
    """Wait for the shared limiter before each message sent to a chat (429s are still retried after it)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        """Take the limiter's room for the method's chat, then make the request."""
        chat_id = getattr(method, "chat_id", None)
        if chat_id is not None and method.__api_method__.startswith(_LIMITED_PREFIXES):
            await self._limiter.acquire(str(chat_id))
        return await make_request(bot, method)


def build_bot(
    token: str,
    api_base_url: str | None = None,
    *,
    max_attempts: int = 3,
    sleep: Sleep = asyncio.sleep,
    limiter: RateLimiter | None = None,
) -> Bot:
    """Return a Bot talking to `api_base_url` (default: api.telegram.org) with 429 retries.

    Given a `limiter`, every message sent to a chat first waits for room in Telegram's limits.
    """
    server = TelegramAPIServer.from_base(api_base_url) if api_base_url else PRODUCTION
    session = AiohttpSession(api=server)
    if limiter is not None:
        session.middleware(RateLimitMiddleware(limiter))
    session.middleware(RetryAfterMiddleware(max_attempts=max_attempts, sleep=sleep))
    return Bot(token, session=session)
