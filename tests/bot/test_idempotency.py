"""Nothing twice, nothing wrongly merged: taps and saves handled by two bot processes at once.

"Two processes" are two engines over the same database, each with its own connection pool, as in
`test_scheduler.py`; their handlers run concurrently with asyncio.gather. On SQLite they serialise
through the write lock; on PostgreSQL they truly race.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.db import create_engine, create_sessionmaker
from crm_core.flows import logs as log_flow
from crm_core.models import Company, Contact, Deal, Interaction, LogDraft, Task
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

ZETA_LOG = "Gặp anh Khoa bên Zeta Corp, báo giá 300 triệu, thứ 6 gửi hợp đồng"
ZETA_CALL = "Gọi anh Khoa bên Zeta Corp, khách muốn thêm 50 bộ, thứ 2 gửi báo giá mới"
SAVED = "Đã lưu"
ALREADY_SAVED = "đã được lưu rồi"
UNEXPECTED = "lỗi ngoài ý muốn"


@pytest_asyncio.fixture
async def second_engine(migrated_url: str, clock: FrozenClock, engine: Engine) -> AsyncIterator[Engine]:
    """Another engine over the same database with its own connections, as in a second bot process."""
    db = create_engine(migrated_url)
    try:
        yield Engine(sessionmaker=create_sessionmaker(db), clock=clock, settings=Settings(), router=ROUTER,
                     render_reminder=reminder_reply)
    finally:
        await db.dispose()


async def _counts(open_services: OpenServices) -> dict[str, int]:
    models: dict[str, Any] = {"companies": Company, "contacts": Contact, "deals": Deal, "interactions": Interaction,
                              "tasks": Task}
    async with open_services() as services:
        return {name: int(await services.session.scalar(select(func.count()).select_from(model)) or 0)
                for name, model in models.items()}


def _save_button(chat: ChatDriver) -> str:
    return next(b.data for b in chat.buttons if b.data.startswith("log:v1:save:"))


# --- Save is a conditional state change ---------------------------------------------------------------------


async def test_save_tapped_twice_in_two_processes_saves_once(engine: Engine, second_engine: Engine,
                                                             open_services: OpenServices) -> None:
    here, there = ChatDriver(engine, "1001"), ChatDriver(second_engine, "1001")
    await here.say(ZETA_LOG)
    save = _save_button(here)

    first, second = await asyncio.gather(here.tap(save), there.tap(save))

    texts = sorted(" ".join(r.text for r in replies) for replies in (first, second))
    assert sum(SAVED in t for t in texts) == 1, texts
    assert sum(ALREADY_SAVED in t for t in texts) == 1, texts
    assert await _counts(open_services) == {"companies": 1, "contacts": 1, "deals": 1, "interactions": 1,
                                            "tasks": 1}


async def test_undo_tapped_twice_in_two_processes_undoes_once(engine: Engine, second_engine: Engine,
                                                              open_services: OpenServices) -> None:
    here, there = ChatDriver(engine, "1001"), ChatDriver(second_engine, "1001")
    await here.say(ZETA_LOG)
    await here.press("Lưu")
    undo = here.buttons[0].data

    first, second = await asyncio.gather(here.tap(undo), there.tap(undo))

    texts = sorted(" ".join(r.text for r in replies) for replies in (first, second))
    assert sum("Đã hoàn tác" in t for t in texts) == 1, texts
    assert sum("đã được hoàn tác" in t for t in texts) == 1, texts
    assert await _counts(open_services) == {"companies": 0, "contacts": 0, "deals": 0, "interactions": 0, "tasks": 0}


async def test_save_and_cancel_tapped_at_once_do_one_of_them(engine: Engine, second_engine: Engine,
                                                             open_services: OpenServices) -> None:
    here, there = ChatDriver(engine, "1001"), ChatDriver(second_engine, "1001")
    await here.say(ZETA_LOG)
    save, cancel = _save_button(here), next(b.data for b in here.buttons if b.data.startswith("log:v1:cancel:"))

    await asyncio.gather(here.tap(save), there.tap(cancel))

    async with open_services() as services:
        status = await services.session.scalar(select(LogDraft.status))
    counts = await _counts(open_services)
    assert (status, counts["interactions"]) in (("saved", 1), ("cancelled", 0))


# --- new companies and contacts converge ---------------------------------------------------------------------


async def test_two_salespeople_saving_the_same_new_company_at_once_make_one_company(
        engine: Engine, second_engine: Engine, open_services: OpenServices) -> None:
    lan, tuan = ChatDriver(engine, "1001"), ChatDriver(second_engine, "1002")
    await lan.say(ZETA_LOG)
    await tuan.say(ZETA_CALL)  # drafted before Lan saved: both previews say "new company"

    first, second = await asyncio.gather(lan.tap(_save_button(lan)), tuan.tap(_save_button(tuan)))

    assert all(SAVED in " ".join(r.text for r in replies) for replies in (first, second)), (first, second)
    async with open_services() as services:
        companies = list(await services.session.scalars(select(Company.name)))
        contacts = list(await services.session.scalars(select(Contact.name)))
        deal_companies = list(await services.session.scalars(select(Deal.company_id)))
        interaction_companies = set(await services.session.scalars(select(Interaction.company_id)))
    assert companies == ["Zeta Corp"]
    assert contacts == ["Khoa"]
    # Each preview showed "new deal" and Save does what the preview showed (issue 10): Tuấn may not change
    # Lan's deal anyway. Two deals, one company.
    assert len(deal_companies) == 2
    assert len(set(deal_companies)) == 1
    assert len(interaction_companies) == 1


async def test_one_salesperson_saving_two_drafts_about_a_new_company_makes_one_company(
        engine: Engine, second_engine: Engine, open_services: OpenServices) -> None:
    here, there = ChatDriver(engine, "1001"), ChatDriver(second_engine, "1001")
    await here.say(ZETA_LOG)
    first_save = _save_button(here)
    await here.say(ZETA_CALL)
    second_save = _save_button(here)

    await asyncio.gather(here.tap(first_save), there.tap(second_save))

    counts = await _counts(open_services)
    assert (counts["companies"], counts["contacts"], counts["interactions"]) == (1, 1, 2)


async def test_undoing_a_log_keeps_the_company_a_colleagues_log_converged_on(
        engine: Engine, second_engine: Engine, open_services: OpenServices) -> None:
    lan, tuan = ChatDriver(engine, "1001"), ChatDriver(second_engine, "1002")
    await lan.say(ZETA_LOG)
    await tuan.say("Gọi anh Khoa bên Zeta Corp, hẹn gặp tuần sau")
    await lan.press("Lưu")
    async with open_services() as services:
        lans_company = await services.session.scalar(select(Company.id))
    await tuan.press("Lưu")  # no amount or stage: Tuấn's log converges on Lan's new company and contact

    await lan.press("Hoàn tác")

    assert UNEXPECTED not in lan.text
    assert "Đã hoàn tác" in lan.text
    assert "Zeta Corp" in lan.text  # what stayed, and why
    assert "Khoa" in lan.text
    async with open_services() as services:
        companies = list(await services.session.execute(select(Company.id, Company.name)))
        contacts = list(await services.session.scalars(select(Contact.name)))
        interactions = list(await services.session.execute(select(Interaction.owner_id, Interaction.company_id)))
    assert [tuple(c) for c in companies] == [(lans_company, "Zeta Corp")]
    assert contacts == ["Khoa"]
    assert len(interactions) == 1  # Tuấn's only, on the company Lan's log created
    assert interactions[0].company_id == lans_company


# --- undo of a log whose new deal a colleague has since logged against ----------------------------------------


async def test_undoing_a_log_whose_new_deal_a_colleague_logged_against_keeps_the_deal(
        engine: Engine, second_engine: Engine, open_services: OpenServices) -> None:
    lan, tuan = ChatDriver(engine, "1001"), ChatDriver(second_engine, "1002")
    await lan.say(ZETA_LOG)
    await lan.press("Lưu")
    await tuan.say(ZETA_CALL)  # Zeta Corp exists now: Tuấn's log updates the deal Lan's log opened
    await tuan.press("Lưu")

    await lan.press("Hoàn tác")

    assert UNEXPECTED not in lan.text
    assert "Đã hoàn tác" in lan.text
    assert "Zeta Corp" in lan.text  # says which deal stays, and why
    async with open_services() as services:
        deals = list(await services.session.scalars(select(Deal.title)))
        interactions = list(await services.session.scalars(select(Interaction.summary)))
        tasks = list(await services.session.scalars(select(Task.title)))
        draft_status = await services.session.scalar(select(LogDraft.status).order_by(LogDraft.id).limit(1))
    assert len(deals) == 1
    assert interactions == [ZETA_CALL]
    assert len(tasks) == 1  # Tuấn's follow-up; Lan's is gone
    assert draft_status == "undone"


# --- the failed-draft keep is one row per update -------------------------------------------------------------


async def test_a_failing_update_delivered_twice_keeps_one_failed_draft(engine: Engine, open_services: OpenServices,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_parser(*args: object, **kwargs: object) -> None:
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(log_flow, "parse_log", broken_parser)
    lan = ChatDriver(engine, "1001")

    await lan.say(ZETA_LOG, update_id=777)
    await lan.say(ZETA_LOG, update_id=777)

    async with open_services() as services:
        kept = list(await services.session.scalars(select(LogDraft.status)))
    assert kept == ["failed"]


async def test_two_different_failing_updates_keep_two_failed_drafts(engine: Engine, open_services: OpenServices,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_parser(*args: object, **kwargs: object) -> None:
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(log_flow, "parse_log", broken_parser)
    lan = ChatDriver(engine, "1001")

    await lan.say(ZETA_LOG, update_id=778)
    await lan.say(ZETA_LOG, update_id=779)

    async with open_services() as services:
        kept = list(await services.session.scalars(select(LogDraft.status)))
    assert kept == ["failed", "failed"]


async def test_a_message_that_failed_once_then_is_understood_stays_one_draft(
        engine: Engine, open_services: OpenServices, monkeypatch: pytest.MonkeyPatch) -> None:
    real_parser = log_flow.parse_log
    calls = 0

    def parser_failing_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("parser exploded")
        return real_parser(*args, **kwargs)

    monkeypatch.setattr(log_flow, "parse_log", parser_failing_once)
    lan = ChatDriver(engine, "1001")

    await lan.say(ZETA_LOG, update_id=780)
    await lan.say(ZETA_LOG, update_id=780)  # Telegram delivers the update again

    async with open_services() as services:
        kept = list(await services.session.scalars(select(LogDraft.status)))
    assert kept == ["draft"]
