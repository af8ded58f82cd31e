"""An LLM answer is written with the prompt version in force at the time of the question and records it: an
admin's saved version takes effect for the next question without reopening the knowledge base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from crm_core.assets import PROMPTS_DIR
from crm_core.prompting import PromptLibrary
from crm_core.retrieval import KnowledgeBase
from tests.core.retrieval.conftest import NOW

OWN = "Version two. Answer in {language} from:\n{context}\nQuestion: {question}\nAnswer:"


class _RecordingModel(FakeListChatModel):
    seen: list[str] = []  # noqa: RUF012 - a fake's record of prompts, reset per test below

    def _call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.seen.append(str(messages[-1].content if isinstance(messages, list) else messages))
        return super()._call(messages, *args, **kwargs)


def test_the_next_answer_uses_and_records_the_version_put_in_force(tmp_path: Path, knowledge: Path) -> None:
    library = PromptLibrary(PROMPTS_DIR)
    model = _RecordingModel(responses=["Phí giao hàng là 30.000 đồng [1]."])
    model.seen = []
    kb = KnowledgeBase(home=tmp_path / "home", llm=model, prompts=library)
    kb.ingest([knowledge], now=NOW)

    first = kb.ask("Phí giao hàng bao nhiêu?")
    library.active.put("faq_answer", 2, OWN)
    second = kb.ask("Phí giao hàng bao nhiêu?")
    library.active.replace_all({})
    third = kb.ask("Phí giao hàng bao nhiêu?")

    assert (first.prompt, second.prompt, third.prompt) == ("faq_answer@1", "faq_answer@2", "faq_answer@1")
    assert "Version two." in model.seen[1]
    assert "Version two." not in model.seen[2]
