"""Turn retrieved sections into the reply: extractive by default, grounded LLM answer when one is configured."""

from __future__ import annotations

import concurrent.futures
import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from crm_core.retrieval.chunking import sentences
from crm_core.retrieval.loaders import Unit
from crm_core.retrieval.models import Answer, HandoffReason, Source
from crm_core.retrieval.normalize import (
    Language,
    Query,
    has_vietnamese_marks,
    load_json,
)
from crm_core.textnorm import fold_tokens

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 700
NO_ANSWER = "NO_ANSWER"
PROMPT_PATH = Path(__file__).resolve().parents[2] / "prompts" / "faq_answer.md"
_FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", re.DOTALL)


@cache
def _messages() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = load_json("messages.json")
    return data


def message(key: str, language: Language) -> str:
    """Return one fixed reply text in `language`."""
    return _messages()[language][key]


@dataclass(frozen=True)
class PromptFile:
    """A prompt template with its front matter."""

    id: str
    version: str
    template: str
    input_variables: tuple[str, ...]


def load_prompt(path: Path = PROMPT_PATH) -> PromptFile:
    """Read a prompt file (YAML front matter + template body)."""
    match = _FRONT_MATTER_RE.match(path.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f"{path}: no front matter")
    meta = yaml.safe_load(match.group(1)) or {}
    return PromptFile(
        id=str(meta["id"]),
        version=str(meta["version"]),
        template=match.group(2).strip(),
        input_variables=tuple(meta.get("input_variables", ())),
    )


def extract(unit: Unit, question: str, window: tuple[int, int] | None, limit: int = MAX_ANSWER_CHARS) -> str:
    """Return the part of a section that answers the question: the whole of a short one, else its best sentences."""
    text = unit.text.strip() or unit.section
    if len(text) <= limit:
        return text
    sents = sentences(text)
    if not sents:
        return text[:limit].rstrip() + "…"
    if window is None or window[0] >= len(sents):
        window = _best_lexical_window(sents, question)
    start, end = window
    chosen = sents[start:end]
    # Grow the excerpt with the following sentences while it stays short: answers often continue.
    while end < len(sents) and len(" ".join([*chosen, sents[end]])) <= limit * 0.6:
        chosen.append(sents[end])
        end += 1
    out = " ".join(chosen)
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def _best_lexical_window(sents: list[str], question: str) -> tuple[int, int]:
    wanted = set(fold_tokens(question))
    scores = [len(wanted & set(fold_tokens(s))) for s in sents]
    best = max(range(len(sents)), key=lambda i: (scores[i] + (scores[i + 1] if i + 1 < len(sents) else 0), -i))
    return best, min(best + 2, len(sents))


class Answerer:
    """Phrase answers; the text only ever holds knowledge-base content or a fixed hand-off line."""

    def __init__(self, *, llm: BaseChatModel | None, timeout_s: float) -> None:
        self._llm = llm
        self._timeout_s = timeout_s
        self._prompt: PromptFile | None = None

    def decline(self, reason: HandoffReason, language: Language, sources: list[Source], confidence: float) -> Answer:
        """Return a hand-off answer."""
        return Answer(
            answer=message(reason, language),
            sources=sources,
            confidence=confidence,
            handoff=True,
            reason=reason,
            language=language,
        )

    def answer(
        self, query: Query, units: list[Unit], window: tuple[int, int] | None, sources: list[Source], confidence: float
    ) -> Answer:
        """Answer from the best sections (LLM when configured, else extractive)."""
        top = units[0]
        if self._llm is not None:
            text = self._llm_answer(query, units)
            if text == NO_ANSWER:
                return self.decline("low_confidence", query.language, sources, confidence)
            if text:
                return Answer(
                    answer=text,
                    sources=sources,
                    confidence=confidence,
                    handoff=False,
                    language=query.language,
                    prompt_version=self._prompt_version(),
                )
        body = extract(top, query.normalized, window)
        source_is_vi = has_vietnamese_marks(f"{top.title} {top.text}")
        key = "source" if source_is_vi == (query.language == "vi") else "source_other_language"
        text = f"{body}\n\n{message(key, query.language).format(title=top.title)}"
        return Answer(answer=text, sources=sources, confidence=confidence, handoff=False, language=query.language)

    def _prompt_version(self) -> str | None:
        return f"{self._prompt.id}@{self._prompt.version}" if self._prompt else None

    def _llm_answer(self, query: Query, units: list[Unit]) -> str | None:
        try:
            if self._prompt is None:
                self._prompt = load_prompt()
            from langchain_core.prompts import PromptTemplate

            context = "\n\n".join(f"[{i}] {u.title}\n{u.text}" for i, u in enumerate(units, start=1))
            prompt = PromptTemplate.from_template(self._prompt.template).format(
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
        except Exception:  # any LLM failure or timeout falls back to the extractive answer
            log.warning("LLM answer failed; falling back to extractive", exc_info=True)
            return None
        if NO_ANSWER in text:
            return NO_ANSWER
        return text[: MAX_ANSWER_CHARS * 2] or None
