"""Query normalisation: language, chat abbreviations, accent restoration, bilingual glossary."""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from crm_core.textnorm import fold, fold_tokens, nfc

log = logging.getLogger(__name__)

Language = Literal["vi", "en"]

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_NEXT_WORD_RE = re.compile(r"\s+(\w+)", re.UNICODE)
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
def loanwords() -> frozenset[str]:
    """The English words Vietnamese customers type for Vietnamese ones (folded): they tell no language apart."""
    return frozenset(fold(k) for k in load_json("loanwords.json") if not k.startswith("_"))


@cache
def _with_loanwords() -> dict[str, str]:
    """The abbreviation table plus the English words typed for Vietnamese ones ("ship" -> "giao hàng")."""
    table = load_json("loanwords.json")
    return abbreviations() | {fold(k): nfc(v) for k, v in table.items() if not k.startswith("_")}


@cache
def _chat_data() -> dict[str, Any]:
    data: dict[str, Any] = load_json("chat_vi.json")
    return data


@cache
def chat_abbreviations() -> dict[str, str]:
    """The forms a Vietnamese customer types in a question, for retrieval (folded form -> words): the chat
    abbreviations, the English words typed for Vietnamese ones, and `chat_vi.json`'s own ("a/c", "cn", "mik"; days
    such as "t6" are read by `normalize_chat_forms`)."""
    table = _chat_data()["abbreviations"]
    return _with_loanwords() | {fold(k): nfc(v) for k, v in table.items() if not k.startswith("_")}


@cache
def chat_phrases() -> dict[tuple[str, ...], str]:
    """Accented phrases customers ask with (folded words -> spelling), read as the documents' own phrases are; the
    days are among them ("thứ hai", not "thứ hải")."""
    data = _chat_data()
    return {tuple(fold_tokens(p)): nfc(p).lower() for p in (*data["phrases"], *data["weekdays"].values())}


@cache
def chat_words() -> dict[str, str]:
    """The word a question nearly always means by an unaccented one, when no phrase decides ("giam" -> "giảm")."""
    return {fold(w): nfc(w).lower() for w in _chat_data()["words"]}


@cache
def _english_words() -> frozenset[str]:
    words = [
        w for line in _data_text("english_common.txt").splitlines() if not line.startswith("#") for w in line.split()
    ]
    return frozenset(words)


@cache
def vi_dictionary_words() -> tuple[str, ...]:
    """Return the Vietnamese words (one or more syllables) of pyvi's word list, which ships in its wheel."""
    try:
        text = resources.files("pyvi").joinpath("models", "words.txt").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):  # pragma: no cover - pyvi is a dependency
        return ()
    return tuple(text.splitlines())


@cache
def _vi_syllables() -> frozenset[str]:
    """Return folded Vietnamese syllables."""
    return frozenset(tok for line in vi_dictionary_words() for tok in fold_tokens(line))


@cache
def neutral_words() -> frozenset[str]:
    """The words Vietnamese and English customers both type (folded): loanwords ("shop", "ship", "link") and the names
    of apps, wallets, banks and shops common in Vietnam ("zalo", "momo", "visa"); they tell no language apart."""
    data = load_json("neutral_words.json")
    words = (fold(w) for key, group in data.items() if not key.startswith("_") for w in group)
    return frozenset(words) | loanwords()


def has_vietnamese_marks(text: str) -> bool:
    """Tell whether `text` carries Vietnamese diacritics."""
    return any(ch in _VI_CHARS for ch in text.lower())


def unaccented_language(text: str) -> Language | None:
    """Return the language the words of `text` (read without diacritics) lean to, None when none leans either way.

    A Vietnamese syllable or chat abbreviation that is no common English word counts for Vietnamese, any other word
    for English except a word both are (a syllable and a common English word: "can", "so") and `neutral_words`
    ("zalo", "momo", "ship"); digits and codes ("c300") count for neither. A tie of counted words is English.
    """
    syllables, english, abbrevs, neutral = _vi_syllables(), _english_words(), abbreviations(), neutral_words()
    vi = en = 0
    for token in fold_tokens(text):
        if any(ch.isdigit() for ch in token) or token in neutral:
            continue
        is_vi, is_en = token in syllables or token in abbrevs, token in english
        if is_vi and not is_en:
            vi += 1
        elif not is_vi:
            en += 1
    if vi == en == 0:
        return None
    return "vi" if vi > en else "en"


def looks_unaccented_vietnamese(text: str) -> bool:
    """Tell whether `text` is Vietnamese typed without diacritics."""
    return not has_vietnamese_marks(text) and unaccented_language(text) == "vi"


def detect_language(text: str) -> Language:
    """Guess whether a question is Vietnamese or English."""
    return "vi" if has_vietnamese_marks(text) or looks_unaccented_vietnamese(text) else "en"


_MILLIONS_RE = re.compile(r"(?<![\w.,])(\d{1,3})\s*(?:tr|triệu|trieu|củ)\s*(\d{1,3})?(?!\w)", re.IGNORECASE)
_THOUSANDS_RE = re.compile(r"(?<![\w.,])(\d{1,3})\s*(?:k|nghìn|ngàn|nghin)(?!\w)", re.IGNORECASE)
# "1m4" is a 1.4 m desk; "m2" is left alone (square metres).
_METRES_RE = re.compile(r"(?<![\w.,])(\d)m([013-9])(?!\w)")
_DIGIT_GROUP_RE = re.compile(r"(?<=\d)[.,](?=\d{3}(?!\d))")


def _vnd(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def normalize_numbers(text: str) -> str:
    """Write chat amounts and sizes the way the documents do ("1tr650" -> "1.650.000", "1m4" -> "140 cm")."""
    text = _MILLIONS_RE.sub(
        lambda m: _vnd(int(m.group(1)) * 1_000_000 + int((m.group(2) or "0").ljust(3, "0")) * 1_000), text
    )
    text = _THOUSANDS_RE.sub(lambda m: _vnd(int(m.group(1)) * 1_000), text)
    return _METRES_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}0 cm", text)


# "t6", "th6", "thu 6", "thứ 6": a day; not the tail of a model code ("AP-T2"), while "t2-t7" is two days.
_WEEKDAY_RE = re.compile(r"(?<![\w.,])(?<![A-Za-z]{2}-)(?:thứ|thu|th|t)\s?([2-7])(?!\w|[.,]\d)", re.IGNORECASE)
# "q7", "q.7", "q. Tân Bình": a district ("quận").
_DISTRICT_RE = re.compile(r"(?<![\w.,/-])q(?:\.?\s?(\d{1,2})(?!\w|[.,]\d)|\.\s?(?=[^\W\d_]))", re.IGNORECASE)
# "17h30" is a time of day (the documents write 17:30); "48h", "2h" are hours ("48 giờ").
_CLOCK_RE = re.compile(r"(?<![\w.,:])([01]?\d|2[0-3])h([0-5]\d)(?!\w)", re.IGNORECASE)
_HOURS_RE = re.compile(r"(?<![\w.,:])(\d{1,3})\s?h(?!\w)", re.IGNORECASE)
# "1.5tr", "1,5 triệu": a decimal amount of millions.
_DECIMAL_MILLIONS_RE = re.compile(r"(?<![\w.,])(\d{1,3})[.,](\d{1,3})\s*(?:tr|triệu|trieu|củ)(?!\w)", re.IGNORECASE)
# Any amount typed in chat form, read by `normalize_numbers` and `normalize_chat_forms`.
_CHAT_AMOUNT_RE = re.compile(
    r"(?<![\w.,])\d{1,3}(?:[.,]\d{1,3})?\s*(?:tr|triệu|trieu|củ)(?:\s*\d{1,3}(?!\w))?(?!\w)"
    r"|(?<![\w.,])\d{1,3}\s*(?:k|nghìn|ngàn|nghin)(?!\w)",
    re.IGNORECASE,
)
# A percent sign with no number before it asks for one: "giảm mấy %".
_BARE_PERCENT_RE = re.compile(r"(?<![\d\s])\s*%|^\s*%")


def normalize_chat_forms(text: str) -> str:
    """Write a Vietnamese question's chat forms of days, districts, hours and amounts as the documents do:
    "thứ 6" -> "thứ Sáu", "q7" -> "quận 7", "17h30" -> "17:30", "48h" -> "48 giờ", "1.5tr" -> "1.500.000",
    "giảm mấy %" -> "giảm mấy phần trăm"; "t6", "t2-t7" too."""
    days: dict[str, str] = _chat_data()["weekdays"]
    text = _WEEKDAY_RE.sub(lambda m: nfc(days[m.group(1)]), text)
    text = _DISTRICT_RE.sub(lambda m: f"quận {int(m.group(1))}" if m.group(1) else "quận ", text)
    text = _CLOCK_RE.sub(lambda m: f"{int(m.group(1))}:{m.group(2)}", text)
    text = _HOURS_RE.sub(lambda m: f"{int(m.group(1))} giờ", text)
    text = _DECIMAL_MILLIONS_RE.sub(
        lambda m: _vnd(int(m.group(1)) * 1_000_000 + int(m.group(2).ljust(3, "0")) * 1_000), text
    )
    return _BARE_PERCENT_RE.sub(" phần trăm", text)


# A model code as documents write it: a letter prefix, then dash-joined parts, one with a digit ("AP-C200").
_DOC_CODE_RE = re.compile(r"(?<![\w-])[A-Za-z]{1,5}(?:-[A-Za-z0-9]+)+(?![\w-])")
# One piece of a code as a customer types it ("ap", "c2oo", "APC200"), whole between non-word characters.
_CODE_PIECE_RE = re.compile(r"(?<!\w)[A-Za-z0-9]+(?!\w)")
# A code's last part after its letter prefix and a dash, its letter O read as zero: "AP-C2OO", "RO-5OO".
_DASHED_TAIL_RE = re.compile(r"^[A-Za-z]{0,3}\d[\dOo]*$")


# An amount with its thousands grouped, as documents write money: "1.850.000", "150,000" (not "1.5" or "2026").
_GROUPED_AMOUNT_RE = re.compile(r"(?<![\w.,])\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*(?![\w]|[.,]\d)")


def _code_key(code: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", code).upper()


def _zeroed(piece: str) -> str:
    """Read the letter O after a code's first digit as zero ("C2OO" -> "C200", "c2oo" -> "c200")."""
    first = next((i for i, ch in enumerate(piece) if ch.isdigit()), None)
    if first is None:
        return piece
    return piece[:first] + piece[first:].replace("O", "0").replace("o", "0")


@dataclass(frozen=True)
class CodeBook:
    """The model codes a knowledge base writes, to read a customer's spelling of one as the documents do."""

    # "APC200" -> "AP-C200": a code without separators, upper-cased, to its spelling in the documents.
    spellings: dict[str, str] = field(default_factory=dict)
    # The parts after the prefix ("C200", "HD140"), upper-cased.
    parts: frozenset[str] = frozenset()
    # The amounts written with thousands grouped ("1.850.000 ₫", "150,000 VND"), to read a budget by.
    amounts: frozenset[int] = frozenset()

    @classmethod
    def of(cls, texts: Iterable[str]) -> CodeBook:
        """Collect the codes written in `texts`; a code two spellings share ("AP-C200", "APC-200") is left out."""
        seen: dict[str, set[str]] = {}
        amounts: set[int] = set()
        for text in texts:
            for match in _DOC_CODE_RE.finditer(text):
                code = match.group(0).upper()
                if any(ch.isdigit() for ch in code):
                    seen.setdefault(_code_key(code), set()).add(code)
            amounts.update(int(re.sub(r"\D", "", m.group(0))) for m in _GROUPED_AMOUNT_RE.finditer(text))
        spellings = {key: next(iter(codes)) for key, codes in seen.items() if len(codes) == 1}
        parts = frozenset(p for code in spellings.values() for p in code.split("-")[1:] if any(c.isdigit() for c in p))
        return cls(spellings=spellings, parts=parts, amounts=frozenset(amounts))

    def amounts_near(self, value: int, tolerance: float) -> list[int]:
        """The amounts the documents write that a budget of `value` may mean, nearest first: within half the unit
        of its last typed digit ("1tr9": 1.850.000 to 1.950.000) and within `tolerance` (a share) of it."""
        unit = 10 ** (len(str(value)) - len(str(value).rstrip("0")))
        within = min(unit / 2, tolerance * value)
        near = [a for a in self.amounts if a != value and abs(a - value) <= within]
        return sorted(near, key=lambda a: (abs(a - value), a))

    def unknown(self, text: str) -> list[str]:
        """The codes a text writes the way the documents write theirs (a prefix they use, a dash, a part with letters
        and digits: "AP-C999") that no document writes: a product the knowledge does not have."""
        prefixes = {code.split("-")[0] for code in self.spellings.values()}
        out = []
        for match in _DOC_CODE_RE.finditer(text):
            written = match.group(0).upper()
            pieces = written.split("-")
            if len(pieces) != 2 or pieces[0] not in prefixes:
                continue
            if not (re.search(r"[A-Z]", pieces[1]) and re.search(r"\d", pieces[1])):
                continue  # "AP-2026": an order's year, not a model
            if _code_key(written) not in self.spellings and _zeroed(_code_key(written)) not in self.spellings:
                out.append(written)
        return out

    def spelling(self, written: str, *, dashed: bool) -> str | None:
        """Return how the documents write the code `written` spells ("ap c2oo" -> "AP-C200"), None if it is none.

        A code the documents do not write is read only by a clear pattern: O after the first digit of the part
        after a letter prefix and a dash ("AP-X5OO" -> "AP-X500"), or between two digits ("X1O5" -> "X105").
        """
        key = _code_key(written)
        for candidate in dict.fromkeys((key, _zeroed(key))):
            if candidate in self.spellings and any(ch.isdigit() for ch in candidate):
                return self.spellings[candidate]
        pieces = re.split(r"[-\s]", written)
        if len(pieces) == 1 and _zeroed(key) != key and _zeroed(key) in self.parts:
            return _zeroed(written)
        if dashed and len(pieces) == 2 and pieces[0].isalpha() and _DASHED_TAIL_RE.match(pieces[1]):
            return f"{pieces[0]}-{_zeroed(pieces[1])}"
        if len(pieces) == 1 and re.search(r"[A-Za-z]", written) and re.search(r"\d[Oo]+\d", written):
            return re.sub(r"(?<=\d)[Oo]+(?=\d)", lambda m: "0" * len(m.group(0)), written)
        return None


def normalize_codes(text: str, book: CodeBook | None = None) -> str:
    """Write the model codes of a question as the documents do: "ap c200", "APC200", "AP-C2OO" -> "AP-C200".

    Up to three pieces joined by one space or dash are read together; a text is changed only where it spells a
    code the documents write or, for others, by the patterns of `CodeBook.spelling`: ordinary words never are.
    """
    book = book or CodeBook()
    pieces = list(_CODE_PIECE_RE.finditer(text))
    out: list[str] = []
    last = i = 0
    while i < len(pieces):
        for k in (3, 2, 1):
            group = pieces[i : i + k]
            gaps = [text[a.end() : b.start()] for a, b in itertools.pairwise(group)]
            if len(group) < k or any(gap not in ("-", " ") for gap in gaps):
                continue
            written = text[group[0].start() : group[-1].end()]
            spelt = book.spelling(written, dashed=k == 2 and gaps == ["-"])
            if spelt is not None and spelt != written:
                out += [text[last : group[0].start()], spelt]
                last = group[-1].end()
                i += k
                break
            if spelt is not None:
                i += k
                break
        else:
            i += 1
    return "".join([*out, text[last:]])


def lexical_tokens(text: str) -> list[str]:
    """Return accent-folded tokens for BM25, with "1.850.000" kept as one number."""
    return fold_tokens(_DIGIT_GROUP_RE.sub("", text))


def expand_abbreviations(text: str, *, loanwords: bool = True) -> str:
    """Replace chat abbreviations ("ko", "dc", "sđt") by their words, and with `loanwords` the English words
    typed for Vietnamese ones ("ship")."""
    return _expand(text, _with_loanwords() if loanwords else abbreviations())[0]


@cache
def _phrase_re(keys: frozenset[str]) -> re.Pattern[str]:
    """Keys with a non-word character ("a/c") whole, else any word."""
    phrases = sorted((k for k in keys if _WORD_RE.fullmatch(k) is None), key=len, reverse=True)
    alternation = "".join(rf"(?<!\w){re.escape(p)}(?!\w)|" for p in phrases)
    return re.compile(rf"{alternation}\w+", re.UNICODE | re.IGNORECASE)


@cache
def _units() -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    data = _chat_data()
    return frozenset(data["units"]), tuple(tuple(fold_tokens(w)) for w in data["quantity_words"])


def _after_quantity(text: str, start: int) -> bool:
    """Tell whether the words before `start` end with a number or a how-many word ("bao nhiêu", "mấy")."""
    before = fold_tokens(text[max(0, start - 40) : start])
    if before and before[-1].isdigit():
        return True
    return any(tuple(before[-len(q) :]) == q for q in _units()[1] if q)


def _expand(text: str, table: dict[str, str], *, units: bool = False) -> tuple[str, list[bool]]:
    """`text` with the words and phrases of `table` replaced, and per word of the result whether it was written by
    the table (so the accent restorer leaves it as spelled: "e" -> "em", not "êm")."""
    spelled: list[bool] = []

    def repl(match: re.Match[str]) -> str:
        word = match.group(0)
        key = fold(word)
        if key not in table or (units and key in _units()[0] and _after_quantity(match.string, match.start())):
            spelled.extend([False] * len(_WORD_RE.findall(word)))
            return word
        words = table[key].split(" ")
        # "ship hàng" is "giao hàng", not "giao hàng hàng": the spelled-out phrase may end in the next word.
        following = _NEXT_WORD_RE.match(match.string, match.end())
        if len(words) > 1 and following and fold(following.group(1)) == fold(words[-1]):
            words = words[:-1]
        out = " ".join(words)
        spelled.extend([True] * len(_WORD_RE.findall(out)))
        return out

    return _phrase_re(frozenset(table)).sub(repl, text), spelled


# Punctuation between two words that ends a phrase: "Óc chó. Giá niêm yết" holds no phrase "chó giá".
_PHRASE_BREAK_RE = re.compile(r"[.,;:!?…|()\[\]{}<>\"“”\n\r\t]")


def _phrase_runs(text: str) -> list[list[str]]:
    """The words of `text` in runs no phrase-ending punctuation cuts (a phrase is read within one run)."""
    runs: list[list[str]] = []
    end = None
    for match in _WORD_RE.finditer(text):
        if end is None or _PHRASE_BREAK_RE.search(text, end, match.start()):
            runs.append([])
        runs[-1].append(match.group(0))
        end = match.end()
    return runs


# What an accent restorer learnt: per folded phrase its usual spelling and how often the texts wrote it so; per
# folded word the one spelling the texts nearly always use.
RestorerTables = tuple[dict[tuple[str, ...], tuple[str, int]], dict[str, str]]


class AccentRestorer:
    """Put diacritics back on unaccented Vietnamese: the knowledge base's own phrases and the phrases customers ask
    with first, then the words a chat question nearly always means, the knowledge base's own words, then pyvi."""

    def __init__(self) -> None:
        self._ngrams: dict[tuple[str, ...], tuple[str, int]] = {}
        self._words: dict[str, str] = {}

    def learn(self, texts: Iterable[str], max_n: int = 3) -> None:
        """Learn the accented spelling of 2..max_n-word phrases from knowledge text."""
        counts: dict[tuple[str, ...], Counter[str]] = {}
        texts_seen = list(texts)
        for words in (run for text in texts_seen for run in _phrase_runs(nfc(text).lower())):
            folded = [fold(w) for w in words]
            for n in range(2, max_n + 1):
                for i in range(len(words) - n + 1):
                    span = words[i : i + n]
                    if not any(has_vietnamese_marks(w) for w in span):
                        continue
                    counts.setdefault(tuple(folded[i : i + n]), Counter())[" ".join(span)] += 1
        self._ngrams = {key: c.most_common(1)[0] for key, c in counts.items()}
        spellings: dict[str, Counter[str]] = {}
        for text in texts_seen:
            for word in _WORD_RE.findall(nfc(text).lower()):
                spellings.setdefault(fold(word), Counter())[word] += 1
        # A single word is trusted only when the documents nearly always spell it one way.
        self._words = {
            key: c.most_common(1)[0][0]
            for key, c in spellings.items()
            if c.most_common(1)[0][1] >= 2 and c.most_common(1)[0][1] >= 0.6 * sum(c.values())
        }

    def tables(self) -> RestorerTables:
        """Return what `learn` learnt (phrases, words), to be kept and given back with `use`."""
        return dict(self._ngrams), dict(self._words)

    def use(self, tables: RestorerTables) -> None:
        """Take tables an earlier `learn` on the same texts produced."""
        self._ngrams, self._words = dict(tables[0]), dict(tables[1])

    def _pyvi_restore(self, text: str) -> str:
        from crm_core.retrieval.diacritics import add_accents

        try:
            return add_accents(text).lower()
        except Exception:  # pyvi is best effort: never fail a question over it
            # pyvi's model fails on some inputs ("root:x:0:0", a KeyError): the question goes on unrestored.
            log.debug("pyvi accent restoration failed", exc_info=True)
            return text

    def _spellings(self, key: tuple[str, ...]) -> Iterator[tuple[str, float]]:
        """The spellings known for a folded phrase, each with its weight: more for a phrase written more often."""
        if key in self._ngrams:
            spelling, count = self._ngrams[key]
            yield spelling, 1.0 + math.log(count)
        if key in chat_phrases():
            yield chat_phrases()[key], 1.0 + math.log(_chat_data()["phrase_count"])

    def restore(self, text: str) -> str:
        """Return `text` with diacritics restored (lower-cased), punctuation and numbers kept.

        Every known phrase in `text` (the knowledge base's own, `chat_phrases`) votes for the spelling of each of its
        words, by its length and how often it is written: "bảo hành động" and "động cơ" overlap in "bao hanh dong co"
        and both are kept, where reading phrases left to right took "bảo hành động" and then "có". A word no phrase
        covers takes `chat_words`, the knowledge base's usual spelling of it, or pyvi's guess, in that order.
        """
        text = text.lower()
        words = _WORD_RE.findall(text)
        if not words:
            return text
        guessed = _WORD_RE.findall(self._pyvi_restore(" ".join(words)))
        if len(guessed) != len(words):
            guessed = list(words)
        folded = [fold(w) for w in words]
        votes: list[dict[str, float]] = [{} for _ in words]
        longest = max(3, *(len(k) for k in chat_phrases()))
        run = [i for i, words_run in enumerate(_phrase_runs(text)) for _ in words_run]
        for n in range(longest, 1, -1):
            for i in range(len(words) - n + 1):
                if run[i] != run[i + n - 1]:
                    continue
                for spelling, weight in self._spellings(tuple(folded[i : i + n])):
                    parts = spelling.split()
                    if len(parts) == n:
                        for j, part in enumerate(parts):
                            votes[i + j][part] = votes[i + j].get(part, 0.0) + n * weight
        chat = chat_words()
        out = [
            max(vote, key=vote.__getitem__) if vote else chat.get(key) or self._words.get(key, guess)
            for vote, key, guess in zip(votes, folded, guessed, strict=True)
        ]
        # Digits, codes and neutral words ("zalo", "visa") are never re-accented.
        keep = neutral_words()
        out = [w if any(ch.isdigit() for ch in w) or w in keep else r for w, r in zip(words, out, strict=True)]
        replacements = iter(out)
        return _WORD_RE.sub(lambda _: next(replacements), text)


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


def _contains(haystack: str, phrase: str, *, plural: bool = False) -> bool:
    """Whole-phrase match; with `plural` an English term's plural counts too ("instalments", "Sundays")."""
    ending = r"(?:e?s)?" if plural else ""
    return re.search(rf"(?<!\w){re.escape(phrase)}{ending}(?!\w)", haystack) is not None


def _named_targets(text: str, language: Language) -> Iterator[Sequence[str]]:
    """The other-language terms of each glossary entry `text` names."""
    folded = fold(text)
    for entry in glossary():
        source, target = (entry.vi, entry.en) if language == "vi" else (entry.en, entry.vi)
        if any(_contains(folded, fold(term), plural=language == "en") for term in source):
            yield target


def glossary_terms(text: str, language: Language) -> list[str]:
    """Return the other language's words for the glossary terms found in `text`."""
    return [target[0] for target in _named_targets(text, language)]


def counterpart_terms(text: str, language: Language) -> frozenset[str]:
    """Return every other-language term (folded) of the glossary entries `text` names: "Shipping to Hanoi" ->
    {"giao hang", "van chuyen", "ship hang", "ha noi"}."""
    return frozenset(fold(term) for target in _named_targets(text, language) for term in target)


def mentions_any(text: str, folded_terms: frozenset[str]) -> bool:
    """Tell whether `text` holds one of the folded terms as a whole phrase ("giao hàng", not "giao sai ... hàng")."""
    folded = fold(text)
    return any(_contains(folded, term) for term in folded_terms)


@cache
def _term_table(source: Language) -> tuple[tuple[re.Pattern[str], str], ...]:
    pairs: list[tuple[str, str]] = []
    for entry in glossary():
        src, dst = (entry.vi, entry.en) if source == "vi" else (entry.en, entry.vi)
        pairs.extend((fold(term), dst[0]) for term in src)
    pairs.sort(key=lambda p: -len(p[0]))
    return tuple((re.compile(rf"(?<![0-9a-z]){re.escape(term)}(?![0-9a-z])"), target) for term, target in pairs)


def translate_terms(text: str, source: Language) -> str:
    """Render the glossary terms and model codes of `text` in the other language ("Ghế lưới AP-C210" -> "mesh chair
    AP-C210"); empty when no term is known."""
    folded = fold(text)
    found: list[tuple[int, str]] = []
    for pattern, target in _term_table(source):
        for match in pattern.finditer(folded):
            found.append((match.start(), target))
            folded = folded[: match.start()] + " " * (match.end() - match.start()) + folded[match.end() :]
    if not found:
        return ""
    codes = [(m.start(), m.group(0)) for m in re.finditer(r"\b[A-Za-z]{1,4}-?[A-Za-z]*\d+[\w+-]*", text)]
    words = [word for _, word in sorted(found + codes)]
    return " ".join(dict.fromkeys(words))


@dataclass(frozen=True)
class Query:
    """A question prepared for retrieval."""

    raw: str
    language: Language
    normalized: str
    restored: bool
    translations: tuple[str, ...] = field(default=())
    # Amounts the documents write near a budget typed in chat ("1tr9" -> "1.850.000"): words to match, not to embed.
    amounts: tuple[str, ...] = field(default=())

    def embedding_texts(self) -> list[str]:
        """Return the forms of the question to embed (each scored, the best kept)."""
        texts = [self.normalized]
        if self.restored or self.normalized != self.raw:
            texts.append(self.raw)
        if self.translations:
            texts.append(f"{self.normalized} ({', '.join(self.translations)})")
        return list(dict.fromkeys(t for t in texts if t.strip()))

    def lexical_tokens(self) -> list[str]:
        """Return accent-folded tokens for BM25 (raw, normalised, glossary words and amounts near a budget)."""
        tokens = lexical_tokens(self.raw) + lexical_tokens(self.normalized)
        for term in (*self.translations, *self.amounts):
            tokens += lexical_tokens(term)
        return list(dict.fromkeys(tokens))


def chat_amounts(text: str) -> list[int]:
    """The amounts a Vietnamese question types in chat form ("1tr9", "900k", "2 triệu", "1.5tr"), in đồng: such an
    amount is a budget, seldom the exact price."""
    values = [
        int(re.sub(r"\D", "", normalize_chat_forms(normalize_numbers(m.group(0)))))
        for m in _CHAT_AMOUNT_RE.finditer(text)
    ]
    return [v for v in values if v > 0]


def _keep_spelled(spelled: str, restored: str, written: Sequence[bool]) -> str:
    """The restored text with the words the chat forms wrote ("đc" -> "được", "e" -> "em") and the words already
    written with marks kept as spelled: the restorer guesses from folded text and can guess them wrong ("toán" ->
    "toàn", "em" -> "êm")."""
    known = _WORD_RE.findall(spelled.lower())
    guessed = _WORD_RE.findall(restored)
    if len(known) != len(guessed):
        return restored
    if len(written) != len(known):
        written = [False] * len(known)
    words = iter(k if w or has_vietnamese_marks(k) else g for k, g, w in zip(known, guessed, written, strict=True))
    return _WORD_RE.sub(lambda _: next(words), restored)


def prepare_query(
    question: str,
    restorer: AccentRestorer,
    *,
    language: Language | None = None,
    codes: CodeBook | None = None,
    written_in: frozenset[Language] | None = None,
) -> Query:
    """Normalise a customer question for retrieval; `codes` are the model codes the knowledge base writes and
    `written_in` the languages its sections are written in (None: unknown, both)."""
    raw = nfc(question).strip()
    unaccented_vi = looks_unaccented_vietnamese(raw)
    detected: Language = "vi" if unaccented_vi or has_vietnamese_marks(raw) else "en"
    lang = language or detected
    normalized = normalize_numbers(normalize_codes(raw, codes))
    if detected == "vi":
        normalized, written = _expand(normalize_chat_forms(normalized), chat_abbreviations(), units=True)
        if unaccented_vi:
            normalized = _keep_spelled(normalized, restorer.restore(fold(normalized)), written)
    # A term's other-language words only help find sections written in that language; where there are none they
    # are noise: "card" -> "thẻ" folds to "the", which every English FAQ holds (BANKING77 dev hit@1 .7398 -> .7459).
    other: Language = "en" if detected == "vi" else "vi"
    wanted = written_in is None or other in written_in
    translations = tuple(glossary_terms(normalized, detected)) if wanted else ()
    amounts: tuple[str, ...] = ()
    if detected == "vi" and codes is not None and codes.amounts:
        tolerance = float(_chat_data()["amount_tolerance"])
        near = (a for v in chat_amounts(raw) for a in codes.amounts_near(v, tolerance))
        amounts = tuple(dict.fromkeys(_vnd(a) for a in near))
    return Query(
        raw=raw,
        language=lang,
        normalized=normalized,
        restored=unaccented_vi,
        translations=translations,
        amounts=amounts,
    )
