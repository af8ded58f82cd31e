"""The optional LLM rewords a suggestion's reason from its facts; the rules' text stands unless it is faithful.

Faithful means nothing the salesperson acts on changed: every number (separators ignored, so 2.000.000 and
2,000,000 are one number), every date (27/11, 2026-11-27) and every name in the new wording is written in the
rules' reason or the facts. A name is a capitalised word that does not open a sentence ("Gọi anh Minh" has one;
its first word is an ordinary word): names are the one thing a model invents that no pattern tells from prose.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crm_core.nba.schemas import NextItem
from crm_core.reports.highlights import numbers_in
from crm_core.textnorm import fold

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from crm_core.prompting import Prompt

log = logging.getLogger(__name__)

REASON_PROMPT = "nba_reason"
MAX_CHARS = 300
_LANGUAGE_NAMES = {"vi": "Vietnamese", "en": "English"}
_DATE_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b")
_SENTENCE_RE = re.compile(r"[.!?;:\n—–()\"“”]+")
_WORD_RE = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Phrased:
    """A reason as shown: the model's wording with the prompt that wrote it, or the rules' text (prompt None)."""

    text: str
    prompt: str | None = None


def _as_written(text: str) -> str:
    return text


def facts_text(item: NextItem, words: Callable[[str], str] = _as_written) -> str:
    """Write what the reason rests on as plain lines: the only numbers, dates and names a rewording may use.

    `words` gives a stored text as the reader reads it: what an erasure took out of a deal or task title (the
    `ERASED` marker, in no language) reaches the model in the reader's words, as it reaches the reader.
    """
    lines = [f"rule: {item.rule}"]
    for label, value in (("deal", item.deal), ("contact", item.contact), ("company", item.company),
                         ("due", item.due.isoformat() if item.due else None)):
        if value:
            lines.append(f"{label}: {words(value)}")
    lines += [f"{key}: {words(value) if isinstance(value, str) else value}"
              for key, value in sorted(item.facts.items()) if value is not None and value != ""]
    return "\n".join(lines)


def dates_in(text: str) -> set[str]:
    """Return the dates written in `text` as written (27/11, 2026-11-27)."""
    return set(_DATE_RE.findall(text))


def names_in(text: str) -> set[str]:
    """Return the capitalised words of `text` that do not open a sentence, folded ("Hòa" -> "hoa")."""
    names: set[str] = set()
    for sentence in _SENTENCE_RE.split(_DATE_RE.sub(" ", text)):
        words = _WORD_RE.findall(sentence)
        names |= {fold(word) for word in words[1:] if word[0].isupper()}
    return names


def faithful(wording: str, reference: str) -> bool:
    """Tell whether every number, date and name in `wording` is written in `reference`."""
    known_words = set(_WORD_RE.findall(fold(reference)))
    return (numbers_in(wording) <= numbers_in(reference) and dates_in(wording) <= dates_in(reference)
            and names_in(wording) <= known_words)


async def rephrase(item: NextItem, rule_text: str, *, model: BaseChatModel, prompt: Prompt, language: str,
                   timeout_s: float, words: Callable[[str], str] = _as_written) -> Phrased:
    """Ask the model to reword `rule_text`; keep its wording only when faithful to the reason and the facts
    (`words`: a stored text as read in `language`, `facts_text`)."""
    facts = facts_text(item, words)
    try:
        message = prompt.render(reason=rule_text, facts=facts, language=_LANGUAGE_NAMES.get(language, "Vietnamese"))
        reply = await asyncio.wait_for(model.ainvoke(message), timeout=timeout_s)
    except Exception as error:  # the rules' reason stands on its own
        log.warning("LLM reason for %s failed (%s); the rule's text is used", item.rule, type(error).__name__)
        return Phrased(rule_text)
    wording = " ".join(str(getattr(reply, "content", reply)).split()).strip("\"“” ")
    if not wording or len(wording) > MAX_CHARS or not faithful(wording, f"{rule_text}\n{facts}"):
        log.warning("LLM reason for %s dropped: empty, too long, or a number, date or name not in its facts",
                    item.rule)
        return Phrased(rule_text)
    return Phrased(wording, prompt.ref)


async def rephrase_all(items: list[NextItem], rule_texts: Mapping[str, str], *, model: BaseChatModel,
                       prompt: Prompt, language: str, timeout_s: float,
                       words: Callable[[str], str] = _as_written) -> dict[str, Phrased]:
    """Reword a page of reasons at once (by subject), the whole page within one timeout."""
    jobs = [rephrase(item, rule_texts[item.subject], model=model, prompt=prompt, language=language,
                     timeout_s=timeout_s, words=words) for item in items if item.subject in rule_texts]
    return {item.subject: phrased for item, phrased in zip(
        [i for i in items if i.subject in rule_texts], await asyncio.gather(*jobs), strict=True)}
