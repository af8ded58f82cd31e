"""Turn retrieved sections into an answer's body: extractive by default, grounded LLM answer when one is configured.

Only knowledge goes into an `Answer`; the bot phrases it for the customer (`bot/texts/answers.py`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from crm_core.assets import PROMPTS_DIR
from crm_core.prompting import Prompt, PromptLibrary
from crm_core.retrieval.loaders import Unit
from crm_core.retrieval.models import Answer, HandoffReason, Source
from crm_core.retrieval.normalize import Language, Query, load_json
from crm_core.retrieval.reading import Excerpt, excerpt
from crm_core.retrieval.signals import QuestionSignals, unit_language
from crm_core.textnorm import nfc

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 700
# The other part of a two-part question is the shorter: the first part answers what the question is mostly about.
MAX_OTHER_PART_CHARS = 500
NO_ANSWER = "NO_ANSWER"
ANSWER_PROMPT = "faq_answer"


def extract(unit: Unit, query: Query, window: tuple[int, int] | None, limit: int = MAX_ANSWER_CHARS) -> Excerpt:
    """Return the readable part of a section that answers the question: its lines and lists kept, tables as
    "label: value" lines, the answering line first (the price line for a price question, the row holding the
    question's number), cut at a sentence when longer than `limit`."""
    text = unit.text.strip() or unit.section
    found = excerpt(text, unit.title, QuestionSignals.of(query), limit, window)
    if found.text and _negates(unit.section):
        # "- Hàng thanh lý, hàng trưng bày…" under "Sản phẩm không áp dụng đổi trả" means the opposite read alone.
        return Excerpt(text=f"{unit.section}:\n{found.text}", truncated=found.truncated)
    return found


@cache
def _negating_words() -> re.Pattern[str]:
    words = sorted({nfc(w).lower() for w in load_json("intents.json")["negating_headings"]}, key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(w) for w in words)})(?!\w)")


def _negates(heading: str) -> bool:
    """Tell whether a section's heading says its items are excluded (see intents.json, negating_headings)."""
    return not heading.rstrip().endswith("?") and _negating_words().search(nfc(heading).lower()) is not None


class Answerer:
    """Build answers whose body only ever holds knowledge-base content (or nothing, on a hand-off)."""

    def __init__(self, *, llm: BaseChatModel | None, timeout_s: float, prompts: PromptLibrary | None = None) -> None:
        self._llm = llm
        self._timeout_s = timeout_s
        self._prompts = prompts or PromptLibrary(PROMPTS_DIR)

    def decline(self, reason: HandoffReason, language: Language, sources: list[Source], confidence: float) -> Answer:
        """Return a hand-off answer: no body, the reason why."""
        return Answer(sources=sources, confidence=confidence, handoff=True, reason=reason, language=language)

    def answer(
        self,
        query: Query,
        units: list[Unit],
        window: tuple[int, int] | None,
        sources: list[Source],
        confidence: float,
        *,
        also: Unit | None = None,
    ) -> Answer:
        """Answer from the best sections (LLM when configured, else extractive); `also` answers the question's other
        part (see `KnowledgeBase.other_part`)."""
        if self._llm is not None:
            context = units if also is None or also in units else [*units, also]
            text, prompt = self._llm_answer(query, context)
            if text == NO_ANSWER:
                return self.decline("low_confidence", query.language, sources, confidence)
            if text and prompt is not None:
                return self._generated(text, prompt, query, sources, confidence)
        top = units[0]
        found = extract(top, query, window)
        body, truncated, other = found.text, found.truncated, None
        if also is not None:
            second = extract(also, query, None, MAX_OTHER_PART_CHARS)
            body = f"{body}\n\n{also.section}:\n{second.text}"
            truncated = truncated or second.truncated
            other = Source(doc=also.doc, section=also.section, title=also.title, score=0.0)
        return Answer(
            body=body,
            truncated=truncated,
            body_language=unit_language(top),
            sources=sources,
            confidence=confidence,
            handoff=False,
            language=query.language,
            also=other,
        )

    def _generated(self, text: str, prompt: Prompt, query: Query, sources: list[Source], confidence: float) -> Answer:
        # The LLM answers in the customer's language, translating the section if need be.
        return Answer(
            body=text,
            body_language=query.language,
            sources=sources,
            confidence=confidence,
            handoff=False,
            language=query.language,
            prompt=prompt.ref,
        )

    def _llm_answer(self, query: Query, units: list[Unit]) -> tuple[str | None, Prompt | None]:
        """Return the LLM's text and the prompt version that asked for it (read at each answer: an admin's new
        version is in force for the next question)."""
        template: Prompt | None = None
        try:
            template = self._prompts.get(ANSWER_PROMPT)
            context = "\n\n".join(f"[{i}] {u.title}\n{u.text}" for i, u in enumerate(units, start=1))
            prompt = template.render(
                question=query.raw, context=context, language="Vietnamese" if query.language == "vi" else "English"
            )
            llm = self._llm
            assert llm is not None
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
            try:
                result: Any = pool.submit(llm.invoke, prompt).result(timeout=self._timeout_s)
            finally:
                pool.shutdown(wait=False, cancel_futures=True)  # never wait for a hung provider
            text = str(getattr(result, "content", result)).strip()
        except Exception:  # a missing prompt, any LLM failure or timeout falls back to the extractive answer
            log.warning("LLM answer failed; falling back to extractive", exc_info=True)
            return None, None
        if NO_ANSWER in text:
            return NO_ANSWER, template
        return text[: MAX_ANSWER_CHARS * 2] or None, template
