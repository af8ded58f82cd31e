"""With an LLM configured, answers are grounded in the sections; any LLM failure falls back to extractive."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from crm_core.assets import PROMPTS_DIR
from crm_core.prompting import PromptLibrary
from crm_core.retrieval import KnowledgeBase
from tests.core.retrieval.conftest import NOW


class _RecordingModel(FakeListChatModel):
    seen: ClassVar[list[str]] = []

    def _call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.seen.append(str(messages))
        return super()._call(messages, *args, **kwargs)


class _BrokenModel(FakeListChatModel):
    def _call(self, *args: Any, **kwargs: Any) -> str:
        raise ConnectionError("provider down")


class _SlowModel(FakeListChatModel):
    def _call(self, *args: Any, **kwargs: Any) -> str:
        time.sleep(3)
        return "too late"


def _kb(tmp_path: Path, knowledge: Path, llm: Any, timeout: float = 5.0) -> KnowledgeBase:
    kb = KnowledgeBase(home=tmp_path / "home", llm=llm, llm_timeout_s=timeout)
    kb.ingest([knowledge], now=NOW)
    return kb


def test_llm_answer_is_used_and_gets_the_retrieved_sections(tmp_path: Path, knowledge: Path) -> None:
    model = _RecordingModel(responses=["Phí giao hàng là 30.000 đồng cho đơn dưới 500.000 đồng [1]."])
    answer = _kb(tmp_path, knowledge, model).ask("Phí giao hàng bao nhiêu?")
    assert (answer.body or "").startswith("Phí giao hàng là 30.000 đồng")
    assert "Miễn phí giao hàng cho đơn từ 500.000 đồng" in model.seen[-1]
    assert answer.prompt == "faq_answer@1"


def test_llm_answer_uses_the_prompt_from_the_given_library(tmp_path: Path, knowledge: Path) -> None:
    own = tmp_path / "prompts"
    own.mkdir()
    text = (PROMPTS_DIR / "faq_answer.md").read_text(encoding="utf-8").replace("version: 1", "version: 7")
    (own / "faq_answer.md").write_text(text.replace("Answer:", "Own template. Answer:"), encoding="utf-8")
    model = _RecordingModel(responses=["Phí giao hàng là 30.000 đồng [1]."])
    kb = KnowledgeBase(home=tmp_path / "home", llm=model, prompts=PromptLibrary(own))
    kb.ingest([knowledge], now=NOW)
    answer = kb.ask("Phí giao hàng bao nhiêu?")
    assert answer.prompt == "faq_answer@7"
    assert "Own template." in model.seen[-1]


def test_llm_saying_not_in_sources_hands_off(tmp_path: Path, knowledge: Path) -> None:
    answer = _kb(tmp_path, knowledge, FakeListChatModel(responses=["NO_ANSWER"])).ask("Phí giao hàng bao nhiêu?")
    assert (answer.handoff, answer.reason) == (True, "low_confidence")


def test_llm_error_falls_back_to_extractive(tmp_path: Path, knowledge: Path) -> None:
    answer = _kb(tmp_path, knowledge, _BrokenModel(responses=["x"])).ask("Phí giao hàng bao nhiêu?")
    assert not answer.handoff
    assert "30.000 đồng" in (answer.body or "")
    assert answer.prompt is None


def test_llm_timeout_falls_back_to_extractive(tmp_path: Path, knowledge: Path) -> None:
    answer = _kb(tmp_path, knowledge, _SlowModel(responses=["x"]), timeout=0.2).ask("Phí giao hàng bao nhiêu?")
    assert "30.000 đồng" in (answer.body or "")


def test_prompt_file_declares_its_variables() -> None:
    prompt = PromptLibrary(PROMPTS_DIR).get("faq_answer")
    assert prompt.name == "faq_answer"
    assert set(prompt.input_variables) == {"question", "context", "language"}
    assert all("{" + name + "}" in prompt.template for name in prompt.input_variables)
