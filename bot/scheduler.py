"""One scheduler for every channel: it claims what is due and hands each push to its channel's sender.

    every `interval_s` (CHATCRM_REMINDER_INTERVAL_S):
      engine.claim_pushes(channels that have a sender)   reminders, the router's periodic jobs (escalations,
                                                         unsaved log previews after CHATCRM_DRAFT_REMINDER_MINUTES);
                                                         each claimed by one scheduler only
      -> per chat, up to CHATS_AT_ONCE chats at a time:       a chat's pushes in order, one after another;
           engine.renew_claim(push)                             still ours? extend its lease, else skip it
           the sender registered for push.channel               aiogram: send with 429 retries;
                                                                 console: print

It only triggers: what is due and what it says live in the engine, its flows and services. Adapters
register a sender for their channel and never run a loop of their own, so a process that runs two
channels runs one scheduler, and several processes may each run one without pushing anything twice.
A push whose delivery fails is logged and skipped (its claim stands); the others still go out.
Chats are served concurrently because a chat's own messages are spaced by Telegram's per-chat limit
(about 1/s): one after another, a broadcast of summaries (chart, then text) would take two seconds a
chat. The channel's shared limiter still holds the bot to its overall rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Protocol

from bot.core.messages import Reply
from crm_core.errors import StoreBusy
from crm_core.uow import is_busy_error

log = logging.getLogger(__name__)

Deliver = Callable[[Reply], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]
# Chats served at once: Telegram lets a bot send about 30 messages a second in all (its limiter enforces it).
CHATS_AT_ONCE = 30


class PushSource(Protocol):
    """Where pushes come from: `bot.core.engine.Engine`."""

    async def claim_pushes(self, channels: Collection[str]) -> list[Reply]:
        """Claim what is due and return it as pushes addressed on `channels` (chat_id and channel set)."""
        ...

    async def claim_outbox(self, channels: Collection[str]) -> list[Reply]:
        """Claim messages whose delivery is due again (retries; claims a crashed process left)."""
        ...

    async def renew_claim(self, push: Reply) -> bool:
        """Right before sending: extend this process's claim on the push; False if it is no longer ours."""
        ...


class Scheduler:
    """Claim due pushes on every tick and deliver each with the sender of its channel."""

    def __init__(self, source: PushSource, *, interval_s: float, sleep: Sleep = asyncio.sleep,
                 chats_at_once: int = CHATS_AT_ONCE) -> None:
        self._source = source
        self._chats_at_once = chats_at_once
        self.interval_s = interval_s
        self._sleep = sleep
        self._senders: dict[str, Deliver] = {}

    @property
    def channels(self) -> frozenset[str]:
        """Return the channels that have a sender (the only ones pushes are claimed for)."""
        return frozenset(self._senders)

    def register(self, channel: str, deliver: Deliver) -> None:
        """Deliver `channel`'s pushes with `deliver` from now on (replacing an earlier sender)."""
        self._senders[channel] = deliver

    def unregister(self, channel: str) -> None:
        """Stop delivering on `channel` (its adapter stopped); its pushes stay unclaimed until it is back."""
        self._senders.pop(channel, None)

    async def tick(self) -> int:
        """Claim what is due on the channels with a sender and deliver it; return how many pushes went out."""
        if not self._senders:
            return 0
        channels = sorted(self._senders)
        pushes = await self._source.claim_pushes(channels) + await self._source.claim_outbox(channels)
        by_chat: dict[tuple[str | None, str | None], list[Reply]] = {}
        for push in pushes:
            by_chat.setdefault((push.channel, push.chat_id), []).append(push)
        gate = asyncio.Semaphore(self._chats_at_once)
        delivered = await asyncio.gather(*(self._deliver_chat(chat_pushes, gate) for chat_pushes in by_chat.values()))
        return sum(delivered)

    async def _deliver_chat(self, pushes: list[Reply], gate: asyncio.Semaphore) -> int:
        """Deliver one chat's pushes in order, each after the one before it."""
        async with gate:
            return sum([await self._deliver(push) for push in pushes])

    async def _deliver(self, push: Reply) -> bool:
        deliver = self._senders.get(push.channel or "")
        if deliver is None or push.chat_id is None:
            log.error("push to %s chat %s has no sender; dropped: %.40r", push.channel, push.chat_id, push.text)
            return False
        if not await self._still_ours(push):
            return False
        try:
            await deliver(push)
        except Exception:  # one chat's failure must not keep the others' reminders back
            log.exception("could not deliver a push to %s chat %s", push.channel, push.chat_id)
            return False
        return True

    async def _still_ours(self, push: Reply) -> bool:
        """Renew the claim on a push just before it goes out: one whose lease ran out may be sent by another."""
        try:
            if await self._source.renew_claim(push):
                return True
        except Exception:  # unsent and still claimed: its lease runs out and a scheduler claims it again
            log.exception("could not renew the claim on message %s; not sending it now", push.outbox_id)
            return False
        log.info("message %s to %s chat %s is no longer ours (its lease ran out); not sending it",
                 push.outbox_id, push.channel, push.chat_id)
        return False

    async def run(self) -> None:
        """Tick now and then every `interval_s` seconds, until cancelled; a failed tick is retried next time.

        A store busy with another process's claim (a lock timeout) is normal with several processes: it is
        said once as a warning, then quietly, until a tick gets through; anything else is an error.
        """
        busy_ticks = 0
        while True:
            try:
                await self.tick()
                busy_ticks = 0
            except Exception as error:  # the store may be busy or down for a moment; the next tick claims the rest
                if _is_busy(error):
                    busy_ticks += 1
                    log.log(logging.WARNING if busy_ticks == 1 else logging.INFO,
                            "the store is busy with another claim (%d tick(s) in a row); trying again in %ss: %s",
                            busy_ticks, self.interval_s, str(error).splitlines()[0][:200])
                else:
                    log.exception("claiming due pushes failed; trying again in %ss", self.interval_s)
            await self._sleep(self.interval_s)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the scheduler in the background for the duration of the block."""
        task = asyncio.create_task(self.run(), name="scheduler")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _is_busy(error: BaseException) -> bool:
    """Tell whether a failed tick met a lock held by another process (the unit of work says StoreBusy)."""
    return isinstance(error, StoreBusy) or is_busy_error(error)
