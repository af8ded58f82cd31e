"""The worker loop: take updates from the inbox, hand each to the adapter, forget it once handled.

Per chat one update at a time, in arrival order (the inbox's lease on a chat's oldest update); other
chats in parallel, up to `slots` at once in this process and across however many processes run. A
claimed update is leased for `lease_s` and the lease is renewed while it is being handled:

- handled (the engine committed its result and its replies to the outbox) -> forgotten;
- the adapter raised (e.g. the Bot API was unreachable before the engine ran) -> given back after
  `retry_wait_s`; after the inbox's MAX_ATTEMPTS it is parked: left in the table for a person (logged
  "parked"; `chatcrm webhook parked` lists them, `--retry` hands them to the workers again);
- the worker stops -> given back at once; the worker is killed -> its lease runs out and another worker
  (or this one, restarted) takes the update again.

So an update is handled at least once; the engine's processed-update dedupe (in the same transaction as
the work) makes a second handling a no-op: effectively once. The recent-updates memory (Redis) is only a
filter in front of that dedupe: when it fails the update counts as not seen, and remembering is best-effort,
so a Redis outage never counts as a failed attempt.

An idle worker looks at the inbox every `idle_wait_s`, or at once when woken: by the ingress of its own
process, or through `wakeups` (Redis pub/sub) by an ingress in another; a wake-up lost is a poll later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.core.recent import RecentUpdates, remember_if_possible, seen_or_not
from bot.webhook.queue import WebhookQueue
from crm_core.services.inbox import MAX_ATTEMPTS, QueuedUpdate

log = logging.getLogger(__name__)

Process = Callable[[str], Awaitable[None]]


class Wakeups(Protocol):
    """Wake-ups from other processes' ingresses (bot.core.redis_store.RedisWakeups)."""

    async def listen(self, on_wake: Callable[[], None], *, subscribed: Callable[[], None] = ...) -> None:
        """Call `on_wake` for each wake-up until cancelled, never raising."""
        ...


def worker_name() -> str:
    """Name this worker process (host and pid): whose lease is whose, in the inbox table."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


class WorkerLoop:
    """Run `process(payload)` for the inbox's updates until stopped."""

    def __init__(self, queue: WebhookQueue, process: Process, *, slots: int = 4, lease_s: float = 60.0,
                 idle_wait_s: float = 0.25, retry_wait_s: float = 2.0, recent: RecentUpdates | None = None,
                 name: str | None = None, wakeups: Wakeups | None = None) -> None:
        self._queue = queue
        self._process = process
        self.slots = max(1, slots)
        self.lease_s = lease_s
        self._idle_wait_s = idle_wait_s
        self._retry_wait_s = retry_wait_s
        self._recent = recent
        self.name = name or worker_name()
        self._running: dict[asyncio.Task[None], QueuedUpdate] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._wakeups = wakeups
        self.listening = asyncio.Event()  # set once subscribed to other processes' wake-ups

    def wake(self) -> None:
        """Look at the inbox now (an update was just kept in this process)."""
        self._wake.set()

    async def run(self) -> None:
        """Claim and handle until `stop()`; updates still being handled then are waited for (see `stop`)."""
        renewer = asyncio.create_task(self._renew_leases(), name="inbox lease renewal")
        listener = asyncio.create_task(self._listen(), name="inbox wake-ups")
        try:
            while not self._stopping:
                self._wake.clear()  # before the claim: a wake-up arriving during it is not lost
                claimed = await self._claim()
                for item in claimed:
                    task = asyncio.create_task(self._handle(item), name=f"update {item.key}")
                    self._running[task] = item
                    task.add_done_callback(self._finished)
                if not claimed or len(self._running) >= self.slots:
                    await self._idle()
        finally:
            for task in (renewer, listener):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _listen(self) -> None:
        if self._wakeups is None:
            return
        try:
            await self._wakeups.listen(self.wake, subscribed=self.listening.set)
        except Exception:  # never the worker's end: it polls the inbox anyway
            log.warning("inbox wake-ups stopped; polling the inbox only", exc_info=True)

    async def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Stop claiming; wait (bounded) for updates being handled; give the rest back to the inbox."""
        self._stopping = True
        self._wake.set()
        pending = set(self._running)
        if pending:
            _, still = await asyncio.wait(pending, timeout=drain_timeout_s)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still)

    async def _claim(self) -> list[QueuedUpdate]:
        free = self.slots - len(self._running)
        if free <= 0:
            return []
        busy_chats = sorted({item.chat_key for item in self._running.values()})
        try:
            return await self._queue.claim(worker=self.name, limit=free, lease_s=self.lease_s, skip_chats=busy_chats)
        except Exception:  # the store is down or busy: try again after a pause, nothing is lost
            log.warning("could not claim updates from the inbox", exc_info=True)
            return []

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._idle_wait_s)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._wake.set()

    async def _handle(self, item: QueuedUpdate) -> None:
        seen_key = f"{self._queue.channel}:{item.key}"
        try:
            if await seen_or_not(self._recent, seen_key):
                log.info("update %s was handled already; forgotten", item.key)
            else:
                await self._process(item.payload)
                await remember_if_possible(self._recent, seen_key)
        except asyncio.CancelledError:
            await self._give_back(item)
            raise
        except Exception:
            if item.attempts >= MAX_ATTEMPTS:
                log.exception("update %s failed (attempt %d of %d): parked for a person "
                              "(chatcrm webhook parked [--retry])", item.key, item.attempts, MAX_ATTEMPTS)
            else:
                log.exception("update %s failed (attempt %d of %d); given back to the inbox",
                              item.key, item.attempts, MAX_ATTEMPTS)
            await asyncio.sleep(self._retry_wait_s)
            await self._give_back(item)
            return
        try:
            await self._queue.finish([item.id])
        except Exception:  # handled, but still kept: handled again later, a no-op for the engine's dedupe
            log.warning("could not forget handled update %s", item.key, exc_info=True)

    async def _give_back(self, item: QueuedUpdate) -> None:
        try:
            await asyncio.shield(self._queue.release([item.id], worker=self.name))
        except Exception:  # the lease runs out instead
            log.warning("could not give update %s back; its lease will run out", item.key, exc_info=True)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            ids = [item.id for item in self._running.values()]
            if not ids:
                continue
            try:
                await self._queue.renew(ids, worker=self.name, lease_s=self.lease_s)
            except Exception:
                log.warning("could not renew %d inbox lease(s)", len(ids), exc_info=True)
