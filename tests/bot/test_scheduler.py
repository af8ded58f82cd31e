"""One scheduler for every channel: it claims what is due and hands each push to its channel's sender.

Claims are atomic across processes: two schedulers over the same database (two engines, two
connection pools), ticking at the same moment, push each due reminder exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio

from bot.core.engine import Engine
from bot.core.messages import Reply
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.scheduler import Scheduler
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.db import create_engine, create_sessionmaker
from crm_core.errors import StoreBusy
from tests.conftest import OpenServices
from tests.support.scheduling import RecordedPushes

DUE_REMINDERS = 20
ROUNDS = 5


async def _due_tasks(open_services: OpenServices, clock: FrozenClock, owner: str, count: int) -> list[int]:
    """Give `owner` `count` tasks, all due a minute ago."""
    async with open_services() as services:
        user = await services.users.by_name(owner)
        assert user is not None
        tasks = [await services.tasks.create(owner_id=user.id, title=f"Gọi khách số {i}",
                                             due_at=clock.now() - timedelta(minutes=1)) for i in range(count)]
        await services.session.flush()
        return [task.id for task in tasks]


def _task_ids(pushes: list[Reply]) -> list[str]:
    """The task each reminder is about, read from its buttons (task:v1:<action>:<id>)."""
    return [next(b.data.rsplit(":", 1)[1] for b in push.keyboard.buttons() if b.data.startswith("task:"))
            for push in pushes if push.keyboard is not None]


@pytest_asyncio.fixture
async def second_engine(migrated_url: str, clock: FrozenClock, engine: Engine) -> AsyncIterator[Engine]:
    """Another engine over the same database with its own connections, as in a second bot process."""
    db = create_engine(migrated_url)
    try:
        yield Engine(sessionmaker=create_sessionmaker(db), clock=clock, settings=Settings(), router=ROUTER,
                     render_reminder=reminder_reply)
    finally:
        await db.dispose()


# --- delivery -------------------------------------------------------------------------------------------------


async def test_each_push_goes_to_the_sender_of_its_channel(engine: Engine, open_services: OpenServices,
                                                         clock: FrozenClock) -> None:
    async with open_services() as services:
        await services.users.add(name="Mai", role="sales")  # reached on the console only
    await _due_tasks(open_services, clock, "Lan", 1)
    await _due_tasks(open_services, clock, "Mai", 1)
    pushes = RecordedPushes(engine, channels=("telegram", "console"))

    delivered = await pushes.tick()

    assert sorted((p.channel, p.chat_id) for p in delivered) == [("console", "Mai"), ("telegram", "1001")]


async def test_nothing_is_claimed_while_no_channel_can_deliver(engine: Engine, open_services: OpenServices,
                                                               clock: FrozenClock) -> None:
    await _due_tasks(open_services, clock, "Lan", 1)
    scheduler = Scheduler(engine, interval_s=30)

    assert await scheduler.tick() == 0

    assert len(await RecordedPushes(engine).tick()) == 1  # still due once a channel is there


async def test_a_failing_sender_does_not_keep_the_other_pushes_back(engine: Engine, open_services: OpenServices,
                                                                    clock: FrozenClock) -> None:
    await _due_tasks(open_services, clock, "Lan", 1)
    await _due_tasks(open_services, clock, "Tuấn", 1)
    delivered: list[Reply] = []

    async def flaky(push: Reply) -> None:
        if push.chat_id == "1001":
            raise ConnectionError("Telegram is unreachable for this chat")
        delivered.append(push)

    scheduler = Scheduler(engine, interval_s=30)
    scheduler.register("telegram", flaky)

    assert await scheduler.tick() == 1
    assert [p.chat_id for p in delivered] == ["1002"]


async def test_the_scheduler_ticks_now_and_then_every_interval(engine: Engine) -> None:
    waits: list[float] = []
    ticks = 0

    class CountingSource:
        async def claim_pushes(self, channels: object) -> list[Reply]:
            nonlocal ticks
            ticks += 1
            return []

        async def claim_outbox(self, channels: object) -> list[Reply]:
            return []

        async def renew_claim(self, push: Reply) -> bool:
            return True

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise asyncio.CancelledError

    scheduler = Scheduler(CountingSource(), interval_s=30, sleep=sleep)
    scheduler.register("telegram", RecordedPushes(engine).record)

    with pytest.raises(asyncio.CancelledError):
        await scheduler.run()

    assert (ticks, waits) == (3, [30, 30, 30])


async def test_a_failed_tick_is_logged_and_the_next_one_still_runs(engine: Engine) -> None:
    outcomes = iter([RuntimeError("database is locked"), []])

    class OnceBusySource:
        async def claim_pushes(self, channels: object) -> list[Reply]:
            outcome = next(outcomes)
            if isinstance(outcome, Exception):
                raise outcome
            raise asyncio.CancelledError  # the second tick ran: stop here

        async def claim_outbox(self, channels: object) -> list[Reply]:
            return []

        async def renew_claim(self, push: Reply) -> bool:
            return True

    async def no_wait(seconds: float) -> None:
        return None

    scheduler = Scheduler(OnceBusySource(), interval_s=30, sleep=no_wait)
    scheduler.register("telegram", RecordedPushes(engine).record)

    with pytest.raises(asyncio.CancelledError):
        await scheduler.run()

    assert next(outcomes, None) is None  # both ticks ran


# --- claims across processes -------------------------------------------------------------------------------


async def test_two_schedulers_ticking_together_push_each_due_reminder_exactly_once(
        engine: Engine, second_engine: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    first, second = RecordedPushes(engine), RecordedPushes(second_engine)
    await asyncio.gather(first.tick(), second.tick())  # both connection pools warm: the ticks below overlap
    task_ids: list[int] = []
    for _ in range(ROUNDS):
        task_ids += await _due_tasks(open_services, clock, "Lan", DUE_REMINDERS)

        await asyncio.gather(first.tick(), second.tick())

    pushed = _task_ids(first.delivered) + _task_ids(second.delivered)
    assert sorted(pushed, key=int) == [str(i) for i in task_ids]
    assert await first.tick() == await second.tick() == []


async def test_two_schedulers_ticking_together_escalate_an_unanswered_ticket_once(
        engine: Engine, second_engine: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    async with open_services() as services:
        customer = await services.support.identify("telegram", "555001", "Chị Hoa")
        await services.support.open_ticket(customer, reason="asked_for_human", language="vi", transcript=[],
                                           assignee=None)
    first, second = RecordedPushes(engine), RecordedPushes(second_engine)
    clock.advance(timedelta(hours=2))

    await asyncio.gather(first.tick(), second.tick())

    escalations = [p.chat_id for p in first.delivered + second.delivered if p.ref == "ticket:1"]
    assert escalations == ["2001"]  # Quang, the one manager, hears of it once


async def test_on_postgresql_a_scheduler_skips_the_reminders_another_is_claiming_without_waiting(
        backend: str, second_engine: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    if backend != "postgres":
        pytest.skip("SELECT ... FOR UPDATE SKIP LOCKED is PostgreSQL's")
    await _due_tasks(open_services, clock, "Lan", 3)
    other = RecordedPushes(second_engine)

    async with open_services() as services:
        claimed = await services.tasks.claim_reminders()  # rows locked until this unit of work commits
        assert await asyncio.wait_for(other.tick(), timeout=10) == []  # done while the claim is still open

    assert len(claimed) == 3


async def test_on_sqlite_a_scheduler_waits_for_a_claim_in_progress_and_finds_nothing_left(
        backend: str, second_engine: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's single writer")
    await _due_tasks(open_services, clock, "Lan", 3)
    other = RecordedPushes(second_engine)

    async with open_services() as services:
        claimed = await services.tasks.claim_reminders()  # holds SQLite's write lock until this commits
        competing = asyncio.create_task(other.tick())
        await asyncio.sleep(0.1)  # let it reach the lock (the outcome is the same if it comes later)

    assert await competing == []
    assert len(claimed) == 3


async def test_pushes_a_scheduler_still_holds_when_its_lease_runs_out_are_sent_by_one_scheduler_only(
        engine: Engine, second_engine: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    """The first scheduler's batch outlives its lease after one push; the second claims the rest meanwhile."""
    await _due_tasks(open_services, clock, "Lan", 4)
    second = RecordedPushes(second_engine)
    first = RecordedPushes(engine)
    record_first = first.record

    async def slow_first_push(push: Reply) -> None:
        await record_first(push)
        if len(first.delivered) == 1:  # its lease on the other pushes runs out while this one goes out
            clock.advance(timedelta(seconds=Settings().outbox_lease_seconds + 1))
            await second.tick()

    first.scheduler.register("telegram", slow_first_push)
    await first.tick()

    sent_first, sent_second = _task_ids(first.delivered), _task_ids(second.delivered)
    assert (len(sent_first), len(sent_second)) == (1, 3)
    assert not set(sent_first) & set(sent_second)
    assert await first.tick() == await second.tick() == []


# --- concurrency across chats ------------------------------------------------------------------------------


class _ScriptedPushes:
    """A push source handing out given pushes once, every claim still held."""

    def __init__(self, pushes: list[Reply]) -> None:
        self.pushes = pushes

    async def claim_pushes(self, channels: object) -> list[Reply]:
        pushes, self.pushes = self.pushes, []
        return pushes

    async def claim_outbox(self, channels: object) -> list[Reply]:
        return []

    async def renew_claim(self, push: Reply) -> bool:
        return True


class _SlowSender:
    """A sender that takes a while per message, recording what is in flight and in which order chats got it."""

    def __init__(self) -> None:
        self.in_flight: set[str] = set()
        self.most_in_flight = 0
        self.received: dict[str, list[str]] = {}

    async def send(self, push: Reply) -> None:
        chat = push.chat_id or ""
        assert chat not in self.in_flight, "a chat's messages go out one after another"
        self.in_flight.add(chat)
        self.most_in_flight = max(self.most_in_flight, len(self.in_flight))
        await asyncio.sleep(0.02)  # the per-chat limiter's spacing, scaled down
        self.received.setdefault(chat, []).append(push.text)
        self.in_flight.discard(chat)


def _summaries(chats: int) -> list[Reply]:
    """A summary per chat as the scheduler gets them: the chart, then the text."""
    return [Reply(part, chat_id=str(1000 + chat), channel="telegram")
            for chat in range(chats) for part in ("chart", "text")]


async def test_pushes_to_different_chats_go_out_concurrently_each_chats_in_order() -> None:
    sender = _SlowSender()
    scheduler = Scheduler(_ScriptedPushes(_summaries(10)), interval_s=30)
    scheduler.register("telegram", sender.send)

    assert await scheduler.tick() == 20

    assert sender.most_in_flight == 10  # every chat at once, not one after another
    assert sender.received == {str(1000 + chat): ["chart", "text"] for chat in range(10)}


async def test_no_more_chats_than_the_bound_are_served_at_once() -> None:
    sender = _SlowSender()
    scheduler = Scheduler(_ScriptedPushes(_summaries(7)), interval_s=30, chats_at_once=3)
    scheduler.register("telegram", sender.send)

    assert await scheduler.tick() == 14

    assert sender.most_in_flight == 3
    assert sender.received == {str(1000 + chat): ["chart", "text"] for chat in range(7)}


async def test_a_push_whose_claim_is_no_longer_ours_is_not_sent() -> None:
    class LostClaims(_ScriptedPushes):
        async def renew_claim(self, push: Reply) -> bool:
            return push.text != "chart"  # another scheduler took the charts once their lease ran out

    sender = _SlowSender()
    scheduler = Scheduler(LostClaims(_summaries(2)), interval_s=30)
    scheduler.register("telegram", sender.send)

    assert await scheduler.tick() == 2
    assert sender.received == {"1000": ["text"], "1001": ["text"]}


async def test_a_tick_claims_no_more_than_goes_out_within_a_lease_and_keeps_each_chat_whole(
        engine: Engine, migrated_url: str, open_services: OpenServices, clock: FrozenClock) -> None:
    await _due_tasks(open_services, clock, "Lan", 3)
    await _due_tasks(open_services, clock, "Tuấn", 3)
    db = create_engine(migrated_url)
    try:  # a 0.2 s lease: two messages' worth
        short = Engine(sessionmaker=create_sessionmaker(db), clock=clock, settings=Settings(outbox_lease_seconds=0.2),
                       router=ROUTER, render_reminder=reminder_reply)
        claimed = await short.claim_pushes(["telegram"])
        left = await short.claim_outbox(["telegram"])  # due now, for the next claim of any scheduler
        left += await short.claim_outbox(["telegram"])
    finally:
        await db.dispose()

    assert [len(claimed), len(left)] == [3, 3]
    assert len({p.chat_id for p in claimed}) == len({p.chat_id for p in left}) == 1
    assert {p.chat_id for p in claimed} != {p.chat_id for p in left}


async def test_a_tick_that_meets_another_claims_lock_warns_once_then_quietly_retries(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[Exception | None] = [StoreBusy("canceling statement due to lock timeout")] * 3 + [None]

    class BusySource:
        async def claim_pushes(self, channels: object) -> list[Reply]:
            outcome = outcomes.pop(0)
            if outcome is not None:
                raise outcome
            raise asyncio.CancelledError  # a tick got through: stop here

        async def claim_outbox(self, channels: object) -> list[Reply]:
            return []

        async def renew_claim(self, push: Reply) -> bool:
            return True

    async def no_wait(seconds: float) -> None:
        return None

    scheduler = Scheduler(BusySource(), interval_s=30, sleep=no_wait)
    scheduler.register("telegram", RecordedPushes(engine).record)

    with caplog.at_level(logging.INFO, logger="bot.scheduler"), pytest.raises(asyncio.CancelledError):
        await scheduler.run()

    assert [r.levelno for r in caplog.records if r.name == "bot.scheduler"] == [logging.WARNING, logging.INFO,
                                                                                logging.INFO]
