"""The shared parts of several worker processes, in Redis: the per-chat lock, recent updates, the rate limiter.

Used when `CHATCRM_REDIS_URL` is set (`shared_parts`); without it each process keeps them in memory
(`bot.core.locks.ChatLocks`, `bot.core.recent.LocalRecentUpdates`, `bot.core.limits.LocalRateLimiter`).
Every key starts with the prefix given (default `chatcrm:`), so tests and several bots can share a server.
An approved erasure forgets the customer's chats here too (`RedisChatState`, the flows' `chat_state` port).

Redis is never the only keeper of anything: the inbox and the engine's dedupe (in the database) are the
truth. So when Redis is unreachable the bot goes on, less shared: a chat's lock is taken in this process
(the inbox lease still hands a chat's updates out one at a time), sends are counted in this process,
recent updates count as not seen (`bot.core.recent.seen_or_not`), and workers fall back to polling the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

from bot.core.limits import Limits, LocalRateLimiter, RateLimiter, is_group_chat
from bot.core.locks import ChatLock, ChatLocks
from bot.core.recent import RecentUpdates

if TYPE_CHECKING:
    from bot.core.engine import Engine

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "chatcrm:"
# What a Redis that cannot be reached raises (refused, reset, timed out, or a server error).
REDIS_DOWN = (RedisError, OSError)
# How long to wait before subscribing again after the wake-up channel failed (doubling up to the last).
RESUBSCRIBE_WAITS_S = (0.5, 1.0, 2.0, 5.0, 10.0)
REDIS_CONNECT_TIMEOUT_S = 2.0

# One atomic step of the sliding-log limiter, on Redis's own clock (so the workers' clocks need not agree).
# KEYS: one sorted set per window; ARGV: a unique member, then (count, window ms) per key.
# Returns 0 and records the grant in every window when all have room; else the ms to wait, nothing recorded.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  if used >= count then
    local blocking = redis.call('ZRANGE', key, used - count, used - count, 'WITHSCORES')
    local until_free = tonumber(blocking[2]) + window - now
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return {0, wait} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1] .. ':' .. now)
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return {1, now}
"""


def _key_text(key: Hashable) -> str:
    return ":".join(str(part) for part in key) if isinstance(key, tuple) else str(key)


class RedisChatLocks:
    """Per-chat locks shared by every process on one Redis (redis-py's token lock, with a lease).

    Not FIFO across processes: the order of a chat's updates comes from the inbox (one claimed at a time
    per chat); this lock keeps a push and an update of one chat from interleaving. The lease (`timeout_s`)
    is renewed every third of it while the block runs, so a long handling (an LLM, a big import) keeps the
    chat, and a process killed holding it frees the chat one lease later (the inbox lease, by default:
    the update it was handling is taken again at about the same time).

    Redis unreachable when the lock is taken: the chat is locked in this process only (logged). That is
    safe for an update's order and its data: the inbox leases a chat's oldest update to one worker at a
    time, and the engine's unit of work and dedupe keep a second handling harmless. What is lost while
    Redis is down is only that a push from another process may interleave with this chat's replies.
    """

    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX, timeout_s: float = 60.0,
                 poll_s: float = 0.02) -> None:
        self._redis = redis
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._poll_s = poll_s
        self._local = ChatLocks()  # while Redis is unreachable

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Hold the chat's lock in Redis (in this process while Redis is unreachable) for the block."""
        lock = self._redis.lock(f"{self._prefix}lock:{_key_text(key)}", timeout=self._timeout_s,
                                sleep=self._poll_s, thread_local=False)
        try:
            await lock.acquire()
        except REDIS_DOWN:
            log.warning("Redis unreachable: chat %s locked in this process only", _key_text(key), exc_info=True)
            async with self._local.hold(key):
                yield
            return
        done = asyncio.Event()
        renewal = asyncio.create_task(self._renew(lock, key, done), name=f"chat lock renewal {_key_text(key)}")
        try:
            yield
        finally:
            # A flag, not only a cancel: a cancellation swallowed inside redis-py's reacquire once left a chat's
            # lock renewed for ever (and its later updates waiting). Never wait long for the renewal to end.
            done.set()
            renewal.cancel()
            await asyncio.wait({renewal}, timeout=1.0)
            with contextlib.suppress(Exception):  # a lease that ran out is someone else's lock now
                await lock.release()

    async def _renew(self, lock: Lock, key: Hashable, done: asyncio.Event) -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self._timeout_s / 3)
            if done.is_set():
                return
            try:
                await lock.reacquire()
            except LockError:  # it ran out (Redis unreachable for a whole lease): another process may hold it now
                log.warning("the lock of chat %s ran out while held", _key_text(key))
                return
            except Exception:  # Redis busy for a moment: try again at the next third
                log.warning("could not renew the lock of chat %s", _key_text(key), exc_info=True)


class RedisRecentUpdates:
    """Handled update keys, remembered in Redis for `ttl_s` (a day: Telegram's own redelivery horizon)."""

    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX, ttl_s: int = 24 * 3600) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_s = ttl_s

    async def seen(self, key: str) -> bool:
        """Tell whether any worker handled the update recently."""
        return bool(await self._redis.exists(f"{self._prefix}seen:{key}"))

    async def remember(self, key: str) -> None:
        """Remember that the update was handled."""
        await self._redis.set(f"{self._prefix}seen:{key}", 1, ex=self._ttl_s)


class RedisRateLimiter:
    """Telegram's limits counted in Redis, so all workers together stay under them.

    Redis unreachable: counted in this process meanwhile (each process under the limits on its own; the
    sessions' retry middlewares obey a 429 that several processes together may then meet).
    """

    def __init__(self, redis: Redis, limits: Limits | None = None, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.limits = limits or Limits()
        self._prefix = prefix
        self._script = redis.register_script(_ACQUIRE)
        self._local = LocalRateLimiter(self.limits)

    async def acquire(self, chat_id: str) -> float:
        """Wait for room in every window the chat's send counts against, and take it; return the grant time."""
        try:
            return await self._acquire_shared(chat_id)
        except REDIS_DOWN:
            log.warning("Redis unreachable: sends to %s counted in this process only", chat_id, exc_info=True)
            return await self._local.acquire(chat_id)

    async def _acquire_shared(self, chat_id: str) -> float:
        """Wait for room in every window, counted in Redis; return Redis's time."""
        windows = self.limits.windows(chat_id, group=is_group_chat(chat_id))
        keys = [f"{self._prefix}rate:{key}" for key, _ in windows]
        args: list[str | int] = [secrets.token_hex(8)]
        for _, window in windows:
            args += [window.count, round(window.seconds * 1000)]
        while True:
            granted, value = await self._script(keys=keys, args=args)
            if int(granted):
                return int(value) / 1000
            await asyncio.sleep(int(value) / 1000)


class RedisChatState:
    """Forget what Redis keeps about chats (an erased customer's): her chat's lock and send counts, by name and by scan.

    Every key naming a chat has the chat id as a whole `:`-separated part (`lock:telegram:555001`,
    `rate:chat:555001`); no value holds one (lock tokens, grant tokens, flags). Besides the keys named here, a scan
    of the prefix takes any other key with the chat id as a part, so a key kind added later is not left behind.
    A lock held meanwhile by a worker on her chat is let go early: the inbox still hands her updates out one at a
    time. With Redis unreachable nothing is deleted (logged): these keys all expire within a lease (a minute).
    """

    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    async def forget_chats(self, chats: Sequence[tuple[str, str]]) -> None:
        """Delete every key of these (channel, chat id) chats; a failure is logged (never naming them), not raised."""
        try:
            for channel, chat_id in chats:
                if chat_id:
                    await self._forget(channel, chat_id)
        except Exception:  # Redis unreachable, most likely; what called this (a delivery, a commit) stands
            log.warning("could not forget %d erased chat(s) in Redis; their keys expire within a lease", len(chats),
                        exc_info=True)

    async def _forget(self, channel: str, chat_id: str) -> None:
        named = {f"{self._prefix}lock:{_key_text((channel, chat_id))}"}
        named |= {f"{self._prefix}rate:{key}" for key, _ in Limits().windows(chat_id, group=True) if key != "all"}
        part = _glob_escape(chat_id)
        found: list[bytes] = []
        for pattern in (f"{self._glob_prefix}*:{part}", f"{self._glob_prefix}*:{part}:*"):
            found += [key async for key in self._redis.scan_iter(match=pattern, count=1000)]
        await self._redis.delete(*named, *found)

    @property
    def _glob_prefix(self) -> str:
        return _glob_escape(self._prefix)


def _glob_escape(text: str) -> str:
    """`text` matched literally by a Redis glob pattern (MATCH)."""
    return "".join(f"\\{ch}" if ch in "*?[]\\" else ch for ch in text)


class RedisWakeups:
    """Tell workers in other processes that the inbox has a new update (pub/sub), so they need not wait a poll.

    A hint, never the delivery: the update is in the inbox before the publish, a worker that missed the
    message finds it at its next poll, and a worker wakes once after each (re)subscription for what it missed.
    """

    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self.channel = f"{prefix}inbox:wake"

    async def publish(self) -> None:
        """Wake the subscribed workers (raises when Redis is unreachable; callers go on without)."""
        await self._redis.publish(self.channel, b"1")

    async def listen(self, on_wake: Callable[[], None], *, subscribed: Callable[[], None] = lambda: None) -> None:
        """Call `on_wake` for every message until cancelled; Redis failures are waited out, never raised."""
        failures = 0
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    failures = 0
                    subscribed()
                    on_wake()  # what was published while this worker was not listening
                    async for _message in pubsub.listen():
                        on_wake()
            except REDIS_DOWN:
                wait = RESUBSCRIBE_WAITS_S[min(failures, len(RESUBSCRIBE_WAITS_S) - 1)]
                log.log(logging.WARNING if not failures else logging.DEBUG,
                        "inbox wake-ups unavailable (Redis); polling the inbox, subscribing again in %.1fs",
                        wait, exc_info=not failures)
                failures += 1
                await asyncio.sleep(wait)


@dataclass
class SharedParts:
    """What worker processes share: in memory for one process, in Redis for several."""

    locks: ChatLock
    recent: RecentUpdates
    limiter: RateLimiter
    redis: Redis | None = None
    wakeups: RedisWakeups | None = None  # across processes; None: one process wakes its own workers
    chat_state: RedisChatState | None = None  # what an erasure forgets in Redis; None: nothing kept outside

    def use_in(self, engine: Engine) -> None:
        """Have the engine hold chats with these locks and forget erased chats here."""
        engine.locks = self.locks
        if self.chat_state is not None:
            engine.ports = replace(engine.ports, chat_state=self.chat_state)

    async def close(self) -> None:
        """Close the Redis connection, if any."""
        if self.redis is not None:
            await self.redis.aclose()


def shared_parts(redis_url: str | None, *, prefix: str = DEFAULT_PREFIX, limits: Limits | None = None,
                 lock_lease_s: float = 60.0) -> SharedParts:
    """Return the Redis-backed parts when `redis_url` is given, else the in-process ones.

    `lock_lease_s`: how long a chat stays locked by a process that died holding it (Settings.inbox_lease_seconds).
    """
    if redis_url is None:
        from bot.core.limits import LocalRateLimiter
        from bot.core.locks import ChatLocks
        from bot.core.recent import LocalRecentUpdates

        return SharedParts(locks=ChatLocks(), recent=LocalRecentUpdates(), limiter=LocalRateLimiter(limits))
    # A Redis that does not answer a connect within seconds is treated as down (see REDIS_DOWN), not waited on.
    redis = Redis.from_url(redis_url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S)
    return SharedParts(locks=RedisChatLocks(redis, prefix=prefix, timeout_s=lock_lease_s),
                       recent=RedisRecentUpdates(redis, prefix=prefix),
                       limiter=RedisRateLimiter(redis, limits, prefix=prefix), redis=redis,
                       wakeups=RedisWakeups(redis, prefix=prefix), chat_state=RedisChatState(redis, prefix=prefix))
