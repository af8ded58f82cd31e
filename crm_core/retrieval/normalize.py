"""Query normalisation: language, chat abbreviations, accent restoration, bilingual glossary."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from crm_core.textnorm import fold, fold_tokens, nfc

log = logging.getLogger(__name__)

Language = Literal["vi", "en"]

_WORD_RE = re.compile(r"\w+", re.UNICODE)
# Letters that only Vietnamese (among vi/en) writes.
_VI_CHARS = set("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ")


def _data_text(name: str) -> str:
    return resources.files("crm_core.retrieval").joinpath("data", name).read_text(encoding="utf-8")


def load_json(name: str) -> Any:
    """Read one of the package's data files."""
    return json.loads(_data_text(name))


@cache
def abbreviations() -> dict[str, str]:
    """Return the chat-abbreviation table (folded token -> expansion)."""
    table = load_json("abbreviations.json")
    return {fold(k): nfc(v) for k, v in table.items() if not k.startswith("_")}


@cache
def _english_words() -> frozenset[str]:
    words = [w for line in _data_text("english_common.txt").splitlines() if not line.startswith("#")
             for w in line.split()]
    return frozenset(words)


@cache
def _vi_syllables() -> frozenset[str]:
    """Return folded Vietnamese syllables (from pyvi's word list, which ships in its wheel)."""
    try:
        text = resources.files("pyvi").joinpath("models", "words.txt").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):  # pragma: no cover - pyvi is a dependency
        return frozenset()
    return frozenset(tok for line in text.splitlines() for tok in fold_tokens(line))


def has_vietnamese_marks(text: str) -> bool:
    """Tell whether `text` carries Vietnamese diacritics."""
    return any(ch in _VI_CHARS for ch in text.lower())


def looks_unaccented_vietnamese(text: str) -> bool:
    """Tell whether `text` is Vietnamese typed without diacritics."""
    if has_vietnamese_marks(text):
        return False
    tokens = [t for t in fold_tokens(text) if not t.isdigit()]
    if not tokens:
        return False
    syllables, english, abbrevs = _vi_syllables(), _english_words(), abbreviations()
    vi = sum(1 for t in tokens if (t in syllables or t in abbrevs) and t not in english)
    en = sum(1 for t in tokens if t in english or (t not in syllables and t not in abbrevs))
    return vi > en


def detect_language(text: str) -> Language:
    """Guess whether a question is Vietnamese or English."""
    return "vi" if has_vietnamese_marks(text) or looks_unaccented_vietnamese(text) else "en"


def expand_abbreviations(text: str) -> str:
    """Replace chat abbreviations ("ko", "dc", "sđt") by their words."""
    table = abbreviations()

    def repl(match: re.Match[str]) -> str:
        word = match.group(0)
        return table.get(fold(word), word)

    return _WORD_RE.sub(repl, text)


class AccentRestorer:
    """Put diacritics back on unaccented Vietnamese: the knowledge base's own phrases first, then pyvi."""

    def __init__(self) -> None:
        self._ngrams: dict[tuple[str, ...], str] = {}
        self._lock = threading.Lock()
        self._pyvi: Any = None

    def learn(self, texts: Iterable[str], max_n: int = 3) -> None:
        """Learn the accented spelling of 2..max_n-word phrases from knowledge text."""
        counts: dict[tuple[str, ...], Counter[str]] = {}
        for text in texts:
            words = _WORD_RE.findall(nfc(text).lower())
            folded = [fold(w) for w in words]
            for n in range(2, max_n + 1):
                for i in range(len(words) - n + 1):
                    span = words[i : i + n]
                    if not any(has_vietnamese_marks(w) for w in span):
                        continue
                    counts.setdefault(tuple(folded[i : i + n]), Counter())[" ".join(span)] += 1
        self._ngrams = {key: c.most_common(1)[0][0] for key, c in counts.items()}

    def _pyvi_restore(self, text: str) -> str:
        if self._pyvi is None:
            with self._lock:
                if self._pyvi is None:
                    from pyvi import (
                        ViUtils,  # slow import (scikit-learn): only when needed
                    )

                    self._pyvi = ViUtils
        try:
            return str(self._pyvi.add_accents(text)).lower()
        except Exception:  # pyvi is best effort: never fail a question over it
            log.warning("pyvi accent restoration failed", exc_info=True)
            return text

    def restore(self, text: str) -> str:
        """Return `text` with diacritics restored (lower-cased)."""
        words = _WORD_RE.findall(text.lower())
        if not words:
            return text
        guessed = _WORD_RE.findall(self._pyvi_restore(" ".join(words)))
        if len(guessed) != len(words):
            guessed = list(words)
        folded = [fold(w) for w in words]
        out = list(guessed)
        i = 0
        while i < len(words):
            for n in (3, 2):
                phrase = self._ngrams.get(tuple(folded[i : i + n])) if i + n <= len(words) else None
                if phrase is not None:
                    out[i : i + n] = phrase.split()
                    i += n
                    break
            else:
                i += 1
        return " ".join(out)


@dataclass(frozen=True)
class GlossaryEntry:
    """One business term in both languages."""

    vi: tuple[str, ...]
    en: tuple[str, ...]


@cache
def glossary() -> tuple[GlossaryEntry, ...]:
    """Return the bilingual glossary of the business's own terms."""
    rows = load_json("glossary.json")["terms"]
    return tuple(GlossaryEntry(vi=tuple(nfc(v) for v in r["vi"]), en=tuple(r["en"])) for r in rows)


def _contains(haystack: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", haystack) is not None


def glossary_terms(text: str, language: Language) -> list[str]:
    """Return the other language's words for the glossary terms found in `text`."""
    folded = fold(text)
    found: list[str] = []
    for entry in glossary():
        source, target = (entry.vi, entry.en) if language == "vi" else (entry.en, entry.vi)
        if any(_contains(folded, fold(term)) for term in source):
            found.append(target[0])
    return found


@dataclass(frozen=True)
class Query:
    """A question prepared for retrieval."""

    raw: str
    language: Language
    normalized: str
    restored: bool
    translations: tuple[str, ...] = field(default=())

    def embedding_texts(self) -> list[str]:
        """Return the forms of the question to embed (each scored, the best kept)."""
        texts = [self.normalized]
        if self.restored or self.normalized != self.raw:
            texts.append(self.raw)
        if self.translations:
            texts.append(f"{self.normalized} ({', '.join(self.translations)})")
        return list(dict.fromkeys(t for t in texts if t.strip()))

    def lexical_tokens(self) -> list[str]:
        """Return accent-folded tokens for BM25 (raw, normalised and glossary words)."""
        tokens = fold_tokens(self.raw) + fold_tokens(self.normalized)
        for term in self.translations:
            tokens += fold_tokens(term)
        return list(dict.fromkeys(tokens))


def prepare_query(question: str, restorer: AccentRestorer, *, language: Language | None = None) -> Query:
    """Normalise a customer question for retrieval."""
    raw = nfc(question).strip()
    unaccented_vi = looks_unaccented_vietnamese(raw)
    detected: Language = "vi" if unaccented_vi or has_vietnamese_marks(raw) else "en"
    lang = language or detected
    normalized = raw
    if detected == "vi":
        normalized = expand_abbreviations(raw)
        if unaccented_vi:
            normalized = restorer.restore(fold(normalized))
    translations = tuple(glossary_terms(normalized, detected))
    return Query(raw=raw, language=lang, normalized=normalized, restored=unaccented_vi, translations=translations)
