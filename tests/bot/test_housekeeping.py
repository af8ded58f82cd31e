"""Handled update ids and delivered messages are forgotten after a week; recent ones are kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.core.engine import Engine
from crm_core.clock import FrozenClock
from crm_core.models import OutboxMessage, ProcessedUpdate
from tests.conftest import OpenServices


async def test_the_scheduler_forgets_old_update_ids_and_delivered_messages(
        engine: Engine, open_services: OpenServices, clock: FrozenClock) -> None:
    async with open_services() as services:
        services.session.add_all([ProcessedUpdate(key="telegram:u:1", processed_at=clock.now() - timedelta(days=9)),
                                  ProcessedUpdate(key="telegram:u:2", processed_at=clock.now())])
        old = await services.outbox.add(channel="telegram", chat_id="1001", payload={"text": "cũ"}, origin=None)
        await services.outbox.sent(old, message_id="1")
    clock.advance(timedelta(days=8))
    async with open_services() as services:
        recent = await services.outbox.add(channel="telegram", chat_id="1001", payload={"text": "mới"}, origin=None)
        await services.outbox.sent(recent, message_id="2")

    await engine.claim_pushes(["telegram"])

    async with open_services() as services:
        keys = list(await services.session.scalars(select(ProcessedUpdate.key)))
        messages = list(await services.session.scalars(select(OutboxMessage.id)))
    assert keys == ["telegram:u:2"]
    assert messages == [recent]
