"""The optional LLM may only reword a next action's reason from its facts: a fake chat model at the LangChain
boundary that changes a number, a name or a date is overruled by the rules' text; a faithful rewording is
shown and says which prompt version wrote it (pure checks, then /next in chat on both backends)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.handlers.nba import item_json, rule_reason
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.nba.phrasing import REASON_PROMPT, facts_text, faithful, rephrase
from crm_core.nba.rank import rank
from crm_core.nba.rules import candidates
from crm_core.nba.schemas import NextItem
from crm_core.nba.settings import NbaSettings
from crm_core.ports import ChatModelPort
from crm_core.prompting import Prompt, PromptLibrary
from tests.bot.conftest import ChatDriver
from tests.bot.test_nba_chat import _deal
from tests.unit.test_nba_rules import deal, facts, stage

Rewrite = Callable[[str], str]


class RewordingModel(FakeListChatModel):
    """Answers with the prompt's own reason, put through `rewrite` (what a model might do to it)."""

    rewrite: Any = None
    seen: list[str] = []  # noqa: RUF012 - pydantic copies field defaults

    def _call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        prompt = str(messages[-1].content if isinstance(messages, list) else messages)
        self.seen.append(prompt)
        reason = re.search(r"^Reason: (.*)$", prompt, re.MULTILINE)
        assert reason is not None, "the prompt carries the rules' reason"
        return str(self.rewrite(reason.group(1)))


def model(rewrite: Rewrite) -> RewordingModel:
    return RewordingModel(responses=["-"], rewrite=rewrite)


def prompt() -> Prompt:
    return PromptLibrary(Settings().prompts_dir).get(REASON_PROMPT)


def late_close_item() -> NextItem:
    """A deal of 500,000,000 ₫ whose expected close date passed 3 days ago (the reason has an amount and a date)."""
    f = facts(deals=[deal(1, st=stage("negotiation", limit=None), close_in=-3, touched_days=1)])
    items = rank(candidates(f, NbaSettings()), f, NbaSettings())
    return next(i for i in items if i.rule == "close_date")


def faithful_rewording(reason: str) -> str:
    return f"Nên ưu tiên ngay: {reason}."


@pytest.mark.parametrize("language", ["vi", "en"])
async def test_a_faithful_rewording_is_kept_with_the_prompt_that_wrote_it(language: str) -> None:
    item = late_close_item()
    rule_text = rule_reason(item, Texts(language))

    phrased = await rephrase(item, rule_text, model=model(faithful_rewording), prompt=prompt(), language=language,
                             timeout_s=5)

    assert phrased.text == faithful_rewording(rule_text)
    assert phrased.prompt == f"{REASON_PROMPT}@{prompt().version}"


@pytest.mark.parametrize(("what", "rewrite"), [
    ("a number", lambda r: re.sub(r"\d+ (ngày|days?)", "9 ngày", r, count=1)),
    ("an amount", lambda r: r.replace("500.000.000", "800.000.000").replace("500,000,000", "800,000,000")),
    ("a date", lambda r: re.sub(r"\b(\d{1,2})/(\d{1,2})\b", lambda m: f"{int(m[1]) % 28 + 1}/{m[2]}", r)),
    ("a name", lambda r: f"Gọi anh Hùng bên Vinamilk ngay: {r}"),
])
async def test_a_rewording_that_changes_a_fact_is_dropped_for_the_rules_text(what: str, rewrite: Rewrite) -> None:
    item = late_close_item()
    rule_text = rule_reason(item, Texts("vi"))
    assert rewrite(rule_text) != rule_text, f"the fake model changes {what}"

    phrased = await rephrase(item, rule_text, model=model(rewrite), prompt=prompt(), language="vi", timeout_s=5)

    assert phrased.text == rule_text
    assert phrased.prompt is None


def test_names_dates_and_numbers_of_the_facts_may_be_written_in_any_order() -> None:
    item = late_close_item()
    reference = f"{rule_reason(item, Texts('vi'))}\n{facts_text(item)}"
    assert faithful(f"Person 1 ở Co 10 đang chờ; {rule_reason(item, Texts('vi'))}", reference)
    assert not faithful("Khách đang chờ chị Mai", reference)


async def test_the_prompt_file_declares_its_variables_and_a_sample() -> None:
    p = prompt()
    assert set(p.input_variables) == {"reason", "facts", "language"}
    assert p.render(**p.sample)


# --- /next in chat with an LLM configured (both backends) ---------------------------------------------------


def _with_model(engine: Engine, chat: RewordingModel) -> None:
    library = PromptLibrary(engine.settings.prompts_dir)
    engine.ports = replace(engine.ports, chat_model=ChatModelPort(model=chat, log_prompt=library.get("parse_log"),
                                                                  timeout_s=5))


async def test_next_in_chat_shows_a_faithful_rewording(
        engine: Engine, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _deal(sessionmaker, clock, owner="Lan", company="Hòa Phát")
    _with_model(engine, model(faithful_rewording))

    await lan.say("/next")

    assert "Nên ưu tiên ngay:" in lan.text
    assert "Hòa Phát" in lan.text


async def test_next_in_chat_keeps_the_rules_reason_when_the_model_changes_a_number(
        engine: Engine, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await _deal(sessionmaker, clock, owner="Lan", company="Hòa Phát")
    chat = model(lambda r: "Nên ưu tiên ngay: " + r.replace("12", "21"))
    _with_model(engine, chat)

    await lan.say("/next")

    assert chat.seen, "the model was asked"
    assert "Nên ưu tiên ngay:" not in lan.text
    assert "12 ngày" in lan.text


async def test_the_json_of_an_item_names_the_prompt_version_of_its_reason() -> None:
    item = late_close_item()
    reworded = item.model_copy(update={"reason": "x", "reason_prompt": "nba_reason@1"})
    assert item_json(reworded, Texts("vi"))["reason"] == "x"
    assert item_json(reworded, Texts("vi"))["reason_prompt"] == "nba_reason@1"
    assert item_json(item, Texts("vi"))["reason_prompt"] is None
