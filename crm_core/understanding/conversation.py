"""A customer's message in a conversation with a person: a question for the knowledge base, words for the
person, or a typed rating of a closed ticket (vocabulary in `data/conversation.json`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from crm_core.textnorm import fold
from crm_core.understanding.customer_intent import content_words

_DATA = Path(__file__).resolve().parent / "data" / "conversation.json"
_STARS = frozenset("⭐★🌟")
_SCORES = range(1, 6)


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_DATA.read_text(encoding="utf-8"))
    return data


def _alternatives(phrases: list[str]) -> str:
    return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))


@cache
def _phrases(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![0-9a-z])(?:{_alternatives(_data()[name])})(?![0-9a-z])")


@cache
def _typed_rating() -> re.Pattern[str]:
    fillers = _alternatives(_data()["rating_fillers"])
    units = _alternatives(_data()["rating_units"])
    return re.compile(rf"^(?:(?:{fillers})\s+)*([0-9])\s*(?:/\s*5|(?:{units})(?![0-9a-z]))?(?:\s+(?:{fillers}))*$")


@cache
def _worded_rating() -> re.Pattern[str]:
    fillers = _alternatives(_data()["rating_fillers"])
    words = _alternatives(list(_data()["rating_words"]))
    return re.compile(rf"^(?:(?:{fillers})\s+)*({words})(?:\s+(?:{fillers}))*$")


def _folded(text: str) -> str:
    return " ".join(re.findall(r"[0-9a-z/]+", fold(text)))


def reads_as_question(text: str) -> bool:
    """Tell whether `text` asks something ('?' or a question word, Vietnamese with or without accents, English)."""
    return "?" in text or _phrases("question").search(_folded(text)) is not None


def addresses_the_person(text: str) -> bool:
    """Tell whether `text` speaks to the person on the customer's ticket (or about their call back)."""
    return _phrases("to_the_person").search(_folded(text)) is not None


def chases_the_person(text: str) -> bool:
    """Tell whether `text` chases the person on the ticket or asks whether anyone is there ('sao lâu vậy', 'nhanh
    giúp em', 'còn đó không', 'any update?'): impatience is for a person, whatever question words it has."""
    folded = _phrases("not_chasing").sub(" ", _folded(text))
    if _phrases("chasing").search(folded) is not None:
        return True
    # A presence check must be the whole message: 'còn đó không' folds like 'bàn còn đỏ không'.
    words = " ".join(content_words(text))
    if _phrases("presence_checks").search(words) is None:
        return False
    return not _phrases("presence_fillers").sub(" ", _phrases("presence_checks").sub(" ", words)).split()


def speaks_to_the_person(text: str) -> bool:
    """Tell whether `text` asks nothing and speaks of the customer or ends like a remark ('chị chờ nhé',
    'chị chuyển khoản rồi đó'): words for the person on the ticket, not a question for the knowledge base."""
    if reads_as_question(text):
        return False
    folded = _folded(text)
    return _phrases("self_reference").search(folded) is not None or \
        _phrases("statement_endings").search(folded) is not None


@cache
def _after(words: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![0-9a-z])(?:{_alternatives(_data()[words])})\.?\s+([a-z]+(?:\s+[a-z]+){{0,2}})")


def names_after_honorifics(text: str) -> list[str]:
    """Return the folded words (up to three) after each honorific or staff role in `text`, in their order ('cho
    gặp chị Lan bên kinh doanh' -> ['lan ben kinh']; 'cho a gặp quản lý Quang' -> ['gap quan ly', 'quang']):
    where a customer asks for someone by name, the name starts them."""
    folded = " ".join(re.findall(r"[0-9a-z]+", fold(text)))
    found = [(m.start(), m.group(1)) for words in ("honorifics", "role_titles") for m in _after(words).finditer(folded)]
    return [words for _start, words in sorted(found)]


@cache
def _rating_fillers() -> re.Pattern[str]:
    return re.compile(rf"^(?:(?:{_alternatives(_data()['rating_fillers'])})(?:\s+|$))*$")


# The score a complaint word beside it puts in doubt: below it the complaint is the reason for the missing stars.
TOP_SCORE = 5


@dataclass(frozen=True)
class TypedRating:
    """A score typed after a closed ticket, and the reason given beside it ('4 sao thôi vì giao hơi chậm')."""

    score: int
    remark: str | None = None
    # Written as a rating: with its unit or as stars ('3 sao', '4/5', '⭐⭐⭐⭐'), not a bare digit or a word.
    explicit: bool = False
    # The words beside the score give a reason ('vì', 'nhưng', 'because'): a remark meant as one.
    reasoned: bool = False


def typed_rating(text: str) -> int | None:
    """Return the 1-5 score a reply typed after a closed ticket gives (see `read_rating`), or None."""
    rating = read_rating(text)
    return rating.score if rating is not None else None


def read_rating(text: str) -> TypedRating | None:
    """Return the rating a reply typed after a closed ticket gives ('4', '5 sao', '4 điểm', '⭐⭐⭐⭐', 'tốt lắm',
    'năm sao'), courtesy words around it included ('5 sao nha shop, cảm ơn e'), with the reason the customer gives
    beside a score and its unit ('4 sao thôi vì giao hơi chậm', 'hàng đẹp, giao nhanh, 5 sao'); None when it is no
    rating: a bare number must be the whole message but for those words, so a number among others ('mua 4 cái',
    '5 bộ giá bao nhiêu') is none, and nothing with a '?' is one ('giao 5 ngày à?')."""
    if "?" in text or "？" in text:
        return None
    score = _whole_score(text)
    if score is not None:
        return TypedRating(score, explicit=_has_unit(text))
    return _score_with_remark(text)


def _whole_score(text: str) -> int | None:
    """The score of a message that is a score and courtesy words only (a complaint beside a low score agrees)."""
    words = re.findall(r"\w+|\W+", text)
    if any(word.lower() in _data()["rating_question_spoilers"] for word in words):
        return None
    # A complaint beside the top score leaves it in doubt ('5 sao chậm nha'); beside a lower one it is the reason
    # ('4 sao lâu quá', '1 sao tệ').
    spoilers = set(_data()["rating_spoilers"])
    spoiled = any(word.lower() in spoilers for word in words)
    score = _score("".join(word for word in words if word.lower() not in spoilers))
    return None if score is None or (spoiled and score >= TOP_SCORE) else score


@cache
def _remark_boundary() -> re.Pattern[str]:
    connectors = _alternatives(_data()["rating_remark_connectors"])
    stars = "".join(_STARS)
    return re.compile(rf"\s*(?:[,.;!:\n]+|\s[-–—]+\s|(?<=[{stars}])(?=\s*[^\s{stars}]))\s*"
                      rf"|\s+(?=(?:{connectors})(?![0-9a-z]))")


@cache
def _rating_unit() -> re.Pattern[str]:
    units = _alternatives(_data()["rating_units"])
    return re.compile(rf"[0-9]\s*(?:/\s*5|(?:{units})(?![0-9a-z]))")


@cache
def _rating_unit_word() -> re.Pattern[str]:
    """A digit and a unit word ('3 sao', '4 điểm'): not '4/5', which is a date as often beside other words."""
    units = _alternatives(_data()["rating_units"])
    return re.compile(rf"[0-9]\s*(?:{units})(?![0-9a-z])")


def _score_with_remark(text: str) -> TypedRating | None:
    """A score with its unit (or stars) first or last, the customer's reason on the other side of a comma, a dash
    or a connector word ('vì', 'nên', 'but'); a reason that asks something makes it no rating."""
    # Found on the text folded letter for letter (the same length), so 'vì' is the connector 'vi'.
    aligned = "".join(fold(character)[:1] or character for character in text).lower()
    cuts = [m.start() for m in _remark_boundary().finditer(aligned)]
    # A score written with its unit needs no comma ('3 sao tạm được', 'ship chậm quá 3 sao').
    for unit in _rating_unit_word().finditer(aligned):
        cuts += [unit.start(), unit.end()]
    cuts = sorted(set(cuts) - {0, len(text)})
    for cut in cuts:
        for said, remark in ((text[:cut], text[cut:]), (text[cut:], text[:cut])):
            score = _whole_score(_strip_connector(said))
            if score is None or not _has_unit(said) or not _is_remark(remark):
                continue
            complaint = set(_data()["rating_spoilers"]) & {w.lower() for w in re.findall(r"\w+", remark)}
            if complaint and score >= TOP_SCORE:
                return None
            # Words that only say the same feeling ('3/5 tạm được', '5 sao tuyệt vời') are no reason to pass on.
            worded = _worded_rating().match(_folded(remark))
            reasons = _phrases("rating_reason_words").search(_folded(remark)) is not None
            return TypedRating(score, None if worded is not None else text.strip(), explicit=True, reasoned=reasons)
    return None


def _strip_connector(text: str) -> str:
    words = _folded(text).split()
    connectors = {c for c in _data()["rating_remark_connectors"] if " " not in c}
    if words and words[0] in connectors:
        return text.strip().split(None, 1)[1] if len(text.split()) > 1 else ""
    if words and words[-1] in connectors:
        return text.strip().rsplit(None, 1)[0] if len(text.split()) > 1 else ""
    return text


def _has_unit(text: str) -> bool:
    """Tell whether a score is typed with what it counts: stars, '/5', 'sao', 'điểm' (a bare '4' next to other
    words is a quantity as often as a score)."""
    return any(ch in _STARS for ch in text) or _rating_unit().search(_numbers_for_words(_folded(text))) is not None


def _is_remark(text: str) -> bool:
    """Tell whether `text`, beside a score, is a reason the customer gives rather than a question, something for a
    person to do (an order, a call, an exchange) or nothing: those must reach whoever reads messages, not a rating."""
    words = _folded(text).split()
    connectors = set(_data()["rating_remark_connectors"])
    content = [w for w in words if w not in connectors]
    if not any(any(ch.isalpha() for ch in w) for w in content) or any(ch.isdigit() for ch in text):
        return False
    if _not_a_reason().search(" ".join(re.findall(r"\w+", text.lower()))) is not None:
        return False  # a date, a product's grade, points, another site's review: not about this ticket
    joined = " ".join(words)
    if _phrases("rating_remark_questions").search(joined) is not None \
            or _phrases("rating_remark_requests").search(joined) is not None:
        return False
    fillers = set(_data()["rating_fillers"])
    while len(words) > 1 and words[-1] in fillers:  # 'còn hàng không ạ', 'có giao HN không shop'
        words.pop()
    return words[-1] not in _data()["rating_remark_question_endings"]


@cache
def _not_a_reason() -> re.Pattern[str]:
    """`rating_remark_not_a_reason`, matched as typed (with marks: 'ngày' is a date, 'ngay' is 'at once')."""
    return re.compile(rf"(?<!\w)(?:{_alternatives(_data()['rating_remark_not_a_reason'])})(?!\w)")


@cache
def _number_words() -> re.Pattern[str]:
    numbers = _alternatives(list(_data()["rating_number_words"]))
    units = _alternatives(_data()["rating_units"])
    return re.compile(rf"(?<![0-9a-z])({numbers})(?=\s+(?:{units})(?![0-9a-z]))")


def _numbers_for_words(folded: str) -> str:
    """'nam sao' -> '5 sao': a score in words, before its unit only ('năm' alone is a year, 'ba' a father)."""
    return _number_words().sub(lambda m: str(_data()["rating_number_words"][m.group(1)]), folded)


def _score(text: str) -> int | None:
    stars = sum(1 for character in text if character in _STARS)
    folded = _numbers_for_words(_folded(text))
    if stars and not any(character.isdigit() for character in folded):
        # Stars are the score; what else is there must be courtesy, or a word for the same feeling.
        worded = _worded_rating().match(folded)
        if _rating_fillers().match(folded) is None and worded is None:
            return None
        # A word saying another feeling than the stars ('⭐⭐⭐⭐⭐ rất tệ') leaves the score in doubt.
        if worded is not None and abs(int(_data()["rating_words"][worded.group(1)]) - stars) > 1:
            return None
        return stars if stars in _SCORES else None
    number = _typed_rating().match(folded)
    if number is not None:
        score = int(number.group(1))
        # '5⭐' is 5; stars that count something else ('⭐⭐⭐ 5') leave the score in doubt.
        return score if score in _SCORES and stars in (0, 1, score) else None
    worded = _worded_rating().match(folded)
    if worded is not None:
        return int(_data()["rating_words"][worded.group(1)])
    return _number_with_its_word(folded)


@cache
def _rating_word_anywhere() -> re.Pattern[str]:
    return re.compile(rf"(?<![0-9a-z])({_alternatives(list(_data()['rating_words']))})(?![0-9a-z])")


def _number_with_its_word(folded: str) -> int | None:
    """'3/5 tạm được', 'tạm được 3 sao', '5 sao tuyệt vời': a score beside a word for the same feeling (within a
    point of it); with a word for another ('5 sao tệ') it is in doubt."""
    worded = _rating_word_anywhere().search(folded)
    if worded is None:
        return None
    rest = f"{folded[:worded.start()]} {folded[worded.end():]}".split()
    number = _typed_rating().match(" ".join(rest))
    if number is None:
        return None
    score, said = int(number.group(1)), int(_data()["rating_words"][worded.group(1)])
    return score if score in _SCORES and abs(score - said) <= 1 else None
