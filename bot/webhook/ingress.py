"""The webhook ingress: an aiohttp app that keeps each update durably before it answers Telegram.

- `X-Telegram-Bot-Api-Secret-Token` must equal the secret given to setWebhook (`CHATCRM_WEBHOOK_SECRET`):
  wrong or missing -> 401 and nothing is kept.
- The update is committed to the inbox (unique on its id) and only then answered 200: an ingress that
  dies before the commit never said 200, so Telegram delivers the update again; one that dies after it
  leaves the update to the workers. A redelivery finds the update kept (or recently handled) and is
  answered 200 without a second copy.
- A store that cannot take the update is answered 503: Telegram tries again later (at least once).
- Redis is a fast path only (a redelivery remembered as handled; the wake-up of other processes' workers):
  when it fails the update is still kept and answered 200, and the workers' poll finds it.
- `GET /healthz` answers 200 "ok" when the database answers (Redis's state in the body, JSON), and 503
  when it does not: a replica that cannot keep updates should be taken out of rotation, one whose Redis
  is down still keeps them.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.core.recent import RecentUpdates, seen_or_not
from bot.webhook.queue import WebhookQueue
from bot.webhook.updates import chat_key_of, update_id_of

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How long /healthz and a wake-up publish wait on a dependency before calling it down.
PROBE_TIMEOUT_S = 2.0


class Ingress:
    """Check, keep, then acknowledge.

    `on_kept` wakes this process's workers; `publish` (Redis pub/sub) wakes other processes' workers;
    `redis_ping` is /healthz's look at Redis (None: no Redis configured).
    """

    def __init__(self, queue: WebhookQueue, *, secret: str, recent: RecentUpdates | None = None,
                 on_kept: Callable[[], None] = lambda: None, publish: Callable[[], Awaitable[None]] | None = None,
                 redis_ping: Callable[[], Awaitable[object]] | None = None) -> None:
        if not secret:
            raise ValueError("the webhook needs a secret (CHATCRM_WEBHOOK_SECRET)")
        self._queue = queue
        self._secret = secret.encode()
        self._recent = recent
        self._on_kept = on_kept
        self._publish = publish
        self._redis_ping = redis_ping

    async def on_update(self, request: web.Request) -> web.Response:
        """Handle one delivery from Telegram."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook delivery with a wrong or missing secret from %s refused", request.remote)
            return web.Response(status=401, text="wrong secret token")
        try:
            update: Any = json.loads(await request.read())
            if not isinstance(update, dict):
                raise ValueError("not a JSON object")
            key = str(update_id_of(update))
        except ValueError as error:  # not something Telegram sends; nothing to keep
            return web.Response(status=400, text=f"not a Telegram update: {error}")
        if await seen_or_not(self._recent, f"{self._queue.channel}:{key}"):
            return web.Response(status=200)
        try:
            kept = await self._queue.keep(key=key, chat_key=chat_key_of(update),
                                          payload=json.dumps(update, ensure_ascii=False))
        except Exception:  # store down or busy: not acknowledged, so Telegram delivers it again
            log.exception("could not keep update %s; answered 503 so Telegram retries", key)
            return web.Response(status=503, text="could not keep the update; retry")
        if kept:
            self._on_kept()
            await self._wake_other_processes()
        else:
            log.info("update %s delivered again; kept once", key)
        return web.Response(status=200)

    async def _wake_other_processes(self) -> None:
        """Publish a wake-up after the commit; failing is harmless (the workers poll), so it is only logged."""
        if self._publish is None:
            return
        try:
            await asyncio.wait_for(self._publish(), timeout=PROBE_TIMEOUT_S)
        except Exception:
            log.warning("could not wake the workers through Redis; they find the update at their next poll",
                        exc_info=True)

    async def health(self, _request: web.Request) -> web.Response:
        """Answer a health probe: 200 while the database answers, 503 when not; each dependency's state in the body."""
        database = await _probe(self._queue.alive)
        body = {"status": "ok" if database == "ok" else "down", "database": database}
        if self._redis_ping is not None:
            body["redis"] = await _probe(self._redis_ping)  # degraded, not down: updates are still kept
        return web.json_response(body, status=200 if database == "ok" else 503)

    def app(self, path: str = "/") -> web.Application:
        """Return the aiohttp application serving the webhook at `path` (the webhook URL's path)."""
        application = web.Application(client_max_size=2 * 1024 * 1024)
        application.router.add_post(path or "/", self.on_update)
        application.router.add_get("/healthz", self.health)
        return application


async def _probe(check: Callable[[], Awaitable[object]]) -> str:
    """Return "ok" when `check` answers in time, else "down"."""
    try:
        await asyncio.wait_for(check(), timeout=PROBE_TIMEOUT_S)
    except Exception as error:  # the trace would repeat at every probe; the error's kind is enough here
        log.warning("health probe failed: %r", error)
        return "down"
    return "ok"
