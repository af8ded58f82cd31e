"""Run webhook mode in one process: the ingress (given `listen`), the worker loop (given slots), or both."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from bot.core.recent import RecentUpdates
from bot.core.redis_store import RedisWakeups
from bot.webhook.ingress import Ingress
from bot.webhook.queue import WebhookQueue
from bot.webhook.worker import Process, WorkerLoop

log = logging.getLogger(__name__)


def parse_listen(listen: str) -> tuple[str, int]:
    """Read HOST:PORT (raises ValueError with what is wrong)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen must be HOST:PORT, e.g. 0.0.0.0:8080 (got {listen!r})")
    return host.strip("[]"), int(port)


def webhook_path(url: str) -> str:
    """Return the path the ingress serves: the webhook URL's own (a proxy passes it through unchanged)."""
    return urlsplit(url).path or "/"


async def serve(queue: WebhookQueue, *, process: Process | None, listen: tuple[str, int] | None, path: str,
                secret: str, slots: int, recent: RecentUpdates | None, lease_s: float = 60.0,
                stop: asyncio.Event | None = None, drain_timeout_s: float = 10.0,
                wakeups: RedisWakeups | None = None, redis_ping: Callable[[], Awaitable[object]] | None = None,
                idle_wait_s: float = 0.25, say: Callable[[str], None] = lambda _line: None) -> None:
    """Serve until `stop` is set (or SIGTERM/SIGINT when no event is given); then drain and close.

    `wakeups` (Redis pub/sub): the ingress publishes after each kept update and the workers listen, so a
    worker in another process starts at once instead of at its next poll (`idle_wait_s`).
    """
    stop = stop or _stop_on_signals()
    worker = WorkerLoop(queue, process, slots=slots, lease_s=lease_s, recent=recent, wakeups=wakeups,
                        idle_wait_s=idle_wait_s) if process else None
    runner: web.AppRunner | None = None
    if listen is not None:
        ingress = Ingress(queue, secret=secret, recent=recent, on_kept=worker.wake if worker else lambda: None,
                          publish=wakeups.publish if wakeups else None, redis_ping=redis_ping)
        runner = web.AppRunner(ingress.app(path))
        await runner.setup()
        await web.TCPSite(runner, listen[0], listen[1]).start()
        say(f"chatcrm bot: webhook ingress on http://{listen[0]}:{listen[1]}{path}")
    worker_task = asyncio.create_task(worker.run(), name="webhook worker loop") if worker else None
    if worker is not None:
        say(f"chatcrm bot: worker {worker.name} handling up to {worker.slots} chats at once")
    try:
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()  # no new deliveries: Telegram retries them on another replica
        if worker is not None and worker_task is not None:
            await worker.stop(drain_timeout_s)
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows, or not the main thread
            loop.add_signal_handler(sig, stop.set)
    return stop
