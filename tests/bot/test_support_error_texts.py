"""Refusals in customer support are said precisely in the reader's language, from the error's reason (issue 11).

Each refusal names its reason and details, so the engine picks `errors.<code>_<reason>` (never the
English message, never the generic "could not do that").
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.callbacks import pack
from bot.core.engine import Engine, _error_text
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.errors import CrmError, InvalidInput
from crm_core.models import Company
from crm_core.schemas import DraftFields
from crm_core.services import Services
from crm_core.services.leads import normalize_phone
from crm_core.textnorm import fold
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

VI = Texts("vi")


@pytest_asyncio.fixture
async def customer(support_engine: Engine) -> ChatDriver:
    return ChatDriver(support_engine, "556001")


@pytest_asyncio.fixture
async def lan(support_engine: Engine) -> ChatDriver:
    return ChatDriver(support_engine, "1001")


async def test_answering_or_closing_a_closed_ticket_says_that_ticket_is_closed(
        customer: ChatDriver, lan: ChatDriver) -> None:
    await customer.say("gặp nhân viên")
    await lan.say("/close 1")

    await lan.say("/reply 1 còn đó không ạ")
    assert lan.text == VI("errors.conflict_ticket_closed", ticket=1)
    await lan.say("/close 1")
    assert lan.text == VI("errors.conflict_ticket_closed", ticket=1)


async def test_rating_a_ticket_still_open_or_out_of_range_says_why(customer: ChatDriver, lan: ChatDriver) -> None:
    await customer.say("gặp nhân viên")

    await customer.tap(pack("csat", "rate", 1, 5))
    assert customer.text == VI("errors.conflict_ticket_open", ticket=1)
    await lan.say("/close 1")
    await customer.tap(pack("csat", "rate", 1, 9))
    assert customer.text == VI("errors.invalid_input_rating")


async def _refusal(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, work: object) -> CrmError:
    with pytest.raises(CrmError) as refused:
        async with UnitOfWork(sessionmaker) as uow:
            await work(Services.build(uow.session, now=clock.now()))  # type: ignore[operator]
    return refused.value


async def test_an_empty_staff_reply_is_said_to_be_empty(
        support_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
        customer: ChatDriver) -> None:
    await customer.say("gặp nhân viên")  # a chat strips an empty message before it reaches a handler
    async with UnitOfWork(sessionmaker) as uow:
        lan = await Services.build(uow.session, now=clock.now()).users.by_name("Lan")
    assert lan is not None

    error = await _refusal(sessionmaker, clock, lambda services: services.support.staff_reply(1, lan, " \n "))

    assert _error_text(error, VI) == VI("errors.invalid_input_empty_reply")


def test_what_is_not_a_phone_number_is_said_to_be_none() -> None:
    with pytest.raises(InvalidInput) as refused:
        normalize_phone("12-34")
    assert _error_text(refused.value, VI) == VI("errors.invalid_input_not_a_phone")


async def test_saving_a_log_onto_a_company_renamed_since_the_preview_names_it(
        support_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        lan = await services.users.by_name("Lan")
        assert lan is not None
        company = await services.directory.create_company("Hòa Phát", owner_id=lan.id)
        fields = DraftFields.model_validate({"kind": "call", "company_choice": {"id": company.id, "name": "Hòa Phát"}})
        draft = await services.logs.draft(owner=lan, raw_text="Gọi Hòa Phát", fields=fields)
    async with UnitOfWork(sessionmaker) as uow:  # a colleague renames it meanwhile
        await uow.session.execute(update(Company).where(Company.id == company.id)
                                  .values(name="Hòa Phát Group", name_folded=fold("Hòa Phát Group")))

    error = await _refusal(sessionmaker, clock, lambda services: services.logs.save(
        draft, lan, default_task_title="follow up"))

    assert _error_text(error, VI) == VI("errors.conflict_changed", name="Hòa Phát")
