"""What an erasure took out is never shown as its raw marker: not in `next --json`, not to an LLM (issue 11 item 5).

The `ERASED` marker stands in no language for the customer's name, phone or e-mail taken out of a colleague's
deal or task title. A person reads it in their language (privacy.erased_inline), and so does the model that
rewords a next action's reason from its facts.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.handlers.nba import item_json
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.markers import ERASED
from crm_core.models import Company, Contact, Deal, Stage, User
from crm_core.nba.schemas import NextItem
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver
from tests.bot.test_nba_phrasing import _with_model, faithful_rewording, late_close_item, model

VI = Texts("vi")
NAME = "Nguyễn Thị Bích Ngọc"
CHAT_ID = "555001"
CONTRACT_KEYS = {"action", "reason", "rule", "score", "deal", "contact", "company", "due"}


def _erased_item() -> NextItem:
    """A suggestion about a colleague's deal and task whose titles named the erased customer."""
    item = late_close_item()
    return item.model_copy(update={"deal": f"Hòa Phát — 6 ghế cho chị {ERASED}",
                                   "facts": {**item.facts, "title": f"Gọi chị {ERASED} báo giá"}})


@pytest.mark.parametrize("language", ["vi", "en"])
def test_next_json_words_what_an_erasure_took_out_in_the_readers_language(language: str) -> None:
    t = Texts(language)

    shown = item_json(_erased_item(), t)

    assert ERASED not in json.dumps(shown, ensure_ascii=False)
    assert t("privacy.erased_inline") in str(shown["deal"])
    assert t("privacy.erased_inline") in str(shown["facts"]["title"])  # type: ignore[index]
    assert set(shown) >= CONTRACT_KEYS


async def _lans_deal_naming(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, name: str) -> None:
    """Lan's quote to Minh at Hòa Phát, 12 days without news, whose title names another customer."""
    now = clock.now()
    async with UnitOfWork(sessionmaker) as uow:
        s = uow.session
        lan = await s.scalar(select(User.id).where(User.name == "Lan"))
        quote = await s.scalar(select(Stage.id).where(Stage.key == "quote"))
        company = Company(name="Hòa Phát", name_folded="hoa phat", created_at=now)
        s.add(company)
        await s.flush()
        minh = Contact(name="Minh", name_folded="minh", company_id=company.id, owner_id=lan, created_at=now)
        s.add(minh)
        await s.flush()
        title = f"Hòa Phát — 6 ghế cho chị {name}"
        changed = now - timedelta(days=12)
        s.add(Deal(title=title, title_folded=title.lower(), company_id=company.id, contact_id=minh.id, owner_id=lan,
                   stage_id=quote, amount=Decimal(90_000_000), currency="VND", status="open", created_at=changed,
                   updated_at=changed, stage_changed_at=changed))


async def test_the_llm_rewording_a_reason_reads_what_an_erasure_took_out_in_words_never_the_marker(
        support_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    customer, lan, thao = (ChatDriver(support_engine, chat) for chat in (CHAT_ID, "1001", "3001"))
    await _lans_deal_naming(sessionmaker, clock, NAME)
    await customer.say("ghế AP-C300 giá bao nhiêu", display_name=NAME)
    await customer.say("/privacy", display_name=NAME)
    await customer.press(VI("privacy.btn_erase"))
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press(VI("privacy.btn_approve", request=1))
    await thao.press(VI("privacy.btn_erase_for_good", request=1))
    chat = model(faithful_rewording)
    _with_model(support_engine, chat)

    await lan.say("/next")

    asked = "\n".join(chat.seen)
    assert "Hòa Phát" in asked, "the model was asked about Lan's deal"
    assert ERASED not in asked
    assert VI("privacy.erased_inline") in asked
    assert ERASED not in lan.text
