"""Interaction kind, stage hints and the next-step clause."""

from __future__ import annotations

import re
from collections.abc import Iterable

from crm_core.understanding import vocabulary
from crm_core.understanding.text import prepare

_B = r"(?<![a-z0-9])"
_E = r"(?![a-z0-9])"

# The kinds a log can be (the CRM's interaction kinds); their words are in data/kinds.json. A note is
# what a log is when no cue names another kind, so only the other four have cue phrases.
KINDS = ("call", "meeting", "email", "message", "note")
CUE_KINDS = ("message", "email", "meeting", "call")


def _one_of(entries: Iterable[str]) -> str:
    """Return a regex alternation of phrases, a space matching any run of spaces."""
    # longest first, so "goi dien" is one cue rather than "goi" followed by a stray "dien"
    ordered = sorted(entries, key=lambda entry: (-len(entry), entry))
    return "(?:" + "|".join(r"\s+".join(re.escape(word) for word in entry.split()) for entry in ordered) + ")"


def _kind_pattern(kind: str) -> re.Pattern[str]:
    alternatives = _one_of(vocabulary.words(f"kind_{kind}"))
    if kind == "message":
        # "nhắn" folds onto "nhận" (receive): a message only when a way or a person follows ("nhắn cho", "nhắn a Minh")
        followers = _one_of(vocabulary.words("nhan_message_followers"))
        alternatives = f"(?:{alternatives}|nhan(?=\\s+{followers}{_E}))"
    return re.compile(_B + alternatives + _E)


_KIND_RES: list[tuple[str, re.Pattern[str]]] = [(kind, _kind_pattern(kind)) for kind in CUE_KINDS]

_NEXT_MARKERS = re.compile(
    _B + r"(?:hen|se|can|phai|tiep\s+theo|ke\s+tiep|next\s+steps?|next|follow[\s-]?up|will|need\s+to|needs\s+to|"
    r"todo|to\s+do|plan\s+to|going\s+to|gonna|remind(?:\s+me)?|nho|nhac|du\s+kien|chuan\s+bi|sap|"
    r"i'll|we'll|he'll|she'll|they'll)" + _E + r"|->|=>|→"
)

_CLAUSE_SPLIT = re.compile(r"[.;!?\n]+|,|\s+-\s+|->|=>|→|\((?=[^)]*\))|\)")


def _accent_ok(original: str, start: int, end: int, kind: str, folded: str) -> bool:
    word = original[start:end].lower()
    token = folded[start:end]
    if token == "hop":
        if word != "hop" and word != "họp":
            return False
        nxt = folded[end : end + 6].split()
        return not (nxt and nxt[0] in {"dong", "tac", "ly", "le", "y", "phap", "nhat", "dg", "d"})
    if token.startswith("gap"):
        if word[:3] not in {"gặp", "gap"}:
            return False
        before = folded[max(0, start - 8) : start].split()
        return not (word[:3] == "gap" and before and before[-1] in {"gui", "can", "rat", "lam", "viec", "hoi"})
    if token.startswith("goi"):
        if word[:3] not in {"gọi", "goi"}:
            return False
        nxt = folded[end : end + 12].split()
        return not (
            word[:3] == "goi"
            and nxt
            and (nxt[0] in {"hang", "cuoc", "dich", "san", "combo", "bao", "sp", "gia"} or nxt[0][:1].isdigit())
        )
    if token in {"dt", "phone"}:
        head = folded[end : end + 3].lstrip()
        return not (head[:1].isdigit() or head[:1] in {":", "+"}) and folded[max(0, start - 1) : start] != "s"
    if token in {"ghe", "tham"}:
        return word in {"ghé", "ghe", "thăm", "tham"}
    if token.startswith("nhan") and word.startswith("nhận"):
        return False
    if token.startswith(("mail", "email", "e-mail")):
        # "email: lan@abc.vn" is contact data, not an e-mail that was sent
        head = folded[end : end + 3].lstrip()
        following = original[end : end + 60].split()
        noun_then_address = token in {"email", "mail", "e-mail"} and bool(following) and "@" in following[0]
        return not head.startswith(":") and not noun_then_address
    return True


def find_kinds(original: str, folded: str) -> list[tuple[int, str]]:
    """Return (position, kind) for every kind cue in the text."""
    hits: list[tuple[int, str]] = []
    for kind, pattern in _KIND_RES:
        for m in pattern.finditer(folded):
            if _accent_ok(original, m.start(), m.end(), kind, folded):
                hits.append((m.start(), kind))
    hits.sort()
    return hits


_ACTIONS = (
    r"(?:gui|goi|lien\s+he|lam|chuan\s+bi|bao|follow|check|nhac|hoi|gap|xac\s+nhan|demo|ky|chot|sua|"
    r"cap\s+nhat|trinh|dat|giao|tu\s+van|thu|xem|kiem\s+tra|send|call)(?![a-z0-9])"
)
_ACTION_WORD = re.compile(r"(?<![a-z0-9])" + _ACTIONS)


# "nhắc tôi …", "nhac t …", "nhớ nhắc …", "remind me to …": a staff message asking for a reminder (on folded text).
REMINDER_TRIGGER = re.compile(
    r"^\s*(?:" + "|".join(r"\s+".join(map(re.escape, w.split()))
                          for w in sorted(vocabulary.words("reminder_triggers"), key=len, reverse=True))
    + r")(?:\s+(?:to|de|la))?\s+", re.IGNORECASE)


def action_clauses(folded: str) -> set[tuple[int, int]]:
    """Return the clauses that hold an action verb (gửi, gọi, gặp, send, call…)."""
    return {clause_bounds(folded, m.start()) for m in _ACTION_WORD.finditer(folded)}


_ACTION_AFTER = re.compile(
    r"\s+(?:gui|goi|lien\s+he|lam|chuan\s+bi|bao|follow|check|nhac|hoi|gap|xac\s+nhan|demo|ky|chot|sua|"
    r"cap\s+nhat|trinh|dat|giao|tu\s+van|thu|xem|kiem\s+tra|send|call)(?![a-z0-9])"
)


def next_step_start(original: str, folded: str) -> int | None:
    """Return where the part about what happens next begins, if anywhere."""
    for m in _NEXT_MARKERS.finditer(folded):
        word = original[m.start() : m.end()].lower()
        tok = m.group()
        if tok == "can" and word not in {"cần", "can"}:
            continue
        if tok == "can" and word == "can" and _english_context(folded, m.start()):
            continue
        if tok in {"can", "phai"} and not _ACTION_AFTER.match(folded, m.end()):
            continue  # "khách cần 200 bộ": a need, not our next step
        if tok == "se" and word not in {"sẽ", "se"}:
            continue
        if tok == "hen" and word not in {"hẹn", "hen"}:
            continue
        if tok == "sap" and word not in {"sắp", "sap"}:
            continue
        if tok in {"nho", "nhac"} and word not in {"nhớ", "nhắc", "nho", "nhac"}:
            continue
        return m.start()
    return None


def _english_context(folded: str, pos: int) -> bool:
    before = folded[max(0, pos - 12) : pos].split()
    return bool(before) and before[-1] in {"i", "we", "you", "he", "she", "they", "it", "who", "that"}


_NOTE_HEAD = re.compile(r"^\s*" + _one_of(vocabulary.words("note_headings")) + r"\s*[:\-]")


def is_note(folded: str) -> bool:
    """Tell whether the text is headed as a note ("Note: …", "Ghi chú: …")."""
    return _NOTE_HEAD.match(folded) is not None


def choose_kind(hits: list[tuple[int, str]], step_at: int | None) -> str:
    """Pick the interaction kind: the first cue before the next-step part, else the first cue at all."""
    if not hits:
        return "note"
    before = [k for p, k in hits if step_at is None or p < step_at]
    return before[0] if before else hits[0][1]


def kind_from_text(text: str) -> str:
    """Read the interaction kind a user typed ("gọi", "Zalo", "họp", "e-mail", "ghi chú"); "note" when none is named."""
    original, folded = prepare(text)
    typed = " ".join(folded.split()).strip(" .,;:!?")
    for kind in KINDS:
        if typed in vocabulary.words(f"kind_names_{kind}"):
            return kind
    if is_note(folded):
        return "note"
    return choose_kind(find_kinds(original, folded), None)


# ---------------------------------------------------------------- stage

_WON = re.compile(
    _B
    + r"(?:chot\s+(?:don|deal|hd|hop\s+dong|xong|sale|duoc|dc|roi|ok|po|thanh\s+cong)|ok\s+chot|chot(?=\s*\d)|"
    r"da\s+ky|ky\s+(?:hd|hop\s+dong|"
    r"contract|roi|xong)|ki\s+(?:hd|hop\s+dong)|closed[\s-]won|closed\s+(?:the\s+)?deal|deal\s+closed|won\s+the\s+deal|"
    r"deal\s+won|won|signed|accepted\s+(?:our|the)\s+(?:offer|quote|proposal)|sign(?:ed)?\s+the\s+contract|got\s+the\s+po|received\s+(?:the\s+)?po|nhan\s+po|"
    r"dat\s+coc|da\s+coc|(?:da\s+)?chuyen\s+coc|"
    r"coc\s+roi|chuyen\s+khoan|da\s+thanh\s+toan|paid|payment\s+received)" + _E
)
# "chốt giá", "giá chốt": a price agreed, not a deal won.
_PRICE_AGREED = re.compile(_B + r"(?:chot\s+(?:gia|muc\s+gia|so\s+luong)|gia\s+chot)" + _E)
# Signing named without "đã"/"rồi" ("thứ 2 ký", "sign next Tuesday"): still to come when a future date is near.
_SIGN = re.compile(_B + r"(?:ky|ki|sign)" + _E)
_LOST = re.compile(
    _B + r"(?:mat\s+(?:deal|khach|don|hd)|thua|lost|closed[\s-]lost|(?:khong|ko|k|kh|hong)\s+(?:mua|lay|dat|ky|chot|"
    r"quan\s+tam|co\s+nhu\s+cau|can\s+nua|lam\s+nua)|tu\s+choi|huy\s+(?:don|hd|hop\s+dong|deal|order)|"
    r"chon\s+(?:ben|doi\s+thu|nha\s+cung\s+cap)\s+khac|chon\s+doi\s+thu|went\s+with|chose\s+(?:another|a\s+competitor|"
    r"the\s+competitor|competitor)|declined|not\s+interested|no\s+longer|cancel(?:l)?ed|cancel\s+(?:the\s+)?(?:order|deal|contract)|pass(?:ed)?\s+on|"
    r"dung\s+(?:hop\s+tac|du\s+an|lai)|bo\s+cuoc|out\s+of\s+budget|ngung)" + _E
)
_NEGOTIATION = re.compile(
    _B + r"(?:dam\s+phan|thuong\s+luong|tra\s+gia|mac\s+ca|xin\s+(?:giam|bot|chiet\s+khau|them\s+chiet)|giam\s+gia|"
    r"chiet\s+khau|ep\s+gia|deal\s+gia|gia\s+cuoi|(?:re)?negotiat\w*|discount|counter[\s-]?offer|haggl\w*|push(?:ed)?\s+back|pushback|"
    r"che\s+dat|dat\s+qua|bot\s+gia|sap\s+chot|cho\s+chot|chua\s+chot|review(?:ing)?\s+(?:the\s+)?contract|"
    r"redline\w*|terms|dieu\s+khoan|xem\s+lai\s+hd)" + _E
)
_QUOTE = re.compile(
    _B + r"(?:bao\s+gia|bg|quote[ds]?|quotation|proposal|pricing|price\s+list|bang\s+gia|gui\s+gia|"
    r"offer\s+sent|sent\s+(?:an?\s+)?offer|rfq)" + _E
)
_FUTURE_BEFORE = re.compile(
    r"(?<![a-z'])(?:sap|se|mai|hen|du\s+kien|chuan\s+bi|dong\s+y|agreed\s+to|will|to|plan|expect(?:ed)?|hope|hopefully|"
    r"chua|cho|neu|if|can|"
    r"muon|want|wants|ready\s+to|likely|could|might|may|not|didn't|haven't|hasn't|khong|ko|k)\s+(?:\S+\s+)?$"
)


def find_stage(original: str, folded: str, future_at: list[int] | None = None) -> str | None:
    """Return the stage key the text hints at (won, lost, negotiation, quote), if any.

    `future_at` holds where future dates are: a signing in the same clause as one is still to come.
    """
    agreed = [(a.start(), a.end()) for a in _PRICE_AGREED.finditer(folded)]
    for m in _WON.finditer(folded):
        word = original[m.start() : m.end()].lower()
        if any(a <= m.start() < b for a, b in agreed):
            continue  # "giá chốt 450tr"
        if m.group().startswith(("thua", "won")) and word.startswith(("thùa",)):
            continue
        if m.group() == "won" and _currency_won(folded, m.start()):
            continue
        if m.group().startswith("ky") and not word.startswith(("ký", "ky", "kí")):
            continue
        if _FUTURE_BEFORE.search(folded[max(0, m.start() - 25) : m.start()]):
            return "negotiation"
        if future_at and any(clause_bounds(folded, p) == clause_bounds(folded, m.start()) for p in future_at):
            return "negotiation"
        return "won"
    price_agreed = bool(agreed)
    if future_at:
        for m in _SIGN.finditer(folded):
            word = original[m.start() : m.end()].lower()
            if word in {"ký", "kí", "ky", "ki", "sign"} and any(
                clause_bounds(folded, p) == clause_bounds(folded, m.start()) for p in future_at
            ):
                return "negotiation"
    for m in _LOST.finditer(folded):
        word = original[m.start() : m.end()].lower()
        if m.group() == "thua" and word not in {"thua"}:
            continue
        if m.group() == "ngung" and word != "ngừng":
            continue
        return "lost"
    if price_agreed or _NEGOTIATION.search(folded):
        return "negotiation"
    for m in _QUOTE.finditer(folded):
        if m.group() == "bg" and original[m.start() : m.end()] not in {"BG", "bg", "Bg"}:
            continue
        return "quote"
    return None


def _currency_won(folded: str, pos: int) -> bool:
    before = folded[max(0, pos - 4) : pos].strip()
    return before[-1:].isdigit() if before else False


# ---------------------------------------------------------------- next step

_LEAD_WORDS = re.compile(
    r"^(?:\s|[:>\-–—→]|\d{1,2}(?::\d{2})?\s*(?:h|g|gio|am|pm)(?:\d{1,2})?(?![a-z0-9])|(?:va|and|roi|thi|se|can|phai|hen|em|minh|ben\s+em|i|we|will|need\s+to|needs\s+to|to|then|"
    r"next\s+steps?|next|todo|to\s+do|plan\s+to|going\s+to|gonna|i'll|we'll|he'll|she'll|they'll|nho|nhac|remind\s+me\s+to|"
    r"remind\s+me|lai|vao|vao\s+luc|luc|on|by|before|truoc|den|toi|sau\s+do|then|also|cung|nhe|nha)(?![a-z0-9]))+"
)
_TRAIL_WORDS = re.compile(
    r"(?:\s|[:,\-–—]|(?<![a-z0-9])(?:nhe|nha|nhé|nhá|ha|a|ok|on|by|vao|luc|the|di|"
    r"truoc|before|until|till|han|trong|cho den|den)(?![a-z0-9]))+$"
)


def clause_bounds(folded: str, pos: int) -> tuple[int, int]:
    """Return the clause [start, end) around position `pos`."""
    start, end = 0, len(folded)
    for m in _CLAUSE_SPLIT.finditer(folded):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            end = m.start()
            break
    return start, end


def next_step_text(original: str, folded: str, start: int, end: int, cut: list[tuple[int, int]]) -> str | None:
    """Return the next-step phrase in [start, end) without date words and connectives."""
    pieces: list[str] = []
    fpieces: list[str] = []
    pos = start
    for a, b in sorted(cut):
        if b <= start or a >= end:
            continue
        pieces.append(original[pos : max(pos, a)])
        fpieces.append(folded[pos : max(pos, a)])
        pos = max(pos, b)
    pieces.append(original[pos:end])
    fpieces.append(folded[pos:end])
    text = " ".join(" ".join(p.split()) for p in pieces if p.strip())
    ftext = " ".join(" ".join(p.split()) for p in fpieces if p.strip())
    if len(ftext) != len(text):
        return text.strip() or None
    for _ in range(3):
        m = _LEAD_WORDS.match(ftext)
        if m and m.end():
            text, ftext = text[m.end() :], ftext[m.end() :]
        m = _TRAIL_WORDS.search(ftext)
        if m and m.start() < len(ftext):
            keep = m.start()
            for word in re.finditer(r"\w+", text[m.start() :]):
                if word.group()[:1].isupper():  # "chị Hà", "anh A": a name, not the particle "hả"/"à"
                    keep = m.start() + word.end()
            text, ftext = text[:keep], ftext[:keep]
    text = text.strip(" ,.;:-")
    if len(text) < 2 or not any(ch.isalpha() for ch in text):
        return None
    return text[:200]
