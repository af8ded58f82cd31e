"""Text normalisation shared by search, parsing and retrieval, and the one rule for text we are given."""

from __future__ import annotations

import re
import unicodedata

_WORD_RE = re.compile(r"[0-9a-z]+")
_SPACES_RE = re.compile(r"\s+")
# Control characters a person may mean: the rest (NUL first: PostgreSQL refuses it) are dropped.
_KEPT_CONTROLS = frozenset("\t\n\r")


def fold(text: str) -> str:
    """Return `text` lower-cased without diacritics ("Hòa Phát" -> "hoa phat")."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES_RE.sub(" ", stripped.casefold()).strip()


def nfc(text: str) -> str:
    """Return `text` in NFC, the form Vietnamese input methods disagree on."""
    return unicodedata.normalize("NFC", text)


def _kept(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cc":
        return ch in _KEPT_CONTROLS
    # Cf: zero-width spaces and joiners, BOM, soft hyphen, bidi marks, embeddings, overrides and isolates,
    # which cut a word in two for the parser or make one name display as another. Cs: a lone surrogate,
    # which no store can encode.
    return category not in ("Cf", "Cs")


def clean_text(text: str) -> str:
    """Return `text` as we keep it: NFC, without NUL, other controls, lone surrogates or invisible format marks."""
    if not text.isprintable():  # every character dropped is unprintable: most texts skip the walk
        text = "".join(ch for ch in text if _kept(ch))
    return unicodedata.normalize("NFC", text)


def clean_name(text: str) -> str:
    """Return a name as we store it: `clean_text` on one line, spaces collapsed, trimmed."""
    return " ".join(clean_text(text).split())


def fold_tokens(text: str) -> list[str]:
    """Split folded `text` into alphanumeric tokens."""
    return _WORD_RE.findall(fold(text))
