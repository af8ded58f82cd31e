"""What a customer's message is besides a question: interest in buying, or only a greeting or thanks."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any, Literal

from crm_core.textnorm import fold
from crm_core.understanding.entities import find_phone

SmallTalkKind = Literal["thanks", "bye", "greeting", "ack"]
# The kinds a small-talk message is answered as, the first one present naming it ("ok em cảm ơn" is thanks).
SMALL_TALK_KINDS: tuple[SmallTalkKind, ...] = ("thanks", "bye", "greeting", "ack")
SMALL_TALK_MAX_WORDS = 8

_DATA = Path(__file__).resolve().parent / "data" / "customer_intent.json"
_WORD = re.compile(r"[0-9a-z]+")


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_DATA.read_text(encoding="utf-8"))
    return data


def _pattern(phrases: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![0-9a-z])(?:{alternatives})(?![0-9a-z])")


@cache
def _phrases(name: str) -> re.Pattern[str]:
    return _pattern(_data()[name])


@cache
def _small_talk(kind: str) -> re.Pattern[str]:
    """The phrases of one kind of small talk; `any` for every kind and the fillers."""
    table: dict[str, list[str]] = _data()["small_talk"]
    return _pattern([p for name, phrases in table.items() for p in phrases] if kind == "any" else table[kind])


def asks_about_buying(text: str) -> bool:
    """Tell whether `text` asks for a price, to order or to pay (Vietnamese with or without accents, English).

    A message about something bought already (a return, the warranty, a delivery) is after-sales, not buying,
    though it says "mua" ('mua ghế rồi không ưng có được đổi trả không'), unless it asks a price outright.
    """
    folded = _phrases("not_buying").sub(" ", fold(text))
    if _phrases("buying").search(folded) is None:
        return False
    return _phrases("after_sales").search(folded) is None or _phrases("price_asked").search(folded) is not None


def asks_call_back(text: str) -> bool:
    """Tell whether a customer types a phone number and asks to be called ("sdt e 0912345678 gọi lại giúp e",
    "call me on +84…"): a person should read it. The number is not stored: typed, it is no proof it is hers."""
    return find_phone(text) is not None and _phrases("call_back").search(fold(text)) is not None


def speaks_of_data_rights(text: str) -> bool:
    """Tell whether an answer tells the customer about their personal data ("xóa dữ liệu", "Nghị định 13",
    "personal data"): /privacy, in the chat itself, is then offered beneath it."""
    return _phrases("data_rights").search(" ".join(_WORD.findall(fold(text)))) is not None


def small_talk_kind(text: str) -> SmallTalkKind | None:
    """Return what kind of small talk `text` is (thanks, bye, greeting, ack: ok, yes, laughter, emoji), or None
    when it has a word to look up or for someone (Vietnamese with or without accents, English)."""
    if not any(unicodedata.category(ch)[0] in ("L", "N") for ch in text):
        return "ack" if text.strip() else None
    words = " ".join(_WORD.findall(fold(text)))
    if not words or len(words.split()) > SMALL_TALK_MAX_WORDS or _small_talk("any").sub(" ", words).strip():
        return None
    return next((kind for kind in SMALL_TALK_KINDS if _small_talk(kind).search(words)), "ack")


def is_small_talk(text: str) -> bool:
    """Tell whether `text` is only a greeting, thanks, an ok, laughter or emoji: nothing to look up, nobody to call."""
    return small_talk_kind(text) is not None


def content_words(text: str) -> list[str]:
    """Return the folded words of `text` left once its small talk is taken out ("ok thanks" has none)."""
    return _small_talk("any").sub(" ", " ".join(_WORD.findall(fold(text)))).split()


def decided_language(text: str) -> Literal["vi", "en"] | None:
    """Return the language `text` is written in when its letters decide it, else None ("5", "ok", "hi",
    "ok thanks", "zalo/momo 0912345678": digits, small talk and the words both languages type, such as loanwords and
    app, wallet and bank names; the customer's known language answers those)."""
    from crm_core.retrieval.normalize import has_vietnamese_marks, unaccented_language  # heavy package

    if has_vietnamese_marks(text):
        return "vi"
    words = content_words(text)
    # Words of three letters or more decide first: one- and two-letter ones are often both languages' ("to", "do").
    longer = [w for w in words if len(w) > 2]
    decided = unaccented_language(" ".join(longer))
    if decided is not None:
        return decided
    # Only then the short ones ("zalo shop la gi"), but never a code's letters ("ap" of "AP-C300", "ap c300"), and
    # only for Vietnamese: short chat abbreviations no list holds ("dh", "xl nhe", "pk") are no English.
    shorter = [w for i, w in enumerate(words)
               if len(w) <= 2 and not any(ch.isdigit() for ch in "".join(words[i + 1 : i + 2]))]
    return "vi" if unaccented_language(" ".join(shorter)) == "vi" else None


def asks_price_of_nothing(text: str) -> bool:
    """Tell whether `text` asks a price without naming what ("giá?", "bao nhiêu tiền vậy shop", "how much?")."""
    folded = " ".join(_WORD.findall(fold(text)))
    if _phrases("price_words").search(folded) is None:
        return False
    rest = _small_talk("any").sub(" ", _phrases("price_words").sub(" ", folded))
    return not _phrases("price_question_fillers").sub(" ", rest).split()
