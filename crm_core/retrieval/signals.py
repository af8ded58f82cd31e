"""Question-to-section signals that tell the section that answers from one that only mentions the words.

Each is a number in [0, 1] added to the fused score with a weight fitted on the dev splits (`RetrievalParams`):
- `lang_vi` / `lang_en`: the section is written in the question's language, Vietnamese or English (two weights: the
  knowledge is mostly Vietnamese with partial English counterparts, so the preference differs by language);
- `head`: share of the question's topic words found in the section's heading, breadcrumb and FAQ question;
- `price`: the question asks a price or fee and the section states an amount;
- `num`: share of the question's numbers (quantities, sizes, amounts) the section states, exactly or inside
  a range it gives ("50 bộ" fits "50-99 bộ");
- `clash`: the section's heading (a FAQ row's question) is about other numbers than the question's ("mua 50 bộ"
  against "Mua 200 bộ được giảm bao nhiêu?"): subtracted;
- `type`: the question asks for a kind of value (a weight, a year, a duration, a size, a percentage, opening hours, a
  phone number: cues and patterns in `data/intents.json`) and the section states one;
- `code`: share of the question's product codes ("AP-HD160", "E01") the section states;
- `code_clash`: the section's heading names product codes, none of them the question's (the look-alike product's own
  section): subtracted;
- `asks_other`: the section is a FAQ entry (its heading is a question) that asks for none of the kinds of value the
  customer's question asks for — "Ghế bị lún dần thì phải làm sao?" answers how to fix a sinking chair, not "bảo hành
  ghế bao lâu?"; a FAQ entry answers its own question, so sharing the words is mentioning, not answering: subtracted;
- `faq_extra`: the share of a FAQ entry's topic words (its question, or the closest of its phrasings) the customer's
  question does not have — "Bao lâu thì nhận được báo giá?" is about a quotation, which "bao lâu thì nhận đc hàng"
  never mentions; a FAQ entry matches on the shape of a question ("bao lâu thì", "can I pay in") as much as on its
  subject, so what it adds is what it is about. Accents count when the customer typed them ("báo" is not "bao"):
  subtracted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from crm_core.retrieval.loaders import Unit
from crm_core.retrieval.normalize import Language, Query, detect_language, has_vietnamese_marks, load_json
from crm_core.retrieval.scope import is_stop_word, stopwords, topic_words
from crm_core.textnorm import fold, fold_tokens, nfc

# A number on its own: not the digits of a model code ("AP-C300", "Q1"), thousands groups kept together.
# At most 18 digits: a longer run is no quantity or amount (and int() refuses 4,300 digits and more).
_NUMBER_RE = re.compile(r"(?<![\w.,-])(\d{1,3}(?:[.,]\d{3}){1,5}|\d{1,18})(?![.,]?\d)")
_RANGE_RE = re.compile(r"(?<![\w.,])(\d{1,18})\s*[-–]\s*(\d{1,18})(?![\d])")
# A product or error code: letters and digits in one word ("AP-C300", "c300", "E01", "RO-500"), not a plain number
# nor a quantity with its unit ("50kg", "2m", "10h").
_CODE_RE = re.compile(r"(?<![\w-])((?:[a-z]+-)*[a-z]*\d+[a-z0-9]*|(?:[a-z]+-)*[a-z]+\d[a-z0-9]*)(?![\w-])")
_UNIT_RE = re.compile(r"^\d+(?:kg|g|cm|mm|m|km|h|k|tr|l|ml|w|v|%|m2|m3|x\d+)?$")
_AMOUNT_RE = re.compile(r"\d[\d.,]*\s*(?:₫|vnd\b|đồng\b|dong\b)|\$\s*\d", re.IGNORECASE)


@cache
def _price_cues() -> re.Pattern[str]:
    cues = sorted({fold(c) for c in load_json("intents.json")["price"]}, key=len, reverse=True)
    alternation = "|".join(re.escape(c).replace(r"\ ", r"\s+") for c in cues)
    return re.compile(rf"(?<![0-9a-z])(?:{alternation})(?![0-9a-z])")


@cache
def _answer_types() -> tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...]:
    out = []
    for name, spec in load_json("intents.json")["answer_types"].items():
        cues = sorted({fold(c) for c in spec["cues"]}, key=len, reverse=True)
        alternation = "|".join(re.escape(c).replace(r"\ ", r"\s+") for c in cues)
        out.append((name, re.compile(rf"(?<![0-9a-z])(?:{alternation})(?![0-9a-z])"),
                    re.compile(spec["states"], re.IGNORECASE)))
    return tuple(out)


def asked_types(text: str) -> frozenset[str]:
    """Return the kinds of value a question asks for ("chịu tải bao nhiêu kg" -> {"weight"})."""
    folded = fold(text)
    return frozenset(name for name, cue, _ in _answer_types() if cue.search(folded))


def asked_kinds(text: str) -> frozenset[str]:
    """Return every kind of value a question asks for, a price included ("how much" -> {"price"})."""
    kinds = set(asked_types(text))
    if asks_price(text):
        kinds.add("price")
    return frozenset(kinds)


def is_faq_entry(unit: Unit) -> bool:
    """Tell whether a section is a FAQ entry: its heading is a question."""
    return unit.section.rstrip().endswith("?")


@lru_cache(maxsize=8192)
def _faq_kinds(unit: Unit) -> frozenset[str] | None:
    """The kinds of value a FAQ entry's own question asks for; None when the heading is not a question."""
    if not is_faq_entry(unit):
        return None
    return asked_kinds(" ".join([unit.section, *unit.variants]))


def states_type(kind: str, text: str) -> bool:
    """Tell whether a text states a value of the kind ("weight": "150 kg")."""
    return any(name == kind and states.search(text) for name, _, states in _answer_types())


def states_kind(kind: str, text: str) -> bool:
    """Tell whether a text states a value of `kind`, "price" (an amount) included."""
    return states_amount(text) if kind == "price" else states_type(kind, text)


def codes(text: str) -> frozenset[str]:
    """Return the product or error codes a text names, folded, by their part holding digits ("AP-C300" -> "c300")."""
    out = set()
    for m in _CODE_RE.finditer(fold(text)):
        token = m.group(1)
        part = next((p for p in reversed(token.split("-")) if any(ch.isdigit() for ch in p)), token)
        if not any(ch.isalpha() for ch in part):
            part = token  # "RO-500": the letters are in another part
        if _UNIT_RE.match(part) or not any(ch.isalpha() for ch in part):
            continue
        out.add(part)
    return frozenset(out)


@lru_cache(maxsize=8192)
def _unit_codes(unit: Unit) -> tuple[frozenset[str], frozenset[str]]:
    """The codes a section states anywhere, and those its heading (or FAQ question) names: read once per section."""
    heading = f"{unit.section}\n{' '.join(unit.variants)}"
    return codes(f"{heading}\n{unit.text}"), codes(heading)


@cache
def _how_much_cues() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(fold_tokens(c)) for c in load_json("intents.json")["how_much"]["cues"])


@cache
def how_much_asks() -> frozenset[str]:
    """The kinds of value a bare "how much" asks for: money ("price") or a share of it."""
    return frozenset(load_json("intents.json")["how_much"]["asks"])


def ends_on_how_much(text: str) -> bool:
    """Tell whether a question ends on a bare "how much", only fillers after it ("AP-C210 bao nhiêu vậy shop?")."""
    tokens = fold_tokens(text)
    stop = stopwords()
    for cue in _how_much_cues():
        ends = [i + len(cue) for i in range(len(tokens) - len(cue) + 1) if tuple(tokens[i : i + len(cue)]) == cue]
        if ends and all(t in stop for t in tokens[ends[-1] :]):
            return True
    return False


def asks_price(text: str) -> bool:
    """Tell whether a question asks for a price, fee or cost ("giá bao nhiêu", "có tính phí không", "how much")."""
    return _price_cues().search(fold(text)) is not None


def states_amount(text: str) -> bool:
    """Tell whether a text states an amount of money ("1.850.000 ₫", "150,000 VND")."""
    return _AMOUNT_RE.search(text) is not None


def numbers(text: str) -> set[int]:
    """Return the standalone numbers of a text ("1.650.000" -> 1650000), leaving the digits of codes out."""
    return {int(re.sub(r"[.,]", "", m.group(1))) for m in _NUMBER_RE.finditer(text)}


def ranges(text: str) -> list[tuple[int, int]]:
    """Return the ranges a text gives ("50-99 bộ" -> (50, 99))."""
    out = []
    for m in _RANGE_RE.finditer(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo < hi:
            out.append((lo, hi))
    return out


def number_fit(wanted: set[int], text: str) -> float:
    """Share of `wanted` numbers a text states exactly or inside one of its ranges."""
    if not wanted:
        return 0.0
    have = numbers(text)
    spans = ranges(text)
    fit = sum(1 for n in wanted if n in have or any(lo <= n <= hi for lo, hi in spans))
    return fit / len(wanted)


@cache
def _measure_units() -> tuple[tuple[str, str], ...]:
    """(unit as written in lower case, what it measures), the longest unit first ("m²" before "m")."""
    table = load_json("intents.json")["measures"]
    pairs = [(nfc(unit).lower(), measure) for measure, units in table.items() for unit in units]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def _measure_after(text: str, end: int, marked: bool) -> str:
    """What the number ending at `end` counts, from the unit right after it ("" when no unit follows). Folded
    units are read only in text typed without marks: there "cho" may be "chỗ"; with marks it is "for"."""
    rest = nfc(text[end : end + 24]).lstrip().lower()
    for unit, measure in _measure_units():
        for form, written in ((unit, rest), *(() if marked else ((fold(unit), fold(rest)),))):
            if written.startswith(form) and (len(written) == len(form) or not written[len(form)].isalnum()):
                return measure
    return ""


def measured(text: str) -> list[tuple[int, int, str]]:
    """Return the numbers and ranges of a text with what each counts: "Phòng 8-10 m²" -> [(8, 10, "area")]."""
    marked = has_vietnamese_marks(text)
    out: list[tuple[int, int, str]] = []
    spans: list[tuple[int, int]] = []
    for m in _RANGE_RE.finditer(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo < hi:
            out.append((lo, hi, _measure_after(text, m.end(), marked)))
            spans.append((m.start(), m.end()))
    for m in _NUMBER_RE.finditer(text):
        if not any(start <= m.start() < stop for start, stop in spans):
            value = int(re.sub(r"[.,]", "", m.group(1)))
            out.append((value, value, _measure_after(text, m.end(), marked)))
    return out


def measure_fit(wanted: frozenset[tuple[int, str]], text: str) -> float:
    """Share of the question's numbers (with what each counts) a text states, exactly or inside a range, counting
    the same thing: "10 người" fits "8-10 chỗ", not "8-10 m²". A number with no unit on either side fits any."""
    if not wanted:
        return 0.0
    have = measured(text)
    fit = sum(
        1 for value, measure in wanted
        if any(lo <= value <= hi and (not measure or not stated or measure == stated) for lo, hi, stated in have)
    )
    return fit / len(wanted)


def question_measures(text: str) -> frozenset[tuple[int, str]]:
    """The question's numbers (those `numbers` reads) with what each counts ("" when no unit follows it)."""
    counted: dict[int, str] = {}
    for lo, _, measure in measured(text):
        counted[lo] = counted.get(lo) or measure
    return frozenset((value, counted.get(value, "")) for value in numbers(text))


def _stem(word: str) -> str:
    """An English plural's singular, roughly ("sundays" -> "sunday"); other words as they are."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and word.isascii() and not word.endswith("ss") else word


def unit_language(unit: Unit) -> Language:
    """Tell which language a section is written in (only Vietnamese writes its marks)."""
    return "vi" if has_vietnamese_marks(f"{unit.title} {unit.text}") else "en"


@dataclass(frozen=True)
class QuestionSignals:
    """What the signals need from a question, computed once per question."""

    language: Language
    topic: frozenset[str]
    price: bool
    numbers: frozenset[int]
    # The question's own accented words (lower-case) when it is typed with Vietnamese marks: "tỉnh" is not "tính".
    marked: frozenset[str] = frozenset()
    # Every word of the question as typed and spelled out (lower-case, accents kept) when it has Vietnamese marks.
    spelled: frozenset[str] = frozenset()
    # The topic words with English plurals made singular: read once per question, not per candidate section.
    stems: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()
    # Read for the line an answer shows first, never for ranking sections (the weights were fitted without them):
    # a bare "how much" ending the question, and the question's glossary terms of several words, folded ("chu nhat"
    # for "Sunday": its words alone are stop words).
    how_much: bool = False
    phrases: frozenset[str] = frozenset()
    # The question's numbers with what each counts ("10 người": (10, "people")): read for the answer's lines only.
    measures: frozenset[tuple[int, str]] = frozenset()

    @property
    def kinds(self) -> frozenset[str]:
        """Every kind of value the question asks for: `types` and, for a price question, "price"."""
        return self.types | {"price"} if self.price else self.types

    @property
    def line_kinds(self) -> frozenset[str]:
        """The kinds of value a line answering the question states: `kinds`, or for a question that ends on a bare
        "how much" and asks no kind ("AP-C210 bao nhiêu?", not "nặng bao nhiêu") an amount or a share of one."""
        return self.kinds if self.kinds or not self.how_much else how_much_asks()

    @classmethod
    def of(cls, query: Query) -> QuestionSignals:
        """Read a prepared question."""
        words = topic_words(query.raw) + topic_words(query.normalized)
        for term in query.translations:
            words += topic_words(term)
        topic = frozenset(w for w in words if len(w) > 1)
        text = f"{query.raw} {query.normalized}"
        return cls(
            language=detect_language(query.raw),
            topic=topic,
            stems=frozenset(_stem(w) for w in topic),
            price=asks_price(text),
            numbers=frozenset(numbers(query.normalized)),
            marked=frozenset(
                w for w in re.findall(r"\w+", query.raw.lower()) if fold(w) in topic
            )
            if has_vietnamese_marks(query.raw)
            else frozenset(),
            types=asked_types(text),
            codes=codes(query.normalized),
            spelled=frozenset(_stem(w) for w in re.findall(r"\w+", text.lower()))
            if has_vietnamese_marks(query.raw)
            else frozenset(),
            how_much=ends_on_how_much(query.normalized),
            phrases=frozenset(p for p in (" ".join(fold_tokens(t)) for t in query.translations) if " " in p),
            measures=question_measures(query.normalized),
        )

    def score(self, unit: Unit) -> dict[str, float]:
        """Return the signals of one section for this question."""
        heading = set(fold_tokens(f"{unit.title} {unit.section} {' '.join(unit.variants)}"))
        head = len(self.topic & heading) / len(self.topic) if self.topic else 0.0
        return {
            "x:lang_vi": 1.0 if self.language == "vi" and unit_language(unit) == "vi" else 0.0,
            "x:lang_en": 1.0 if self.language == "en" and unit_language(unit) == "en" else 0.0,
            "x:head": round(head, 4),
            "x:price": 1.0 if self.price and states_amount(unit.text) else 0.0,
            "x:num": number_fit(set(self.numbers), f"{unit.section}\n{unit.text}"),
            "x:clash": self._clash(f"{unit.section} {' '.join(unit.variants)}"),
            "x:type": 1.0 if any(states_type(kind, unit.text) for kind in self.types) else 0.0,
            **self._codes(unit),
            "x:asks_other": self._asks_other(unit),
            "x:faq_extra": self._faq_extra(unit),
        }

    def _faq_extra(self, unit: Unit) -> float:
        if not is_faq_entry(unit):
            return 0.0
        return min(self._unmentioned(phrasing) for phrasing in (unit.section, *unit.variants))

    def _unmentioned(self, phrasing: str) -> float:
        """Share of a FAQ phrasing's topic words the question lacks (accents counted when the question has them)."""
        marked = has_vietnamese_marks(phrasing)
        typed = re.findall(r"\w+", phrasing.lower())
        words = [w for w in typed if not is_stop_word(w, marked_text=marked) and len(w) > 1]
        if not words:
            return 0.0
        missing = [w for w in words if _stem(fold(w)) not in self.stems or self._accent_differs(w)]
        return round(len(missing) / len(words), 4)

    def _accent_differs(self, word: str) -> bool:
        return bool(self.spelled) and has_vietnamese_marks(word) and _stem(word) not in self.spelled

    def _asks_other(self, unit: Unit) -> float:
        if not self.kinds:
            return 0.0
        own = _faq_kinds(unit)
        return 1.0 if own is not None and not own & self.kinds else 0.0

    def _codes(self, unit: Unit) -> dict[str, float]:
        if not self.codes:
            return {"x:code": 0.0, "x:code_clash": 0.0, "x:code_head": 0.0}
        stated, named = _unit_codes(unit)
        return {
            "x:code": len(self.codes & stated) / len(self.codes),
            "x:code_clash": 1.0 if named and not named & self.codes else 0.0,
            # The section about the product (its heading names it) over one that mentions it in passing.
            "x:code_head": len(self.codes & named) / len(self.codes),
        }

    def _clash(self, heading: str) -> float:
        if not self.numbers:
            return 0.0
        stated = numbers(heading)
        if not stated:
            return 0.0
        return 0.0 if number_fit(set(self.numbers), heading) > 0 else 1.0


__all__ = [
    "QuestionSignals",
    "asked_kinds",
    "asked_types",
    "asks_price",
    "codes",
    "ends_on_how_much",
    "how_much_asks",
    "is_faq_entry",
    "measure_fit",
    "number_fit",
    "numbers",
    "ranges",
    "states_amount",
    "states_kind",
    "states_type",
    "unit_language",
]
