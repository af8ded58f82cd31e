"""Phrase the knowledge base's structured answer for the customer who reads it.

Retrieval returns knowledge only (`crm_core.retrieval.Answer`); every sentence around it — the opening, the source
line, why a person takes over — is ours, in `vi.yaml`/`en.yaml` under `support.`. The customer bot and
`chatcrm kb ask` both go through `phrase_answer`, so the command shows what a customer would read.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from bot.texts import Texts

if TYPE_CHECKING:  # the retrieval package is heavy to import; phrasing needs only the shape
    from crm_core.retrieval.models import Answer

# The bot declines an unsafe request in its own words (no ticket, a "talk to a person" button).
_UNSAFE = "support.unsafe"
_HANDOFF_LINE = "support.handoff_line.{reason}"
_OPENING = "support.answer_opening"
_BREADCRUMB = " › "  # as the loaders join a section's headings


def phrase_answer(answer: Answer, texts: Texts) -> str:
    """Return the reply to `answer` in `texts`' language: an opening, the knowledge and its source, or why a person
    takes over.

    The body keeps its lines (lists, table rows); a body cut short (at a sentence end) points to its source for more.
    An extract is quoted from the documents, so the reply opens as the shop speaks ("Dạ, …" to anh/chị); an LLM's
    answer is already worded for the customer by its prompt.
    """
    if answer.handoff or answer.body is None:
        return _handoff_line(answer, texts)
    body = f"{texts(_OPENING)}\n{answer.body}" if answer.prompt is None else answer.body
    source = _source_line(answer, texts)
    return f"{body}\n\n{source}" if source else body


def _handoff_line(answer: Answer, texts: Texts) -> str:
    if answer.reason == "unsafe":
        return texts(_UNSAFE)
    return texts(_HANDOFF_LINE.format(reason=answer.reason or "low_confidence"))


def _source_line(answer: Answer, texts: Texts) -> str | None:
    """Name the best section; say so when it is written in another language than the reply."""
    if not answer.sources or answer.body is None:
        return None
    title = display_title(answer.sources[0].doc, answer.sources[0].title)
    if answer.also is not None:
        title = f"{title}; {display_title(answer.also.doc, answer.also.title)}"
    if answer.prompt is not None and (title in answer.body or answer.sources[0].title in answer.body):
        return None  # an LLM answer may already cite the section by its title
    same_language = answer.body_language in (None, texts.language)
    key = "support.source_more" if answer.truncated else "support.source"
    return texts(key if same_language else f"{key}_other_language", title=title)


def _name_title(doc: str) -> str:
    # The title a loader makes from a file name when the document has none of its own (`doc_title_from_name`).
    stem = PurePosixPath(doc).stem.replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else doc


def display_title(doc: str, title: str) -> str:
    """Return a source's breadcrumb without a part made from its file name ("Faq › Giờ mở cửa?" -> "Giờ mở cửa?")."""
    crumbs = title.split(_BREADCRUMB)
    if len(crumbs) > 1 and crumbs[0] == _name_title(doc):
        return _BREADCRUMB.join(crumbs[1:])
    return title


__all__ = ["display_title", "phrase_answer"]
