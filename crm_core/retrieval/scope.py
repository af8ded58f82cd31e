"""How much of a question the knowledge base's own words cover: a signal of questions outside its scope."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from crm_core.retrieval.normalize import Query, _data_text, has_vietnamese_marks, load_json
from crm_core.textnorm import fold, fold_tokens, nfc

_TYPED_WORD_RE = re.compile(r"[^\W_]+")


@cache
def _stop_words_as_written() -> frozenset[str]:
    lines = (line for line in _data_text("stopwords.txt").splitlines() if not line.startswith("#"))
    return frozenset(nfc(word).lower() for line in lines for word in line.split())


@cache
def stopwords() -> frozenset[str]:
    """Return folded function words, pronouns, question words and chat fillers (vi and en)."""
    return frozenset(fold(word) for word in _stop_words_as_written())


def is_stop_word(word: str, *, marked_text: bool) -> bool:
    """Tell whether a word as typed is a function word. In a text typed with Vietnamese marks a word is one only as
    the list writes it ("thế", not "thẻ" card, "bàn" desk or "da" leather); in a text typed without marks, when any
    listed word folds to it ("ban" may be "bạn")."""
    lowered = nfc(word).lower()
    return lowered in _stop_words_as_written() if marked_text else fold(lowered) in stopwords()


def topic_words(text: str) -> list[str]:
    """Return the folded words of `text` that are not function words, judged as typed (see `is_stop_word`)."""
    marked = has_vietnamese_marks(text)
    words = _TYPED_WORD_RE.findall(nfc(text))
    return [token for word in words if not is_stop_word(word, marked_text=marked) for token in fold_tokens(word)]


def content_tokens(query: Query) -> list[str]:
    """Return the distinct folded topic words of a question (raw and normalised forms), numbers and codes left out."""
    tokens = dict.fromkeys(topic_words(query.raw) + topic_words(query.normalized))
    return [t for t in tokens if not any(ch.isdigit() for ch in t) and len(t) > 1]


def coverage(query: Query, vocabulary: Iterable[str] | frozenset[str], marked: frozenset[str] = frozenset()) -> float:
    """Return the share of the question's topic words the knowledge base uses (1.0 when it has none).

    `marked` is the knowledge base's own words written with Vietnamese marks (lower case): a word the customer typed
    with marks is the knowledge's only as written ("mưa" rain is not "mua" buy, "bão" storm not "bảo").

    Glossary translations of the question count as the knowledge base's words: an English question about
    Vietnamese-only content is covered through them.
    """
    words = vocabulary if isinstance(vocabulary, frozenset) else frozenset(vocabulary)
    tokens = content_tokens(query)
    if not tokens:
        return 1.0
    bridged = {t for term in query.translations for t in fold_tokens(term)} & words
    misread = accent_misses(query.raw, marked) if marked else set()
    covered = sum(1 for t in tokens if t in words and t not in misread)
    return min((covered + (len(bridged) if covered < len(tokens) else 0)) / len(tokens), 1.0)


def accent_misses(question: str, marked: frozenset[str]) -> set[str]:
    """The folded topic words of a question typed with marks whose written form the knowledge never uses."""
    if not has_vietnamese_marks(question):
        return set()
    typed = _TYPED_WORD_RE.findall(nfc(question))
    return {
        fold(word)
        for word in typed
        if has_vietnamese_marks(word) and not is_stop_word(word, marked_text=True) and word.lower() not in marked
    }


def marked_words(texts: Iterable[str]) -> frozenset[str]:
    """The words of `texts` written with Vietnamese marks, lower case."""
    return frozenset(
        word.lower() for text in texts for word in _TYPED_WORD_RE.findall(nfc(text)) if has_vietnamese_marks(word)
    )


@cache
def _off_topic_pattern() -> re.Pattern[str]:
    phrases = sorted({fold(p) for p in load_json("off_topic.json")["phrases"]}, key=len, reverse=True)
    alternation = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)
    return re.compile(rf"(?<![0-9a-z])(?:{alternation})(?![0-9a-z])")


def off_topic(question: str, knowledge_text: str) -> bool:
    """Tell whether `question` is about a topic a customer FAQ bot does not cover (weather, football, code, ...).

    `knowledge_text` is the knowledge base's folded text: a topic it mentions itself is in scope.
    """
    for match in _off_topic_pattern().finditer(fold(question)):
        phrase = " ".join(match.group(0).split())
        if re.search(rf"(?<![0-9a-z]){re.escape(phrase)}(?![0-9a-z])", knowledge_text) is None:
            return True
    return False
