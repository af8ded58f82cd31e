"""Links in what staff type (issue 15 review, item 3): which sentences ask for a page to be taken into the
knowledge (with and without accents, Vietnamese and English), and a link's words never name a contact, a company,
a date or an amount of a log."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crm_core.knowledge_admin.links import asks_to_add_link
from crm_core.understanding.model import KnownContact, KnownNames
from crm_core.understanding.parser import parse_log

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", [
    "e thêm giúp c trang này vào kho nhé https://docs.google.com/document/d/abc/edit",
    "e them giup c trang nay vao kho nhe https://docs.google.com/document/d/abc/edit",
    "đọc giúp em trang này nhé www.anphat.vn/faq",
    "bổ sung link này vào kiến thức cho bot https://anphat.vn/chinh-sach",
    "please add https://anphat.vn/faq to the knowledge base",
    "Could you read this page? https://anphat.vn/faq",
    "add https://anphat.vn/faq pls",
])
def test_a_link_asked_to_be_added_read_or_learned_is_a_knowledge_request(text: str) -> None:
    assert asks_to_add_link(text)


@pytest.mark.parametrize("text", [
    "gửi chị Lan báo giá https://drive.google.com/file/d/x",
    "send them https://x.com/quote please",
    "đã thêm chị Lan vào nhóm zalo https://zalo.me/g/abc",
    "thêm giúp anh Minh vào nhóm https://zalo.me/g/abc nhé",
    "gặp anh Minh, khách đọc tài liệu https://anphat.vn/catalog rồi",
    "please add this to the knowledge base",  # no link: an ordinary text
])
def test_a_log_or_another_request_with_a_link_is_not(text: str) -> None:
    assert not asks_to_add_link(text)


KNOWN = KnownNames(companies=["An Phát", "Document", "Hòa Phát"],
                   contacts=[KnownContact("Trần Văn Edit"), KnownContact("Nguyễn Thị Faq", "An Phát")])


@pytest.mark.parametrize("text", [
    "please add https://anphat.vn/faq to the knowledge base",
    "xem https://www.anphat.vn/An-Phat/lien-he",
    "tham khảo https://docs.google.com/Document/d/abc/Edit",
    "tham khảo hoaphat.com.vn/2026/05/20/bang-gia-5tr",
])
def test_words_inside_a_link_name_no_contact_company_date_or_amount(text: str) -> None:
    parsed = parse_log(text, now=NOW, known=KNOWN)

    assert (parsed.contact, parsed.company, parsed.amount, parsed.dates) == (None, None, None, [])


def test_a_log_keeps_what_it_names_outside_its_link() -> None:
    parsed = parse_log("gặp anh Minh bên An Phát, gửi tài liệu anphat.vn/2026/05/03/bao-gia 5tr", now=NOW,
                       known=KNOWN)

    assert (parsed.contact, parsed.company, parsed.amount) == ("Minh", "An Phát", Decimal(5_000_000))
