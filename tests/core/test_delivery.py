"""The delivery log: what a sent message stands for, so a reply to it is routed by the message it answers."""

from __future__ import annotations

from crm_core.services.delivery import ticket_of, ticket_ref
from tests.conftest import OpenServices


async def test_a_recorded_message_tells_what_it_stands_for(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.delivery.record(channel="telegram", chat_id="1001", message_id="42", ref=ticket_ref(12))

    async with open_services() as services:
        assert await services.delivery.ref_of("telegram", "1001", "42") == "ticket:12"


async def test_a_message_is_known_only_in_its_own_chat_and_channel(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.delivery.record(channel="telegram", chat_id="1001", message_id="42", ref=ticket_ref(12))

    async with open_services() as services:
        assert await services.delivery.ref_of("telegram", "1002", "42") is None
        assert await services.delivery.ref_of("console", "1001", "42") is None
        assert await services.delivery.ref_of("telegram", "1001", "43") is None


async def test_recording_a_message_again_keeps_its_latest_meaning(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.delivery.record(channel="telegram", chat_id="1001", message_id="42", ref=ticket_ref(12))
    async with open_services() as services:
        await services.delivery.record(channel="telegram", chat_id="1001", message_id="42", ref=ticket_ref(13))

    async with open_services() as services:
        assert await services.delivery.ref_of("telegram", "1001", "42") == "ticket:13"


def test_a_ticket_ref_reads_back_as_its_ticket_and_nothing_else_does() -> None:
    assert ticket_of(ticket_ref(12)) == 12
    assert [ticket_of(ref) for ref in (None, "lead:3", "ticket:", "ticket:x")] == [None, None, None, None]
