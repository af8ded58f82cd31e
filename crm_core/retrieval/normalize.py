"""Query normalisation: language, chat abbreviations, accent restoration, bilingual glossary."""

from __future__ import annotations

import itertools
import json
import logging
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


# Loanwords Vietnamese customers type as often as English ones do: no evidence either way.
_NEUTRAL = frozenset({"shop", "ok", "oke", "okay", "sale", "ship", "online", "email", "web", "website", "app", "cv"})


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
    vi = en = 0
    for token in tokens:
        if any(ch.isdigit() for ch in token) or token in _NEUTRAL:
            continue
        is_vi, is_en = token in syllables or token in abbrevs, token in english
        if is_vi and not is_en:
            vi += 1
        elif not is_vi:
            en += 1
    return vi > en


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


# A model code as documents write it: a letter prefix, then dash-joined parts, one with a digit ("AP-C200").
_DOC_CODE_RE = re.compile(r"(?<![\w-])[A-Za-z]{1,5}(?:-[A-Za-z0-9]+)+(?![\w-])")
# One piece of a code as a customer types it ("ap", "c2oo", "APC200"), whole between non-word characters.
_CODE_PIECE_RE = re.compile(r"(?<!\w)[A-Za-z0-9]+(?!\w)")
# A code's last part after its letter prefix and a dash, its letter O read as zero: "AP-C2OO", "RO-5OO".
_DASHED_TAIL_RE = re.compile(r"^[A-Za-z]{0,3}\d[\dOo]*$")


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

    @classmethod
    def of(cls, texts: Iterable[str]) -> CodeBook:
        """Collect the codes written in `texts`; a code two spellings share ("AP-C200", "APC-200") is left out."""
        seen: dict[str, set[str]] = {}
        for text in texts:
            for match in _DOC_CODE_RE.finditer(text):
                code = match.group(0).upper()
                if any(ch.isdigit() for ch in code):
                    seen.setdefault(_code_key(code), set()).add(code)
        spellings = {key: next(iter(codes)) for key, codes in seen.items() if len(codes) == 1}
        parts = frozenset(p for code in spellings.values() for p in code.split("-")[1:] if any(c.isdigit() for c in p))
        return cls(spellings=spellings, parts=parts)

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
    table = _with_loanwords() if loanwords else abbreviations()

    def repl(match: re.Match[str]) -> str:
        word = match.group(0)
        words = table.get(fold(word), word).split(" ")
        # "ship hàng" is "giao hàng", not "giao hàng hàng": the spelled-out phrase may end in the next word.
        following = _NEXT_WORD_RE.match(match.string, match.end())
        if len(words) > 1 and following and fold(following.group(1)) == fold(words[-1]):
            words = words[:-1]
        return " ".join(words)

    return _WORD_RE.sub(repl, text)


class AccentRestorer:
    """Put diacritics back on unaccented Vietnamese: the knowledge base's own phrases first, then pyvi."""

    def __init__(self) -> None:
        self._ngrams: dict[tuple[str, ...], str] = {}
        self._words: dict[str, str] = {}

    def learn(self, texts: Iterable[str], max_n: int = 3) -> None:
        """Learn the accented spelling of 2..max_n-word phrases from knowledge text."""
        counts: dict[tuple[str, ...], Counter[str]] = {}
        texts_seen = list(texts)
        for text in texts_seen:
            words = _WORD_RE.findall(nfc(text).lower())
            folded = [fold(w) for w in words]
            for n in range(2, max_n + 1):
                for i in range(len(words) - n + 1):
                    span = words[i : i + n]
                    if not any(has_vietnamese_marks(w) for w in span):
                        continue
                    counts.setdefault(tuple(folded[i : i + n]), Counter())[" ".join(span)] += 1
        self._ngrams = {key: c.most_common(1)[0][0] for key, c in counts.items()}
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

    def tables(self) -> tuple[dict[tuple[str, ...], str], dict[str, str]]:
        """Return what `learn` learnt (phrases, words), to be kept and given back with `use`."""
        return dict(self._ngrams), dict(self._words)

    def use(self, tables: tuple[dict[tuple[str, ...], str], dict[str, str]]) -> None:
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

    def restore(self, text: str) -> str:
        """Return `text` with diacritics restored (lower-cased), punctuation and numbers kept."""
        text = text.lower()
        words = _WORD_RE.findall(text)
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
                if phrase is not None and len(phrase.split()) == n:
                    out[i : i + n] = phrase.split()
                    i += n
                    break
            else:
                out[i] = self._words.get(folded[i], out[i])
                i += 1
        # Digits and codes are never re-accented.
        out = [w if any(ch.isdigit() for ch in w) or w in _NEUTRAL else r for w, r in zip(words, out, strict=True)]
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
        tokens = lexical_tokens(self.raw) + lexical_tokens(self.normalized)
        for term in self.translations:
            tokens += lexical_tokens(term)
        return list(dict.fromkeys(tokens))


def _keep_marked(spelled: str, restored: str) -> str:
    """The restored text with the words already written with marks (spelled-out abbreviations: "đc" -> "được")
    kept as spelled: the restorer guesses from folded text and can guess them wrong ("toán" -> "toàn")."""
    known = _WORD_RE.findall(spelled.lower())
    guessed = _WORD_RE.findall(restored)
    if len(known) != len(guessed):
        return restored
    words = iter(k if has_vietnamese_marks(k) else g for k, g in zip(known, guessed, strict=True))
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
        normalized = expand_abbreviations(normalized)
        if unaccented_vi:
            normalized = _keep_marked(normalized, restorer.restore(fold(normalized)))
    # A term's other-language words only help find sections written in that language; where there are none they
    # are noise: "card" -> "thẻ" folds to "the", which every English FAQ holds (BANKING77 dev hit@1 .7398 -> .7459).
    other: Language = "en" if detected == "vi" else "vi"
    wanted = written_in is None or other in written_in
    translations = tuple(glossary_terms(normalized, detected)) if wanted else ()
    return Query(raw=raw, language=lang, normalized=normalized, restored=unaccented_vi, translations=translations)
