"""The optional LLM path fills only what the rules left empty, and falls back to the rules on any trouble."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm_core.assets import PROMPTS_DIR
from crm_core.llm import LlmLogFields, fill_missing_with_llm
from crm_core.prompting import PromptLibrary
from crm_core.understanding import ParsedLog, parse_log
from tests.support.fake_llm import StructuredFakeChatModel

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(hours=7)))


def _rules(text: str) -> ParsedLog:
    return parse_log(text, now=NOW)


def _prompt() -> Any:
    return PromptLibrary(PROMPTS_DIR).get("parse_log")


async def test_llm_fills_only_the_fields_the_rules_left_empty() -> None:
    parsed = _rules("gặp a Minh bên Hòa Phát, báo giá khoảng năm trăm mấy chục củ")
    model = StructuredFakeChatModel(
        answer=lambda _: LlmLogFields(
            contact="Someone Else", company="Other Co", amount=550_000_000.0, currency="VND", due=date(2026, 11, 30)
        ),
    )
    filled = await fill_missing_with_llm(parsed, model=model, prompt=_prompt(), timeout_s=2)
    assert (filled.contact, filled.company) == ("Minh", "Hòa Phát")
    assert filled.amount == Decimal(550_000_000)
    assert filled.due == date(2026, 11, 30)


async def test_llm_filled_fields_get_a_lower_confidence() -> None:
    parsed = _rules("gặp a Minh")
    model = StructuredFakeChatModel(answer=lambda _: {"company": "Hòa Phát"})
    filled = await fill_missing_with_llm(parsed, model=model, prompt=_prompt(), timeout_s=2)
    assert filled.company == "Hòa Phát"
    assert filled.confidence["company"] < filled.confidence["contact"]


async def test_the_prompt_names_only_the_missing_fields() -> None:
    parsed = _rules("gặp a Minh bên Hòa Phát")
    model = StructuredFakeChatModel(answer=lambda _: {})
    await fill_missing_with_llm(parsed, model=model, prompt=_prompt(), timeout_s=2)
    missing_line = next(line for line in model.prompts[0].splitlines() if line.startswith("Fill ONLY"))
    assert "amount" in missing_line
    assert "contact" not in missing_line


async def test_llm_error_returns_the_rules_result_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    parsed = _rules("gặp a Minh")

    def boom(_: str) -> Any:
        raise RuntimeError("provider down")

    filled = await fill_missing_with_llm(
        parsed, model=StructuredFakeChatModel(answer=boom), prompt=_prompt(), timeout_s=2
    )
    assert filled == parsed
    assert "keeping the rules' result" in caplog.text


async def test_llm_timeout_returns_the_rules_result_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    parsed = _rules("gặp a Minh")
    slow = StructuredFakeChatModel(answer=lambda _: {"company": "Late Co"}, delay_s=5)
    filled = await fill_missing_with_llm(parsed, model=slow, prompt=_prompt(), timeout_s=0.05)
    assert filled == parsed
    assert "timed out" in caplog.text


async def test_malformed_structured_output_returns_the_rules_result() -> None:
    parsed = _rules("gặp a Minh")
    model = StructuredFakeChatModel(answer=lambda _: {"amount": "lots", "due": "someday"})
    assert await fill_missing_with_llm(parsed, model=model, prompt=_prompt(), timeout_s=2) == parsed


async def test_a_plain_string_prompt_is_accepted() -> None:
    parsed = _rules("gặp a Minh")
    model = StructuredFakeChatModel(answer=lambda _: {"company": "Hòa Phát"})
    filled = await fill_missing_with_llm(parsed, model=model, prompt="Note: {text}. Fill {missing}.", timeout_s=2)
    assert filled.company == "Hòa Phát"


def test_prompt_library_reads_front_matter() -> None:
    prompt = PromptLibrary(PROMPTS_DIR).get("parse_log")
    assert (prompt.name, prompt.version, prompt.ref) == ("parse_log", 1, "parse_log@1")
    assert set(prompt.input_variables) == {"text", "language", "now", "missing", "known"}
    assert "gặp a Minh" in prompt.render(**prompt.sample)


def test_prompt_library_lists_prompts(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nid: a\nversion: 2\ndescription: d\ninput_variables: [x]\n---\nHi {x}\n")
    (tmp_path / "broken.md").write_text("no front matter")
    prompts: Sequence[Any] = PromptLibrary(tmp_path).list()
    assert [(p.name, p.version) for p in prompts] == [("a", 2)]
    assert prompts[0].render(x="Lan") == "Hi Lan\n"
