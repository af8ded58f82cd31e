"""People, companies, phones and e-mails in log messages."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from crm_core.understanding.text import fold

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+|/|[(),.;:!?&@+\n-]")

PHONE_RE = re.compile(r"(?<![\w+])(?:\+\s?\d{1,3}[\s.-]?)?\(?\d{2,4}\)?(?:[\s.-]?\d{2,4}){2,4}(?![\w])")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True, slots=True)
class Word:
    """A word of the original text with its folded form and span."""

    text: str
    folded: str
    start: int
    end: int

    @property
    def is_cap(self) -> bool:
        """Tell whether the word starts with a capital letter."""
        return self.text[:1].isupper()

    @property
    def is_alpha(self) -> bool:
        """Tell whether the word is made of letters."""
        return self.text[:1].isalpha()


def words_of(original: str, folded: str) -> list[Word]:
    """Split the text into words with their folded forms (blanked parts of `folded` are skipped)."""
    return [Word(original[m.start() : m.end()], m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(folded)]


# ---------------------------------------------------------------- phone, e-mail


def find_phone(original: str) -> tuple[str, int, int] | None:
    """Return the first phone number, normalised (+84… for Vietnamese numbers), and its span."""
    for m in PHONE_RE.finditer(original):
        raw = m.group()
        digits = re.sub(r"\D", "", raw)
        plus = raw.lstrip().startswith("+")
        if plus and digits.startswith("84"):
            rest = digits[2:].lstrip("0")
            if 9 <= len(rest) <= 10:
                return "+84" + rest, m.start(), m.end()
            continue
        if plus:
            if 8 <= len(digits) <= 15:
                return "+" + digits, m.start(), m.end()
            continue
        if digits.startswith("84") and len(digits) in (11, 12) and not raw.startswith("0"):
            return "+84" + digits[2:], m.start(), m.end()
        if digits.startswith("0") and len(digits) in (10, 11) and digits[1] != "0":
            if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", raw):
                continue  # 4.500.000 is money, not a phone
            return "+84" + digits[1:], m.start(), m.end()
    return None


def find_email(original: str) -> tuple[str, int, int] | None:
    """Return the first e-mail address and its span."""
    m = EMAIL_RE.search(original)
    if m is None:
        return None
    return m.group().rstrip(".").lower(), m.start(), m.end()


# ---------------------------------------------------------------- vocabulary

# Words that follow an honorific but are not names ("anh ấy", "em gửi", "chị ơi").
_NOT_NAME = frozenset(
    [
        "ay",
        "ta",
        "do",
        "kia",
        "nay",
        "oi",
        "a",
        "nhe",
        "nha",
        "ha",
        "minh_",
        "em",
        "anh",
        "chi",
        "co",
        "chu",
        "ba",
        "ong",
        "ho",
        "no",
        "ve",
        "da",
        "se",
        "dang",
        "gui",
        "goi",
        "gap",
        "hen",
        "noi",
        "bao",
        "muon",
        "can",
        "khong",
        "ko",
        "k",
        "kh",
        "chua",
        "roi",
        "cung",
        "van",
        "lai",
        "bi",
        "duoc",
        "dc",
        "phai",
        "thay",
        "thi",
        "la",
        "va",
        "voi",
        "cho",
        "o",
        "tai",
        "ben",
        "cty",
        "cong",
        "moi",
        "vua",
        "xem",
        "hoi",
        "tra",
        "lam",
        "di",
        "den",
        "qua",
        "len",
        "xuong",
        "ra",
        "vao",
        "biet",
        "thich",
        "chot",
        "ky",
        "ki",
        "dat",
        "mua",
        "ban",
        "lay",
        "nhan",
        "check",
        "call",
        "hop",
        "mai",
        "hom",
        "thu",
        "tuan",
        "thang",
        "ngay",
        "sang",
        "chieu",
        "toi",
        "trua",
        "dem",
        "luc",
        "gio",
        "giam",
        "doc",
        "truong",
        "phong",
        "ke",
        "toan",
        "sep",
        "quan",
        "ly",
        "nv",
        "nhan",
        "vien",
        "khach",
        "kh",
        "hang",
        "nguoi",
        "nay",
        "ay",
        "bao",
        "gia",
        "hd",
        "hop",
        "dong",
        "don",
        "sdt",
        "dt",
        "so",
        "email",
        "mail",
        "zalo",
        "sms",
        "tin",
        "y",
        "muon",
        "dong",
        "y",
        "ok",
        "oke",
        "okie",
        "confirm",
        "xac",
        "nhan",
        "tu",
        "choi",
        "huy",
        "nghi",
        "ngai",
        "chiu",
        "duyet",
        "trinh",
        "uh",
        "uhm",
        "vang",
        "da_",
        "co_",
        "tam",
        "thoi",
        "nhieu",
        "it",
        "rat",
        "hoi",
        "cam",
        "on",
        "xin",
        "the",
        "an",
        "to",
        "and",
        "with",
        "for",
        "of",
        "on",
        "in",
        "at",
        "is",
        "was",
        "are",
        "be",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "it",
        "this",
        "that",
        "there",
        "here",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "me",
        "us",
        "him",
        "them",
        "from",
        "by",
        "about",
        "re",
        "meeting",
        "call",
        "called",
        "calls",
        "email",
        "emailed",
        "sent",
        "send",
        "follow",
        "up",
        "next",
        "tomorrow",
        "today",
        "yesterday",
        "week",
        "month",
        "lot",
        "few",
        "couple",
        "bit",
        "quick",
        "new",
        "good",
        "great",
        "big",
        "small",
        "quote",
        "proposal",
        "deal",
        "price",
        "discount",
        "contract",
        "demo",
        "ngoai",
        "trong",
        "tren",
        "duoi",
        "truoc",
        "sau",
        "giua",
        "cuoi",
        "dau",
        "them",
        "nua",
        "sau_",
        "so_",
        "cai",
        "chiec",
        "bo",
        "may",
        "con",
        "cac",
        "nhung",
        "moi",
        "tung",
        "chiet",
        "khau",
        "thuong",
        "luong",
        "dam",
        "phan",
    ]
)
_SURNAMES = frozenset(
    [
        "nguyen",
        "tran",
        "le",
        "pham",
        "hoang",
        "huynh",
        "phan",
        "vu",
        "vo",
        "dang",
        "bui",
        "do",
        "ho",
        "ngo",
        "duong",
        "ly",
        "truong",
        "dinh",
        "lam",
        "mai",
        "trinh",
        "dao",
        "cao",
        "ha",
        "luong",
        "luu",
        "ta",
        "tang",
        "chau",
        "quach",
        "thai",
        "ton",
        "ung",
        "vuong",
        "kieu",
        "la",
        "doan",
        "hua",
        "thach",
        "tieu",
    ]
)
_MID_NAMES = frozenset(
    ["van", "thi", "huu", "duc", "minh", "ngoc", "thanh", "quoc", "dinh", "xuan", "kim", "thu", "bao", "gia"]
)
_CAP_NOT_NAME = frozenset(
    [
        "cty",
        "ct",
        "congty",
        "tnhh",
        "cp",
        "t2",
        "t3",
        "t4",
        "t5",
        "t6",
        "t7",
        "cn",
        "zalo",
        "sms",
        "email",
        "mail",
        "gmail",
        "hd",
        "ok",
        "the",
        "a",
        "an",
        "i",
        "we",
        "he",
        "she",
        "they",
        "it",
        "this",
        "that",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "today",
        "tomorrow",
        "yesterday",
        "next",
        "last",
        "re",
        "about",
        "meeting",
        "called",
        "met",
        "sent",
        "quote",
        "proposal",
        "deal",
        "contract",
        "vnd",
        "usd",
        "eur",
        "inc",
        "ltd",
        "llc",
        "corp",
        "co",
        "jsc",
        "plc",
        "group",
        "whatsapp",
        "telegram",
        "viber",
        "skype",
        "teams",
        "zoom",
        "meet",
        "slack",
        "linkedin",
        "facebook",
        "fb",
        "google",
        "ceo",
        "cfo",
        "cto",
        "coo",
        "vp",
        "director",
        "manager",
        "head",
        "sales",
        "hr",
        "it",
        "pm",
        "follow",
        "please",
        "thanks",
        "note",
        "demo",
        "po",
        "rfq",
        "nda",
        "q1",
        "q2",
        "q3",
        "q4",
        "eod",
        "eom",
        "eow",
        "asap",
        "fyi",
        "tp",
        "gd",
        "gđ",
        "kt",
        "nv",
        "ms",
        "mr",
        "mrs",
        "dr",
        "miss",
        "via",
        "per",
        "at",
        "on",
        "in",
        "for",
        "to",
        "from",
        "with",
        "and",
        "or",
        "but",
        "so",
        "if",
        "as",
        "by",
        "of",
        "is",
        "was",
        "are",
        "be",
        "been",
        "will",
        "would",
        "could",
        "should",
        "must",
        "need",
        "needs",
        "wants",
        "said",
        "asked",
        "agreed",
        "call",
        "can",
        "sdt",
        "dt",
    ]
)
# Vietnamese words that fold onto names ("tuần"/Tuấn, "năm"/Năm): compared with their accents.
_VI_NOT_NAME = frozenset(
    [
        "công",
        "ty",
        "bên",
        "tại",
        "trường",
        "thứ",
        "chủ",
        "hôm",
        "ngày",
        "tuần",
        "tháng",
        "năm",
        "sáng",
        "chiều",
        "tối",
        "trưa",
        "đêm",
        "gọi",
        "gặp",
        "hẹn",
        "báo",
        "giá",
        "đã",
        "sẽ",
        "cần",
        "anh",
        "chị",
        "em",
        "cô",
        "chú",
        "ông",
        "bà",
        "và",
        "với",
        "cho",
        "của",
        "về",
        "nhé",
        "nha",
        "ạ",
        "khách",
        "hàng",
        "hợp",
        "đồng",
        "đơn",
        "chốt",
        "ký",
        "kí",
        "gửi",
        "nhắn",
        "họp",
        "tổng",
        "giám",
        "đốc",
        "trưởng",
        "phòng",
        "kế",
        "toán",
        "sếp",
    ]
)


_VI_STYLE_NOT_NAME = frozenset(
    {
        "cty",
        "tnhh",
        "sdt",
        "hd",
        "t2",
        "t3",
        "t4",
        "t5",
        "t6",
        "t7",
        "cn",
        "zalo",
        "sms",
        "email",
        "mail",
        "ok",
        "gd",
        "tp",
    }
)


def _not_name(word: Word, style: str = "en") -> bool:
    low = word.text.lower()
    if low in _VI_NOT_NAME:
        return True
    if style == "vi":
        return word.folded in _VI_STYLE_NOT_NAME
    return word.folded in _CAP_NOT_NAME and (low == word.folded or word.folded in {"cty", "tnhh", "gd", "tp"})


_HON_ALWAYS = frozenset({"anh", "em", "mr", "mrs", "ms", "miss", "dr", "sep", "ac"})
_HON_ACCENTED = {"chi": "chị", "co": "cô", "chu": "chú", "ba": "bà", "ong": "ông", "ban": "bạn"}
_HON_SHORT = frozenset({"a", "c", "e"})
_TITLE_WORDS = frozenset({"gd", "giam", "tp", "truong", "kt", "ke", "pho", "sep"})

_COMPANY_TRIGGERS_VI = (
    ("cong", "ty"),
    ("cty",),
    ("congty",),
    ("ct", "ty"),
    ("ben",),
    ("tai",),
    ("truong",),
    ("tap", "doan"),
)
_LEGAL_WORDS = frozenset({"tnhh", "cp", "mtv", "jsc", "co", "phan"})
_PLACE_NOT_COMPANY = frozenset(
    [
        "van",
        "phong",
        "vp",
        "nha",
        "quan",
        "cafe",
        "cf",
        "ca",
        "phe",
        "cong",
        "trinh",
        "hoi",
        "cho",
        "showroom",
        "kho",
        "nha",
        "hang",
        "su",
        "kien",
        "buoi",
        "nay",
        "do",
        "kia",
        "day",
        "minh",
        "chung",
        "toi",
        "khach",
        "ho",
        "anh",
        "chi",
        "em",
        "co",
        "the",
        "lop",
        "phong",
        "sanh",
        "hop",
        "tang",
    ]
)
_STOP_AFTER_NAME = frozenset(
    [
        "ve",
        "da",
        "se",
        "dang",
        "gui",
        "goi",
        "gap",
        "hen",
        "noi",
        "bao",
        "muon",
        "can",
        "khong",
        "ko",
        "k",
        "chua",
        "roi",
        "cung",
        "van",
        "lai",
        "bi",
        "duoc",
        "dc",
        "phai",
        "thay",
        "thi",
        "la",
        "va",
        "voi",
        "cho",
        "o",
        "tai",
        "ben",
        "cty",
        "cong",
        "moi",
        "vua",
        "xem",
        "hoi",
        "tra",
        "lam",
        "di",
        "den",
        "qua",
        "len",
        "xuong",
        "ra",
        "vao",
        "biet",
        "thich",
        "chot",
        "ky",
        "ki",
        "dat",
        "mua",
        "ban",
        "lay",
        "nhan",
        "check",
        "call",
        "hop",
        "mai",
        "hom",
        "thu",
        "tuan",
        "thang",
        "ngay",
        "sang",
        "chieu",
        "toi",
        "trua",
        "luc",
        "gio",
        "nhe",
        "nha",
        "oi",
        "a",
        "ay",
        "sdt",
        "dt",
        "so",
        "email",
        "mail",
        "zalo",
        "sms",
        "hd",
        "hop",
        "dong",
        "don",
        "yeu",
        "cau",
        "hoi",
        "dong",
        "y",
        "ok",
        "xac",
        "nhan",
        "tu",
        "choi",
        "huy",
        "nghi",
        "chiu",
        "duyet",
        "trinh",
        "can",
        "de",
        "nen",
        "vi",
        "neu",
        "khi",
        "con",
        "chi",
        "co",
        "ba",
        "ong",
        "chu",
        "em",
        "anh",
        "chiet",
        "khau",
        "about",
        "re",
        "regarding",
        "for",
        "to",
        "on",
        "at",
        "in",
        "from",
        "with",
        "and",
        "who",
        "that",
        "will",
        "wants",
        "needs",
        "said",
        "asked",
        "is",
        "was",
        "has",
        "had",
        "about",
        "tomorrow",
        "today",
        "next",
        "yesterday",
        "this",
        "the",
        "a",
        "an",
        "by",
        "via",
        "re:",
        "said",
        "agreed",
        "confirmed",
        "signed",
        "sent",
        "called",
        "emailed",
        "texted",
        "requested",
        "needs",
        "want",
        "wanted",
        "mentioned",
    ]
)


_NAME_SECOND = frozenset(
    [
        "anh",
        "ha",
        "trang",
        "huong",
        "chau",
        "ngoc",
        "yen",
        "ngan",
        "linh",
        "nam",
        "duc",
        "bao",
        "huy",
        "khang",
        "tung",
        "nhung",
        "thuy",
        "hang",
        "hanh",
        "phuong",
        "thao",
        "vy",
        "nhi",
        "my",
        "mai",
        "lan",
        "hoa",
        "tam",
        "hai",
        "son",
        "dung",
        "tuan",
        "hung",
        "minh",
        "quan",
        "khoa",
        "thu",
        "giang",
        "diep",
        "nga",
        "oanh",
        "tram",
        "uyen",
        "vi",
        "vu",
        "xuan",
        "hien",
        "hue",
        "loan",
        "quynh",
        "dao",
        "hoai",
        "an",
        "binh",
        "chi",
        "cuong",
        "dat",
        "hieu",
        "hoang",
        "khanh",
        "long",
        "luan",
        "nhan",
        "phong",
        "phuc",
        "quang",
        "tai",
        "thang",
        "thanh",
        "thinh",
        "toan",
        "trung",
        "tu",
        "viet",
    ]
)
_COMPANY_WORDS = frozenset(
    [
        "inc",
        "corp",
        "corporation",
        "ltd",
        "llc",
        "co",
        "company",
        "group",
        "jsc",
        "plc",
        "industries",
        "industry",
        "foods",
        "food",
        "seafood",
        "solutions",
        "systems",
        "tech",
        "technology",
        "technologies",
        "labs",
        "lab",
        "bank",
        "hotels",
        "hotel",
        "logistics",
        "media",
        "trading",
        "furniture",
        "pharma",
        "clinic",
        "hospital",
        "cafe",
        "coffee",
        "construction",
        "realty",
        "retail",
        "analytics",
        "organics",
        "freight",
        "dental",
        "legal",
        "capital",
        "beverages",
        "steel",
        "agri",
        "travel",
        "software",
        "motors",
        "consulting",
        "partners",
        "holdings",
        "enterprises",
        "international",
        "worldwide",
        "global",
        "vietnam",
        "studio",
        "studios",
        "gym",
        "bakery",
        "restaurant",
        "airlines",
        "insurance",
        "energy",
        "electronics",
        "telecom",
        "pharmacy",
        "school",
        "university",
        "academy",
        "center",
        "centre",
        "store",
        "shop",
        "mart",
        "market",
        "supermarket",
        "cosmetics",
        "textile",
        "garment",
        "plastics",
        "packaging",
        "printing",
        "chemicals",
        "paper",
        "dynamics",
        "cogs",
        "associates",
        "ventures",
        "networks",
        "services",
        "service",
        "digital",
        "marketing",
        "agency",
        "airways",
        "farm",
        "farms",
        "fashion",
        "apparel",
        "auto",
        "automotive",
        "electric",
        "water",
        "gas",
        "oil",
        "properties",
        "property",
        "land",
        "homes",
        "home",
        "kitchen",
        "spa",
        "salon",
        "hq",
        "office",
    ]
)
_TRAIL_DROP = frozenset({"hq", "office", "headquarters", "branch", "van", "phong", "vp"})
_PLACE_SET = frozenset(
    p.strip()
    for p in [
        "ha noi",
        " hanoi",
        " hn",
        " ho chi minh",
        " hcm",
        " hcmc",
        " tphcm",
        " tp hcm",
        " sai gon",
        " saigon",
        " sg",
        " da nang",
        " danang",
        " hai phong",
        "\n    can tho",
        " binh duong",
        " dong nai",
        " bien hoa",
        " thu duc",
        " vung tau",
        " ba ria",
        " long an",
        " bac ninh",
        " bac giang",
        " quang ninh",
        "\n    ha long",
        " hue",
        " nha trang",
        " khanh hoa",
        " da lat",
        " dalat",
        " lam dong",
        " nghe an",
        " vinh",
        " thanh hoa",
        " hai duong",
        " hung yen",
        "\n    vinh phuc",
        " thai nguyen",
        " nam dinh",
        " ninh binh",
        " quang nam",
        " hoi an",
        " quang ngai",
        " binh dinh",
        " quy nhon",
        " phu yen",
        " gia lai",
        "\n    buon ma thuot",
        " dak lak",
        " tay ninh",
        " binh phuoc",
        " tien giang",
        " ben tre",
        " vinh long",
        " an giang",
        " kien giang",
        " phu quoc",
        "\n    ca mau",
        " soc trang",
        " bac lieu",
        " dong thap",
        " tra vinh",
        " hau giang",
        " cau giay",
        " hoan kiem",
        " dong da",
        " ba dinh",
        " thanh xuan",
        "\n    long bien",
        " hai ba trung",
        " tay ho",
        " ha dong",
        " go vap",
        " tan binh",
        " binh thanh",
        " phu nhuan",
        " quan 1",
        " quan 3",
        " quan 7",
        " q1",
        " q3",
        "\n    q7",
        " thu thiem",
        " vietnam",
        " viet nam",
        " singapore",
        " bangkok",
        " tokyo",
        " seoul",
        " the office",
        " the expo",
    ]
)
_COMM_NOUNS = frozenset(
    {
        "sms",
        "text",
        "email",
        "mail",
        "message",
        "msg",
        "call",
        "note",
        "whatsapp",
        "zalo",
        "telegram",
        "viber",
        "reply",
        "feedback",
        "news",
        "word",
        "update",
        "voicemail",
        "dm",
        "letter",
    }
)
_EN_CUES = frozenset(
    [
        "called",
        "call",
        "calling",
        "met",
        "meet",
        "meeting",
        "spoke",
        "talked",
        "emailed",
        "email",
        "texted",
        "messaged",
        "pinged",
        "visited",
        "contacted",
        "rang",
        "phoned",
        "reached",
        "with",
        "w",
        "to",
        "by",
        "cc",
        "told",
        "asked",
        "thank",
        "thanks",
        "contact",
        "lunch",
        "dinner",
        "coffee",
        "sync",
        "chat",
        "chatted",
        "followed",
        "follow",
        "remind",
        "ping",
        "text",
        "message",
        "zoom",
        "demo",
    ]
)
_EN_CHANNEL_CUES = frozenset({"whatsapp", "sms", "telegram", "viber", "zalo", "wechat", "line", "skype", "slack"})
_STRONG_EN_CUES = frozenset(
    {"called", "met", "texted", "emailed", "messaged", "pinged", "phoned", "visited", "spoke", "talked", "contacted"}
)
_VI_CUES = frozenset(
    {"gap", "goi", "nhan", "hen", "hop", "voi", "cho", "call", "zalo", "email", "mail", "ib", "nt", "khach", "kh"}
)
_BREAK_CAP_VI = frozenset(
    {
        "thứ",
        "hôm",
        "ngày",
        "tuần",
        "tháng",
        "năm",
        "chị",
        "cô",
        "chú",
        "ông",
        "bà",
        "sáng",
        "chiều",
        "tối",
        "cn",
        "t2",
        "t3",
        "t4",
        "t5",
        "t6",
        "t7",
    }
)
_DATE_CAP = frozenset(
    {"thứ", "hôm", "ngày", "tuần", "tháng", "sáng", "chiều", "tối", "cn", "t2", "t3", "t4", "t5", "t6", "t7"}
)
_STRONG_TRIGGERS: tuple[tuple[str, ...], ...] = (
    ("cong", "ty"),
    ("cty",),
    ("congty",),
    ("tap", "doan"),
    ("ngan", "hang"),
    ("nha", "hang"),
    ("khach", "san"),
    ("cua", "hang"),
    ("dai", "ly"),
    ("nha", "may"),
    ("xuong",),
    ("truong",),
    ("shop",),
    ("chuoi",),
    ("sieu", "thi"),
    ("benh", "vien"),
    ("phong", "kham"),
)
_WEAK_TRIGGERS: tuple[tuple[str, ...], ...] = (("ben",), ("tai",), ("o",), ("from",), ("at",), ("@",))
_TRIGGER_ACCENTS = {
    "ben": {"bên", "ben"},
    "tai": {"tại", "tai"},
    "o": {"ở", "o"},
    "truong": {"trường", "truong"},
    "xuong": {"xưởng", "xuong"},
    "shop": {"shop"},
    "chuoi": {"chuỗi", "chuoi"},
}


def _is_honorific(words: list[Word], i: int, language: str) -> str | None:
    """Return "vi" or "en" when word i is an honorific before a name."""
    w = words[i]
    f = w.folded
    nxt = words[i + 1] if i + 1 < len(words) else None
    if nxt is not None and nxt.text == "." and f in {"mr", "mrs", "ms", "dr", "miss"}:
        nxt = words[i + 2] if i + 2 < len(words) else None
    if nxt is None or not nxt.is_alpha:
        return None
    if f in {"mr", "mrs", "ms", "miss", "dr"}:
        return "en"
    if w.is_cap and language == "en" and i > 0 and words[i - 1].is_alpha:
        return None  # "met Anh from Vietcombank": a name, not an honorific
    if f in {"anh", "em", "sep", "ac"}:
        if f == "anh" and w.is_cap and i > 0 and words[i - 1].is_cap and words[i - 1].is_alpha:
            return None  # "Lan Anh", "Việt Anh": part of a name
        return "vi" if nxt.is_cap or nxt.folded not in _NOT_NAME else None
    if f in _HON_ACCENTED:
        low = w.text.lower()
        if low == _HON_ACCENTED[f]:
            return "vi" if nxt.is_cap or nxt.folded not in _NOT_NAME else None
        return "vi" if low == f and nxt.is_cap and f not in {"co", "ban"} else None
    if f in _HON_SHORT and w.text.islower():
        if nxt.is_cap:
            return "vi" if language == "vi" or not _not_name(nxt) else None
        return "vi" if language == "vi" and nxt.folded not in _NOT_NAME else None
    return None


def _title(text: str) -> str:
    return " ".join(p[:1].upper() + p[1:] if p.islower() else p for p in text.split())


@dataclass(frozen=True, slots=True)
class Span:
    """A name found in the text."""

    text: str
    start: int
    end: int
    cue: str  # "honorific", "at", "verb", "weak", "trigger", "after"


_CUE_RANK = {"honorific": 0, "verb": 1, "at": 2, "weak": 3}


def _cap_run(words: list[Word], i: int, limit: int) -> int:
    """Return the end of the run of adjacent capitalised words starting at i."""
    j = i
    while j < len(words) and j - i < limit and words[j].is_alpha and words[j].is_cap:
        if j > i and words[j].start > words[j - 1].end + 1:
            break
        low = words[j].text.lower()
        if j > i and (low in _BREAK_CAP_VI or (_not_name(words[j]) and low not in {"anh", "em"})):
            break
        if j > i and words[j].text.isupper() and len(words[j].text) > 1:
            break
        j += 1
    return j


def _name_run(words: list[Word], i: int, style: str, all_lower: bool) -> tuple[int, int] | None:
    """Return [i, j) of the person name starting at word i."""
    if i >= len(words) or not words[i].is_alpha:
        return None
    first = words[i]
    if first.is_cap:
        blocked = (first.folded in _CAP_NOT_NAME) if style == "en" else _not_name(first, "vi")
        if blocked or first.text.lower() in _DATE_CAP:
            return None
        if style == "vi" and _surname_led(words, i):
            j = i + 1
            while j < len(words) and j - i < 4 and words[j].is_alpha and words[j].is_cap:
                j += 1
            return i, j
        j = _cap_run(words, i, 3 if style == "en" else 4)
        if style == "vi":
            if j - i == 2 and words[i + 1].folded in _NAME_SECOND:
                return i, j
            return i, i + 1
        if words[j - 1].folded in _COMPANY_WORDS:
            return None
        return i, j
    if first.folded in _NOT_NAME or first.folded in _STOP_AFTER_NAME or first.text.isdigit():
        return None
    if style == "en" and not all_lower:
        return None
    j = i + 1
    if first.folded in _SURNAMES and i + 1 < len(words) and words[i + 1].is_alpha:
        k = i + 1
        while k < len(words) and k - i < 4 and words[k].is_alpha and words[k].folded in _MID_NAMES:
            k += 1
        if k < len(words) and words[k].is_alpha and words[k].folded not in _STOP_AFTER_NAME and k > i + 1:
            j = k + 1
    elif style == "en" and i + 1 < len(words) and words[i + 1].is_alpha:
        nxt = words[i + 1].folded
        if nxt not in _STOP_AFTER_NAME and nxt not in _NOT_NAME and nxt not in _EN_CUES and len(nxt) > 1:
            j = i + 2
    return i, j


_STRONG_SURNAMES = frozenset(
    {
        "nguyễn",
        "trần",
        "lê",
        "phạm",
        "huỳnh",
        "hoàng",
        "phan",
        "vũ",
        "võ",
        "đặng",
        "bùi",
        "đỗ",
        "hồ",
        "ngô",
        "dương",
        "lý",
        "trịnh",
        "đinh",
        "nguyen",
        "tran",
        "pham",
        "huynh",
        "hoang",
        "dang",
        "bui",
        "duong",
        "trinh",
        "dinh",
    }
)


def _surname_led(words: list[Word], i: int) -> bool:
    """Tell whether a capitalised run at i is a full Vietnamese name ("Nguyễn Văn An", "Mai Thị Hoa")."""
    if i + 1 >= len(words) or not (words[i + 1].is_alpha and words[i + 1].is_cap):
        return False
    if words[i].text.lower() in _STRONG_SURNAMES:
        return True
    return (
        words[i].folded in _SURNAMES
        and words[i + 1].folded in _MID_NAMES
        and i + 2 < len(words)
        and words[i + 2].is_cap
    )


def _span(words: list[Word], a: int, b: int, cue: str) -> Span:
    text = " ".join(words[k].text for k in range(a, b))
    return Span(_title(text), words[a].start, words[b - 1].end, cue)


def find_contacts(words: list[Word], language: str) -> list[Span]:
    """Find person names: after honorifics ("a Minh", "chị Lan", "Mr. Smith"), before "at Acme", after verbs."""
    all_lower = not any(w.is_cap for w in words[1:] if w.is_alpha)
    out: list[Span] = []
    n = len(words)
    taken: set[int] = set()
    for i, w in enumerate(words):
        if not w.is_alpha or i in taken:
            continue
        start_i: int | None = None
        style = ""
        cue = ""
        if w.folded == "a" and i + 2 < n and words[i + 1].text == "/" and words[i + 2].folded == "c":
            start_i, style, cue = i + 3, "vi", "honorific"
        else:
            hon = _is_honorific(words, i, language)
            if hon is not None:
                start_i, style, cue = i + 1, hon, "honorific"
                if start_i < n and words[start_i].text == ".":
                    start_i += 1
                k = start_i
                while (
                    k < n
                    and not words[k].is_cap
                    and k - start_i < 3
                    and words[k].folded in _TITLE_WORDS | {"doc", "phong", "toan", "giam"}
                ):
                    k += 1
                if start_i < k < n and words[k].is_alpha:
                    start_i = k
            elif (
                w.folded in _EN_CUES
                or w.folded in _VI_CUES
                or w.folded in _EN_CHANNEL_CUES
                or w.text.lower().endswith(("'d", "’d"))
                or (w.folded == "from" and i > 0 and words[i - 1].folded in _COMM_NOUNS)
            ):
                k = i + 1
                while (
                    k < n
                    and k - i < 4
                    and (
                        words[k].folded
                        in {
                            "with",
                            "to",
                            "cho",
                            "voi",
                            "lai",
                            "dien",
                            "back",
                            "up",
                            "the",
                            "our",
                            "their",
                            "ceo",
                            "cfo",
                            "cto",
                            "owner",
                            "buyer",
                            "manager",
                            "director",
                            "/",
                        }
                    )
                ):
                    k += 1
                lower_ok = all_lower and language == "en" and w.folded in _STRONG_EN_CUES
                if k < n and words[k].is_alpha and (words[k].is_cap or lower_ok):
                    start_i, style, cue = k, "en" if language == "en" else "vi", "verb"
                    if words[k].is_cap and language == "vi" and w.folded in _EN_CUES and w.folded not in _VI_CUES:
                        style = "en"
        if start_i is None:
            continue
        run = _name_run(words, start_i, style, all_lower)
        if run is None:
            continue
        a, b = run
        if cue == "verb" and not words[a].is_cap and not all_lower:
            continue
        if cue == "verb" and words[a].text.isupper() and len(words[a].text) > 1:
            continue
        out.append(_span(words, a, b, cue))
        taken.update(range(a, b))
    out.extend(_at_pattern(words, taken, all_lower))
    if language == "en" and not all_lower:
        out.extend(_weak_caps(words, taken))
    out.sort(key=lambda s: (_CUE_RANK.get(s.cue, 9), s.start))
    return out


def _at_pattern(words: list[Word], taken: set[int], all_lower: bool) -> list[Span]:
    """ "Raj at Infosys", "Anna (Northwind)": a name right before a company cue."""
    out: list[Span] = []
    n = len(words)
    for i, w in enumerate(words):
        if not (w.is_alpha and w.is_cap) or i in taken or _not_name(w) or w.text.isupper() or w.folded in _EN_CUES:
            continue
        prev = words[i - 1] if i > 0 else None
        if prev and prev.is_alpha and prev.is_cap and prev.end + 1 >= w.start and prev.folded not in _EN_CUES:
            continue
        j = _cap_run(words, i, 3)
        if any(k in taken for k in range(i, j)):
            continue
        if words[j - 1].folded in _COMPANY_WORDS:
            continue
        nxt = words[j] if j < n else None
        if nxt is None:
            continue
        if nxt.folded in {"at", "from", "of", "@"} or (nxt.text == "(" and j + 1 < n and words[j + 1].is_cap):
            if i > 0 and words[i - 1].folded in {"at", "from", "of", "@", "cty", "ben", "tai"}:
                continue
            out.append(_span(words, i, j, "at"))
            taken.update(range(i, j))
    return out


def _weak_caps(words: list[Word], taken: set[int]) -> list[Span]:
    out: list[Span] = []
    for i, w in enumerate(words):
        if not (w.is_alpha and w.is_cap) or i in taken or _not_name(w) or w.text.isupper() or "'" in w.text:
            continue
        if any(ch.isupper() for ch in w.text[1:]):
            continue  # "ExFlex", "iPhone": product names, not people
        prev = words[i - 1] if i > 0 else None
        if prev is None or prev.text in {".", "!", "?", "\n"} or (prev.is_cap and prev.is_alpha):
            continue  # sentence starts and the middle of a longer capitalised run
        if prev.folded in _EN_CUES:
            continue
        if words[i - 1].folded in {"at", "from", "of", "@", "for", "the"}:
            continue
        j = _cap_run(words, i, 3)
        if words[j - 1].folded in _COMPANY_WORDS:
            continue
        out.append(_span(words, i, j, "weak"))
        taken.update(range(i, j))
    return out


def _index_triggers() -> dict[str, list[tuple[tuple[str, ...], bool]]]:
    index: dict[str, list[tuple[tuple[str, ...], bool]]] = {}
    for strong, triggers in ((True, _STRONG_TRIGGERS), (False, _WEAK_TRIGGERS)):
        for trig in triggers:
            index.setdefault(trig[0], []).append((trig, strong))
    return index


_TRIGGER_INDEX = _index_triggers()


def _trigger_at(words: list[Word], i: int) -> tuple[int, bool] | None:
    """Return (first word after the trigger, strong?) when a company cue starts at word i."""
    for trig, strong in _TRIGGER_INDEX.get(words[i].folded, ()):
        if len(trig) > 1 and tuple(x.folded for x in words[i : i + len(trig)]) != trig:
            continue
        allowed = _TRIGGER_ACCENTS.get(trig[0]) if len(trig) == 1 else None
        if allowed is not None and words[i].text.lower() not in allowed:
            continue
        if trig == ("from",) and i > 0 and words[i - 1].folded in _COMM_NOUNS:
            continue  # "sms from Mark": a person
        return i + len(trig), strong
    return None


def _company_run(words: list[Word], k: int, strong: bool, all_lower: bool, language: str = "vi") -> list[Word]:
    n = len(words)
    parts: list[Word] = []
    lower_mode = k < n and words[k].is_alpha and not words[k].is_cap and not words[k].text.isupper()
    if lower_mode and not (strong or all_lower):
        return []
    limit = 4 if lower_mode else 6
    if lower_mode and not strong and language == "en":
        limit = 2
    while k < n and len(parts) < limit:
        x = words[k]
        if parts and x.start > parts[-1].end + 1 and not (x.text in {"&"} or parts[-1].text in {"&", "-"}):
            break
        if x.text in {"&", "-"} and parts and k + 1 < n and words[k + 1].is_alpha and words[k + 1].is_cap:
            parts.append(x)
            k += 1
            continue
        if x.text == "." and parts and parts[-1].folded in {"co", "jsc", "ltd", "inc", "corp"}:
            k += 1
            continue
        if x.text.isdigit() and k + 1 < n and words[k + 1].start == x.end and words[k + 1].is_alpha:
            break  # "Unilever 9h": a time, not part of the name
        if not (x.is_alpha or x.text.isdigit()):
            break
        if x.is_cap and parts and x.text.lower() in _BREAK_CAP_VI:
            break
        if not x.is_cap and x.folded in _STOP_AFTER_NAME | _NOT_NAME and x.folded not in _COMPANY_WORDS:
            ok_so = x.folded == "so" and k + 1 < n and words[k + 1].text.isdigit()
            if not (x.folded in {"va", "and"} and k + 1 < n and words[k + 1].is_cap) and not ok_so:
                break
        if lower_mode and x.folded in _EN_CUES:
            break
        parts.append(x)
        k += 1
    if not lower_mode:
        while parts and not (parts[-1].is_cap or parts[-1].text.isdigit() or parts[-1].folded in _COMPANY_WORDS):
            parts.pop()
    return parts


def _clean_company(parts: list[Word]) -> list[Word]:
    while parts and parts[0].folded in {"tnhh", "cp", "mtv", "jsc"}:
        parts = parts[1:]
    if len(parts) >= 2 and parts[0].folded == "co" and parts[1].folded == "phan":
        parts = parts[2:]
    while parts and parts[0].folded in {"tnhh", "cp", "mtv"}:
        parts = parts[1:]
    while len(parts) > 1 and parts[-1].folded in _TRAIL_DROP | {"&", "-", "va", "and"}:
        parts = parts[:-1]
    return parts


def _is_place(text: str) -> bool:
    key = fold(text)
    return key in _PLACE_SET or key.replace(".", "") in _PLACE_SET


def find_companies(words: list[Word], language: str) -> list[Span]:
    """Find company names after cues ("công ty", "cty", "bên", "tại", "trường", "from", "at")."""
    all_lower = not any(w.is_cap for w in words[1:] if w.is_alpha)
    out: list[Span] = []
    n = len(words)
    i = 0
    while i < n:
        got = _trigger_at(words, i)
        if got is None:
            i += 1
            continue
        k, strong = got
        if (
            not strong
            and k < n
            and (not words[k].is_alpha or (not words[k].is_cap and words[k].folded in _PLACE_NOT_COMPANY))
        ):
            i = k
            continue
        parts = _clean_company(_company_run(words, k, strong, all_lower, language))
        if not parts or (len(parts) == 1 and (_not_name(parts[0]) or parts[0].text.lower() in _BREAK_CAP_VI)):
            i = k
            continue
        text = _join(parts)
        if not strong and _is_place(text):
            i = k
            continue
        out.append(Span(_title(text) if text.islower() else text, parts[0].start, parts[-1].end, "trigger"))
        i = k + len(parts)
    return out


_LOWER_VERBS = frozenset(
    [
        "xin",
        "lich",
        "hoi",
        "bao",
        "noi",
        "ban",
        "trao",
        "doi",
        "tu",
        "van",
        "gui",
        "goi",
        "nhan",
        "hen",
        "gap",
        "hop",
        "lam",
        "xem",
        "chot",
        "ky",
        "dat",
        "mua",
        "lay",
        "can",
        "muon",
        "thich",
        "nghe",
        "may",
        "bat",
        "tra",
        "loi",
        "phan",
        "hoi",
        "dong",
        "y",
        "tu",
        "choi",
        "nhac",
        "di",
        "den",
        "ve",
        "qua",
        "o",
        "tai",
        "nay",
        "ay",
        "do",
        "kia",
        "roi",
        "nua",
        "luon",
        "ngay",
    ]
)
_CLEAR_BOUNDARY = frozenset(
    {
        "ko",
        "k",
        "khong",
        "kh",
        "ok",
        "da",
        "se",
        "hen",
        "mai",
        "chot",
        "bao",
        "gui",
        "goi",
        "nhan",
        "can",
        "muon",
        "dang",
        "vua",
        "noi",
        "hoi",
        "xin",
        "huy",
        "tu",
        "dong",
        "lay",
        "dat",
    }
)


_RUN_LEAD_DROP = frozenset(
    {
        "lost",
        "won",
        "signed",
        "closed",
        "visited",
        "called",
        "met",
        "emailed",
        "texted",
        "new",
        "deal",
        "just",
        "quick",
        "call",
        "meeting",
        "lunch",
        "dinner",
        "demo",
    }
)


def company_word_runs(words: list[Word]) -> list[Span]:
    """Find capitalised runs ending in a company word ("Blue Ocean Seafood", "Prestige Worldwide")."""
    out: list[Span] = []
    n = len(words)
    i = 0
    while i < n:
        w = words[i]
        if not (w.is_alpha and (w.is_cap or w.text.isupper())):
            i += 1
            continue
        j = i
        while (
            j < n
            and j - i < 5
            and words[j].is_alpha
            and (words[j].is_cap or words[j].text.isupper() or words[j].text == "&")
        ):
            if j > i and words[j].start > words[j - 1].end + 1:
                break
            j += 1
        parts = words[i:j]
        while parts and (parts[0].folded in _RUN_LEAD_DROP or _not_name(parts[0])):
            parts = parts[1:]
        if len(parts) >= 2 and parts[-1].folded in _COMPANY_WORDS and parts[-1].folded not in {"hq", "office"}:
            out.append(Span(_join(parts), parts[0].start, parts[-1].end, "trigger"))
        i = max(j, i + 1)
    return out


def company_after(words: list[Word], contact: Span, all_lower: bool, casual: bool = False) -> Span | None:
    """Read "a Minh Hòa Phát", "c Lan (ABC)", "c hang vietjet": a company written right after the person."""
    idx = next((k for k, w in enumerate(words) if w.start >= contact.end), None)
    if idx is None:
        return None
    k = idx
    if words[k].text == "(":
        k += 1
        while (
            k < len(words)
            and not words[k].is_cap
            and words[k].folded in _TITLE_WORDS | {"toan", "doc", "phong", "giam"}
        ):
            k += 1
    elif words[k].start > contact.end + 1:
        return None
    if k >= len(words) or not words[k].is_alpha:
        return None
    first = words[k]
    if first.is_cap or first.text.isupper():
        parts = _company_run(words, k, True, all_lower)
    elif all_lower or casual:
        parts = []
        while k < len(words) and len(parts) < 3 and words[k].is_alpha:
            f = words[k].folded
            if f in _STOP_AFTER_NAME or f in _NOT_NAME or f in _EN_CUES or f in _VI_CUES or f in _LOWER_VERBS:
                break
            parts.append(words[k])
            k += 1
        if parts and k < len(words) and words[k].is_alpha and words[k].folded not in _CLEAR_BOUNDARY:
            return None  # not followed by a clear boundary: likely the rest of a sentence
    else:
        return None
    parts = _clean_company(parts)
    if not parts or (len(parts) == 1 and parts[0].text.lower() in _BREAK_CAP_VI):
        return None
    text = _join(parts)
    if _is_place(text):
        return None
    return Span(_title(text) if text.islower() else text, parts[0].start, parts[-1].end, "after")


def _join(parts: list[Word]) -> str:
    text = parts[0].text
    for prev, cur in itertools.pairwise(parts):
        text += (" " if cur.start > prev.end else "") + cur.text
    return text


# ---------------------------------------------------------------- known names


@lru_cache(maxsize=64)
def _known_index(names: tuple[str, ...]) -> tuple[re.Pattern[str] | None, dict[str, list[str]]]:
    by_fold: dict[str, list[str]] = {}
    for name in names:
        key = fold(name).strip()
        for variant in _company_variants(key):
            by_fold.setdefault(variant, [])
            if name not in by_fold[variant]:
                by_fold[variant].append(name)
    keys = sorted((k for k in by_fold if k), key=len, reverse=True)
    if not keys:
        return None, by_fold
    pattern = re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(k) for k in keys) + r")(?![a-z0-9])")
    return pattern, by_fold


def _company_variants(key: str) -> list[str]:
    out = [key]
    core = re.sub(r"^(?:cong ty|cty)\s+(?:(?:tnhh|co phan|cp|mtv)\s+)*", "", key)
    core = re.sub(r"\s+(?:jsc|co\.?,? ?ltd\.?|ltd\.?|llc|inc\.?|corp\.?)$", "", core)
    if core and core != key:
        out.append(core)
    return out


def match_known(folded: str, names: Sequence[str]) -> list[tuple[str, int, int]]:
    """Find known names (accent- and case-insensitive) in folded text: (existing spelling, start, end)."""
    if not names:
        return []
    pattern, by_fold = _known_index(tuple(names))
    if pattern is None:
        return []
    out: list[tuple[str, int, int]] = []
    for m in pattern.finditer(folded):
        for name in by_fold.get(m.group(), []):
            out.append((name, m.start(), m.end()))
    return out


def given_name(full: str) -> str:
    """Return the name a person is called by: the last word of a Vietnamese name, else the first."""
    parts = full.split()
    if len(parts) >= 2 and fold(parts[0]) in _SURNAMES:
        return parts[-1]
    return parts[0] if parts else full
