"""Engine bookkeeping: processed-update keys and dialog state per person and chat."""

from __future__ import annotations

from tests.conftest import OpenServices


async def test_marking_a_new_key_returns_true(open_services: OpenServices) -> None:
    async with open_services() as services:
        assert await services.dedupe.mark("tg:update:1") is True


async def test_marking_the_same_key_twice_returns_false_the_second_time(open_services: OpenServices) -> None:
    async with open_services() as services:
        first = await services.dedupe.mark("tg:update:1")
    async with open_services() as services:
        second = await services.dedupe.mark("tg:update:1")

    assert (first, second) == (True, False)


async def test_marking_the_same_key_twice_in_one_unit_of_work_keeps_the_work(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Lan", role="sales")
        assert await services.dedupe.mark("tg:update:1") is True
        assert await services.dedupe.mark("tg:update:1") is False
        await services.users.add(name="Minh", role="sales")

    async with open_services() as services:
        assert [u.name for u in await services.users.list()] == ["Lan", "Minh"]
        assert await services.dedupe.seen("tg:update:1")


async def test_a_key_marked_in_a_rolled_back_unit_of_work_is_not_remembered(open_services: OpenServices) -> None:
    try:
        async with open_services() as services:
            await services.dedupe.mark("tg:update:1")
            raise RuntimeError("handler failed")
    except RuntimeError:
        pass

    async with open_services() as services:
        assert not await services.dedupe.seen("tg:update:1")


async def test_dialog_state_is_kept_per_person_and_chat_until_cleared(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.state.set("telegram", "42", "42", "log_edit", {"draft_id": 7, "field": "amount"})

    async with open_services() as services:
        kept = await services.state.get("telegram", "42", "42")
        other_chat = await services.state.get("telegram", "43", "42")
        other_channel = await services.state.get("console", "42", "42")

    assert kept == ("log_edit", {"draft_id": 7, "field": "amount"})
    assert (other_chat, other_channel) == (None, None)


async def test_two_people_in_one_group_chat_have_their_own_dialogs(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.state.set("telegram", "-100", "1001", "log_edit", {"draft": 7, "field": "company"})

    async with open_services() as services:
        colleague = await services.state.get("telegram", "-100", "1002")
        await services.state.set("telegram", "-100", "1002", "log_edit", {"draft": 8, "field": "amount"})
        await services.state.clear("telegram", "-100", "1002")
        author = await services.state.get("telegram", "-100", "1001")

    assert colleague is None
    assert author == ("log_edit", {"draft": 7, "field": "company"})


async def test_setting_dialog_state_again_replaces_it(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.state.set("telegram", "42", "42", "log_edit", {"draft_id": 7})
    async with open_services() as services:
        await services.state.set("telegram", "42", "42", "search", {"page": 2})

    async with open_services() as services:
        assert await services.state.get("telegram", "42", "42") == ("search", {"page": 2})


async def test_cleared_dialog_state_is_gone(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.state.set("telegram", "42", "42", "log_edit", {"draft_id": 7})
    async with open_services() as services:
        await services.state.clear("telegram", "42", "42")

    async with open_services() as services:
        assert await services.state.get("telegram", "42", "42") is None
