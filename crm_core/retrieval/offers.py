"""Questions asking whether the business sells or does something its knowledge never mentions.

"shop có bán máy lạnh không" shares its frame with the FAQ "Có bán lẻ 1 cái ghế không…?", whose answer starts
"Có."; a furniture shop whose documents never name air conditioners does not sell them. `asked_offers` reads the
things a question asks for (the words in `data/offers.json`: "có bán …", "có nhận sửa …", "do you sell …");
`SectionWords.mentions` tells whether one knowledge section names a thing; `offer_scope` turns that into a reason
not to answer from the knowledge base.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from crm_core.retrieval.normalize import (
    expand_abbreviations,
    glossary,
    has_vietnamese_marks,
    load_json,
    vi_dictionary_words,
)
from crm_core.textnorm import fold, fold_tokens, nfc

Phrase = tuple[str, ...]
OfferReason = Literal["out_of_scope", "low_confidence"]
_OFFER_TOKEN_RE = re.compile(r"[^\W_](?:[\w-]*[^\W_])?|[,/&+]")


@dataclass(frozen=True)
class _OfferLexicon:
    """One language's words for asking whether the business sells or does something (`data/offers.json`)."""

    frame_required: bool
    frames: tuple[Phrase, ...]
    offers: tuple[Phrase, ...]
    bare_offers: tuple[Phrase, ...]
    services: tuple[Phrase, ...]
    not_cues: tuple[Phrase, ...]
    ends: tuple[Phrase, ...]
    stops: tuple[Phrase, ...]
    joins: tuple[Phrase, ...]
    ignore: tuple[Phrase, ...]
    subjects: tuple[Phrase, ...]


_LEXICON_LISTS = (
    "frames", "offers", "bare_offers", "services", "not_cues", "ends", "stops", "joins", "ignore", "subjects"
)


def _offer_tokens(text: str) -> list[str]:
    """Lower-case words (a code such as "ap-c200" is one) and list marks (",", "/", "&", "+")."""
    return _OFFER_TOKEN_RE.findall(nfc(text).lower())


@cache
def _offer_lexicons() -> tuple[_OfferLexicon, ...]:
    table = load_json("offers.json")

    def phrases(words: list[str]) -> tuple[Phrase, ...]:
        return tuple(sorted({tuple(_offer_tokens(w)) for w in words}, key=len, reverse=True))

    return tuple(
        _OfferLexicon(
            frame_required=bool(spec["frame_required"]),
            **{name: phrases(spec[name]) for name in _LEXICON_LISTS},
        )
        for language, spec in table.items()
        if not language.startswith("_")
    )


def _same(token: str, word: str) -> bool:
    # A word typed without accents is any accented word it folds to ("ban" is "bán"); one typed with them is itself.
    return token == word or (not has_vietnamese_marks(token) and fold(word) == token)


def _match(tokens: list[str], at: int, phrases: tuple[Phrase, ...], *, exact: bool = False) -> int:
    """Return the length of the longest phrase found at `tokens[at]` (`exact`: typed with its accents), else 0."""
    same = str.__eq__ if exact else _same
    for phrase in phrases:  # longest first
        end = at + len(phrase)
        if end <= len(tokens) and all(same(t, w) for t, w in zip(tokens[at:end], phrase, strict=True)):
            return len(phrase)
    return 0


def _things(tokens: list[str], lex: _OfferLexicon) -> list[Phrase]:
    """Split what is asked into the things it names, each as folded words without the ignored ones and numbers."""
    things: list[Phrase] = []
    current: list[str] = []
    folded = tuple(fold(t) for t in tokens)
    i = 0
    while i < len(tokens):
        if n := _match(tokens, i, lex.joins):
            things.append(tuple(current))
            current = []
        elif term := _glossary_at(folded, i):
            n = term[0]
            current += folded[i : i + n]  # whole, even with an ignored word in it: "giao hàng" is not "giao"
        elif not (n := _match(tokens, i, lex.ignore)):
            n = 1
            if not any(ch.isdigit() for ch in tokens[i]):
                current += fold_tokens(tokens[i])
        i += n
    things.append(tuple(current))
    return [thing for thing in things if thing]


def _asked_after(tokens: list[str], at: int, lex: _OfferLexicon) -> tuple[list[str], bool]:
    """What a cue ending at `at` asks about (up to the first end or stop word), and whether an end word follows."""
    asked: list[str] | None = None
    i = at
    while i < len(tokens):
        if _match(tokens, i, lex.ends):
            return (tokens[at:i] if asked is None else asked), True
        if asked is None and _match(tokens, i, lex.stops):
            asked = tokens[at:i]
        i += 1
    return (tokens[at:] if asked is None else asked), False


def _only_subjects(tokens: list[str], lex: _OfferLexicon) -> bool:
    """Tell whether `tokens` are only who is asked and polite openings ("bên mình", "cho em hỏi shop")."""
    i = 0
    while i < len(tokens):
        n = _match(tokens, i, lex.subjects)
        if not n:
            return False
        i += n
    return True


def _clause_offers(tokens: list[str], lex: _OfferLexicon) -> list[Phrase] | None:
    """The things one clause asks the business to sell or do, or None when it asks no such thing."""
    for i in range(len(tokens)):
        framed = _match(tokens, i, lex.frames)
        if not framed and (lex.frame_required or not _only_subjects(tokens[:i], lex)):
            continue
        at = i + framed
        if _match(tokens, at, lex.not_cues):
            continue
        cue = at
        while n := _match(tokens, cue, lex.offers):
            cue += n
        service = _match(tokens, cue, lex.services)
        if cue == at and not service:
            continue
        if not framed and not (service or _match(tokens, at, lex.bare_offers, exact=True)):
            # "bàn mới nhận bị nứt": receiving, not taking on work; "ban moi nhan…" may be "bàn", not "bán".
            continue
        asked, ended = _asked_after(tokens, cue, lex)  # a service word stays: "sửa máy tính" is what is asked
        if not framed and not ended:
            continue  # "bên mình bán … không": without "có" the question needs its end particle
        things = _things(asked, lex)
        if not things and framed:
            things = _things(tokens[:i], lex)  # "máy lạnh có bán không": the thing comes first
        return things
    return None


_CLAUSE_WORDS = 40


def asked_offers(question: str) -> list[Phrase]:
    """Return the things a question asks whether the business sells or does, as folded words; [] when none.

    "shop có bán tủ lạnh với máy lạnh ko" -> [("tu", "lanh"), ("may", "lanh")]; "có nhận sửa máy tính không" ->
    [("sua", "may", "tinh")]; "có bán ghế cho trẻ em không" -> [("ghe",)]: who or what it is for, the way of
    selling, classifiers and numbers are not the thing (`data/offers.json`).
    """
    text = expand_abbreviations(nfc(question))
    for clause in re.split(r"[?!.;:\n]+", text):
        # Reading a clause costs the square of its length: "có bán X không" is asked in a few words, and a
        # 4,000-character message must not hold the knowledge search for everyone (43 s before this cap).
        tokens = _offer_tokens(clause)[:_CLAUSE_WORDS]
        for lex in _offer_lexicons():
            things = _clause_offers(tokens, lex)
            if things is not None:
                return things
    return []


@dataclass(frozen=True)
class SectionWords:
    """Each knowledge section's folded words, to tell whether one section mentions a thing a question asks about."""

    padded: tuple[str, ...] = ()
    postings: dict[str, frozenset[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, texts: Iterable[str]) -> SectionWords:
        """Read the sections' texts (heading, breadcrumb, question variants and body)."""
        padded = tuple(f" {' '.join(fold_tokens(text))} " for text in texts)
        postings: dict[str, set[int]] = {}
        for i, text in enumerate(padded):
            for word in set(text.split()):
                postings.setdefault(word, set()).add(i)
        return cls(padded=padded, postings={w: frozenset(ids) for w, ids in postings.items()})

    def sections_with(self, phrase: str) -> frozenset[int]:
        """Return the sections that hold `phrase` (folded words) as whole words in a row."""
        words = phrase.split()
        if not words:
            return frozenset()
        found = frozenset.intersection(*(self.postings.get(w, frozenset()) for w in words))
        if len(words) == 1:
            return found
        return frozenset(i for i in found if f" {phrase} " in self.padded[i])

    def mentions(self, thing: Phrase) -> bool:
        """Tell whether one section names `thing`: all its words, a glossary term by any of its renderings.

        A customer adds a word the documents do not use with the thing: a thing of three words or more is named
        by a section with all but one of them when the documents use that one elsewhere ("sửa ghế văn phòng" by
        the section on repairing chairs). For that count a word of two or three syllables the documents write is
        one word: "sửa máy tính" is two words, and no section has both.
        """
        return self._holding(_units(thing, self, compounds=False), spare=0) or self._holding(
            _units(thing, self, compounds=True), spare=1
        )

    def _holding(self, units: list[frozenset[str]], *, spare: int) -> bool:
        """Tell whether a section holds every unit, or with `spare` and three units or more all but that many
        of them, each missing one held by some other section."""
        if not units:
            return True
        spare = spare if len(units) >= 3 else 0
        where = [frozenset().union(*(self.sections_with(r) for r in renderings)) for renderings in units]
        if spare and any(not found for found in where):
            spare = 0  # a word the documents never use is not one they left out
        held: dict[int, int] = {}
        for found in where:
            for section in found:
                held[section] = held.get(section, 0) + 1
        return max(held.values(), default=0) >= len(units) - spare


@cache
def _vi_compounds() -> frozenset[str]:
    """Folded Vietnamese words of two or three syllables ("may tinh", "van phong"), from pyvi's word list."""
    folded = (" ".join(fold_tokens(line)) for line in vi_dictionary_words())
    return frozenset(word for word in folded if 2 <= word.count(" ") + 1 <= 3)


@cache
def _glossary_phrases() -> tuple[tuple[Phrase, frozenset[str]], ...]:
    """Every glossary term (folded words) with all renderings of its entry, both languages; longest terms first."""
    out = []
    for entry in glossary():
        renderings = frozenset(" ".join(fold_tokens(t)) for t in (*entry.vi, *entry.en))
        out += [(tuple(fold_tokens(t)), renderings) for t in (*entry.vi, *entry.en)]
    return tuple(sorted(out, key=lambda p: -len(p[0])))


def _plural_of(word: str, singular: str) -> bool:
    return len(singular) > 2 and word in (f"{singular}s", f"{singular}es")


def _glossary_at(words: Phrase, at: int) -> tuple[int, frozenset[str]] | None:
    """The glossary term written at `words[at]` (its last word may be an English plural): its length, renderings."""
    for term, renderings in _glossary_phrases():
        end = at + len(term)
        if term and end <= len(words) and words[at : end - 1] == term[:-1] and (
            words[end - 1] == term[-1] or _plural_of(words[end - 1], term[-1])
        ):
            return len(term), renderings
    return None


def _units(thing: Phrase, sections: SectionWords, *, compounds: bool) -> list[frozenset[str]]:
    """Split a thing into the words a section must name, each as its renderings (folded phrases).

    A glossary term is one word with all its renderings ("chairs" is "ghế"); with `compounds`, a Vietnamese word
    of two or three syllables the documents write is one word ("máy tính"); an English plural may be named by its
    singular.
    """
    units: list[frozenset[str]] = []
    i = 0
    while i < len(thing):
        term = _glossary_at(thing, i)
        if term is not None:
            units.append(term[1])
            i += term[0]
            continue
        for n in (3, 2, 1) if compounds else (1,):
            phrase = " ".join(thing[i : i + n])
            if n == 1 or (i + n <= len(thing) and phrase in _vi_compounds() and sections.sections_with(phrase)):
                break
        units.append(frozenset({phrase}) if n > 1 else _word_renderings(thing[i]))
        i += n
    return units


def _word_renderings(word: str) -> frozenset[str]:
    """A word and, for an English plural, its singular ("conditioners" -> "conditioner", "benches" -> "bench")."""
    return frozenset({word, *(word[:-k] for k in (1, 2) if _plural_of(word, word[:-k]))})


def offer_scope(question: str, sections: SectionWords) -> OfferReason | None:
    """Tell whether a question asks the business to sell or do things its knowledge never mentions.

    Every thing asked unmentioned (no section has all its words): `out_of_scope` — a shop whose documents never
    name air conditioners does not sell them, and no "Có" may answer it. Some of them: `low_confidence`, a person
    answers the mixed question. None when every thing is mentioned, or the question asks no such thing.
    """
    things = asked_offers(question)
    if not things or not sections.padded:
        return None
    missing = sum(1 for thing in things if not sections.mentions(thing))
    if not missing:
        return None
    return "out_of_scope" if missing == len(things) else "low_confidence"
