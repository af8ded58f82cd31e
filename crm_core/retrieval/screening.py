"""Screen a knowledge document before customers can be answered from it (issue 11's attacker review).

Whatever is indexed is quoted to any customer who asks, so two things are stopped at ingest (a new document goes in
without the sections that hold them, named in the report; an edit of one served whole is refused whole):

    other people's personal data    a customer list (names with phone numbers, e-mails, debts), national IDs,
                                    a personal e-mail address, a mobile number beside a name (capitalised, or
                                    any case after an honorific: "chị hằng quận 7: 0912…"): refused unless
                                    the admin allows it (`kb ingest --allow-personal-data`)
    payment details                 a bank account the business did not declare (`Settings.payment_accounts`):
                                    a document slipped into the knowledge folder would have customers pay
                                    someone else; always refused, the flag does not allow it

A document is screened as a reader sees it (`screen_form`): invisible characters dropped (a zero-width space between
digit groups hides an account from a pattern, not from a customer), compatibility forms such as fullwidth digits read
as what they show, other scripts' digits as ASCII. An account is digits (6 to 19; 8 or more where only a transfer verb
or a bank's name points at them), written with digits or spelled out ("một chín không ba…"):

    after an account cue        "STK", "số tài khoản", "account number"; up to three words between
    after a transfer verb       "chuyển khoản", "CK", "gửi tiền", "thanh toán", "transfer", "pay"; up to four words
                                between, whatever the preposition
    on a line naming a bank     or a wallet (Techcombank, MoMo)
    across a line break         a cue or a bank ending a line, the digits on one of the next two lines (a form, a list,
                                a heading)
    in a table column           headed by an account cue
    in a web address            a VietQR image or a QR payment page's path, after a bank's code, an "acc=" parameter
    by its holder               "chủ TK Nguyễn Văn A" beside a bank or a transfer verb with no declared account near
                                it: the number may be written in a way no pattern reads, the instruction is clear

Letters that look like digits read as digits in a run after an account cue ("STK O441 OOO 886 699"), and digit
groups with " / " between them or on lines of their own are one number ("Số: 1234" / "5678" / "9012").

Digits that are money or a measure (1.200.000, 500000 đ, 30 m²), a date, a landline or a 1800/1900 number after
other words, a reference (an order, an invoice or a tax code) or a phone number after a phone word are not accounts.

The business's own contacts (its declared phones, e-mails and domains, role mailboxes such as sales@, landlines
and 1800/1900 numbers) are not personal data. The words and patterns are in `data/ingest_screening.json`; the
honorifics, family names and words that are no one's name are the parser's (`crm_core/understanding/data/`).

Phone numbers are found with regular expressions: `phonenumbers` is not a dependency (nor installed here), and
the numbers that matter are Vietnamese mobiles, whose shape is simple (0 or +84, then 3/5/7/8/9 and 8 digits).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from crm_core.retrieval.loaders import Unit
from crm_core.retrieval.normalize import load_json
from crm_core.textnorm import fold, nfc

if TYPE_CHECKING:
    from crm_core.config import Settings

FindingKind = Literal["personal_data", "undeclared_account"]
# What a personal-data finding is: a phone or a debt beside a person's name, a personal e-mail, a national ID, a list.
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
# What follows a cue: up to `words` words (lazily: the digits nearest the cue are the account), the punctuation a
# form, a list or a table puts between a label and its value, then the digits.
_CUE_TAIL = (r"(?P<gap>(?:[\s,:;*|•>-]+[a-z]+){{0,{words}}}?)(?P<sep>[\s:#*().|>•=-]*)"
             r"(?<![0-9])(?P<digits>\d(?:[ .-]?\d){{5,18}})(?![0-9])")
_ANY_DIGITS_RE = re.compile(r"\d(?:[ .-]?\d)*")
# An IBAN: a country, two check digits, up to 30 letters and digits (in groups of four); kept when its check holds.
_IBAN_RE = re.compile(r"(?<![0-9a-z])([a-z]{2}\d{2}(?: ?[0-9a-z]){11,30})(?![0-9a-z])")
_MONEY_RE = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
_DATE_RE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-](?:\d{2}|\d{4})")
# Landlines (02x), 1800/1900 numbers: a business's lines, never an account or a person's number.
_BUSINESS_LINE_RE = re.compile(r"(?:0|84)?2\d{9}|1[89]00\d{4,6}")
_DIGIT_OR_AT_RE = re.compile(r"[\d@]")
_LIST_MARK_RE = re.compile(r"^[\s>*\-•+|#\d.)(]*")
# What an "address" ending so names: a file ("logo@2x.png"), not a mailbox.
_FILE_TYPES = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "pdf", "js", "css", "html", "md", "txt"})
# What may stand between a phone number and a name written beside it: "Ngọc, 0912…", "0912… (Ngọc)".
_BESIDE_RE = re.compile(r"[\s,:;()\[\]/–—-]*")
_TABLE_RULE_RE = re.compile(r":?-{2,}:?")
# A name is this near a phone number, in words (an e-mail address between them counts its words).
_NAME_NEAR_WORDS = 8
# An honorific and a name in lower case ("chị hằng quận 7: 0912…") are a person's this near a phone number, in words
# between the name and the number.
_HONORIFIC_NEAR_WORDS = 2
_SENTENCE_END_RE = re.compile(r"[.!?;\n]")
# A web address: a host and a path or query ("https://img.vietqr.io/image/VCB-0441…-compact.png", "qr.sepay.vn/img?…").
_URL_RE = re.compile(r"(?i)(?<![\w@.-])(?:https?://)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?[/?][^\s<>\"'()\[\]]*")
# A run of digits in which letters that look like digits may stand ("O441 OOO 886 699"): groups of digits and those
# letters, single spaces, dots or dashes between them.
_LOOKALIKE_RUN_RE = re.compile(r"(?<![\w.-])[0-9OoIl]+(?:[ .-][0-9OoIl]+)*(?!\w)")
# Digit groups written with " / " between them ("1234 / 5678 / 9012"): one number, not a part of a longer one.
_SLASHED_GROUPS_RE = re.compile(r"(?<!\d[ .-])(?<!\d)\d{2,6}(?:[ ]+/[ ]+\d{2,6})+(?!\d|[ .-]\d)")
_SLASH_RE = re.compile(r"[ ]+/[ ]+")
# A line that is a short digit group and nothing else (a list mark before it): the rest of the line above's number.
_GROUP_LINE_RE = re.compile(r"[\s>*•+|/-]*(\d{2,6})[\s.]*")
_ENDS_IN_GROUP_RE = re.compile(r"(?<![\d.,])\d{2,6}[\s.]*$")
_LINE_CHARS = 100
# Default-ignorable code points outside category Cf (which `screen_form` drops by category): the combining grapheme
# joiner, Hangul fillers, Khmer and Mongolian invisible vowels and selectors, variation selectors. They show nothing.
# Characters that are what they show: printable ASCII, Latin letters (Vietnamese included, composed by NFKC), the
# general punctuation and currency signs (not U+2028-202F nor U+2060-206F: separators, bidi controls, joiners).
_PLAIN_RE = re.compile("[\t\x20-\x7e\u00a0-\u00ac\u00ae-\u024f\u1e00-\u1eff\u2010-\u2027\u2030-\u205f"
                       "\u20a0-\u20cf]*")
_IGNORABLE_RE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\ufff0-\ufff8"
                           "\U000e0100-\U000e01ef]")


def screen_form(text: str) -> str:
    """Return `text` as it is screened: what a reader sees, in its plainest form.

    HTML character references are decoded, invisible characters dropped (category Cf: zero-width spaces and joiners,
    word joiner, BOM, soft hyphen, bidi controls; the other default-ignorables; controls), then NFKC reads
    compatibility forms as what they show (fullwidth "１９０３" is 1903), a combining mark on no letter is dropped, and
    other scripts' digits become ASCII.
    """
    if "&" in text:  # "1903&#8203;6512": a character reference renders as the character wherever HTML is read
        text = html.unescape(text)
    if text.isascii() and text.isprintable():
        return text
    text = unicodedata.normalize("NFKC", _IGNORABLE_RE.sub("", text))
    if _PLAIN_RE.fullmatch(text):  # letters, digits and punctuation a reader sees as they are: most lines
        return text
    out: list[str] = []
    after_letter = False
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cf", "Cs", "Cc", "Co") and ch != "\t":
            continue
        if category == "Mn" and not after_letter:
            continue
        if category == "Nd" and not "0" <= ch <= "9":
            ch = str(unicodedata.decimal(ch))
        out.append(ch)
        after_letter = category[0] == "L" or (category == "Mn" and after_letter)
    return "".join(out)


def _fold_case(text: str) -> str:
    """`text` without diacritics, its case kept, one character for each ("Chủ TK Nguyễn" -> "Chu TK Nguyen")."""
    out: list[str] = []
    for ch in text:
        if ch in "đĐ":
            out.append("d" if ch == "đ" else "D")
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) != "Mn")
        out.append(base if len(base) == 1 else ch)
    return "".join(out)


def _phrases_re(phrases: Iterable[str]) -> str:
    ordered = sorted({fold(p) for p in phrases}, key=len, reverse=True)
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in ordered)


def _phrases(values: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(sorted({tuple(fold(v).split()) for v in values}, key=len, reverse=True))


@dataclass(frozen=True)
class _Vocabulary:
    id_re: re.Pattern[str]
    debt_re: re.Pattern[str]
    account_re: re.Pattern[str]
    verb_re: re.Pattern[str]
    bank_cue_re: re.Pattern[str]
    verb_word_re: re.Pattern[str]
    bank_re: re.Pattern[str]
    unit_re: re.Pattern[str]
    holder_re: re.Pattern[str]
    holder_word_re: re.Pattern[str]
    spelled_re: re.Pattern[str]
    spelled: dict[str, str]
    destinations: frozenset[str]
    references: tuple[tuple[str, ...], ...]
    phone_words: tuple[tuple[str, ...], ...]
    fillers: frozenset[str]
    account_columns: frozenset[str]
    roles: frozenset[str]
    placeholder_mailboxes: frozenset[str]
    placeholder_domains: frozenset[str]
    name_columns: frozenset[str]
    id_columns: frozenset[str]
    debt_columns: frozenset[str]
    address_words: frozenset[str]
    places: tuple[tuple[str, ...], ...]
    street_after: frozenset[str]
    honorifics: frozenset[str]
    lower_honorifics: frozenset[str]  # lower-cased, with their accents; "a." needs its dot
    not_a_name_after_honorific: frozenset[str]  # lower-cased, with their accents
    honorific_roles: tuple[tuple[str, ...], ...]
    qr_hosts: frozenset[str]
    url_account_params: frozenset[str]
    bank_codes: frozenset[str]  # the one-word bank and wallet names
    account_before_re: re.Pattern[str]
    lookalikes: dict[str, str]
    surnames: frozenset[str]
    not_a_person: frozenset[str]  # folded
    not_a_person_accented: frozenset[str]  # lower-cased, with their accents
    list_threshold: int


@cache
def _vocabulary() -> _Vocabulary:
    from crm_core.understanding import vocabulary

    data: dict[str, Any] = load_json("ingest_screening.json")

    def words(key: str) -> frozenset[str]:
        return frozenset(fold(w) for w in data[key])

    bounded = r"(?<![0-9a-z])(?:{})(?![0-9a-z])"
    cue = r"(?<![0-9a-z])(?:{})(?![a-z])"  # digits may follow a cue at once: "STK0123…", "STK-0123…"
    honorifics = {w.lower() for w in vocabulary.words("honorifics_accented") | vocabulary.words("en_honorifics")}
    spelled = {fold(w): digit for digit, spellings in data["spelled_digits"].items() for w in spellings}
    spelled_word = r"(?:{}|\d+)".format("|".join(sorted(spelled, key=len, reverse=True)))
    return _Vocabulary(
        id_re=re.compile(bounded.format(_phrases_re(data["id_cues"])) + r"[\s:#*().-]*(?:so\s+|no\s+)?"
                         r"(\d(?:[ .]?\d){8,11})(?![0-9])"),
        debt_re=re.compile(bounded.format(_phrases_re(data["debt_cues"]))),
        # Up to three words between the cue and the digits: "số tài khoản của shop là 0123…".
        account_re=re.compile(cue.format(_phrases_re(data["account_cues"])) + _CUE_TAIL.format(words=3)),
        # A transfer verb, whatever the preposition: "CK đến 0123…", "gửi tiền về 0123…", "pay via 0123…".
        verb_re=re.compile(cue.format(_phrases_re(data["transfer_verbs"])) + _CUE_TAIL.format(words=4)),
        # A bank named just before the digits; looked for across line breaks ("Techcombank" / "1903 6512 3456 78").
        bank_cue_re=re.compile(cue.format(_phrases_re(data["bank_names"])) + _CUE_TAIL.format(words=3)),
        verb_word_re=re.compile(bounded.format(_phrases_re(data["transfer_verbs"]))),
        bank_re=re.compile(bounded.format(_phrases_re(data["bank_names"]))),
        unit_re=re.compile(r"\s*(?:" + _phrases_re(data["not_account_after"]) + r")(?![0-9a-z])"),
        # Matched on the line without accents but with its case (`_fold_case`): the holder's name is capitalised.
        holder_re=re.compile(r"(?<![0-9A-Za-z])(?i:" + _phrases_re(data["holder_cues"]) + r")(?![0-9A-Za-z])"
                             r"[\s:=*–—-]*(?:(?i:la|is)\s+)?(?P<name>[A-Z][A-Za-z]*(?:[ ]+[A-Z][A-Za-z]*){0,5})"),
        holder_word_re=re.compile(bounded.format(_phrases_re(data["holder_cues"]))),
        spelled_re=re.compile(r"(?<![0-9a-z])" + spelled_word + r"(?:[\s,.-]+" + spelled_word + r")+(?![0-9a-z])"),
        spelled=spelled,
        destinations=words("destination_words"),
        references=_phrases(data["reference_words"]),
        phone_words=_phrases(data["phone_words"]),
        fillers=words("filler_words"),
        account_columns=words("account_cues"),
        roles=words("role_mailboxes"),
        placeholder_mailboxes=frozenset(w.lower() for w in data["placeholder_mailboxes"]),
        placeholder_domains=frozenset(w.lower() for w in data["placeholder_domains"]),
        name_columns=words("name_columns"),
        id_columns=words("id_columns"),
        debt_columns=words("debt_columns"),
        address_words=words("address_words"),
        # Places and days: capitalised words that are no one's name ("Thủ Đức", "Thứ Hai").
        places=tuple(tuple(p.split()) for p in sorted(words("place_names") | words("date_phrases"))),
        street_after=words("street_after"),
        honorifics=frozenset(honorifics | {w.lower() for w in data["honorifics_extra"]}),
        lower_honorifics=frozenset(
            {w.lower() for w in vocabulary.words("honorifics_accented") | vocabulary.words("en_honorifics")}
            | {w.lower() for w in data["lowercase_honorifics_accented"]}),
        not_a_name_after_honorific=frozenset(w.lower() for w in data["not_a_name_after_honorific_accented"]),
        honorific_roles=_phrases(data["honorific_roles"]),
        qr_hosts=frozenset(h.lower() for h in data["qr_pay_hosts"]),
        url_account_params=frozenset(k.lower() for k in data["url_account_params"]),
        bank_codes=frozenset(b for b in words("bank_names") if " " not in b),
        # An account cue or a bank's name, up to three words, and a label's punctuation, ending the text before digits.
        account_before_re=re.compile(cue.format(_phrases_re([*data["account_cues"], *data["bank_names"]]))
                                     + r"(?:[\s,:;*|•>-]+[a-z]+){0,3}[\s:#*().|>•=-]*$"),
        lookalikes={ch: digit for digit, chars in data["lookalike_digits"].items() for ch in chars},
        surnames=frozenset(w.lower() for w in vocabulary.words("strong_surnames_accented")),
        not_a_person=frozenset(vocabulary.words("capitalised_not_a_name") | vocabulary.words("vi_style_not_a_name")
                               | words("role_mailboxes")),
        not_a_person_accented=frozenset(w.lower() for w in data["not_a_person_accented"]),
        list_threshold=int(data["list_threshold"]),
    )


def _account_form(line: str) -> str:
    """A screened line as accounts are looked for in it: letters that look like digits read as digits after an
    account cue or a bank ("STK O441 OOO 886 699"), folded, digits spelled out as digits, digit groups with " / "
    between them as one number ("1234 / 5678 / 9012")."""
    return _slashed(_spelled_out(fold(_lookalike_digits(line))))


def _lookalike_digits(line: str) -> str:
    """A screened line with O/o read as 0 and l/I as 1 in a run of digits after an account cue or a bank's name
    ("STK O441 OOO 886 699" -> "STK 0441 000 886 699"); groups of those letters alone count only between groups
    with digits ("0441 886 688 lo" keeps its "lo"), and an accented "ở" is no zero."""
    if not re.search(r"\d", line):
        return line
    vocab = _vocabulary()
    out: list[str] = []
    last = 0
    for match in _LOOKALIKE_RUN_RE.finditer(line):
        tokens = list(re.finditer(r"[0-9A-Za-z]+", match.group()))
        with_digits = [i for i, t in enumerate(tokens) if re.search(r"\d", t.group())]
        if not with_digits:
            continue
        start = match.start() + tokens[with_digits[0]].start()
        end = match.start() + tokens[with_digits[-1]].end()
        run = line[start:end]
        if not any(ch in vocab.lookalikes for ch in run) or not 6 <= len(re.findall(r"[0-9OoIl]", run)) <= 19:
            continue
        if not vocab.account_before_re.search(fold(line[:start]) + " "):
            continue
        out.append(line[last:start] + "".join(vocab.lookalikes.get(ch, ch) for ch in run))
        last = end
    return "".join(out) + line[last:] if out else line


def _slashed(form: str) -> str:
    """Digit groups with " / " between them written as one number ("1234 / 5678 / 9012" -> "1234 5678 9012")."""
    if "/" not in form:
        return form
    return _SLASHED_GROUPS_RE.sub(lambda m: _SLASH_RE.sub(" ", m.group()), form)


def _spelled_out(folded: str) -> str:
    """A folded line with digits spelled out as words ("mot chin khong ba…") written as digits."""
    vocab = _vocabulary()

    def digits(match: re.Match[str]) -> str:
        tokens = re.findall(r"[a-z]+|\d+", match.group())
        spelled = sum(t.isalpha() for t in tokens)
        number = "".join(vocab.spelled.get(t, t) for t in tokens)
        # Four words or more and six digits: "một chín không ba…"; not "ba năm" (three years) or "hai ba người".
        return number if spelled >= 4 and len(number) >= 6 else match.group()

    return vocab.spelled_re.sub(digits, folded)


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
        numbers = {_account_key(str(a)) for a in accounts}
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
    needle: str  # what to look for in the file's lines to number it: digits, an e-mail address, an account holder
    count: int = 1  # for a contact list: how many distinct numbers and e-mails


@dataclass
class _Table:
    names: set[int] = field(default_factory=set)
    ids: set[int] = field(default_factory=set)
    debts: set[int] = field(default_factory=set)
    accounts: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Contact:
    """A phone number or an e-mail address on a line that may be a person's."""

    key: str  # the number in its national form, or the address lower-cased
    start: int
    end: int

    @property
    def email(self) -> bool:
        return "@" in self.key


def screen_document(units: Sequence[Unit], own: OwnContacts) -> list[Finding]:
    """Return the lines of a document that hold other people's personal data or an undeclared account."""
    vocab = _vocabulary()
    findings: list[Finding] = []
    listed: dict[str, tuple[str, str]] = {}  # personal phone/e-mail -> (section, line) where first seen
    for unit in units:
        before = len(findings)
        # The title too: a document's H1 heads every section's breadcrumb, which customers are shown.
        lines = [screen_form(line) for line in (unit.title, unit.section, *unit.variants, *unit.text.splitlines())]
        table: _Table | None = None
        previous = ""
        filled: list[str] = []  # the lines with text, for what runs across a line break
        forms: list[str] = []  # their `_account_form`s
        folds: list[str] = []  # and their `fold`s
        for line in lines:
            if not line.strip():
                table = None
                continue
            cells = _cells(line)
            if cells is None:
                table = None
            elif all(_TABLE_RULE_RE.fullmatch(c) for c in cells if c):
                continue  # a markdown table's rule line
            elif table is None:
                table = _header(cells, vocab)  # its header (a header holds no one's data: read as a row too)
            folded = fold(line)
            form = _account_form(line)
            filled.append(line)
            folds.append(folded)
            forms.append(form)
            if _DIGIT_OR_AT_RE.search(form):  # no number and no e-mail: nothing here to screen on its own
                findings += _accounts(unit.section, line, form, cells, table, own, vocab)
                contacts = _personal_contacts(line, own, vocab)
                for contact in contacts:
                    listed.setdefault(contact.key, (unit.section, line))
                finding = _personal(unit.section, line, folded, cells, table, previous, contacts, vocab)
                if finding is not None:
                    findings.append(finding)
            previous = line
        findings += _accounts_across_lines(unit.section, filled, forms, own, vocab)
        if not any(f.kind == "undeclared_account" for f in findings[before:]):  # else that account says it all
            findings += _holders(unit.section, filled, folds, forms, own, vocab)
    findings = _first_of_each_account(findings)
    # Said even beside a named line: a list runs across sections, so holding back that line's section alone would
    # serve the rest of the list (`KnowledgeBase` holds back a whole document with a list).
    if len(listed) >= vocab.list_threshold:
        first, (section, line) = next(iter(listed.items()))
        findings.append(Finding(kind="personal_data", what="contact_list", section=section, line=_cut(line),
                                needle=first, count=len(listed)))
    return findings


def _first_of_each_account(findings: list[Finding]) -> list[Finding]:
    """The findings with each account once: found on its line and again across the line break, it is one."""
    seen: set[str] = set()
    kept: list[Finding] = []
    for finding in findings:
        if finding.kind == "undeclared_account":
            if finding.needle in seen:
                continue
            seen.add(finding.needle)
        kept.append(finding)
    return kept


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
        if name in vocab.account_columns:
            table.accounts.add(i)
    return table


# ---------------------------------------------------------------- other people's personal data


def _personal_contacts(line: str, own: OwnContacts, vocab: _Vocabulary) -> list[_Contact]:
    """The line's phone numbers and e-mails that may be a person's: mobiles and foreign numbers, e-mails that are
    not a role mailbox nor a placeholder (ten@example.com); none the business declared."""
    found: list[_Contact] = []
    for match in (*_MOBILE_RE.finditer(line), *_FOREIGN_RE.finditer(line)):
        digits = re.sub(r"\D", "", match.group())
        if _reference(fold(line[:match.start()]), "", vocab):
            continue  # "MST 0312345678": a tax code shaped like a mobile
        if 8 <= len(digits) <= 15 and not own.owns_phone(match.group()):
            found.append(_Contact(_phone_key(match.group()), match.start(), match.end()))
    for match in _EMAIL_RE.finditer(line):
        address = match.group().rstrip(".").lower()
        if not own.owns_email(address) and not _role_or_placeholder(address, vocab):
            found.append(_Contact(address, match.start(), match.end()))
    return found


def _role_or_placeholder(address: str, vocab: _Vocabulary) -> bool:
    """A mailbox no person reads as their own (sales@, cskh@), an address written as an example, or no address."""
    local, _, domain = address.partition("@")
    top = domain.rsplit(".", 1)[-1]
    if not top.isalpha() or top in _FILE_TYPES:
        return True  # "icon@2x.png", "lib@1.2.3": a file or a version, no mailbox
    if local in vocab.roles or re.split(r"[._-]", local)[0] in vocab.roles:
        return True
    return (local in vocab.placeholder_mailboxes or domain in vocab.placeholder_domains
            or top in ("example", "test", "invalid", "localhost"))


def _personal(section: str, line: str, folded: str, cells: list[str] | None, table: _Table | None, previous: str,
              contacts: list[_Contact], vocab: _Vocabulary) -> Finding | None:
    """A national ID on the line; a personal e-mail address; a phone number beside a person's name (on the line, in
    the table row's name column, alone on the line before, or a name-like word beside the number); a debt beside a
    name."""
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
    phones = [c for c in contacts if not c.email]
    emails = [c for c in contacts if c.email]
    if phones and named():
        return finding("phone", phones[0].key)
    if emails:  # someone's own address: nobody but them reads it, a customer asking should not be told it
        return finding("email", emails[0].key)
    beside = next((c for c in phones if _name_beside(line, c, vocab)), None)
    if beside is not None:
        return finding("phone", beside.key)
    numbers = re.findall(r"\d[\d.,]*", line)
    in_debt_column = cells is not None and table is not None and any(
        i < len(cells) and re.search(r"\d", cells[i]) for i in table.debts)
    if numbers and (in_debt_column or vocab.debt_re.search(folded)) and named():
        return finding("debt", re.sub(r"\D", "", max(numbers, key=len)))
    return None


def _name_beside(line: str, contact: _Contact, vocab: _Vocabulary) -> bool:
    """Tell whether a name-like word stands beside a phone number: capitalised words right before or after it
    ("Ngọc, 0912…", "0912… (Ngọc)"), or two capitalised words near it ("John Smith (john@…, +84 903…)"); not a
    label ("Hotline", "Zalo", "Phòng Kinh doanh"), a place or a street."""
    words = list(_WORD_RE.finditer(line))
    if _honorific_beside(line, words, contact, vocab):
        return True
    folded = [fold(w.group()) for w in words]
    in_place = _place_words(folded, vocab)
    before = [i for i, w in enumerate(words) if w.end() <= contact.start]
    after = [i for i, w in enumerate(words) if w.start() >= contact.end]
    runs: list[tuple[list[int], int]] = []  # a run and how many name words it needs
    if before and _BESIDE_RE.fullmatch(line, words[before[-1]].end(), contact.start):
        runs.append((_capital_run(line, words, before[-1], -1), 1))
    if after and _BESIDE_RE.fullmatch(line, contact.end, words[after[0]].start()):
        runs.append((_capital_run(line, words, after[0], 1), 1))
    near = {*before[-_NAME_NEAR_WORDS:], *after[:_NAME_NEAR_WORDS]}
    for i in sorted(near):
        if i - 1 in near and _capital(words[i - 1].group()) and line[words[i - 1].end():words[i].start()] == " ":
            continue  # inside a run already read
        runs.append((_capital_run(line, words, i, 1), 2))
    return any(_person_like(line, words, run, least, in_place, vocab) for run, least in runs)


def _honorific_beside(line: str, words: list[re.Match[str]], contact: _Contact, vocab: _Vocabulary) -> bool:
    """Tell whether an honorific and a name, whatever their case, stand within two words of a phone number, in the
    same sentence ("chị hằng quận 7: 0912…", "anh tư bình thạnh 0987…", "0912… (c. hằng)"); not a role after the
    honorific ("chị tư vấn", "anh giao hàng") nor a word that is no one's name ("anh chị vui lòng gọi…")."""
    before = [i for i, w in enumerate(words) if w.end() <= contact.start]
    after = [i for i, w in enumerate(words) if w.start() >= contact.end]
    for h in before[-(_HONORIFIC_NEAR_WORDS + 2):]:
        name = h + 1
        if name in before and before[-1] - name <= _HONORIFIC_NEAR_WORDS \
                and not _SENTENCE_END_RE.search(line, words[name].end(), contact.start) \
                and _honorific_and_name(line, words, h, vocab):
            return True
    for h in after[:_HONORIFIC_NEAR_WORDS + 1]:
        if h + 1 < len(words) and not _SENTENCE_END_RE.search(line, contact.end, words[h].start()) \
                and _honorific_and_name(line, words, h, vocab):
            return True
    return False


def _honorific_and_name(line: str, words: list[re.Match[str]], h: int, vocab: _Vocabulary) -> bool:
    """Tell whether words[h] is an honorific and words[h + 1] a name ("chị hằng", "a. tư", "mr smith")."""
    honorific = words[h].group().lower()
    gap = line[words[h].end():words[h + 1].start()]
    if not ((honorific in vocab.lower_honorifics and gap in (" ", ". "))
            or (honorific + "." in vocab.lower_honorifics and gap in (". ", "."))):
        return False
    name = words[h + 1].group().lower()
    if len(name) < 2 or name in vocab.not_a_name_after_honorific or name in vocab.lower_honorifics \
            or fold(name) in vocab.address_words:
        return False
    following = tuple(fold(w.group()) for w in words[h + 1:h + 4])
    return not any(following[:len(role)] == role for role in vocab.honorific_roles)


def _capital_run(line: str, words: list[re.Match[str]], i: int, step: int) -> list[int]:
    """The indices of the capitalised words from `i` on, one space apart, going forward (1) or back (-1)."""
    run: list[int] = []
    while 0 <= i < len(words) and _capital(words[i].group()) and len(run) < 4:
        if run:
            left, right = (words[i], words[run[-1]]) if step < 0 else (words[run[-1]], words[i])
            if line[left.end():right.start()] != " ":
                break
        run.append(i)
        i += step
    return sorted(run)


def _person_like(line: str, words: list[re.Match[str]], run: list[int], least: int, in_place: set[int],
                 vocab: _Vocabulary) -> bool:
    """Tell whether capitalised words read as a person's name of at least `least` words: written as a name (Ngọc,
    Smith), no label among them, not an acronym, a known place or a street."""
    def label(i: int) -> bool:
        text = words[i].group()
        return fold(text) in vocab.not_a_person or text.lower() in vocab.not_a_person_accented

    while run and label(run[0]):  # "Gọi Lan Anh", "Zalo Ngọc": a label or a verb before the name
        run = run[1:]
    while run and label(run[-1]):
        run = run[:-1]
    if len(run) < least or any(label(i) for i in run):  # "Phòng Kinh Doanh Miền Nam": a label inside, a department
        return False
    texts = [words[i].group() for i in run]
    if not any(len(t) >= 2 and t[1:].islower() for t in texts):  # ATM, VAT, COD, HCMC: acronyms
        return False
    if in_place.intersection(run):
        return False
    return not _street(line, words[run[0]].start(), words[run[-1]].end(), vocab)


# ---------------------------------------------------------------- payment details


def _accounts(section: str, line: str, folded: str, cells: list[str] | None, table: _Table | None,
              own: OwnContacts, vocab: _Vocabulary) -> list[Finding]:
    """The bank accounts the line gives that the business did not declare."""
    numbers = [n for kind, match in _cue_matches(folded, vocab) if (n := _cue_account(kind, match, folded, own, vocab))]
    if vocab.bank_re.search(folded):
        qr = _qr_spans(folded, vocab)  # read by `_url_accounts`: "?amount=150000000" is no account
        for match in _DIGITS_RE.finditer(folded):
            digits = re.sub(r"\D", "", match.group(1))
            if len(digits) >= 8 and not _business_line(digits, own) \
                    and not any(start <= match.start(1) < end for start, end in qr) \
                    and not _not_account(folded, match.start(1), match.end(1), vocab) \
                    and not _reference(folded[:match.start(1)], "", vocab):
                # a phone number on a wallet's line is its account (MoMo 0912…); only a reference is not
                numbers.append(digits)
    numbers += [iban for match in _IBAN_RE.finditer(folded) if _iban_valid(iban := _account_key(match.group(1)))]
    numbers += _url_accounts(line, vocab)
    if cells is not None and table is not None:
        for i in sorted(table.accounts):
            cell = _account_form(cells[i]) if i < len(cells) else ""
            for match in _DIGITS_RE.finditer(cell):
                if not _not_account(cell, match.start(1), match.end(1), vocab):
                    numbers.append(re.sub(r"\D", "", match.group(1)))
    return [_account_finding(section, line, digits) for digits in dict.fromkeys(numbers) if digits not in own.accounts]


def _url_accounts(line: str, vocab: _Vocabulary) -> list[str]:
    """The accounts a web address carries: a QR payment image or page ("img.vietqr.io/image/VCB-0441…-compact.png")
    gives one in its path (8 to 19 digits; a 6-digit bank BIN is not one), any address gives one after a bank's code
    (".../vcb/0441…") or as an account parameter ("?acc=0441…")."""
    if "/" not in line and "?" not in line:
        return []
    found: list[str] = []
    for match in _URL_RE.finditer(line):
        url = match.group()
        host = _url_host(url)
        if host is None:
            continue
        parts = urlsplit(url if "://" in url else "http://" + url)
        qr = any(host == h or host.endswith("." + h) for h in vocab.qr_hosts)
        tokens = [t for t in re.split(r"[^0-9A-Za-z]+", unquote(parts.path)) if t]
        for i, token in enumerate(tokens):
            if token.isdigit() and 8 <= len(token) <= 19 and (qr or (i and tokens[i - 1].lower() in vocab.bank_codes)):
                found.append(token)
        for key, value in parse_qsl(parts.query):
            digits = re.sub(r"[\s.-]", "", value)
            if key.lower() in vocab.url_account_params and digits.isdigit() and 6 <= len(digits) <= 19:
                found.append(digits)
    return found


def _url_host(url: str) -> str | None:
    try:
        return (urlsplit(url if "://" in url else "http://" + url).hostname or "").lower()
    except ValueError:
        return None


def _qr_spans(text: str, vocab: _Vocabulary) -> list[tuple[int, int]]:
    """Where the text has web addresses on a QR payment host."""
    if "/" not in text and "?" not in text:
        return []
    return [match.span() for match in _URL_RE.finditer(text) if (host := _url_host(match.group())) is not None
            and any(host == h or host.endswith("." + h) for h in vocab.qr_hosts)]


def _account_key(text: str) -> str:
    """An account as it is compared: an IBAN's letters and digits upper-cased ("GB29NWBK6016…"), else its digits."""
    compact = re.sub(r"[\s.-]", "", text).upper()
    return compact if _IBAN_RE.fullmatch(compact.lower()) and _iban_valid(compact) else re.sub(r"\D", "", text)


def _iban_valid(iban: str) -> bool:
    """Tell whether an IBAN's check digits hold (ISO 13616: mod 97 of the rearranged number is 1)."""
    rearranged = iban[4:] + iban[:4]
    if not rearranged.isalnum() or not rearranged.isascii():
        return False
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _account_finding(section: str, line: str, needle: str) -> Finding:
    return Finding(kind="undeclared_account", what="account", section=section, line=_cut(line), needle=needle)


def _cue_matches(folded: str, vocab: _Vocabulary, *, banks: bool = False) -> Iterator[tuple[str, re.Match[str]]]:
    """Digits after an account cue or a transfer verb (and, with `banks`, after a bank's name)."""
    patterns = [("account", vocab.account_re), ("verb", vocab.verb_re)]
    if banks:
        patterns.append(("bank", vocab.bank_cue_re))
    for kind, pattern in patterns:
        for match in pattern.finditer(folded):
            yield kind, match


def _cue_account(kind: str, match: re.Match[str], folded: str, own: OwnContacts, vocab: _Vocabulary) -> str | None:
    """The account a cue's digits are, or None when they are something else."""
    digits = re.sub(r"\D", "", match["digits"])
    gap = re.findall(r"[a-z]+", match["gap"])
    if gap and match["sep"] in ("", "-", "."):
        return None  # glued to a word: the tail of a code (AP-2026-01234), not an account
    if _not_account(folded, match.start("digits"), match.end("digits"), vocab):
        return None
    if gap and _business_line(digits, own):
        return None  # "tài khoản … gọi 1900 636 768": words between the cue and a phone line
    if _reference(match["gap"], digits, vocab):
        return None
    if kind != "account" and len(digits) < 8 and not (gap and gap[-1] in vocab.destinations):
        return None  # "thanh toán 500000": a transfer verb or a bank alone points at long numbers only
    return digits


def _reference(before: str, digits: str, vocab: _Vocabulary) -> bool:
    """Tell whether the words before digits make them a reference (an order, an invoice, a tax code) or, for a
    phone-shaped number, a phone to call ("gọi 0909…", "hotline 0909…"; not "qua SĐT 0909…": banks and wallets take
    a phone number as an account); fillers ("số", "là", "no") between are skipped."""
    words = re.findall(r"[0-9a-z]+", before[-80:])
    while words and words[-1] in vocab.fillers:
        words.pop()
    tail = tuple(words)

    def ending(phrases: tuple[tuple[str, ...], ...]) -> tuple[str, ...] | None:
        return next((p for p in phrases if len(p) <= len(tail) and tail[len(tail) - len(p):] == p), None)

    if ending(vocab.references) is not None:
        return True
    phone = ending(vocab.phone_words) if digits and _phone_shaped(digits) else None
    return phone is not None and (len(tail) == len(phone) or tail[-len(phone) - 1] not in vocab.destinations)


def _phone_shaped(digits: str) -> bool:
    return bool(_BUSINESS_LINE_RE.fullmatch(digits)) or (digits.startswith("0") and len(digits) in (10, 11)) \
        or (digits.startswith("84") and len(digits) in (11, 12))


def _accounts_across_lines(section: str, lines: list[str], forms: list[str], own: OwnContacts,
                           vocab: _Vocabulary) -> list[Finding]:
    """Accounts whose cue ends a line and whose digits are on one of the next two lines with text: a form's label
    and its value, a list, a heading and its first line, a table's cell on the next row."""
    out: list[Finding] = []
    lines, forms = _groups_joined(lines, forms)
    forms = [f.rstrip(" .") for f in forms]  # "ngân hàng ACB." / "Số: 1234…": a full stop ends the cue's line
    for i in range(len(lines) - 1):
        joined = " ".join(forms[i:i + 3])
        boundary = len(forms[i])
        for kind, match in _cue_matches(joined, vocab, banks=True):
            if match.start() >= boundary or match.start("digits") <= boundary:
                continue  # within one line: screened there
            digits = _cue_account(kind, match, joined, own, vocab)
            if digits is None or digits in own.accounts:
                continue
            following = 1 if match.start("digits") <= boundary + 1 + len(forms[i + 1]) else 2
            out.append(_account_finding(section, " ".join(lines[i:i + following + 1]), digits))
    return out


def _groups_joined(lines: list[str], forms: list[str]) -> tuple[list[str], list[str]]:
    """The lines with a number split over lines written on one: a line that is a short digit group alone goes on
    the line above when that line ends with one ("Số: 1234" / "5678" / "9012" -> "Số: 1234 5678 9012")."""
    joined_lines: list[str] = []
    joined_forms: list[str] = []
    for line, form in zip(lines, forms, strict=True):
        group = _GROUP_LINE_RE.fullmatch(form)
        if group is not None and joined_forms and _ENDS_IN_GROUP_RE.search(joined_forms[-1]):
            joined_forms[-1] = joined_forms[-1].rstrip(" .") + " " + group.group(1)
            joined_lines[-1] = joined_lines[-1] + " / " + line.strip()
            continue
        joined_lines.append(line)
        joined_forms.append(form)
    return joined_lines, joined_forms


def _holders(section: str, lines: list[str], folds: list[str], forms: list[str], own: OwnContacts,
             vocab: _Vocabulary) -> list[Finding]:
    """Accounts given by their holder ("chủ TK Nguyễn Văn A") beside a bank or a transfer verb, with no declared
    account on the lines around: however the number is written, customers are told to pay someone."""
    out: list[Finding] = []
    for i, line in enumerate(lines):
        if not vocab.holder_word_re.search(folds[i]):
            continue
        match = vocab.holder_re.search(_fold_case(line))
        if match is None or not _holder_named(match, vocab):
            continue  # "chủ tài khoản là người mua", "a beneficiary I chose": no one named
        around = " ".join(forms[max(0, i - 2):i + 3])
        if not (vocab.bank_re.search(around) or vocab.verb_word_re.search(around)):
            continue
        if any(re.sub(r"\D", "", m.group()) in own.accounts for m in _ANY_DIGITS_RE.finditer(around)):
            continue
        out.append(_account_finding(section, line, line[match.start("name"):match.end("name")]))
    return out


def _holder_named(match: re.Match[str], vocab: _Vocabulary) -> bool:
    """Tell whether a holder cue names someone: two capitalised words ("chủ TK Nguyễn Văn A"), or one after a colon
    or a dash ("Beneficiary: Smith"); not a word that is no one's name."""
    names = match["name"].split()
    if fold(names[0]) in vocab.not_a_person:
        return False
    return len(names) >= 2 or bool(re.search(r"[:=–—-]", match.group()[: match.start("name") - match.start()]))


def _business_line(digits: str, own: OwnContacts) -> bool:
    """A landline, a 1800/1900 number or a declared phone: a way to call the business, not an account."""
    return bool(_BUSINESS_LINE_RE.fullmatch(digits)) or _phone_key(digits) in own.phones


def _not_account(folded: str, start: int, end: int, vocab: _Vocabulary) -> bool:
    """Digits that are money, a date or a measure: written 1.200.000 or 15.10.2026, or followed by a currency or a
    unit (not a bank's name: "ngân hàng", "Đông Á Bank")."""
    written = folded[start:end]
    if _MONEY_RE.fullmatch(written) or _DATE_RE.fullmatch(written):
        return True
    unit = vocab.unit_re.match(folded, end)
    return unit is not None and not vocab.bank_re.match(folded, end + len(unit.group()) - len(unit.group().lstrip()))


# ---------------------------------------------------------------- names


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



# ---------------------------------------------------------------- messages


def line_number(text: str, finding: Finding) -> int | None:
    """The first line of a text file (1-based) holding what the finding points at, or None."""
    needle = finding.needle
    if finding.what == "phone" and needle.startswith("0"):
        needle = needle[1:]  # written 0909…, +84 909… or 84909…
    if not needle:
        return None
    digits = needle.isdigit()
    if not digits:
        needle = fold(needle).replace(" ", "")
    for number, raw in enumerate(text.splitlines(), start=1):
        seen = screen_form(raw)
        haystack = re.sub(r"\D", "", _account_form(seen)) if digits else fold(seen).replace(" ", "")
        if needle in haystack:
            return number
    return None


_WHAT = {
    "phone": "a phone number beside a person's name",
    "email": "a personal e-mail address",
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
    needles = list(dict.fromkeys(f.needle for f in findings))
    numbers = [n for n in needles if n.isdigit() or _IBAN_RE.fullmatch(n.lower())]
    holders = [n for n in needles if n not in numbers]
    given = [f"bank account {', '.join(numbers)}"] if numbers else []
    if holders:  # the number written in words, or not at all: the holder names it
        given.append("a bank account of " + ", ".join(f"«{h}»" for h in holders) + " with no declared account number")
    return (f"{doc}: {' and '.join(given)} at {_where(first, text)}{_more(findings)} is not an account the "
            "business declared; customers would be told to pay into it. If it is the business's, add it to "
            "CHATCRM_PAYMENT_ACCOUNTS (comma-separated, e.g. CHATCRM_PAYMENT_ACCOUNTS=\"0441 000 886 688\") and "
            "ingest again; otherwise remove that line")


__all__ = ["Finding", "OwnContacts", "account_message", "declared_by", "declared_for", "demo_contacts", "line_number",
           "personal_data_message", "screen_document", "screen_form"]
