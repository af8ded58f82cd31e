"""People, companies, phones and e-mails."""

from __future__ import annotations

from datetime import datetime

import pytest

from crm_core.understanding import KnownContact, KnownNames, parse_log


@pytest.mark.parametrize(
    ("text", "contact"),
    [
        ("gọi anh Minh", "Minh"),
        ("gap c Lan", "Lan"),
        ("nhắn em Vy", "Vy"),
        ("gặp chú Tư", "Tư"),
        ("gặp bà Loan", "Loan"),
        ("gọi a/c Hùng", "Hùng"),
        ("Met Mr. Tanaka", "Tanaka"),
        ("Called Dr. Patel", "Patel"),
        ("Lunch with Mrs. Lopez", "Lopez"),
    ],
)
def test_honorific_is_stripped_from_the_contact(now: datetime, text: str, contact: str) -> None:
    assert parse_log(text, now=now).contact == contact


def test_vietnamese_full_name_is_kept_whole(now: datetime) -> None:
    assert parse_log("gặp anh Nguyễn Văn An tại công ty Minh Long", now=now).contact == "Nguyễn Văn An"


def test_english_full_name_is_kept_whole(now: datetime) -> None:
    assert parse_log("Called John Smith at Acme Corp", now=now).contact == "John Smith"


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("gặp c Lan cty Thành Công", "Thành Công"),
        ("gọi a Minh bên Hòa Phát", "Hòa Phát"),
        ("gặp anh An tại công ty TNHH Minh Long", "Minh Long"),
        ("gặp bà Loan trường Tiểu học Lê Lợi", "Tiểu học Lê Lợi"),
        ("Acme Corp (spoke to Dave) - quote sent", "Acme Corp"),
    ],
)
def test_company_words_are_stripped(now: datetime, text: str, company: str) -> None:
    assert parse_log(text, now=now).company == company


def test_company_matches_a_known_one_without_accents_and_returns_its_spelling(now: datetime) -> None:
    parsed = parse_log("gap a minh ben hoa phat", now=now, known=KnownNames(companies=("Hòa Phát",)))
    assert parsed.company == "Hòa Phát"
    assert parsed.company_is_known


def test_company_comes_from_the_known_contact_when_only_the_person_is_named(now: datetime) -> None:
    known = KnownNames(companies=("Hòa Phát",), contacts=(KnownContact("Minh", "Hòa Phát"),))
    assert parse_log("gọi a Minh, mai gửi báo giá", now=now, known=known).company == "Hòa Phát"


def test_two_known_contacts_with_the_same_name_are_both_candidates(now: datetime) -> None:
    known = KnownNames(contacts=(KnownContact("Nguyễn Văn Minh", "FPT"), KnownContact("Trần Minh", "Viettel")))
    parsed = parse_log("gọi a Minh", now=now, known=known)
    assert parsed.contact == "Minh"
    assert set(parsed.contact_candidates) == {"Nguyễn Văn Minh", "Trần Minh"}


def test_the_candidate_at_the_named_company_comes_first(now: datetime) -> None:
    known = KnownNames(contacts=(KnownContact("Nguyễn Văn Minh", "FPT"), KnownContact("Trần Minh", "Viettel")))
    parsed = parse_log("gọi a Minh bên Viettel", now=now, known=known)
    assert parsed.contact_candidates[0] == "Trần Minh"


def test_place_after_tai_is_not_a_company(now: datetime) -> None:
    assert parse_log("Gặp anh Tâm tại Bình Dương", now=now).company is None


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("sđt 0912 345 678", "+84912345678"),
        ("0987.654.321", "+84987654321"),
        ("+84 903 555 777", "+84903555777"),
        ("84912345678", "+84912345678"),
    ],
)
def test_vietnamese_phone_is_normalised(now: datetime, text: str, phone: str) -> None:
    assert parse_log(text, now=now).phone == phone


def test_email_is_found(now: datetime) -> None:
    assert parse_log("email hung.nguyen@abcgroup.vn", now=now).email == "hung.nguyen@abcgroup.vn"


def test_a_contact_recorded_by_the_given_name_alone_is_one_of_the_people_so_called(now: datetime) -> None:
    known = KnownNames(contacts=(KnownContact("Lê Văn Tùng", "Kho vận Sóng Thần"), KnownContact("Tùng", "Vinamilk")))
    parsed = parse_log("gọi a Tùng, mai gửi báo giá", now=now, known=known)
    assert parsed.contact == "Tùng"
    assert set(parsed.contact_candidates) == {"Lê Văn Tùng", "Tùng"}


@pytest.mark.parametrize(
    ("text", "contact", "company"),
    [
        ("Gọi chị Ngọc Ánh (Phạm Ngọc Ánh) sđt 0938765432", "Phạm Ngọc Ánh", None),
        ("gọi c Ánh (Phạm Ngọc Ánh) hỏi ghế", "Phạm Ngọc Ánh", None),
        ("Gọi chị Ngọc Ánh (Phạm Ngọc Ánh) bên Hòa Phát, hỏi 6 ghế", "Phạm Ngọc Ánh", "Hòa Phát"),
    ],
)
def test_a_full_name_in_parentheses_after_the_contact_is_her_name_not_a_company(
        now: datetime, text: str, contact: str, company: str | None) -> None:
    parsed = parse_log(text, now=now)

    assert (parsed.contact, parsed.company) == (contact, company)


@pytest.mark.parametrize(
    ("text", "contact", "company"),
    [
        ("Gặp anh Minh (Hòa Phát) hỏi 10 bàn", "Minh", "Hòa Phát"),
        ("Gặp anh Long (Hoàng Long) hỏi 10 bàn", "Long", "Hoàng Long"),  # two words: may well be a company
        ("Gặp anh Minh (Trần Văn Hùng) hỏi 10 bàn", "Minh", "Trần Văn Hùng"),  # not his name
    ],
)
def test_a_company_in_parentheses_after_the_contact_stays_the_company(
        now: datetime, text: str, contact: str, company: str) -> None:
    parsed = parse_log(text, now=now)

    assert (parsed.contact, parsed.company) == (contact, company)
