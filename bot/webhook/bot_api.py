"""setWebhook, deleteWebhook and getWebhookInfo over plain HTTP (the same for both frameworks).

setWebhook is an act of deploying, done once by `chatcrm webhook set`, never by a replica at start;
a replica that stops never deletes it. Polling asks getWebhookInfo first and refuses while one is set.
"""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession, ClientTimeout

DEFAULT_API = "https://api.telegram.org"


class BotApiRefused(Exception):
    """The Bot API answered `ok: false` (its description is the message)."""


async def call(token: str, method: str, params: dict[str, Any], *, api_base_url: str | None = None) -> Any:
    """Call one Bot API method with a JSON body; return its `result`."""
    url = f"{(api_base_url or DEFAULT_API).rstrip('/')}/bot{token}/{method}"
    async with ClientSession(timeout=ClientTimeout(total=30)) as session, session.post(url, json=params) as response:
        body = await response.json(content_type=None)
    if not isinstance(body, dict) or not body.get("ok"):
        description = body.get("description") if isinstance(body, dict) else None
        raise BotApiRefused(f"{method}: {description or f'HTTP {response.status}'}")
    return body.get("result")


async def set_webhook(token: str, url: str, *, secret: str, api_base_url: str | None = None,
                      max_connections: int = 40) -> None:
    """Point Telegram at `url` with the secret it must send; pending updates are kept, not dropped."""
    await call(token, "setWebhook", {"url": url, "secret_token": secret, "max_connections": max_connections,
                                     "drop_pending_updates": False}, api_base_url=api_base_url)


async def delete_webhook(token: str, *, api_base_url: str | None = None) -> None:
    """Stop webhook delivery (pending updates are kept, for polling to fetch)."""
    await call(token, "deleteWebhook", {"drop_pending_updates": False}, api_base_url=api_base_url)


async def webhook_info(token: str, *, api_base_url: str | None = None) -> dict[str, Any]:
    """Return getWebhookInfo's result (`url` is empty when no webhook is set)."""
    result = await call(token, "getWebhookInfo", {}, api_base_url=api_base_url)
    return result if isinstance(result, dict) else {}


async def refuse_polling_if_webhook_set(token: str, *, api_base_url: str | None = None) -> None:
    """Raise (one line for the operator) when a webhook is set: polling would take its updates away."""
    await refuse_if_webhook_set((await webhook_info(token, api_base_url=api_base_url)).get("url"))


async def refuse_if_webhook_set(url: str | None) -> None:
    """Raise WebhookIsSet when getWebhookInfo named a `url`. The polling loops ask again just before they poll
    instead of deleting a webhook they find: one set while they were starting is a deploy's, not a leftover."""
    if url:
        raise WebhookIsSet(f"a webhook is set ({url}): run `chatcrm bot --webhook {url} --listen HOST:PORT`, "
                           "or `chatcrm webhook delete` first to poll")


class WebhookIsSet(Exception):
    """Long polling cannot start while Telegram delivers to a webhook."""
