"""The outbox: what is written is delivered at least once, retried as the channel asks, settled honestly."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.clock import FrozenClock
from crm_core.services import Services
from crm_core.services.outbox import MAX_ATTEMPTS, SEND_LEASE, Origin, OutboxService, backoff
from crm_core.uow import UnitOfWork
from tests.conftest import OpenServices

LAN = Origin("telegram", "1001", "vi")


async def _add(open_services: OpenServices, *, send_now: bool = True, origin: Origin | None = None) -> int:
    async with open_services() as services:
        return await services.outbox.add(channel="telegram", chat_id="555", payload={"text": "chào"},
                                         origin=origin, send_now=send_now)


async def _claim(open_services: OpenServices, clock: FrozenClock) -> list[int]:
    async with open_services(now=clock.now()) as services:
        return [item.id for item in await services.outbox.claim_due(["telegram"])]


async def test_a_message_being_sent_is_not_claimed_by_another_process(open_services: OpenServices,
                                                                      clock: FrozenClock) -> None:
    await _add(open_services)

    assert await _claim(open_services, clock) == []


async def test_a_claim_a_crashed_process_left_is_taken_again_when_it_expires(open_services: OpenServices,
                                                                            clock: FrozenClock) -> None:
    outbox_id = await _add(open_services)
    clock.advance(SEND_LEASE + timedelta(seconds=1))

    assert await _claim(open_services, clock) == [outbox_id]
    assert await _claim(open_services, clock) == []  # claimed again, by the first taker only


async def test_a_rate_limited_message_waits_the_whole_retry_after(open_services: OpenServices,
                                                                 clock: FrozenClock) -> None:
    outbox_id = await _add(open_services)
    async with open_services(now=clock.now()) as services:
        assert await services.outbox.failed(outbox_id, reason="retry", error="429", retry_after_s=120) is None

    clock.advance(timedelta(seconds=119))
    assert await _claim(open_services, clock) == []
    clock.advance(timedelta(seconds=2))
    assert await _claim(open_services, clock) == [outbox_id]


async def test_a_failing_channel_is_retried_with_growing_waits_then_parked(open_services: OpenServices,
                                                                          clock: FrozenClock) -> None:
    outbox_id = await _add(open_services, origin=LAN)
    settled = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        async with open_services(now=clock.now()) as services:
            settled = await services.outbox.failed(outbox_id, reason="retry", error="500 Internal Server Error")
        if settled is not None:
            break
        clock.advance(timedelta(seconds=backoff(attempt)))
        assert await _claim(open_services, clock) == [outbox_id]

    assert settled is not None
    assert (settled.status, settled.origin, attempt) == ("parked", LAN, MAX_ATTEMPTS)
    clock.advance(timedelta(days=1))
    assert await _claim(open_services, clock) == []


async def test_a_blocked_recipient_is_settled_at_once_and_its_sender_named(open_services: OpenServices,
                                                                          clock: FrozenClock) -> None:
    outbox_id = await _add(open_services, origin=LAN)
    async with open_services(now=clock.now()) as services:
        settled = await services.outbox.failed(outbox_id, reason="unreachable", error="403 bot was blocked")

    assert settled is not None
    assert (settled.status, settled.origin) == ("unreachable", LAN)
    clock.advance(timedelta(days=1))
    assert await _claim(open_services, clock) == []


async def test_a_delivered_message_is_never_sent_again(open_services: OpenServices, clock: FrozenClock) -> None:
    outbox_id = await _add(open_services)
    async with open_services(now=clock.now()) as services:
        await services.outbox.sent(outbox_id, message_id="42")
        assert await services.outbox.failed(outbox_id, reason="retry", error="late report") is None

    clock.advance(timedelta(days=1))
    assert await _claim(open_services, clock) == []


async def test_two_processes_claiming_at_once_share_the_due_messages_without_overlap(
        sessionmaker: async_sessionmaker[AsyncSession], migrated_url: str, clock: FrozenClock,
        open_services: OpenServices) -> None:
    from crm_core.db import create_engine, create_sessionmaker

    ids = {await _add(open_services, send_now=False) for _ in range(30)}
    other = create_engine(migrated_url)
    try:
        async def claim(maker: async_sessionmaker[AsyncSession]) -> list[int]:
            async with UnitOfWork(maker) as uow:
                services = Services.build(uow.session, now=clock.now())
                return [item.id for item in await services.outbox.claim_due(["telegram"], limit=20)]

        first, second = await asyncio.gather(claim(sessionmaker), claim(create_sessionmaker(other)))
    finally:
        await other.dispose()

    assert not set(first) & set(second)
    assert set(first) | set(second) <= ids
    assert len(first) + len(second) >= 20


async def test_the_send_lease_is_the_configured_one(sessionmaker: async_sessionmaker[AsyncSession],
                                                    clock: FrozenClock) -> None:
    lease = timedelta(seconds=5)  # Settings.outbox_lease_seconds, short: a killed sender's message is taken soon

    async def claim() -> list[int]:
        async with UnitOfWork(sessionmaker) as uow:
            outbox = Services.build(uow.session, now=clock.now(), outbox_lease=lease).outbox
            return [item.id for item in await outbox.claim_due(["telegram"])]

    async with UnitOfWork(sessionmaker) as uow:
        outbox_id = await Services.build(uow.session, now=clock.now(), outbox_lease=lease).outbox.add(
            channel="telegram", chat_id="555", payload={"text": "chào"}, origin=None)
    clock.advance(lease - timedelta(seconds=1))
    assert await claim() == []
    clock.advance(timedelta(seconds=2))
    assert await claim() == [outbox_id]
    clock.advance(lease - timedelta(seconds=1))
    assert await claim() == []  # the taker's claim lasts the same lease


async def test_a_sender_whose_lease_ran_out_mid_batch_skips_what_another_claimed_meanwhile(
        sessionmaker: async_sessionmaker[AsyncSession], open_services: OpenServices, clock: FrozenClock) -> None:
    """The load bench's doubles: a batch claimed under one lease, sent one by one, outlived its lease."""
    ids = [await _add(open_services, send_now=False) for _ in range(3)]
    sent_by: dict[int, list[str]] = {outbox_id: [] for outbox_id in ids}

    def outbox_of(uow: UnitOfWork, claimer: str) -> OutboxService:
        return OutboxService(uow.session, clock.now(), claimer=claimer)

    async def send_if_still_ours(claimer: str, outbox_id: int) -> None:
        async with UnitOfWork(sessionmaker) as uow:
            if not await outbox_of(uow, claimer).renew(outbox_id):
                return
        sent_by[outbox_id].append(claimer)
        async with UnitOfWork(sessionmaker) as uow:
            await outbox_of(uow, claimer).sent(outbox_id, message_id="1")

    async with UnitOfWork(sessionmaker) as uow:
        first_batch = [item.id for item in await outbox_of(uow, "first").claim_due(["telegram"])]
    await send_if_still_ours("first", first_batch[0])
    clock.advance(SEND_LEASE + timedelta(seconds=1))  # the first sender is slow: its lease on the rest ran out
    async with UnitOfWork(sessionmaker) as uow:
        second_batch = [item.id for item in await outbox_of(uow, "second").claim_due(["telegram"])]
    for outbox_id in first_batch[1:]:
        await send_if_still_ours("first", outbox_id)
    for outbox_id in second_batch:
        await send_if_still_ours("second", outbox_id)

    assert (first_batch, second_batch) == (ids, ids[1:])
    assert sent_by == {ids[0]: ["first"], ids[1]: ["second"], ids[2]: ["second"]}


async def test_a_renewed_claim_lasts_another_lease(sessionmaker: async_sessionmaker[AsyncSession],
                                                   open_services: OpenServices, clock: FrozenClock) -> None:
    outbox_id = await _add(open_services, send_now=False)
    async with UnitOfWork(sessionmaker) as uow:
        assert [i.id for i in await OutboxService(uow.session, clock.now(), claimer="a").claim_due(["telegram"])] \
            == [outbox_id]
    clock.advance(SEND_LEASE - timedelta(seconds=1))
    async with UnitOfWork(sessionmaker) as uow:
        assert await OutboxService(uow.session, clock.now(), claimer="a").renew(outbox_id)
    clock.advance(SEND_LEASE - timedelta(seconds=1))  # past the first lease, within the renewed one

    assert await _claim(open_services, clock) == []
    async with UnitOfWork(sessionmaker) as uow:
        assert not await OutboxService(uow.session, clock.now(), claimer="b").renew(outbox_id)  # never b's
