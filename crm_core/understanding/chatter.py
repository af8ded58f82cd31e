"""Staff messages that are not a log, and typed values that are a new log instead.

    is_greeting("chào em")                  -> True: answered with a greeting, never a log preview
    reads_as_new_log(parse_log("Gọi chị Lan bên Vinamilk, muốn 100 bộ"), "due", …)
                                            -> True: not the due date of the draft being edited

Word lists are data (`data/chatter.json`); the rules below only combine them with the parser's result.
"""

from __future__ import annotations

from crm_core.textnorm import fold, fold_tokens
from crm_core.understanding import vocabulary
from crm_core.understanding.model import ParsedLog

# A typed value with two signs of a log of its own (another person or company, an amount, a kind of
# contact, a date) is a new log; so is a long one with one sign.
NEW_LOG_SIGNS = 2
LONG_VALUE_WORDS = 12

# The signs a field's own value naturally carries: a date in "thứ 6", a person in "anh Minh bên Hòa Phát",
# a call and a date in the next step "gọi lại anh Minh thứ 2".
_OWN_SIGNS: dict[str, frozenset[str]] = {
    "amount": frozenset({"amount"}),
    "due": frozenset({"due"}),
    "contact": frozenset({"contact", "company"}),
    "company": frozenset({"company", "contact"}),
    "kind": frozenset({"kind"}),
    "stage": frozenset({"kind", "due"}),
    "next_step": frozenset({"kind", "due"}),
}


def is_greeting(text: str) -> bool:
    """Tell whether a message is only a greeting ("chào", "hello", "chào em", "hi bot", "xin chào cả nhà")."""
    tokens = fold_tokens(text)
    rest, greeted = _without_phrases(tokens, vocabulary.phrases("greeting_phrases"))
    addressees = vocabulary.words("greeting_addressees")
    return greeted and all(token in addressees for token in rest)


def _without_phrases(tokens: list[str], phrases: tuple[tuple[str, ...], ...]) -> tuple[list[str], bool]:
    """Drop every occurrence of the phrases (longest first) from `tokens`; tell whether any was found."""
    rest: list[str] = []
    found, i = False, 0
    while i < len(tokens):
        match = next((p for p in phrases if tuple(tokens[i:i + len(p)]) == p), None)
        if match is None:
            rest.append(tokens[i])
            i += 1
        else:
            found, i = True, i + len(match)
    return rest, found


def log_signs(parsed: ParsedLog, *, contact: str | None = None, company: str | None = None) -> set[str]:
    """Return what in a parsed message reads like a log of its own.

    A person or company counts only when it is not the one the draft is already about (`contact`,
    `company`): naming the same customer in a next step is normal, naming another is a new log.
    """
    signs = set()
    if parsed.contact and fold(parsed.contact) != fold(contact or ""):
        signs.add("contact")
    if parsed.company and fold(parsed.company) != fold(company or ""):
        signs.add("company")
    if parsed.amount is not None or parsed.quantity is not None:
        signs.add("amount")
    if parsed.kind != "note":
        signs.add("kind")
    if parsed.due is not None:
        signs.add("due")
    return signs


def reads_as_new_log(parsed: ParsedLog, field: str, *, contact: str | None, company: str | None) -> bool:
    """Tell whether a value typed while a draft's `field` is being edited is a new log rather than the value."""
    signs = log_signs(parsed, contact=contact, company=company) - _OWN_SIGNS.get(field, frozenset())
    if len(signs) >= NEW_LOG_SIGNS:
        return True
    return bool(signs) and len(parsed.raw_text.split()) >= LONG_VALUE_WORDS
