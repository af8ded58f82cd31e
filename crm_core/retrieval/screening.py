"""Screen a knowledge document before customers can be answered from it (issue 11's attacker review).

Whatever is indexed is quoted to any customer who asks, so two things are stopped at ingest:

    other people's personal data    a customer list (names with phone numbers, e-mails, debts), national
                                    IDs: refused unless the admin allows it (`kb ingest --allow-personal-data`)
    payment details                 a bank account the business did not declare (`Settings.payment_accounts`):
                                    a document slipped into the knowledge folder would have customers pay
                                    someone else; always refused, the flag does not allow it

The business's own contacts (its declared phones, e-mails and domains, role mailboxes such as sales@, landlines
and 1800/1900 numbers) are not personal data. The words and patterns are in `data/ingest_screening.json`; the
honorifics and family names are the parser's (`crm_core/understanding/data/people.json`).

Phone numbers are found with regular expressions: `phonenumbers` is not a dependency (nor installed here), and
the numbers that matter are Vietnamese mobiles, whose shape is simple (0 or +84, then 3/5/7/8/9 and 8 digits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from crm_core.retrieval.loaders import Unit
from crm_core.retrieval.normalize import load_json
from crm_core.textnorm import fold, nfc

if TYPE_CHECKING:
    from crm_core.config import Settings

FindingKind = Literal["personal_data", "undeclared_account"]
# What a personal-data finding is: a phone, an e-mail or a debt beside a person's name, a national ID, or a list.
What = Literal["phone", "email", "national_id", "debt", "contact_list", "account"]

_WORD_RE = re.compile(r"[^\W\d_]+")
# A Vietnamese mobile: 0 or (+)84, then 3/5/7/8/9 and eight more digits, spaces, dots or dashes between them.
_MOBILE_RE = re.compile(r"(?<![\w+.,/-])(?:\+\s?84|84|0)[\s.-]?[35789](?:[\s.-]?\d){8}(?![\d])")
# A number written with a country code other than Vietnam's.
_FOREIGN_RE = re.compile(r"(?<![\w+])\+(?!\s?84)\d{1,3}(?:[\s.-]?\(?\d+\)?){2,6}")
# Mirrors crm_core.understanding.entities.EMAIL_RE; a trailing dot ends the sentence, not the address.
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Digits an account may be written as: 6 to 19, single spaces, dots or dashes between them; not the tail of a code.
_DIGITS = r"(?<![0-9a-z./-])(\d(?:[ .-]?\d){5,18})(?![0-9])"
_DIGITS_RE = re.compile(_DIGITS)
_MONEY_RE = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
# Landlines (02x), 1800/1900 numbers: a business's lines, never an account or a person's number.
_BUSINESS_LINE_RE = re.compile(r"(?:0|84)?2\d{9}|1[89]00\d{4,6}")
_DIGIT_OR_AT_RE = re.compile(r"[\d@]")
_LIST_MARK_RE = re.compile(r"^[\s>*\-•+|#\d.)(]*")
_LINE_CHARS = 100


def _phrases_re(phrases: Iterable[str]) -> str:
    ordered = sorted({fold(p) for p in phrases}, key=len, reverse=True)
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in ordered)


@dataclass(frozen=True)
class _Vocabulary:
    id_re: re.Pattern[str]
    debt_re: re.Pattern[str]
    account_re: re.Pattern[str]
    transfer_re: re.Pattern[str]
    bank_re: re.Pattern[str]
    unit_re: re.Pattern[str]
    roles: frozenset[str]
    name_columns: frozenset[str]
    id_columns: frozenset[str]
    debt_columns: frozenset[str]
    address_words: frozenset[str]
    places: tuple[tuple[str, ...], ...]
    street_after: frozenset[str]
    honorifics: frozenset[str]
    surnames: frozenset[str]
    list_threshold: int


@cache
def _vocabulary() -> _Vocabulary:
    from crm_core.understanding import vocabulary

    data: dict[str, Any] = load_json("ingest_screening.json")

    def words(key: str) -> frozenset[str]:
        return frozenset(fold(w) for w in data[key])

    bounded = r"(?<![0-9a-z])(?:{})(?![0-9a-z])"
    honorifics = {w.lower() for w in vocabulary.words("honorifics_accented") | vocabulary.words("en_honorifics")}
    return _Vocabulary(
        id_re=re.compile(bounded.format(_phrases_re(data["id_cues"])) + r"[\s:#*().-]*(?:so\s+|no\s+)?"
                         r"(\d(?:[ .]?\d){8,11})(?![0-9])"),
        debt_re=re.compile(bounded.format(_phrases_re(data["debt_cues"]))),
        # Up to three words between the cue and the digits: "số tài khoản của shop là 0123…"; lazily, so the digits
        # right after the cue are the account when there are some.
        account_re=re.compile(bounded.format(_phrases_re(data["account_cues"])) + r"((?:\s+[a-z]+){0,3}?)"
                              r"[\s:#*().-]*" + _DIGITS),
        transfer_re=re.compile(bounded.format(_phrases_re(data["transfer_cues"])) + r"\s+(?:so\s+|stk\s+)?" + _DIGITS),
        bank_re=re.compile(bounded.format(_phrases_re(data["bank_names"]))),
        unit_re=re.compile(r"\s*(?:" + _phrases_re(data["not_account_after"]) + r")(?![0-9a-z])"),
        roles=words("role_mailboxes"),
        name_columns=words("name_columns"),
        id_columns=words("id_columns"),
        debt_columns=words("debt_columns"),
        address_words=words("address_words"),
        places=tuple(tuple(p.split()) for p in sorted(words("place_names"))),
        street_after=words("street_after"),
        honorifics=frozenset(honorifics | {w.lower() for w in data["honorifics_extra"]}),
        surnames=frozenset(w.lower() for w in vocabulary.words("strong_surnames_accented")),
        list_threshold=int(data["list_threshold"]),
    )


# ---------------------------------------------------------------- the business's own contacts


def _phone_key(text: str) -> str:
    """A phone number's digits in the national form ("+84 909 123 468" -> "0909123468")."""
    digits = re.sub(r"\D", "", text)
    if digits.startswith("84") and len(digits) in (11, 12):
        return "0" + digits[2:]
    return digits


@dataclass(frozen=True)
class OwnContacts:
    """What the business publishes as its own: the accounts customers may pay into, its phones, e-mails, domains."""

    accounts: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    @classmethod
    def declared(cls, *, accounts: Iterable[str] = (), contacts: Iterable[str] = ()) -> OwnContacts:
        """Read declared accounts ("0441 000 886 688") and contacts (a phone, an e-mail, or a domain "anphat.vn")."""
        phones: set[str] = set()
        emails: set[str] = set()
        domains: set[str] = set()
        for raw in contacts:
            value = nfc(str(raw)).strip().lower()
            if "@" in value and not value.startswith("@"):
                emails.add(value)
            elif re.search(r"[a-z]", value) and "." in value:
                domains.add(value.lstrip("@"))
            elif re.search(r"\d", value):
                phones.add(_phone_key(value))
        numbers = {re.sub(r"\D", "", str(a)) for a in accounts}
        return cls(accounts=frozenset(n for n in numbers if n), phones=frozenset(phones), emails=frozenset(emails),
                   domains=frozenset(domains))

    def __or__(self, other: OwnContacts) -> OwnContacts:
        return OwnContacts(accounts=self.accounts | other.accounts, phones=self.phones | other.phones,
                           emails=self.emails | other.emails, domains=self.domains | other.domains)

    def owns_phone(self, text: str) -> bool:
        """Tell whether a phone number is one the business declared."""
        return _phone_key(text) in self.phones

    def owns_email(self, address: str) -> bool:
        """Tell whether an e-mail address is the business's: declared, or at a declared domain."""
        address = address.lower()
        domain = address.rsplit("@", 1)[-1]
        return address in self.emails or any(domain == d or domain.endswith("." + d) for d in self.domains)


def declared_by(settings: Settings) -> OwnContacts:
    """The accounts and contacts the business declared in its settings."""
    return OwnContacts.declared(accounts=settings.payment_accounts, contacts=settings.business_contacts)


@cache
def demo_contacts() -> OwnContacts:
    """The demo business's declared accounts and contacts (crm_core/demo/data/business.yaml)."""
    import yaml

    from crm_core.assets import DEMO_BUSINESS_FILE

    business = (yaml.safe_load(DEMO_BUSINESS_FILE.read_text(encoding="utf-8")) or {}).get("business") or {}
    return OwnContacts.declared(accounts=business.get("payment_accounts") or (),
                                contacts=business.get("contacts") or ())


def declared_for(root: str | Path | None, own: OwnContacts) -> OwnContacts:
    """The contacts declared for documents ingested from `root`: the business's, and the demo business's for the
    demo knowledge shipped in the package (its documents are that business's, wherever they are ingested)."""
    from crm_core.assets import DEMO_KNOWLEDGE_DIR

    if root is not None and Path(root).resolve().is_relative_to(DEMO_KNOWLEDGE_DIR.resolve()):
        return own | demo_contacts()
    return own


# ---------------------------------------------------------------- findings


@dataclass(frozen=True)
class Finding:
    """One line that stops a document: whose data or which account, where."""

    kind: FindingKind
    what: What
    section: str
    line: str  # the line as the document's section has it, cut to a readable length
    needle: str  # what to look for in the file's lines to number it: digits, or an e-mail address
    count: int = 1  # for a contact list: how many distinct numbers and e-mails


@dataclass
class _Table:
    names: set[int] = field(default_factory=set)
    ids: set[int] = field(default_factory=set)
    debts: set[int] = field(default_factory=set)


def screen_document(units: Sequence[Unit], own: OwnContacts) -> list[Finding]:
    """Return the lines of a document that hold other people's personal data or an undeclared account."""
    vocab = _vocabulary()
    findings: list[Finding] = []
    listed: dict[str, tuple[str, str]] = {}  # personal phone/e-mail -> (section, line) where first seen
    for unit in units:
        lines = [unit.section, *unit.variants, *unit.text.splitlines()]
        table: _Table | None = None
        previous = ""
        for line in lines:
            if not line.strip():
                table = None
                continue
            cells = _cells(line)
            if cells is None:
                table = None
            elif all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue  # a markdown table's rule line
            elif table is None:
                table = _header(cells, vocab)  # its header (a header holds no one's data: read as a row too)
            if _DIGIT_OR_AT_RE.search(line):  # no number and no e-mail: nothing here to screen
                folded = fold(line)
                findings += _accounts(unit.section, line, folded, own, vocab)
                contacts = _personal_contacts(line, own, vocab)
                for contact in contacts:
                    listed.setdefault(contact, (unit.section, line))
                finding = _personal(unit.section, line, folded, cells, table, previous, contacts, vocab)
                if finding is not None:
                    findings.append(finding)
            previous = line
    if len(listed) >= vocab.list_threshold and not any(f.kind == "personal_data" for f in findings):
        first, (section, line) = next(iter(listed.items()))
        findings.append(Finding(kind="personal_data", what="contact_list", section=section, line=_cut(line),
                                needle=first, count=len(listed)))
    return findings


def _cut(line: str) -> str:
    line = " ".join(line.split())
    return line if len(line) <= _LINE_CHARS else line[: _LINE_CHARS - 1].rstrip() + "…"


def _cells(line: str) -> list[str] | None:
    """A table row's cells (markdown, or a .docx table as the loader writes it), None for any other line."""
    stripped = line.strip()
    if "|" not in stripped or stripped.count("|") < (1 if not stripped.startswith("|") else 2):
        return None
    return [c.strip() for c in stripped.strip("|").split("|")]


def _header(cells: list[str], vocab: _Vocabulary) -> _Table:
    table = _Table()
    for i, cell in enumerate(cells):
        name = fold(cell).strip(" :*")
        if name in vocab.name_columns:
            table.names.add(i)
        if name in vocab.id_columns:
            table.ids.add(i)
        if name in vocab.debt_columns:
            table.debts.add(i)
    return table


def _personal_contacts(line: str, own: OwnContacts, vocab: _Vocabulary) -> list[str]:
    """The line's phone numbers and e-mails that may be a person's: mobiles and foreign numbers, e-mails that are
    not a role mailbox; none the business declared."""
    found: list[str] = []
    for match in (*_MOBILE_RE.finditer(line), *_FOREIGN_RE.finditer(line)):
        digits = re.sub(r"\D", "", match.group())
        if 8 <= len(digits) <= 15 and not own.owns_phone(match.group()):
            found.append(_phone_key(match.group()))
    for match in _EMAIL_RE.finditer(line):
        address = match.group().rstrip(".").lower()
        local = address.split("@", 1)[0]
        if not own.owns_email(address) and local not in vocab.roles and local.split(".")[0] not in vocab.roles:
            found.append(address)
    return found


def _personal(section: str, line: str, folded: str, cells: list[str] | None, table: _Table | None, previous: str,
              contacts: list[str], vocab: _Vocabulary) -> Finding | None:
    """A national ID on the line, or a personal contact or a debt beside a person's name (on the line, in the table
    row's name column, or alone on the line before)."""
    def finding(what: What, needle: str) -> Finding:
        return Finding(kind="personal_data", what=what, section=section, line=_cut(line), needle=needle)

    def named() -> bool:
        in_name_column = cells is not None and table is not None and any(
            i < len(cells) and cells[i] for i in table.names)
        return in_name_column or bool(_names(line, vocab)) or _only_a_name(previous, vocab)

    ids = [m.group(1) for m in vocab.id_re.finditer(folded)]
    if cells is not None and table is not None:
        ids += [c for i in table.ids if i < len(cells) for c in [re.sub(r"[ .]", "", cells[i])]
                if re.fullmatch(r"\d{9}|\d{12}", c)]
    if ids:
        return finding("national_id", re.sub(r"\D", "", ids[0]))
    if contacts:
        return finding("email" if "@" in contacts[0] else "phone", contacts[0]) if named() else None
    numbers = re.findall(r"\d[\d.,]*", line)
    in_debt_column = cells is not None and table is not None and any(
        i < len(cells) and re.search(r"\d", cells[i]) for i in table.debts)
    if numbers and (in_debt_column or vocab.debt_re.search(folded)) and named():
        return finding("debt", re.sub(r"\D", "", max(numbers, key=len)))
    return None


def _accounts(section: str, line: str, folded: str, own: OwnContacts, vocab: _Vocabulary) -> list[Finding]:
    """The bank accounts the line gives that the business did not declare."""
    numbers: list[str] = []
    for match in vocab.account_re.finditer(folded):
        digits = re.sub(r"\D", "", match.group(2))
        if match.group(1).strip() and _business_line(digits, own):
            continue  # "tài khoản … gọi 1900 636 768": words between the cue and a phone line
        if not _amount(folded, match.group(2), match.end(2), vocab):
            numbers.append(digits)
    for match in vocab.transfer_re.finditer(folded):
        numbers.append(re.sub(r"\D", "", match.group(1)))
    if vocab.bank_re.search(folded):
        for match in _DIGITS_RE.finditer(folded):
            digits = re.sub(r"\D", "", match.group(1))
            if len(digits) >= 8 and not _business_line(digits, own) and not _amount(folded, match.group(1),
                                                                                     match.end(1), vocab):
                numbers.append(digits)
    out: list[Finding] = []
    for digits in dict.fromkeys(numbers):
        if digits not in own.accounts:
            out.append(Finding(kind="undeclared_account", what="account", section=section, line=_cut(line),
                               needle=digits))
    return out


def _business_line(digits: str, own: OwnContacts) -> bool:
    """A landline, a 1800/1900 number or a declared phone: a way to call the business, not an account."""
    return bool(_BUSINESS_LINE_RE.fullmatch(digits)) or _phone_key(digits) in own.phones


def _amount(folded: str, written: str, end: int, vocab: _Vocabulary) -> bool:
    """Digits that are money or a measure: written 1.200.000, or followed by a currency or a unit (not a bank's
    name: "ngân hàng", "Đông Á Bank")."""
    if _MONEY_RE.fullmatch(written):
        return True
    unit = vocab.unit_re.match(folded, end)
    return unit is not None and not vocab.bank_re.match(folded, end + len(unit.group()) - len(unit.group().lstrip()))


def _names(line: str, vocab: _Vocabulary) -> list[str]:
    """People's names in a line: a capitalised word after an honorific ("chị Lan", "Mr. Smith"), or a full name led
    by a family name ("Nguyễn Văn Bình"); not a street after a house number or a street word, not a known place."""
    words = list(_WORD_RE.finditer(line))
    folded = [fold(w.group()) for w in words]
    in_place = _place_words(folded, vocab)
    names: list[str] = []
    i = 0
    while i < len(words):
        word = words[i].group()
        low = word.lower()
        start = i
        if low in vocab.honorifics and i + 1 < len(words) and line[words[i].end():words[i + 1].start()] in (" ", ". ") \
                and _capital(words[i + 1].group()) and words[i + 1].group().lower() not in vocab.honorifics:
            start = i + 1
        elif not (low in vocab.surnames and _capital(word)):
            i += 1
            continue
        end = start + 1
        while end < len(words) and end - start < 4 and _capital(words[end].group()) \
                and line[words[end - 1].end():words[end].start()] == " ":
            end += 1
        if start == i and end - start < 2:  # a family name alone is no one's name
            i += 1
            continue
        if not in_place.intersection(range(i, end)) and not _street(line, words[i].start(), words[end - 1].end(),
                                                                     vocab):
            names.append(line[words[start].start():words[end - 1].end()])
        i = end
    return names


def _capital(word: str) -> bool:
    return word[:1].isupper()


def _place_words(folded: list[str], vocab: _Vocabulary) -> set[int]:
    """The indices of the words that are part of a known place name ("Hồ Chí Minh", "Bà Rịa")."""
    covered: set[int] = set()
    for place in vocab.places:
        for i in range(len(folded) - len(place) + 1):
            if tuple(folded[i:i + len(place)]) == place:
                covered.update(range(i, i + len(place)))
    return covered


def _street(line: str, start: int, end: int, vocab: _Vocabulary) -> bool:
    """Tell whether a capitalised run is a street: after a house number or a street word, or before "Street"."""
    before = fold(line[:start]).rstrip(" .,:")
    last = before.rsplit(" ", 1)[-1] if before else ""
    if re.fullmatch(r"\d+[a-z]?(?:[/-]\d+[a-z]?)*", last) or last in vocab.address_words:
        return True
    after = fold(line[end:]).lstrip(" .,").split(" ", 1)[0]
    return after in vocab.street_after


def _only_a_name(line: str, vocab: _Vocabulary) -> bool:
    """Tell whether a line is a name and little else (a list of people with their contacts on the next line)."""
    text = _LIST_MARK_RE.sub("", line).strip(" *:_-")
    if not text or len(text) > 60:
        return False
    named = sum(len(n) for n in _names(text, vocab))
    return named >= 0.6 * len(text)


def line_number(text: str, finding: Finding) -> int | None:
    """The first line of a text file (1-based) holding what the finding points at, or None."""
    needle = finding.needle
    if finding.what == "phone" and needle.startswith("0"):
        needle = needle[1:]  # written 0909…, +84 909… or 84909…
    if not needle:
        return None
    for number, raw in enumerate(text.splitlines(), start=1):
        haystack = re.sub(r"\D", "", raw) if needle.isdigit() else raw.lower()
        if needle in haystack:
            return number
    return None


_WHAT = {
    "phone": "a phone number beside a person's name",
    "email": "an e-mail address beside a person's name",
    "national_id": "a national ID number",
    "debt": "a debt beside a person's name",
}


def _where(finding: Finding, text: str | None) -> str:
    number = line_number(text, finding) if text is not None else None
    at = f"line {number}" if number is not None else f"section «{finding.section}»"
    return f"{at}: «{finding.line}»"


def _more(findings: Sequence[Finding]) -> str:
    lines = len({f.line for f in findings})
    return f" (and {lines - 1} more line{'s' if lines > 2 else ''})" if lines > 1 else ""


def personal_data_message(doc: str, findings: Sequence[Finding], text: str | None) -> str:
    """Why a document with other people's personal data is refused, and what the admin can do."""
    first = findings[0]
    what = f"a list of {first.count} personal phone numbers or e-mails" if first.what == "contact_list" \
        else _WHAT.get(first.what, "personal data")
    return (f"{doc}: other people's personal data ({what}) at {_where(first, text)}{_more(findings)}; customers "
            "asking would be told it. Remove it; if these are the business's own numbers or e-mails, declare them in "
            "CHATCRM_BUSINESS_CONTACTS; to index it anyway, ingest with --allow-personal-data")


def account_message(doc: str, findings: Sequence[Finding], text: str | None) -> str:
    """Why a document giving an undeclared bank account is refused, and how to declare the business's account."""
    first = findings[0]
    accounts = ", ".join(dict.fromkeys(f.needle for f in findings))
    return (f"{doc}: bank account {accounts} at {_where(first, text)}{_more(findings)} is not an account the "
            "business declared; customers would be told to pay into it. If it is the business's, add it to "
            "CHATCRM_PAYMENT_ACCOUNTS (comma-separated, e.g. CHATCRM_PAYMENT_ACCOUNTS=\"0441 000 886 688\") and "
            "ingest again; otherwise remove that line")


__all__ = ["Finding", "OwnContacts", "account_message", "declared_by", "declared_for", "demo_contacts", "line_number",
           "personal_data_message", "screen_document"]
