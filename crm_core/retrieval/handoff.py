"""Questions the knowledge base must not answer even when a section shares their words (vi + en).

A customer asking about *their own* order, invoice, delivery, repair or account ("đơn AV123 của tôi
đâu"), demanding money or compensation ("hoàn tiền cho tôi"), asking for one named person ("cho gặp anh
Tuấn kỹ thuật") or about a subject no shop covers (weather, politics, general knowledge) needs a person:
any section about orders, refunds or technicians would only answer in general.

Two parts, both data files written from the dev split of `benchmarks/handoff/handoff_set.jsonl`:
    rules (data/handoff_rules.json): phrases and patterns that are enough on their own;
    a logistic regression over the message's words, word pairs and character n-grams
        (data/handoff_model.json, trained by `benchmarks/handoff/train.py`); it hands off when the
        probability that the message is not an answerable question reaches the tuned threshold.
`screen` orders these with the safety rules (`safety.classify`) and the off-topic lexicon (`scope`).
A subject no lexicon word names (the weather of a place or day, another shop's quality) has its own patterns
(`out_of_scope` in the rules file, `outside_any_shop`).

The model's guess is taken only when the message could be what it guesses (`model_needs` in the rules file):
a message with no content word ("em cảm ơn", "ok e", "hihi") is never handed off; a named person needs a name
or a person's role, and a shop's contact channel ("cho em xin số hotline") is answerable.

Own order and dispute are about the customer's *own case* (`case_cues` in the rules file). The model's
own_order guess needs a personal cue: a first-person possessive ("hóa đơn của công ty em", "my invoice"), an
order number, a transaction they made ("đơn em đặt hôm qua"), a past event or a demand for them; the shop's
account ("số tài khoản ck của shop") or a quantity ("discount for 120 sets?") is none. A dispute or own order,
from the rules or the model, yields when the message asks about the policy in general and shows no personal
cue ("trả hàng lấy lại tiền bị trừ bao nhiêu" is the return policy, not a claim) and makes no demand ("shop phải
đền", "you owe me", a threat, an amount or account to pay back, "charged twice": "Charged twice! policy?" is a
dispute). Not asked as a policy, money
back for their own case is a dispute ("sao tính phí ship của em gấp đôi, hoàn lại phần chênh lệch"), and an
order, document or account of theirs is their own order when nothing else named the message; so is their debt or
balance ("công ty em còn nợ bên shop bao nhiêu", "our balance"), while the credit policy stays answerable.

A named person's phone, home address or e-mail ("địa chỉ nhà anh Tuấn bên Vinamilk", "Mr. Tuan's phone number")
is another person's data, declined as `unsafe` before the named-person rules (`others_data`); asking to talk to
them stays a named person.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from crm_core.retrieval.normalize import expand_abbreviations, load_json
from crm_core.retrieval.safety import classify
from crm_core.retrieval.scope import off_topic, stopwords
from crm_core.textnorm import fold, nfc

HandoffClass = Literal["own_order", "dispute", "named_person", "out_of_scope"]
ScreenReason = Literal[
    "unsafe", "own_order", "dispute", "named_person", "asked_for_human", "complaint", "out_of_scope"
]
# When a message is several things at once ("hoàn tiền cho tôi đơn 4521"), the first one names it.
RULE_ORDER: tuple[HandoffClass, ...] = ("dispute", "own_order", "named_person")
ANSWERABLE = "answerable"

_WORD_RE = re.compile(r"[0-9a-z]+")
_MONEY_RE = re.compile(r"^\d+(?:k|tr\d*|d|m|cm|mm|kg|l|ml|h|p)$")


def _shape(token: str) -> str:
    """Stand numbers and codes in for their shape: an order number is known by its form, not its digits."""
    if not any(ch.isdigit() for ch in token):
        return token
    if token.isdigit():
        return "<num>" if len(token) >= 3 else "<n>"
    if _MONEY_RE.match(token):
        return "<qty>"
    return "<code>"


def _words(text: str) -> list[str]:
    return [_shape(w) for w in _WORD_RE.findall(fold(expand_abbreviations(nfc(text))))]


@cache
def _honorifics() -> re.Pattern[str]:
    words = load_json("handoff_rules.json")["honorifics"]
    alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    # An honorific followed by a capitalised word that does not start a sentence: "anh Tuấn", "Ms. Hoa".
    return re.compile(rf"(?<![\w.!?])(?:{alternation})\.?\s+[A-ZĐ][a-zà-ỹđ]+", re.IGNORECASE)


def features(text: str) -> list[str]:
    """Return the message's features: shaped words, word pairs, character 3-5-grams inside words, cues."""
    words = _words(text)
    out = [f"w:{w}" for w in words]
    out += [f"b:{a}_{b}" for a, b in itertools.pairwise(words)]
    for word in words:
        padded = f" {word} "
        out += [f"c:{padded[i:i + n]}" for n in (3, 4, 5) for i in range(len(padded) - n + 1)]
    raw = nfc(text)
    if any(m.group(0)[:1].islower() or m.start() > 0 for m in _honorifics().finditer(raw)):
        out.append("f:honorific_name")
    if "?" in raw:
        out.append("f:question_mark")
    return out


@dataclass(frozen=True)
class HandoffModel:
    """A multinomial logistic regression over binary features, scaled by 1/sqrt(the message's feature count)."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    threshold: float

    def probabilities(self, text: str) -> dict[str, float]:
        """Return the probability of each class (`answerable` and the hand-off classes)."""
        feats = set(features(text))
        scale = 1.0 / math.sqrt(len(feats)) if feats else 0.0
        scores = list(self.bias)
        for feat in feats:
            row = self.weights.get(feat)
            if row is not None:
                for i, w in enumerate(row):
                    scores[i] += w * scale
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {c: e / total for c, e in zip(self.classes, exps, strict=True)}

    def predict(self, text: str) -> HandoffClass | None:
        """Return the hand-off class when the message is not answerable with enough probability, else None."""
        probs = self.probabilities(text)
        if 1.0 - probs.get(ANSWERABLE, 0.0) < self.threshold:
            return None
        best = max((c for c in probs if c != ANSWERABLE), key=lambda c: probs[c])
        return _as_class(best)


def _as_class(name: str) -> HandoffClass:
    for cls in ("own_order", "dispute", "named_person", "out_of_scope"):
        if cls == name:
            return cls
    raise ValueError(f"unknown hand-off class {name!r}")


@cache
def default_model() -> HandoffModel | None:
    """Return the shipped model (data/handoff_model.json), or None before one is trained."""
    try:
        data = load_json("handoff_model.json")
    except FileNotFoundError:
        return None
    return HandoffModel(
        classes=tuple(data["classes"]),
        bias=tuple(float(b) for b in data["bias"]),
        weights={k: tuple(float(x) for x in v) for k, v in data["weights"].items()},
        threshold=float(data["threshold"]),
    )


@cache
def _rules() -> dict[HandoffClass, tuple[re.Pattern[str], list[re.Pattern[str]], list[re.Pattern[str]]]]:
    """Per class: one pattern of its phrases (folded), patterns on the folded text, patterns on the original."""
    table = load_json("handoff_rules.json")
    out: dict[HandoffClass, tuple[re.Pattern[str], list[re.Pattern[str]], list[re.Pattern[str]]]] = {}
    for cls in RULE_ORDER:
        entry = table[cls]
        phrases = sorted({fold(p) for p in entry.get("phrases", [])}, key=len, reverse=True)
        alternation = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases) or "(?!)"
        names = "|".join(sorted(table["given_names"], key=len, reverse=True))
        honorifics = "|".join(re.escape(fold(h)) for h in table["honorifics"])
        folded_patterns = [
            re.compile(p.replace("{NAME}", f"(?:{names})").replace("{HON}", f"(?:{honorifics})"))
            for p in entry.get("folded_patterns", [])
        ]
        out[cls] = (
            re.compile(rf"(?<![0-9a-z])(?:{alternation})(?![0-9a-z])"),
            folded_patterns,
            [re.compile(p) for p in entry.get("patterns", [])],
        )
    return out


def _with_names(pattern: str, table: dict[str, list[str]]) -> re.Pattern[str]:
    names = "|".join(sorted(table["given_names"], key=len, reverse=True))
    honorifics = "|".join(re.escape(fold(h)) for h in table["honorifics"])
    return re.compile(pattern.replace("{NAME}", f"(?:{names})").replace("{HON}", f"(?:{honorifics})"))


@cache
def _model_needs() -> dict[str, tuple[list[re.Pattern[str]], list[re.Pattern[str]]]]:
    """Per class the model may guess: patterns on the folded text and on the original, one of which must match."""
    table = load_json("handoff_rules.json")
    return {cls: ([_with_names(p, table) for p in entry.get("folded_patterns", [])],
                  [re.compile(p) for p in entry.get("patterns", [])])
            for cls, entry in table["model_needs"].items() if cls != "role_contact"}


@cache
def _others_data() -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
    """Patterns of a named person's personal data asked for (`others_data`): on the folded text, on the original."""
    table = load_json("handoff_rules.json")
    entry = table["others_data"]
    return ([_with_names(p, table) for p in entry["folded_patterns"]], [re.compile(p) for p in entry["patterns"]])


def asks_others_data(text: str) -> bool:
    """Tell whether the message asks for a named person's phone, address, e-mail or orders ("sdt chi lan")."""
    raw = nfc(text)
    forms = (fold(raw), fold(expand_abbreviations(raw)))
    folded_patterns, patterns = _others_data()
    return any(p.search(form) for form in forms for p in folded_patterns) or any(p.search(raw) for p in patterns)


@cache
def _role_contact() -> re.Pattern[str]:
    phrases = sorted({fold(p) for p in load_json("handoff_rules.json")["model_needs"]["role_contact"]},
                     key=len, reverse=True)
    return re.compile(rf"(?<![0-9a-z])(?:{'|'.join(re.escape(p) for p in phrases)})(?![0-9a-z])")


@cache
def _no_content() -> frozenset[str]:
    return frozenset(load_json("handoff_rules.json")["no_content"]) | stopwords()


def has_content(text: str) -> bool:
    """Tell whether the message has a word that could need a person (not only thanks, ok, laughter, pronouns)."""
    words = _WORD_RE.findall(fold(expand_abbreviations(nfc(text))))
    return any(w not in _no_content() for w in words)


CaseCue = Literal["owned", "personal", "claim", "policy", "question", "demand", "threat"]


@cache
def _case_cues() -> dict[CaseCue, tuple[re.Pattern[str], ...]]:
    """Per kind of case cue (`case_cues` in the rules file), its folded patterns with the placeholders filled."""
    table = load_json("handoff_rules.json")["case_cues"]
    words = {key: "|".join(sorted(values, key=len, reverse=True)) for key, values in table["placeholders"].items()}

    def compiled(pattern: str) -> re.Pattern[str]:
        for key, alternation in words.items():
            pattern = pattern.replace(f"{{{key}}}", f"(?:{alternation})")
        return re.compile(pattern)

    kinds: tuple[CaseCue, ...] = ("owned", "personal", "claim", "policy", "question", "demand", "threat")
    return {kind: tuple(compiled(p) for p in table[kind]) for kind in kinds}


def _shows(kind: CaseCue, text: str) -> bool:
    raw = nfc(text)
    forms = (fold(raw), fold(expand_abbreviations(raw)))
    return any(p.search(form) for form in forms for p in _case_cues()[kind])


@cache
def _out_of_scope_rules() -> tuple[re.Pattern[str], ...]:
    """Folded patterns of subjects no shop covers that no lexicon word names (`out_of_scope` in the rules file)."""
    entry = load_json("handoff_rules.json")["out_of_scope"]
    words = {key: "|".join(sorted(values, key=len, reverse=True)) for key, values in entry["placeholders"].items()}
    out = []
    for pattern in entry["folded_patterns"]:
        for key, alternation in words.items():
            pattern = pattern.replace(f"{{{key}}}", f"(?:{alternation})")
        out.append(re.compile(pattern))
    return tuple(out)


def outside_any_shop(text: str) -> bool:
    """Tell whether the message asks the weather of a place or day, or about another named shop's quality."""
    raw = nfc(text)
    forms = (fold(raw), fold(expand_abbreviations(raw)))
    return any(p.search(form) for form in forms for p in _out_of_scope_rules())


def personal_case(text: str) -> bool:
    """Tell whether the message is about the customer's own case: their order, document, payment or claim."""
    return _shows("owned", text) or _shows("personal", text)


def demands(text: str) -> bool:
    """Tell whether the message demands or claims something of the shop ("shop phải đền", "you owe me", a threat)."""
    return _shows("demand", text) or _shows("threat", text)


def asked_in_general(text: str) -> bool:
    """Tell whether the message asks about the policy in general, showing nothing of the customer's own case."""
    # A policy word does not make a demand a question: "Charged twice! policy?", "shop phải đền, nếu không…".
    asks = _shows("policy", text) or _shows("question", text)
    return asks and not personal_case(text) and not demands(text)


def _claim_not_policy(text: str) -> bool:
    # "sao tính phí ship của em gấp đôi, hoàn lại phần chênh lệch": money back for their own case is a claim;
    # "nếu hàng lỗi thì có được hoàn tiền không" asks the policy.
    # "…shop hoàn lại 4tr5 vào stk 0123456789 giúp nhé": an amount or account to pay back is a claim, policy or not.
    if not _shows("claim", text):
        return False
    return demands(text) or (personal_case(text) and not _shows("policy", text))


def _owned_not_policy(text: str) -> bool:
    # "hóa đơn của công ty em ghi sai…", "our invoice has the wrong tax code": their own document. Asked as a
    # policy ("how do I track my order?", "nếu đơn của em giao trễ thì…") it is the policy's question.
    return _shows("owned", text) and not _shows("policy", text)


def could_be(cls: HandoffClass, text: str) -> bool:
    """Tell whether the message shows what the model's guess `cls` needs (see the module's docstring)."""
    if not has_content(text):
        return False
    if cls == "own_order":
        return personal_case(text)
    if cls == "dispute":
        # A dispute is about their case too: a delivery instruction ("giao tới địa chỉ nhà chị Lan giúp em") is none.
        return not asked_in_general(text) and (personal_case(text) or demands(text) or _shows("claim", text))
    needs = _model_needs().get(cls)
    if needs is None:
        return True
    raw = nfc(text)
    folded = fold(expand_abbreviations(raw))
    shaped = " ".join(_words(text))
    folded_patterns, patterns = needs
    if cls == "named_person" and _role_contact().search(folded) and not folded_patterns[0].search(folded):
        return False  # the shop's hotline or e-mail, not a person's: the knowledge base has it
    return any(p.search(folded) or p.search(shaped) for p in folded_patterns) or any(p.search(raw) for p in patterns)


def rule_class(text: str) -> HandoffClass | None:
    """Return the first hand-off class whose rules match the message, or None."""
    raw = nfc(text)
    folded = fold(raw)
    expanded = fold(expand_abbreviations(raw))
    for cls, (phrases, folded_patterns, patterns) in _rules().items():
        if phrases.search(folded) or phrases.search(expanded):
            return cls
        if any(p.search(folded) or p.search(expanded) for p in folded_patterns):
            return cls
        if any(p.search(raw) for p in patterns):
            return cls
        # A threat (police, a lawsuit, going public) is a dispute whatever it is about; a claim unless asked as policy.
        if cls == "dispute" and (_shows("threat", text) or _claim_not_policy(text)):
            return cls
    return None


def screen(
    text: str, knowledge_text: str = "", *, covered: float = 0.0, model: HandoffModel | None = None
) -> ScreenReason | None:
    """Return why a person, not the knowledge base, should answer `text`; None when the knowledge base may.

    Order: other people's or internal data and injections (`unsafe`, a named person's phone or address
    included); the hand-off rules (a dispute, the
    customer's own order, a named person); a complaint; asking for a person; a topic outside any shop that
    `knowledge_text` (the knowledge base's folded text) never mentions; then the learned model; last, an
    order, document or account of the customer's not asked about as a policy (own order). The model
    knows no knowledge base: its `out_of_scope` is dropped when the knowledge uses every topic word of the
    question (`covered`, see `scope.coverage`), as a phone shop's does for "iPhone 16 giá bao nhiêu".
    """
    if not text.strip():
        return None
    safety = classify(text)
    if safety == "unsafe":
        return safety
    if asks_others_data(text):
        return "unsafe"  # before the named-person rule: "địa chỉ nhà anh Tuấn" is his data, not a wish to talk
    ruled = rule_class(text)
    if ruled in ("own_order", "dispute") and asked_in_general(text):
        ruled = None  # a policy question sharing a claim's words ("trả hàng lấy lại tiền bị trừ bao nhiêu")
    if ruled is not None:
        return ruled
    if safety is not None:
        return safety
    if off_topic(text, knowledge_text):
        return "out_of_scope"
    if covered < 1.0 and outside_any_shop(text):
        # "mai ha noi co mua khong", "tiem X quan 5 co uy tin khong"; not when the knowledge uses all its words
        return "out_of_scope"
    learned = model if model is not None else default_model()
    guess = learned.predict(text) if learned is not None else None
    if guess is not None and not could_be(guess, text):
        guess = None
    if guess == "out_of_scope" and covered >= 1.0:
        guess = None
    if guess is None and _owned_not_policy(text):
        return "own_order"  # nothing else named it, and it speaks of an order or document of theirs
    return guess


__all__ = [
    "HandoffClass", "HandoffModel", "ScreenReason", "asked_in_general", "asks_others_data", "could_be",
    "default_model", "demands", "features", "has_content", "outside_any_shop", "personal_case", "rule_class", "screen",
]
