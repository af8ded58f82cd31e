"""Build PTB's `Application`: a Bot API server of our choice, no updater (we feed it), and 429 retries.

PTB's own `AIORateLimiter` needs the `aiolimiter` extra and, by default, does not retry
(`max_retries=0`); without a limiter a 429 raises `RetryAfter`. `RetryAfterLimiter` waits the
`retry_after` Telegram asked for and tries again, a bounded number of times, for every outbound call
(messages, edits, callback answers, pushes alike): the same policy as the aiogram adapter's
`RetryAfterMiddleware`, so a long flood wait goes back to the outbox instead of stalling a chat.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.core.limits import RateLimiter

log = logging.getLogger(__name__)

# Opt in to the coming time periods now (`RetryAfter.retry_after` as a timedelta): otherwise PTB's own
# RetryAfter constructor warns on every 429. Set on import, before any request; `retry_after_seconds`
# reads either form, so an operator's explicit PTB_TIMEDELTA=false still works.
os.environ.setdefault("PTB_TIMEDELTA", "true")

Sleep = Callable[[float], Awaitable[None]]
PtbApplication = Application[Any, Any, Any, Any, Any, Any]
PRODUCTION_API = "https://api.telegram.org"
# Methods that put a message in a chat, the ones Telegram's per-chat and overall limits count.
_LIMITED_PREFIXES = ("send", "copy", "forward", "edit")


def retry_after_seconds(error: RetryAfter) -> float:
    """Return the seconds a 429 asks us to wait (PTB 22 hands out an int or a timedelta)."""
    with warnings.catch_warnings():  # reading it as an int is deprecated; both forms are handled here
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class RetryAfterLimiter(BaseRateLimiter[None]):
    """Retry a call Telegram rate-limited (429) after its `retry_after`, at most `max_attempts` times.

    Given a `shared` limiter (webhook workers: one for all processes), each message sent to a chat waits
    for its room first.
    """

    def __init__(self, *, max_attempts: int = 3, max_wait_s: float = 60.0, sleep: Sleep = asyncio.sleep,
                 shared: RateLimiter | None = None) -> None:
        self.max_attempts = max_attempts
        self.max_wait_s = max_wait_s
        self._sleep = sleep
        self._shared = shared

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Make the request, waiting out 429 answers; a wait over `max_wait_s` is the caller's (the outbox's)."""
        attempt = 1
        chat_id = data.get("chat_id")
        limited = self._shared is not None and chat_id is not None and endpoint.startswith(_LIMITED_PREFIXES)
        while True:
            if limited and self._shared is not None:
                await self._shared.acquire(str(chat_id))  # Telegram's per-chat, group and overall limits
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                if attempt >= self.max_attempts or wait > self.max_wait_s:
                    raise
                log.warning("%s rate-limited; retrying in %ss (attempt %d of %d)", endpoint, wait, attempt + 1,
                            self.max_attempts)
                await self._sleep(wait)
                attempt += 1


def build_application(
    token: str,
    api_base_url: str | None = None,
    *,
    max_attempts: int = 3,
    sleep: Sleep = asyncio.sleep,
    limiter: RateLimiter | None = None,
) -> PtbApplication:
    """Return an Application talking to `api_base_url` (default: api.telegram.org), fed by our own polling loop."""
    base = (api_base_url or PRODUCTION_API).rstrip("/")
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .updater(None)  # `runner.run_polling` polls and keeps updates before confirming them
        .rate_limiter(RetryAfterLimiter(max_attempts=max_attempts, sleep=sleep, shared=limiter))
        .build()
    )
