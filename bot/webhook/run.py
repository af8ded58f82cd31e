"""`chatcrm bot --webhook URL [--listen HOST:PORT] [--workers N]`: build the app and serve webhook mode."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypedDict

from bot.core.redis_store import SharedParts, shared_parts
from bot.webhook.queue import WebhookQueue
from bot.webhook.serve import serve, webhook_path
from bot.webhook.worker import Process
from crm_core.config import Settings

# Each framework's `<name>_processing(engine, token, api_base_url, *, limiter, scheduler)` context.
PROCESSORS = {"aiogram": "bot.adapters.aiogram_adapter.webhook:aiogram_processing",
              "ptb": "bot.adapters.ptb_adapter.webhook:ptb_processing"}


class WebhookNotAvailable(Exception):
    """The framework has no webhook processing yet."""


def processing_of(framework: str) -> Callable[..., AbstractAsyncContextManager[Process]]:
    """Return the framework's processing context (raises WebhookNotAvailable)."""
    module_name, _, name = PROCESSORS[framework].partition(":")
    try:
        found: Any = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as error:
        raise WebhookNotAvailable(f"webhook mode on {framework}: not available yet") from error
    return found  # type: ignore[no-any-return]


async def run_webhook(config: Settings, *, url: str, listen: tuple[str, int] | None, workers: int,
                      framework: str = "aiogram", say: Callable[[str], None] = lambda _line: None) -> None:
    """Serve the ingress and/or `workers` worker slots until SIGTERM/SIGINT; the webhook itself is left set."""
    from bot.app import build_app

    if config.webhook_secret is None and listen is not None:
        raise ValueError("set CHATCRM_WEBHOOK_SECRET (the secret given to `chatcrm webhook set`)")
    processing = processing_of(framework) if workers > 0 else None
    app = await build_app(config)
    parts = shared_parts(config.redis_url, prefix=config.redis_prefix, lock_lease_s=config.inbox_lease_seconds)
    try:
        parts.use_in(app.engine)
        queue = WebhookQueue(app.sessionmaker)
        if processing is not None:
            say(f"chatcrm bot: loading the knowledge base and the CRM of {config.home} …")
            await app.ready_for_traffic()
        async with _processor(processing, app, config, parts) as process:
            await serve(queue, process=process, listen=listen, path=webhook_path(url),
                        secret=config.webhook_secret.get_secret_value() if config.webhook_secret else "",
                        slots=workers, recent=parts.recent, lease_s=config.inbox_lease_seconds,
                        wakeups=parts.wakeups, redis_ping=parts.redis.ping if parts.redis else None, say=say)
    finally:
        await parts.close()
        await app.close()


@contextlib.asynccontextmanager
async def _processor(processing: Callable[..., AbstractAsyncContextManager[Process]] | None, app: Any,
                     config: Settings, parts: SharedParts) -> AsyncIterator[Process | None]:
    if processing is None:
        yield None
        return
    assert config.telegram_bot_token is not None
    async with processing(app.engine, config.telegram_bot_token.get_secret_value(), config.telegram_api_url,
                          limiter=parts.limiter, scheduler=app.scheduler) as process:
        yield process


class ParkedRow(TypedDict):
    """One parked update as `chatcrm webhook parked --json` prints it."""

    id: str
    chat: str | None
    attempts: int
    age_seconds: int


async def parked_updates(config: Settings, *, retry: bool = False) -> list[ParkedRow]:
    """List the inbox's parked updates (id, chat, attempts, age in seconds); `retry` hands them back to the workers."""
    from bot.app import make_clock, prepare_store
    from bot.webhook.queue import wall_clock

    db, sessionmaker = await prepare_store(config, make_clock(config, None))
    try:
        parked = await WebhookQueue(sessionmaker).parked(retry=retry)
    finally:
        await db.dispose()
    now = wall_clock()
    return [{"id": item.key, "chat": item.chat_key, "attempts": item.attempts,
             "age_seconds": round((now - item.received_at).total_seconds())} for item in parked]
