"""parse_log: free text (vi/en) -> ParsedLog, rules first."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime, timedelta
from decimal import Decimal

from rapidfuzz import fuzz, process

from crm_core.understanding import classify, vocabulary
from crm_core.understanding.dates import DateMention, find_dates, tense_of
from crm_core.understanding.entities import (
    Span,
    Word,
    capitalised_runs,
    company_after,
    company_after_customer_word,
    company_word_runs,
    find_companies,
    find_contacts,
    find_email,
    find_phone,
    find_urls,
    full_name_in_parentheses,
    words_of,
)
from crm_core.understanding.model import KnownContact, KnownNames, ParsedLog
from crm_core.understanding.money import Money, find_money
from crm_core.understanding.numbers import EN_SMALL, MAX_VALUE, Token, parse_digits, tokenize
from crm_core.understanding.text import detect_language, fold, prepare
from crm_core.understanding.times import TimeMention, find_times, part_time

log = logging.getLogger(__name__)

MAX_CHARS = 4000  # a log is a chat message; past this we read the head only

# Quantity and price words, from data/amounts.json.
_UNIT_NOUNS = vocabulary.words("unit_nouns")
_NOT_UNIT = vocabulary.words("not_units")
_PER_WORDS = vocabulary.words("per_words")
_PRICE_BEFORE = vocabulary.words("price_markers")
_PERIOD_NOUNS = vocabulary.words("period_nouns")
_PIECE_NOUNS = vocabulary.words("piece_nouns")
_GENERIC_MAILBOX = vocabulary.words("generic_mailboxes")
_TOTAL_WORDS = re.compile(
    r"(?<![a-z])(?:tong(?:\s+cong)?|total|tong\s+gia\s+tri|gia\s+tri\s+(?:hd|hop\s+dong|don)|=)\s*:?\s*$"
)
_FUZZ_CUTOFF = 88.0
# "giá X" with a counted quantity and no per-unit cue: X is a unit price below these (tuned on the dev split).
_BARE_PRICE_WORDS = vocabulary.words("bare_price_words")
_PRICE_FILLERS = vocabulary.words("price_fillers")
_TOTAL_PRICE_HEADS = vocabulary.words("total_price_heads")
_TEAM_RE = re.compile(
    r"(?<![a-z0-9])(?:" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in sorted(vocabulary.words("team_cues"), key=len, reverse=True)) + r")(?![a-z0-9])"  # noqa: E501
)
_INTERNAL_RE = re.compile(
    r"(?<![a-z0-9])(?:" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in sorted(vocabulary.words("internal_meeting_cues"), key=len, reverse=True)) + r")(?![a-z0-9])"  # noqa: E501
)
_SIDE_MONEY = vocabulary.words("side_money_heads")
_TIMES_SIGNS = frozenset({"x", "×", "*"})
_UNIT_PRICE_LIMIT_VND = Decimal(50_000_000)
_UNIT_PRICE_LIMIT_OTHER = Decimal(5_000)


def parse_log(text: str, *, now: datetime, language: str | None = None, known: KnownNames | None = None) -> ParsedLog:
    """Read a salesperson's free-text log into a card; never raises on odd input."""
    raw = text if isinstance(text, str) else ""
    try:
        return _parse(raw, now=now, language=language, known=known or KnownNames())
    except Exception:  # never lose the user's input to a parsing bug
        log.exception("parse_log failed on a %d-character text", len(raw))
        lang = language if language in {"vi", "en"} else "vi"
        return ParsedLog(raw_text=raw, language=lang, unreadable=["text"])


def _parse(raw: str, *, now: datetime, language: str | None, known: KnownNames) -> ParsedLog:
    original, folded = prepare(raw[:MAX_CHARS])
    lang = language if language in {"vi", "en"} else detect_language(original, folded)
    out = ParsedLog(raw_text=raw, language=lang)
    if not any(ch.isalnum() for ch in original):
        if original.strip():
            out.unreadable.append("text")
        return out
    today = now.date()
    conf: dict[str, float] = {}

    phone = find_phone(original)
    email = find_email(original)
    # A link's words are nobody's name, company, date or amount (they stay in the text as typed).
    masked = _mask(folded, [(p[1], p[2]) for p in (phone, email) if p is not None] + find_urls(original))
    tokenize(masked)

    mentions = find_dates(original, masked, today, lang)
    times = find_times(original, masked)
    date_spans = [(d.start, d.end) for d in mentions]
    time_spans = [(t.start, t.end) for t in times]
    money_folded = _mask(masked, date_spans + time_spans)
    money = find_money(original, money_folded, lang, tokenize(money_folded))

    _fill_money(out, money, tokenize(money_folded), lang, conf)
    step_at = classify.next_step_start(original, masked)
    if step_at is None:
        step_at = _timed_clause(masked, mentions, times)
    _fill_dates(out, mentions, today, step_at, conf, masked, classify.action_clauses(masked))
    _fill_time(out, original, masked, mentions, times, now, step_at, conf)
    hits = classify.find_kinds(original, masked)
    out.kind = "note" if classify.is_note(masked) else classify.choose_kind(hits, step_at)
    conf["kind"] = 0.9 if hits else 0.5
    future_at = [d.start for d in mentions if d.value is not None and d.value > today]
    out.stage = classify.find_stage(original, masked, future_at)
    if out.stage:
        conf["stage"] = 0.8

    words = words_of(original, masked)
    busy = date_spans + time_spans + [(m.start, m.end) for m in money]
    _fill_people(out, original, masked, words, lang, known, busy, conf)
    _fill_next_step(out, original, masked, mentions, times, step_at, conf)

    if phone:
        out.phone = phone[0]
        conf["phone"] = 0.95
    if email:
        out.email = email[0]
        conf["email"] = 0.98
    out.confidence = conf
    return out


def without_when(text: str, *, now: datetime, language: str | None = None) -> str:
    """Return `text` without its date and time-of-day words, as a task title.

    "3h chiều mai gọi anh Minh" -> "gọi anh Minh"; "gọi lại chị Hà thứ 6 tuần sau" -> "gọi lại chị Hà";
    the text as typed when nothing would be left.
    """
    original, folded = prepare(text[:MAX_CHARS])
    lang = language if language in {"vi", "en"} else detect_language(original, folded)
    mentions = find_dates(original, folded, now.date(), lang)
    cuts = [(d.start, d.end) for d in mentions] + [(t.start, t.end) for t in find_times(original, folded)]
    for d in mentions:
        if _deadline_before(folded, d.start):
            cuts.append((folded.rfind(" ", 0, len(folded[: d.start].rstrip())) + 1, d.start))
    return classify.next_step_text(original, folded, 0, len(folded), cuts) or " ".join(text.split())


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for a, b in spans:
        for k in range(a, b):
            chars[k] = " "
    return "".join(chars)


# ---------------------------------------------------------------- money


def _fill_money(out: ParsedLog, money: list[Money], toks: list[Token], lang: str, conf: dict[str, float]) -> None:
    if any(m.value < 0 for m in money):
        out.unreadable.append("amount")
    good = [m for m in money if m.value >= 0 and not _side_money(toks, m)]
    unit_found = _unit_price(toks, good)
    qty = _quantity(toks, good, unit_found[1] if unit_found else None)
    if qty is None and unit_found is not None:
        qty = _times_count(toks, unit_found[0])
        if qty is not None:
            unit_found = (unit_found[0], unit_found[1] or "x")
    if unit_found is None and qty is not None:
        bare = _bare_price(toks, good)
        if bare is not None:
            unit_found = (bare, "gia")
    unit = unit_found[0] if unit_found and qty is not None and _tok_index(toks, unit_found[0].start) > qty[1] else None
    if unit is None and unit_found is not None and qty is not None and unit_found[1] is not None:
        unit = unit_found[0]  # "mỗi máy 3tr5 ... 50 máy": the price may come first
    if qty is not None:
        out.quantity = qty[0]
        conf["quantity"] = 0.8
    total = next((m for m in good if _is_total(toks, m)), None)
    if unit is not None and qty is not None:
        out.unit_price = unit.value
        product = unit.value * qty[0]
        if total is not None:
            _set_amount(out, total.value, total.currency, conf, 0.9)
        elif product <= MAX_VALUE:
            _set_amount(out, product, unit.currency, conf, 0.85)
        return
    if total is not None:
        _set_amount(out, total.value, total.currency, conf, 0.9)
        return
    if good:
        best = max(good, key=lambda m: (m.value, -m.start))
        _set_amount(out, best.value, best.currency, conf, 0.9 if best.explicit_currency else 0.75)


def _side_money(toks: list[Token], m: Money) -> bool:
    """Tell a deposit or a fee ("đã chuyển cọc 20tr", "cọc trước 20tr", "phí ship 150k"): not the deal's value."""
    i = _tok_index(toks, m.start)
    words: list[str] = []
    for t in reversed(toks[max(0, i - 3) : i]):
        if not t.text.isalpha():
            break
        words.insert(0, t.text)
    head = f" {' '.join(words)} "
    return any(f" {entry} " in head for entry in _SIDE_MONEY)


def _set_amount(out: ParsedLog, value: Decimal, currency: str | None, conf: dict[str, float], c: float) -> None:
    value = value.normalize() if value == value.to_integral_value() else value
    if value == value.to_integral_value():
        value = value.quantize(Decimal(1))
    out.amount = value
    out.currency = currency or ("VND" if out.language == "vi" else "USD")
    conf["amount"] = c
    conf["currency"] = c


def _tok_index(toks: list[Token], pos: int) -> int:
    for i, t in enumerate(toks):
        if t.start >= pos:
            return i
    return len(toks)


def _quantity(toks: list[Token], money: list[Money], unit_noun: str | None) -> tuple[int, int] | None:
    """Find "200 bộ", "50 licenses", "fifty seats", "12 espresso machines": (count, token index of the count)."""
    money_spans = [(m.start, m.end) for m in money]
    for i, t in enumerate(toks[:-1]):
        if any(a <= t.start < b for a, b in money_spans):
            continue
        if t.is_digits:
            v = parse_digits(t.text)
            if v is None or v != v.to_integral_value() or v <= 0 or v > 10**7:
                continue
            if i > 0 and toks[i - 1].text in {"/", ":", "-", "+", "#", "x", "@", "."} and toks[i - 1].end == t.start:
                continue
            if i > 0 and toks[i - 1].end == t.start and toks[i - 1].text[-1:].isalpha():
                continue  # the digits of a model code such as "AP-C300"
            count = int(v)
        elif t.text in EN_SMALL and t.text not in {"a", "an"}:
            count = EN_SMALL[t.text]
        else:
            continue
        nxt = [x.text for x in toks[i + 1 : i + 4]]
        if not nxt[0].isalpha() or nxt[0] in _NOT_UNIT:
            continue
        if (
            nxt[0] in _UNIT_NOUNS
            or (unit_noun is not None and unit_noun in nxt[:3])
            or _price_follows(toks, i + 2, money)
        ):
            return count, i
        if any(len(w) > 3 and w.endswith("s") and not w.endswith("ss") and w not in _NOT_UNIT for w in nxt[:2]):
            return count, i
        if _plural_after_code(toks, i + 1):
            return count, i
    return None


def _plural_after_code(toks: list[Token], i: int) -> bool:
    """Tell whether a model code and then a plural noun follow ("30 AP-C300 chairs")."""
    k, saw_code = i, False
    while k < len(toks) and k < i + 6 and (toks[k].is_digits or toks[k].text == "-" or len(toks[k].text) <= 2):
        saw_code = saw_code or toks[k].is_digits
        k += 1
    if not saw_code or k >= len(toks):
        return False
    word = toks[k].text
    return len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word not in _NOT_UNIT


def _price_follows(toks: list[Token], i: int, money: list[Money]) -> bool:
    for k in range(i, min(i + 4, len(toks))):
        if toks[k].text in _PRICE_BEFORE and k + 1 < len(toks):
            start = toks[k + 1].start
            return any(m.start <= start < m.end or m.start == start for m in money)
    return False


def _unit_price(toks: list[Token], money: list[Money]) -> tuple[Money, str | None] | None:
    """Find a price per unit ("$40 each", "150k/thùng", "mỗi máy 3tr5", "@ $3.50") and its unit noun."""
    for m in money:
        i = _tok_index(toks, m.start)
        j = _tok_index(toks, m.end)
        after = [t.text for t in toks[j : j + 3]]
        before = [t.text for t in toks[max(0, i - 3) : i]]
        if after and after[0] in {"each", "ea", "apiece"}:
            return m, None
        if len(after) > 1 and after[0] in {"/", "per", "moi", "mot", "1", "a"} and after[1].isalpha():
            noun = after[1]
            if noun not in _PERIOD_NOUNS and (after[0] != "a" or noun in _PIECE_NOUNS):
                return m, noun
        if len(before) >= 2 and before[-2] in {"moi", "per", "each"} and before[-1].isalpha():
            return m, before[-1]
        if before and before[-1] in {"@", "x", "×", "*", "at"}:
            return m, None
        if len(after) > 1 and after[0] in _TIMES_SIGNS and parse_digits(after[1]) is not None:
            return m, "x"  # "3tr2 x 20 tủ": a unit price times a count that follows
        if "".join(before[-2:]) in {"dongia", "unitprice"}:
            return m, None
    return None


def _times_count(toks: list[Token], unit: Money) -> tuple[int, int] | None:
    """Read the count of "500k/ghế x 100" or "100 x 500k": (count, token index of the count)."""
    j = _tok_index(toks, unit.end)
    if j + 1 < len(toks) and toks[j].text == "/" and toks[j + 1].text.isalpha():
        j += 2
    i = _tok_index(toks, unit.start)
    for times_at, count_at in ((j, j + 1), (i - 1, i - 2)):
        if 0 <= count_at < len(toks) and 0 <= times_at < len(toks) and toks[times_at].text in _TIMES_SIGNS:
            value = parse_digits(toks[count_at].text) if toks[count_at].is_digits else None
            if value is not None and value == value.to_integral_value() and 0 < value <= 10**7:
                return int(value), count_at
    return None


def _bare_price(toks: list[Token], money: list[Money]) -> Money | None:
    """Find "giá 3,2tr" next to a counted quantity: a unit price when it is small (see README, money rules).

    "báo giá", "tổng giá", "bảng giá" name a total; so does any price of 50 triệu VND (5,000 in another
    currency) or more ("200 bộ giá 500 triệu").
    """
    for m in money:
        i = _tok_index(toks, m.start)
        k = i - 1
        while k >= 0 and i - k <= 3 and toks[k].text in _PRICE_FILLERS:
            k -= 1
        if k < 0 or toks[k].text not in _BARE_PRICE_WORDS:
            continue
        if k > 0 and toks[k - 1].text in _TOTAL_PRICE_HEADS:
            continue
        limit = _UNIT_PRICE_LIMIT_VND if (m.currency or "VND") == "VND" else _UNIT_PRICE_LIMIT_OTHER
        if m.value < limit:
            return m
    return None


def _is_total(toks: list[Token], m: Money) -> bool:
    i = _tok_index(toks, m.start)
    before = " ".join(t.text for t in toks[max(0, i - 4) : i])
    return bool(_TOTAL_WORDS.search(before))


# ---------------------------------------------------------------- dates


def _fill_dates(
    out: ParsedLog,
    mentions: list[DateMention],
    today: date,
    step_at: int | None,
    conf: dict[str, float],
    folded: str = "",
    acts: AbstractSet[tuple[int, int]] = frozenset(),
) -> None:
    if any(d.unreadable for d in mentions):
        out.unreadable.append("due")
    readable = [d for d in mentions if d.value is not None]
    out.dates = [d.value for d in readable if d.value is not None]
    due: DateMention | None = None
    for d in readable:
        tense = tense_of(d, today)
        if tense == "past" and out.occurred_on is None:
            out.occurred_on = d.value
        elif tense == "today":
            if step_at is not None and d.start >= step_at and due is None:
                due = d
            elif out.occurred_on is None and (step_at is None or d.start < step_at):
                out.occurred_on = d.value
            elif due is None:
                due = d
        elif tense == "future" and due is None:
            due = d
    futures = [d for d in readable if tense_of(d, today) == "future"]
    if due is not None and len(futures) > 1 and classify.clause_bounds(folded, due.start) not in acts:
        # "ngân sách năm sau …, cuối tháng gửi lại bg": the date next to an action is the step's
        due = next((d for d in futures if classify.clause_bounds(folded, d.start) in acts), due)
    if due is not None and due.value is not None:
        out.due = due.value
        out.due_options = list(dict.fromkeys(due.options or [due.value]))
        conf["due"] = 0.9 if len(out.due_options) == 1 else 0.6
    if out.occurred_on is not None:
        conf["occurred_on"] = 0.85


def _fill_time(
    out: ParsedLog,
    original: str,
    folded: str,
    mentions: list[DateMention],
    times: list[TimeMention],
    now: datetime,
    step_at: int | None,
    conf: dict[str, float],
) -> None:
    """Give the due date its time of day: a clock time next to it, else its part of the day ("chiều mai")."""
    due_mention = _due_mention(out, mentions)
    if due_mention is not None:
        clause = classify.clause_bounds(folded, due_mention.start)
        near = [
            t
            for t in times
            if classify.clause_bounds(folded, t.start) == clause
            or t.end + 3 >= due_mention.start >= t.end
            or due_mention.end + 3 >= t.start >= due_mention.end
        ]
        if near:
            best = min(near, key=lambda t: min(abs(t.start - due_mention.end), abs(due_mention.start - t.end)))
            out.due_time = best.value
            conf["due_time"] = 0.85
            return
        nominal = part_time(original, folded, due_mention.start, due_mention.end)
        if nominal is not None and due_mention.value is not None and due_mention.value >= now.date():
            out.due_time = nominal
            conf["due_time"] = 0.6
        return
    if out.due is not None or step_at is None:
        return
    # "nhắc tôi 4h chiều gọi lại": a time in the next-step part without a date is today's, or tomorrow's once past
    # ("lúc 4h gọi lại", "chiều 3h gửi bg": the time may come right before the step, in its clause)
    step_clause = classify.clause_bounds(folded, step_at)
    later = [t for t in times if t.start >= step_at or classify.clause_bounds(folded, t.start) == step_clause]
    if later:
        at = later[0].value
        day = now.date() if at > now.time().replace(tzinfo=None) else now.date() + timedelta(days=1)
        out.due, out.due_options, out.due_time = day, [day], at
        conf["due"], conf["due_time"] = 0.7, 0.8


def _timed_clause(folded: str, mentions: list[DateMention], times: list[TimeMention]) -> int | None:
    """Find a later clause with a clock time and no date ("…, lúc 4h gọi lại", "…, chiều 3h gửi bg"): the next step."""
    if not times:
        return None
    first = classify.clause_bounds(folded, 0)
    dated = {classify.clause_bounds(folded, d.start) for d in mentions}
    for t in times:
        clause = classify.clause_bounds(folded, t.start)
        if clause != first and clause not in dated:
            return clause[0]
    return None


_DEADLINE_WORDS = vocabulary.words("deadline_words")


def _deadline_before(folded: str, pos: int) -> bool:
    before = folded[max(0, pos - 12) : pos].split()
    return bool(before) and before[-1] in _DEADLINE_WORDS


def _due_mention(out: ParsedLog, mentions: list[DateMention]) -> DateMention | None:
    return next((d for d in mentions if d.value is not None and d.value == out.due), None) if out.due else None


# ---------------------------------------------------------------- people and companies


def _overlaps(span: Span, busy: list[tuple[int, int]]) -> bool:
    return any(span.start < b and a < span.end for a, b in busy)


def _fill_people(
    out: ParsedLog,
    original: str,
    folded: str,
    words: list[Word],
    lang: str,
    known: KnownNames,
    busy: list[tuple[int, int]],
    conf: dict[str, float],
) -> None:
    all_lower = not any(w.is_cap for w in words[1:] if w.is_alpha)
    contacts = [s for s in find_contacts(words, lang) if not _overlaps(s, busy)]
    companies = [t for t in (_trim_busy(s, original, busy) for s in find_companies(words, lang)) if t is not None]
    customer = [s for s in company_after_customer_word(words) if not _overlaps(s, busy)]
    if customer:
        companies = customer + [s for s in companies if not _overlaps(s, [(c.start, c.end) for c in customer])]
    if not companies:
        companies = [s for s in company_word_runs(words) if not _overlaps(s, busy)]
    known_companies = known.company_matcher.find(folded) if known.companies else []
    firm_spans = [(s.start, s.end) for s in companies]
    contacts = [s for s in contacts if s.cue == "honorific" or not _overlaps(s, firm_spans)]
    full = full_name_in_parentheses(words, contacts[0]) if contacts and contacts[0].cue == "honorific" else None
    if full is not None:  # "chị Ngọc Ánh (Phạm Ngọc Ánh)": her full name, never a new company
        contacts[0] = full
    contact_spans = [(s.start, s.end) for s in contacts]
    companies = [s for s in companies if not _overlaps(s, contact_spans)]
    paren = _paren_company(original, folded)
    if paren is not None:
        companies.insert(0, paren)
    if contacts and not companies:
        follow = company_after(words, contacts[0], all_lower, casual=lang == "vi" and contacts[0].cue == "honorific")
        if follow is not None and not _overlaps(follow, busy):
            companies.append(follow)

    # "họp team với Tuấn": a colleague at an internal meeting, not a customer
    team_clauses = {classify.clause_bounds(folded, m.start()) for m in _TEAM_RE.finditer(folded)}
    if team_clauses:
        contacts = [s for s in contacts if classify.clause_bounds(folded, s.start) not in team_clauses]
    # a "contact" that is a known company is the company
    known_company_folds = set(known.company_folds.values())
    contacts = [s for s in contacts if fold(s.text) not in known_company_folds]
    contacts = [s for s in contacts if not any(s.start < b and a < s.end for _, a, b in known_companies)]

    if not contacts:
        local = _email_name(original)
        if local is not None:
            contacts.append(local)
    # "…, Minh Long, …": a capitalised name of two words or more that is no known contact stays whole; with no
    # company named, it is the company (a person would come with an honorific)
    contact_folds = set(known.contacts_by_fold)
    runs = [
        s
        for s in capitalised_runs(words)
        if not _overlaps(s, busy + [(c.start, c.end) for c in contacts]) and fold(s.text) not in contact_folds
    ]
    if not companies and not known_companies and not contacts and runs:
        companies.append(runs[0])
    whole = [(s.start, s.end) for s in runs + companies] + [(a, b) for _, a, b in known_companies]
    _choose_contact(out, folded, contacts, known, conf, whole, team_clauses)
    if _INTERNAL_RE.search(folded) and out.stage not in {None, "won", "lost"}:
        out.stage = None  # an internal meeting moves no customer's deal ("họp team … chiều gửi bg")
    _choose_company(out, companies, known_companies, known, conf)


_EMAIL_NAME_RE = re.compile(r"(?<![\w.+-])([A-Za-z]{3,})(?:[._][A-Za-z]{2,})?[\w.+-]*@[\w-]+(?:\.[\w-]+)+")


def _email_name(original: str) -> Span | None:
    """Take "karen" from "karen.wu@stark.com" when no one else is named."""
    m = _EMAIL_NAME_RE.search(original)
    if m is None or m.group(1).lower() in _GENERIC_MAILBOX:
        return None
    return Span(m.group(1).capitalize(), m.start(1), m.end(1), "weak")


def _trim_busy(span: Span, original: str, busy: list[tuple[int, int]]) -> Span | None:
    """Cut a company name where an amount or a date starts ("cty Minh Phát 1,2 tỷ" -> "Minh Phát")."""
    cuts = [a for a, b in busy if span.start < b and a < span.end]
    if not cuts:
        return span
    cut = min(cuts)
    text = original[span.start : cut].rstrip(" ,.;:-(")
    if cut <= span.start or not any(ch.isalpha() for ch in text):
        return None
    return Span(text, span.start, span.start + len(text), span.cue)


def _choose_contact(
    out: ParsedLog,
    folded: str,
    contacts: list[Span],
    known: KnownNames,
    conf: dict[str, float],
    whole: Sequence[tuple[int, int]] = (),
    team_clauses: AbstractSet[tuple[int, int]] = frozenset(),
) -> None:
    chosen = contacts[0] if contacts else None
    if chosen is not None:
        out.contact = chosen.text
        conf["contact"] = 0.9 if chosen.cue == "honorific" else 0.75
    if not known.contacts:
        return
    if chosen is None:
        found = [
            (name, a, b)
            for name, a, b in known.contact_matcher.find(folded)
            # not a word inside another name ("Long" in "Minh Long"), nor a colleague at a team meeting
            if not any(x <= a and b <= y and (x, y) != (a, b) for x, y in whole)
            and classify.clause_bounds(folded, a) not in team_clauses
        ]
        if found:
            out.contact = found[0][0]
            conf["contact"] = 0.85
            out.contact_candidates = list(dict.fromkeys(name for name, _, _ in found))
        return
    target = fold(chosen.text)
    exact = known.contacts_by_fold.get(target, [])
    partial = known.contacts_by_called_name.get(target, [])
    # A one-word name is what everyone called so is called by: a contact recorded as just "Tùng" is no
    # likelier than Lê Văn Tùng (their company is no guess then); a longer name typed whole is that person.
    matches = list(dict.fromkeys([*exact, *partial])) if len(target.split()) == 1 else exact or partial
    if exact and len(exact) == 1:
        out.contact = exact[0].name
    out.contact_candidates = list(dict.fromkeys(c.name for c in _rank_by_company(matches, folded)))
    if len(out.contact_candidates) > 1:
        conf["contact"] = min(conf.get("contact", 0.8), 0.6)


def _rank_by_company(matches: list[KnownContact], folded: str) -> list[KnownContact]:
    def key(c: KnownContact) -> int:
        return 0 if c.company and fold(c.company) in folded else 1

    return sorted(matches, key=key)


def _choose_company(
    out: ParsedLog,
    companies: list[Span],
    known_found: list[tuple[str, int, int]],
    known: KnownNames,
    conf: dict[str, float],
) -> None:
    if known_found:
        out.company = known_found[0][0]
        out.company_is_known = True
        out.company_candidates = list(dict.fromkeys(name for name, _, _ in known_found))
        conf["company"] = 0.95
        return
    if companies:
        name = companies[0].text
        out.company = name
        conf["company"] = 0.75
        if known.companies:
            matches = process.extract(
                fold(name),
                known.company_folds,
                scorer=fuzz.WRatio,
                limit=3,
                score_cutoff=_FUZZ_CUTOFF,
            )
            if matches:
                out.company_candidates = [m[2] for m in matches]
                if matches[0][1] >= 95:
                    out.company = matches[0][2]
                    out.company_is_known = True
                    conf["company"] = 0.85
        return
    if out.contact and known.contacts:
        target = [c for c in known.contacts if c.name in out.contact_candidates or c.name == out.contact]
        firms = list(dict.fromkeys(c.company for c in target if c.company))
        if firms:
            out.company = firms[0]
            out.company_is_known = True
            out.company_candidates = firms
            conf["company"] = 0.8 if len(firms) == 1 else 0.5


_PAREN_RE = re.compile(
    r"(?:^|(?<=\s))(?P<name>[A-Z0-9][\w&.'-]*(?:\s+[A-Z0-9&][\w&.'-]*){0,4})\s*\(\s*(?:spoke|talked|contact|w/|with|gặp|gap|nói chuyện)",  # noqa: E501
)


def _paren_company(original: str, folded: str) -> Span | None:
    m = _PAREN_RE.search(original)
    if m is None:
        return None
    name = m.group("name")
    parts = name.split()
    while parts and fold(parts[0]) in {
        "called",
        "call",
        "met",
        "emailed",
        "visited",
        "goi",
        "gap",
        "cty",
        "ben",
        "at",
        "with",
    }:
        parts = parts[1:]
    if not parts:
        return None
    text = " ".join(parts)
    start = m.start("name") + name.find(parts[0])
    return Span(text, start, start + len(text), "trigger")


# ---------------------------------------------------------------- next step


def _fill_next_step(
    out: ParsedLog,
    original: str,
    folded: str,
    mentions: list[DateMention],
    times: list[TimeMention],
    step_at: int | None,
    conf: dict[str, float],
) -> None:
    anchor: int | None = None
    due_mention = _due_mention(out, mentions)
    if due_mention is not None and step_at is not None and due_mention.start < step_at and out.occurred_on == out.due:
        due_mention = None  # "sáng nay họp …, chiều 3h gửi bg": that date is when it happened, not the step's
    if due_mention is not None:
        anchor = due_mention.start
    elif step_at is not None:
        anchor = step_at
    if anchor is None:
        return
    start, end = classify.clause_bounds(folded, anchor)
    cuts = [(d.start, d.end) for d in mentions] + [(t.start, t.end) for t in times]
    if due_mention is not None and _deadline_before(folded, due_mention.start):
        word_start = folded.rfind(" ", 0, len(folded[: due_mention.start].rstrip())) + 1
        cuts.append((word_start, due_mention.start))  # "trước thứ 4": the deadline word goes with the date
    text: str | None = None
    if step_at is not None and due_mention is not None and start <= step_at < due_mention.start:
        start = step_at  # "hẹn gặp anh Tú 15/12": from the marker on
    elif due_mention is not None and due_mention.start > start and not _deadline_before(folded, due_mention.start):
        # "gap c Lan cty ABC 96tr T6 goi lai": the action follows the date; else it precedes it
        # ("gửi báo giá trước thứ 4 cho chị Quyên": the whole clause, the date cut out)
        text = classify.next_step_text(original, folded, due_mention.end, end, cuts)
    if text is None:
        text = classify.next_step_text(original, folded, start, end, cuts)
    if text is None and due_mention is not None and step_at is not None and step_at != anchor:
        s2, e2 = classify.clause_bounds(folded, step_at)
        text = classify.next_step_text(original, folded, s2, e2, cuts)
    if text is not None:
        out.next_step = text
        conf["next_step"] = 0.6
