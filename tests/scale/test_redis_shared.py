"""Several workers share one per-chat lock, one memory of handled updates and one rate limiter in Redis."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import pytest
from redis.asyncio import Redis

from bot.core.limits import Limits, LocalRateLimiter, Window
from bot.core.redis_store import RedisChatLocks, RedisRateLimiter, RedisRecentUpdates


def most_in_any_window(times: list[float], seconds: float) -> int:
    """The largest number of times falling in one half-open stretch [t, t + seconds)."""
    ordered = sorted(times)
    return max((sum(1 for other in ordered[i:] if other < start + seconds) for i, start in enumerate(ordered)),
               default=0)


async def test_two_workers_never_hold_one_chat_at_once(redis: Redis, prefix: str) -> None:
    first, second = RedisChatLocks(Redis(connection_pool=redis.connection_pool), prefix=prefix), RedisChatLocks(
        Redis(connection_pool=redis.connection_pool), prefix=prefix)
    inside: list[str] = []
    overlaps: list[tuple[str, str]] = []

    async def work(locks: RedisChatLocks, name: str) -> None:
        for _ in range(5):
            async with locks.hold(("telegram", "777")):
                overlaps.extend((name, other) for other in inside)
                inside.append(name)
                await asyncio.sleep(0.01)
                inside.remove(name)

    await asyncio.wait_for(asyncio.gather(work(first, "a"), work(second, "b")), timeout=20)
    assert overlaps == []


async def test_other_chats_are_not_held_up_by_a_held_chat(redis: Redis, prefix: str) -> None:
    locks = RedisChatLocks(redis, prefix=prefix)
    async with locks.hold(("telegram", "777")):
        await asyncio.wait_for(_enter(locks, ("telegram", "888")), timeout=5)


async def _enter(locks: RedisChatLocks, key: tuple[str, str]) -> None:
    async with locks.hold(key):
        pass


async def test_a_handled_update_is_remembered_by_every_worker(redis: Redis, prefix: str) -> None:
    one, other = RedisRecentUpdates(redis, prefix=prefix), RedisRecentUpdates(redis, prefix=prefix)
    assert not await other.seen("telegram:41")
    await one.remember("telegram:41")
    assert await other.seen("telegram:41")
    assert not await other.seen("telegram:42")


async def test_two_limiter_clients_together_never_exceed_one_message_a_second_per_chat(
        redis: Redis, prefix: str) -> None:
    limits = Limits(per_chat=Window(1, 0.5), overall=Window(30, 1.0))
    clients = [RedisRateLimiter(Redis(connection_pool=redis.connection_pool), limits, prefix=prefix)
               for _ in range(2)]
    granted: list[float] = []

    async def send(limiter: RedisRateLimiter, n: int) -> None:
        for _ in range(n):
            granted.append(await limiter.acquire("777"))

    await asyncio.wait_for(asyncio.gather(send(clients[0], 3), send(clients[1], 3)), timeout=30)
    assert len(granted) == 6
    assert most_in_any_window(granted, 0.5) == 1
    assert max(granted) - min(granted) >= 5 * 0.5  # six sends need five full windows between them


async def test_the_overall_limit_is_shared_across_chats_and_clients(redis: Redis, prefix: str) -> None:
    limits = Limits(per_chat=Window(100, 1.0), overall=Window(5, 0.5))
    clients = [RedisRateLimiter(redis, limits, prefix=prefix) for _ in range(2)]
    chats = itertools.cycle(["1", "2", "3", "4"])
    granted = await asyncio.wait_for(
        asyncio.gather(*(clients[i % 2].acquire(next(chats)) for i in range(12))), timeout=30)
    assert most_in_any_window(list(granted), 0.5) <= 5


async def test_a_group_gets_at_most_its_per_minute_share(redis: Redis, prefix: str) -> None:
    limits = Limits(per_chat=Window(100, 1.0), per_group=Window(3, 0.6), overall=Window(100, 1.0))
    limiter = RedisRateLimiter(redis, limits, prefix=prefix)
    granted = await asyncio.wait_for(asyncio.gather(*(limiter.acquire("-100200") for _ in range(6))), timeout=30)
    private = await asyncio.wait_for(asyncio.gather(*(limiter.acquire("200") for _ in range(6))), timeout=5)
    assert most_in_any_window(list(granted), 0.6) <= 3
    assert max(private) - min(private) < 0.5  # a private chat is not held to the group's share


async def test_the_in_process_limiter_keeps_the_same_limits() -> None:
    limiter = LocalRateLimiter(Limits(per_chat=Window(1, 0.3), overall=Window(30, 1.0)))
    granted = await asyncio.wait_for(asyncio.gather(*(limiter.acquire("777") for _ in range(4))), timeout=10)
    assert most_in_any_window(list(granted), 0.3) == 1


async def test_a_chat_lock_held_longer_than_its_lease_stays_held(redis: Redis, prefix: str) -> None:
    holder, other = RedisChatLocks(redis, prefix=prefix, timeout_s=0.6), RedisChatLocks(redis, prefix=prefix)
    async with holder.hold(("telegram", "777")):
        await asyncio.sleep(1.5)  # past two leases: renewed meanwhile
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(_enter(other, ("telegram", "777")), timeout=0.5)


async def test_a_chat_lock_of_a_killed_process_frees_after_one_lease(redis: Redis, prefix: str) -> None:
    # A process killed holding it never releases it and stops renewing it: its bare lease is left in Redis.
    await redis.set(f"{prefix}lock:telegram:777", "a-killed-process", px=500)
    await asyncio.wait_for(_enter(RedisChatLocks(redis, prefix=prefix), ("telegram", "777")), timeout=10)


async def test_a_chat_lock_stops_being_renewed_when_released_even_if_redis_swallows_the_cancel(
        redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from redis.asyncio.lock import Lock

    real_reacquire = Lock.reacquire
    renewals: list[float] = []

    async def stubborn_reacquire(self: Lock) -> bool:  # as seen once under load: the cancel never reached us
        renewals.append(asyncio.get_running_loop().time())
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.2)
        return bool(await real_reacquire(self))

    monkeypatch.setattr(Lock, "reacquire", stubborn_reacquire)
    locks = RedisChatLocks(redis, prefix=prefix, timeout_s=3.0)  # renewed every second

    async def handle_an_update() -> None:
        async with locks.hold(("telegram", "9202")):
            await asyncio.sleep(1.1)  # released while the first renewal is under way

    await asyncio.wait_for(handle_an_update(), timeout=10)

    renewed_while_held = len(renewals)
    await asyncio.sleep(2.5)  # two more renewal periods
    assert len(renewals) == renewed_while_held
    assert await redis.keys(f"{prefix}lock:*") == []
