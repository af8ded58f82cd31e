"""Ingest screening (issue 11, attacker review): whatever is indexed is quoted to any customer who asks, so a
document holding other people's personal data (a customer list) is refused unless the admin allows it, and a
document giving a bank account the business did not declare (a slipped-in payment instruction) is always refused,
with the line and what to do; the other files of the same ingest go in. Real files, real Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_core.assets import DEMO_KNOWLEDGE_DIR
from crm_core.config import Settings
from crm_core.retrieval import KnowledgeBase
from crm_core.retrieval.loaders import markdown_units
from crm_core.retrieval.screening import OwnContacts, declared_by, declared_for, screen_document
from tests.core.retrieval.conftest import NOW

CUSTOMERS_MD = """# Danh sách khách hàng thân thiết

| Họ tên | SĐT | Email | Công nợ |
|---|---|---|---|
| Nguyễn Văn Bình | 0912 345 678 | binh.nguyen@gmail.com | 12.000.000 ₫ |
| Trần Thị Hoa | 0987.654.321 | hoa.tran@yahoo.com | 0 ₫ |
"""

FOREIGN_ACCOUNT_MD = """# Thanh toán

## Tài khoản nhận chuyển khoản

Quý khách vui lòng chuyển khoản vào STK 0123456789 ngân hàng X chủ TK Nguyễn Văn A.
"""

DECLARED_ACCOUNT_MD = """# Thanh toán

## Số tài khoản của shop

Chuyển khoản vào tài khoản công ty: Ngân hàng Vietcombank — STK 0441 000 886 688, chủ tài khoản CÔNG TY AN PHÁT.
"""

RETURNS_MD = "# Đổi trả\n\n## Thời hạn đổi trả\n\nĐổi trong 7 ngày nếu lỗi do nhà sản xuất, kèm hóa đơn.\n"

SHOP = OwnContacts.declared(accounts=["0441 000 886 688"], contacts=["1900 636 768", "anphat.example"])


def _folder(root: Path, **files: str) -> Path:
    """A folder of files named by the keywords: thanh_toan_md -> thanh-toan.md."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        stem, suffix = name.rsplit("_", 1)
        (root / f"{stem.replace('_', '-')}.{suffix}").write_text(text, encoding="utf-8")
    return root


def _whats(text: str, own: OwnContacts = SHOP) -> list[tuple[str, str]]:
    return [(f.kind, f.what) for f in screen_document(markdown_units(text, "doc.md"), own)]


# --- personal data ------------------------------------------------------------------------------------------


def test_a_customer_list_is_refused_with_its_line_and_the_other_files_go_in(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    folder = _folder(tmp_path / "kb", customers_md=CUSTOMERS_MD, returns_md=RETURNS_MD)

    report = kb.ingest([folder], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("customers.md", "personal_data")]
    assert "line 5" in report.errors[0].message
    assert "--allow-personal-data" in report.errors[0].message
    assert report.errors[0].detail is not None
    assert "Nguyễn Văn Bình" in report.errors[0].detail
    assert report.added == ["returns.md"]
    assert report.personal_data == []


def test_a_refused_customer_list_is_never_given_to_a_customer(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    kb.ingest([_folder(tmp_path / "kb", customers_md=CUSTOMERS_MD, returns_md=RETURNS_MD)], now=NOW)

    answer = kb.ask("số điện thoại và công nợ của khách Nguyễn Văn Bình")

    assert "customers.md" not in {s.doc for s in answer.sources}
    assert "0912" not in (answer.body or "")
    assert [d.doc for d in kb.list_docs()] == ["returns.md"]


def test_with_the_admins_flag_a_customer_list_is_indexed_and_the_report_says_so(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    folder = _folder(tmp_path / "kb", customers_md=CUSTOMERS_MD, returns_md=RETURNS_MD)

    report = kb.ingest([folder], now=NOW, allow_personal_data=True)

    assert report.errors == []
    assert sorted(report.added) == ["customers.md", "returns.md"]
    assert report.personal_data == ["customers.md"]


# --- payment details ----------------------------------------------------------------------------------------


def test_a_foreign_bank_account_is_refused_naming_the_line_and_how_to_declare_one(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    folder = _folder(tmp_path / "kb", payment_md=FOREIGN_ACCOUNT_MD, returns_md=RETURNS_MD)

    report = kb.ingest([folder], now=NOW)

    [failure] = report.errors
    assert (failure.doc, failure.code) == ("payment.md", "undeclared_account")
    assert "0123456789" in failure.message
    assert "line 5" in failure.message
    assert "CHATCRM_PAYMENT_ACCOUNTS" in failure.message
    assert failure.detail is not None
    assert "STK 0123456789" in failure.detail
    assert report.added == ["returns.md"]
    assert "0123456789" not in (kb.ask("cho em xin số tài khoản để chuyển khoản").body or "")


def test_allowing_personal_data_does_not_let_a_foreign_account_in(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)

    report = kb.ingest([_folder(tmp_path / "kb", payment_md=FOREIGN_ACCOUNT_MD)], now=NOW, allow_personal_data=True)

    assert [(e.doc, e.code) for e in report.errors] == [("payment.md", "undeclared_account")]
    assert kb.list_docs() == []


def test_a_document_with_the_declared_account_goes_in_and_customers_are_given_it(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    folder = _folder(tmp_path / "kb", payment_md=DECLARED_ACCOUNT_MD, returns_md=RETURNS_MD)

    report = kb.ingest([folder], now=NOW)

    assert report.errors == []
    assert sorted(report.added) == ["payment.md", "returns.md"]
    answer = kb.ask("cho em xin số tài khoản của shop")
    assert not answer.handoff
    assert "0441 000 886 688" in (answer.body or "")


def test_the_same_account_is_refused_where_the_business_declared_none(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home")

    report = kb.ingest([_folder(tmp_path / "kb", payment_md=DECLARED_ACCOUNT_MD)], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("payment.md", "undeclared_account")]


def test_a_refused_new_version_leaves_the_previous_one_answering(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    folder = _folder(tmp_path / "kb", payment_md=DECLARED_ACCOUNT_MD)
    kb.ingest([folder], now=NOW)
    (folder / "payment.md").write_text(FOREIGN_ACCOUNT_MD, encoding="utf-8")

    report = kb.ingest([folder], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("payment.md", "undeclared_account")]
    body = kb.ask("cho em xin số tài khoản của shop").body or ""
    assert "0441 000 886 688" in body
    assert "0123456789" not in body


def test_a_version_indexed_before_the_screen_caught_it_stops_answering_when_the_file_is_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path / "kb", payment_md=FOREIGN_ACCOUNT_MD, returns_md=RETURNS_MD)
    lenient = OwnContacts.declared(accounts=["0123456789"], contacts=[])  # as if no rule had caught it then
    KnowledgeBase(home=tmp_path / "home", own_contacts=lenient).ingest([folder], now=NOW)
    monkeypatch.setattr("crm_core.retrieval.kb.INDEX_VERSION", "screened-again")  # an upgrade reads every file

    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    report = kb.ingest([folder], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("payment.md", "undeclared_account")]
    assert report.removed == ["payment.md"]
    assert [d.doc for d in kb.list_docs()] == ["returns.md"]
    assert "0123456789" not in (kb.ask("cho em xin số tài khoản để chuyển khoản").body or "")


# --- a new document: its other sections go in ------------------------------------------------------------------

PAYMENT_WITH_FOREIGN_ACCOUNT_MD = """# Thanh toán

## Phương thức thanh toán

Cửa hàng nhận tiền mặt, thẻ Visa/Mastercard và ví MoMo cho mọi đơn hàng.

## Tài khoản nhận chuyển khoản

Quý khách vui lòng chuyển khoản vào STK 0123456789 ngân hàng X chủ TK Nguyễn Văn A.

## Trả góp

Trả góp 0% qua thẻ tín dụng cho đơn từ 3.000.000 ₫.
"""


def test_a_new_document_goes_in_without_the_section_that_gives_an_undeclared_account(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)

    report = kb.ingest([_folder(tmp_path / "kb", payment_md=PAYMENT_WITH_FOREIGN_ACCOUNT_MD)], now=NOW)

    [failure] = report.errors
    assert (failure.doc, failure.code) == ("payment.md", "undeclared_account")
    assert failure.held_sections == ["Tài khoản nhận chuyển khoản"]
    assert report.added == ["payment.md"]
    assert [(d.doc, d.sections) for d in kb.list_docs()] == [("payment.md", 2)]
    methods = kb.ask("shop có nhận thanh toán bằng ví momo không")
    assert (methods.sources[0].doc, methods.sources[0].section) == ("payment.md", "Phương thức thanh toán")
    assert "0123456789" not in (kb.ask("cho em xin số tài khoản để chuyển khoản").body or "")


def test_a_document_with_sections_held_back_is_reported_again_at_every_ingest(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    folder = _folder(tmp_path / "kb", payment_md=PAYMENT_WITH_FOREIGN_ACCOUNT_MD)
    kb.ingest([folder], now=NOW)

    again = kb.ingest([folder], now=NOW)

    assert again.unchanged == []
    assert [(e.code, e.held_sections) for e in again.errors] == [("undeclared_account",
                                                                  ["Tài khoản nhận chuyển khoản"])]
    assert [(d.doc, d.sections) for d in kb.list_docs()] == [("payment.md", 2)]


def test_once_the_account_is_declared_the_held_back_section_goes_in(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "kb", payment_md=PAYMENT_WITH_FOREIGN_ACCOUNT_MD)
    KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP).ingest([folder], now=NOW)
    declared = OwnContacts.declared(accounts=["0123456789"], contacts=[])

    report = KnowledgeBase(home=tmp_path / "home", own_contacts=declared).ingest([folder], now=NOW)

    assert report.errors == []
    assert report.updated == ["payment.md"]
    assert [(d.doc, d.sections) for d in KnowledgeBase(home=tmp_path / "home").list_docs()] == [("payment.md", 3)]


def test_an_edit_of_a_document_served_whole_is_refused_whole_and_the_served_version_stays(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    folder = _folder(tmp_path / "kb", payment_md=PAYMENT_WITH_FOREIGN_ACCOUNT_MD.replace(
        "STK 0123456789 ngân hàng X chủ TK Nguyễn Văn A", "STK 0441 000 886 688 của công ty"))
    kb.ingest([folder], now=NOW)
    (folder / "payment.md").write_text(PAYMENT_WITH_FOREIGN_ACCOUNT_MD, encoding="utf-8")

    report = kb.ingest([folder], now=NOW)

    assert [(e.code, e.held_sections) for e in report.errors] == [("undeclared_account", [])]
    assert report.updated == []
    body = kb.ask("cho em xin số tài khoản của shop").body or ""
    assert "0441 000 886 688" in body
    assert "0123456789" not in body


def test_a_customer_list_beside_a_named_phone_line_keeps_the_whole_document_out(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    gifts = ("# Tri ân\n\n## Người phụ trách\n\nChị Lan kế toán: 0934 567 890\n\n## Trúng quà tháng 5\n\n"
             "- 0912 345 671\n- 0987 654 322\n- 0903 111 223\n- 0978 222 334\n")

    report = kb.ingest([_folder(tmp_path / "kb", qua_md=gifts)], now=NOW)

    assert [(e.code, e.held_sections) for e in report.errors] == [("personal_data", [])]
    assert kb.list_docs() == []


@pytest.mark.parametrize("title", ["Nội Thất An Phát - chuyển khoản STK 0441000886699 Vietcombank",
                                   "Chuyển khoản STK 19033355577799 Techcombank"])
def test_an_account_in_the_documents_title_keeps_the_whole_document_out(tmp_path: Path, title: str) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)
    text = f"# {title}\n\n## Bảo hành ghế\n\nGhế bảo hành 3 năm.\n\n## Phí giao hàng\n\nMiễn phí nội thành.\n"

    report = kb.ingest([_folder(tmp_path / "kb", gioi_thieu_md=text)], now=NOW)

    assert [e.code for e in report.errors] == ["undeclared_account"]
    assert kb.list_docs() == []


def test_the_cli_says_which_sections_were_held_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    folder = _folder(tmp_path / "kb", payment_md=PAYMENT_WITH_FOREIGN_ACCOUNT_MD)
    monkeypatch.setenv("CHATCRM_HOME", str(tmp_path / "home"))

    result = CliRunner().invoke(app, ["kb", "ingest", str(folder)])

    assert result.exit_code == 1  # something was not indexed: the admin has a line to fix or an account to declare
    assert "added      payment.md" in result.output
    assert "HELD BACK  payment.md: section(s) «Tài khoản nhận chuyển khoản»" in result.output
    assert "[undeclared_account]" in result.output


def test_the_cli_names_the_held_back_sections_once_with_each_reason(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    review = "\n## Khách nói gì\n\nGreat chairs, thanks! Contact me at lan.pham.92@yahoo.com\n"
    folder = _folder(tmp_path / "kb", payment_md=PAYMENT_WITH_FOREIGN_ACCOUNT_MD + review)
    monkeypatch.setenv("CHATCRM_HOME", str(tmp_path / "home"))

    result = CliRunner().invoke(app, ["kb", "ingest", str(folder)])

    assert result.output.count("HELD BACK  payment.md") == 1
    assert "[personal_data]" in result.output
    assert "[undeclared_account]" in result.output


# --- the demo business and the settings ---------------------------------------------------------------------


def test_the_demo_knowledge_is_checked_against_the_demo_business_accounts(tmp_path: Path) -> None:
    demo = declared_for(DEMO_KNOWLEDGE_DIR / "policies", OwnContacts())
    elsewhere = KnowledgeBase(home=tmp_path / "home")
    copy = _folder(tmp_path / "copy", thanh_toan_md=(DEMO_KNOWLEDGE_DIR / "policies" / "thanh-toan.md").read_text(
        encoding="utf-8"))

    report = elsewhere.ingest([copy], now=NOW)

    assert {"0441000886688", "19036868889901"} <= demo.accounts
    assert declared_for(tmp_path, OwnContacts()).accounts == frozenset()
    assert [(e.doc, e.code) for e in report.errors] == [("thanh-toan.md", "undeclared_account")]


def test_the_demo_still_gives_its_bank_accounts(demo_kb: KnowledgeBase) -> None:
    answer = demo_kb.ask("cho em xin số tài khoản")

    assert not answer.handoff
    assert "0441 000 886 688" in (answer.body or "")


def test_the_business_declares_its_accounts_and_contacts_in_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATCRM_PAYMENT_ACCOUNTS", "0441 000 886 688, 1903-6868-8899-01")
    monkeypatch.setenv("CHATCRM_BUSINESS_CONTACTS", "0909 123 468; sales@shop.vn, anphat.vn")

    own = declared_by(Settings())

    assert own.accounts == {"0441000886688", "19036868889901"}
    assert own.owns_phone("+84 909 123 468")
    assert own.owns_email("sales@shop.vn")
    assert own.owns_email("lan@anphat.vn")
    assert not own.owns_email("lan@gmail.com")


# --- what counts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("# Khách\n\n| Họ tên | SĐT |\n|---|---|\n| Bình | 0912 345 678 |\n", ("personal_data", "phone")),
    ("# Khách\n\n- Anh Tuấn: 0903 111 222\n", ("personal_data", "phone")),
    ("# Khách\n\n- Chị Lan — lan.pham@gmail.com\n", ("personal_data", "email")),
    ("# Đại lý\n\n- Phạm Minh Khang\n  SĐT: 0912 345 678\n", ("personal_data", "phone")),
    ("# Hồ sơ\n\nCCCD số 079203001234 cấp ngày 01/01/2020.\n", ("personal_data", "national_id")),
    ("# Công nợ\n\nAnh Nguyễn Văn Bình còn nợ 12.000.000 ₫.\n", ("personal_data", "debt")),
    ("# Danh bạ\n\n0912 345 678\n0987 654 321\n0903 111 222\n", ("personal_data", "contact_list")),
    ("# Contacts\n\n- Mr. John Smith, +1 415 555 0100\n", ("personal_data", "phone")),
    ("# Thanh toán\n\nSố tài khoản của shop là 9704 1234 5678 (Vietcombank).\n", ("undeclared_account", "account")),
    ("# Payment\n\nPlease transfer to account number 123456789012 at HSBC.\n", ("undeclared_account", "account")),
    ("# Thanh toán\n\nChuyển khoản vào 19036868889901 rồi báo shop.\n", ("undeclared_account", "account")),
])
def test_what_is_personal_data_or_an_undeclared_account(text: str, expected: tuple[str, str]) -> None:
    assert _whats(text)[:1] == [expected]


@pytest.mark.parametrize("text", [
    "# Liên hệ\n\nHotline 1900 636 768, email sales@anphat.example, kinhdoanh@gmail.com.\n",
    "# Showroom\n\n45 Võ Văn Ngân, Phường Thủ Đức, TP. Hồ Chí Minh. ĐT: 028 3722 1357, Zalo 0909 123 469.\n",
    "# Thanh toán\n\nVietcombank, chi nhánh Tân Bình — STK 0441 000 886 688.\n",
    "# Trả góp\n\nNgân hàng Vietcombank hỗ trợ trả góp đơn từ 30.000.000 ₫; hotline ngân hàng 1900 545 413.\n",
    "# Công nợ\n\nDoanh nghiệp được xét công nợ 30 ngày, hạn mức đến 300.000.000 ₫.\n",
    "# Chuyển khoản\n\nNội dung chuyển khoản: mã đơn + số điện thoại (ví dụ: AP-2026-01234 0909123468).\n",
    "# Hoàn tiền\n\nHoàn tiền vào tài khoản của người mua trong 5-7 ngày làm việc.\n",
])
def test_the_business_own_contacts_and_ordinary_text_are_not_flagged(text: str) -> None:
    assert _whats(text) == []


def test_a_declared_staff_line_beside_a_name_is_the_business_own() -> None:
    text = "# Dự án\n\nLiên hệ chị Lan 0909 111 222 để được tư vấn.\n"

    assert _whats(text) == [("personal_data", "phone")]
    assert _whats(text, SHOP | OwnContacts.declared(contacts=["0909 111 222"])) == []


# --- the attacker review's bypasses: each was reported "added" and served by kb ask ---------------------------

BYPASSES = {
    # 1. zero-width spaces between the digit groups: screened as a reader sees the line
    "zero_width": "# Thanh toán\n\nQuý khách gửi tiền về 1903\u200b6512\u200b3456\u200b78 tại Techcombank.\n",
    # 2. a transfer verb with a preposition no list had
    "ck_den": "# Thanh toán\n\nCK đến 19036512345678 rồi nhắn shop.\n",
    # 3. the cue on one line, the digits on the next
    "next_line": "# Thanh toán\n\n- Số tài khoản:\n- 1903 6512 3456 78\n",
    # 4. the number in words, the bank and the holder named
    "in_words": "# Thanh toán\n\nQuý khách chuyển khoản vào số một chín không ba, sáu năm một hai, ba bốn năm sáu "
                "bảy tám tại Techcombank, chủ TK Nguyễn Văn A.\n",
}


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_a_bypassing_account_is_refused_and_never_given_to_a_customer(tmp_path: Path, name: str) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)

    report = kb.ingest([_folder(tmp_path / "kb", payment_md=BYPASSES[name], returns_md=RETURNS_MD)], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("payment.md", "undeclared_account")]
    assert "bank account 19036512345678 at line" in report.errors[0].message
    assert report.added == ["returns.md"]
    assert "payment.md" not in {s.doc for s in kb.ask("cho em xin số tài khoản để chuyển khoản").sources}


PERSONAL = {
    # 5. an English name with a personal e-mail and a mobile
    "english_name": "# Reviews\n\nJohn Smith (john.smith@gmail.com, +84 903 123 457) loved our AP-C300 chair.\n",
    # 5. a one-word name beside a mobile and an opinion
    "one_word_name": "# Đánh giá\n\nNgọc, 0912 345 680, ở Thủ Đức: ghế rất êm.\n",
}


@pytest.mark.parametrize("name", sorted(PERSONAL))
def test_a_review_naming_its_writer_with_a_mobile_or_e_mail_is_refused(tmp_path: Path, name: str) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)

    report = kb.ingest([_folder(tmp_path / "kb", reviews_md=PERSONAL[name], returns_md=RETURNS_MD)], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("reviews.md", "personal_data")]
    assert "line 3" in report.errors[0].message
    assert report.added == ["returns.md"]


@pytest.mark.parametrize("text", [
    # invisible or look-alike characters inside the digits: word joiner, soft hyphen, bidi marks, BOM, fullwidth
    "# Thanh toán\n\nSTK 1903\u20606512\u00ad3456\u200e78 Techcombank.\n",
    "# Thanh toán\n\nChuyển khoản vào 1903\ufeff6512\u200c3456\u200d78.\n",
    "# Thanh toán\n\nSố tài khoản: １９０３６５１２３４５６７８.\n",
    "# Thanh toán\n\nSố tài khoản: \u202e87654321563091\u202c.\n",
])
def test_an_account_is_screened_as_a_reader_sees_it(text: str) -> None:
    assert _whats(text)[:1] == [("undeclared_account", "account")]


@pytest.mark.parametrize("text", [
    "# Thanh toán\n\nCK tới số 19036512345678.\n",
    "# Thanh toán\n\nChuyển khoản về 1903 6512 3456 78 nhé.\n",
    "# Thanh toán\n\nThanh toán qua số 19036512345678 (Techcombank).\n",
    "# Thanh toán\n\nNộp tiền tại 19036512345678.\n",
    "# Thanh toán\n\nChuyển khoản ngay 1903 6512 3456 78 để giữ hàng.\n",
    "# Payment\n\nPlease pay via 123456789012 before delivery.\n",
    "# Payment\n\nDeposit the balance at 19036512345678.\n",
])
def test_a_transfer_verb_then_a_long_number_is_an_account_whatever_the_preposition(text: str) -> None:
    assert _whats(text)[:1] == [("undeclared_account", "account")]


@pytest.mark.parametrize("text", [
    "# Thanh toán\n\n## Số tài khoản\n\n1903 6512 3456 78\n",
    "# Thanh toán\n\nNgân hàng: Techcombank\n\n19036512345678\n",
    "# Thanh toán\n\nChuyển khoản cho shop qua:\n\n- Techcombank\n- 1903 6512 3456 78\n",
    "# Thanh toán\n\n| Số tài khoản | 1903 6512 3456 78 |\n|---|---|\n",
    "# Thanh toán\n\n| Số tài khoản | Chủ tài khoản |\n|---|---|\n| 19036512345678 | Nguyễn Văn A |\n",
])
def test_an_account_whose_digits_are_on_the_next_line_or_cell_is_refused(text: str) -> None:
    assert ("undeclared_account", "account") in _whats(text)


@pytest.mark.parametrize("text", [
    "# Thanh toán\n\nChuyển khoản qua Techcombank, chủ tài khoản: NGUYEN VAN A (số tài khoản nhắn shop để lấy).\n",
    "# Payment\n\nPay by bank transfer to HSBC, account name: John Smith.\n",
])
def test_a_named_holder_beside_a_bank_with_no_declared_account_is_refused(text: str) -> None:
    assert _whats(text) == [("undeclared_account", "account")]


@pytest.mark.parametrize("text", [
    "# Reviews\n\nGreat chairs, thanks! Contact me at lan.pham.92@yahoo.com\n",
    "# Khách\n\nHoa — 0987 654 321 — đặt 20 ghế AP-C300.\n",
    "# Khách\n\nĐơn của 0903 111 222 (Tuấn) đã giao.\n",
])
def test_a_personal_e_mail_or_a_mobile_beside_a_name_like_word_is_personal_data(text: str) -> None:
    assert [kind for kind, _ in _whats(text)][:1] == ["personal_data"]


@pytest.mark.parametrize("text", [
    "# Thanh toán\n\n- Chủ tài khoản: CONG TY TNHH NOI THAT AN PHAT\n- Vietcombank — STK 0441 000 886 688\n",
    "# Hoàn tiền\n\nHoàn tiền qua ngân hàng vào tài khoản đứng tên chủ tài khoản là người mua.\n",
    "# Thanh toán\n\nThanh toán hóa đơn số 0012345678 trước ngày 15.10.2026 qua chuyển khoản.\n",
    "# Thanh toán\n\nThanh toán khi nhận hàng, gọi 0909 123 468 để hẹn giờ.\n",
    "# Thanh toán\n\nChuyển khoản 20000000 đ trước khi giao.\n",
    "# Công ty\n\nVietcombank Tân Bình, MST 0312345678.\n",
    "# Liên hệ\n\nHotline: 0909 123 468 (Zalo), Phòng Kinh doanh: 028 3811 2468, cskh@gmail.com.\n",
    "# Liên hệ\n\nĐăng nhập bằng e-mail dạng ten@example.com hoặc your.name@company.com.\n",
    "# Bảo hành\n\nBảo hành ba năm, đổi mới trong bảy ngày đầu.\n",
    "# Doanh nghiệp\n\nKhách doanh nghiệp gửi yêu cầu báo giá về b2b@minhkhang.vn hoặc baogia@minhkhang.vn.\n",
    "# Đặt hàng\n\nĐặt sửa máy qua dathang@khoamobile.vn hoặc hotrokhachhang@khoamobile.vn.\n",
])
def test_the_business_own_details_and_ordinary_text_still_pass(text: str) -> None:
    assert _whats(text) == []


def test_the_demo_knowledge_has_nothing_to_screen() -> None:
    from crm_core.retrieval.loaders import load_file

    own = declared_for(DEMO_KNOWLEDGE_DIR, OwnContacts())
    files = [f for f in sorted(DEMO_KNOWLEDGE_DIR.rglob("*")) if f.suffix in (".md", ".csv") and f.name != "README.md"]

    findings = {f.name: screen_document(load_file(f, f.name), own) for f in files}

    assert len(files) >= 15
    assert {name: found for name, found in findings.items() if found} == {}


# --- the command line ---------------------------------------------------------------------------------------


def test_the_cli_refuses_a_customer_list_unless_asked_and_says_so(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    folder = _folder(tmp_path / "kb", customers_md=CUSTOMERS_MD, returns_md=RETURNS_MD)
    monkeypatch.setenv("CHATCRM_HOME", str(tmp_path / "home"))

    refused = CliRunner().invoke(app, ["kb", "ingest", str(folder)])
    allowed = CliRunner().invoke(app, ["kb", "ingest", "--allow-personal-data", str(folder)])

    assert refused.exit_code == 1
    assert "FAILED     customers.md" in refused.output
    assert "[personal_data]" in refused.output
    assert "added      returns.md" in refused.output
    assert allowed.exit_code == 0
    assert "added      customers.md" in allowed.output
    assert "personal   customers.md" in allowed.output


def test_the_cli_takes_the_declared_account_from_the_settings(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    folder = _folder(tmp_path / "kb", payment_md=FOREIGN_ACCOUNT_MD)
    monkeypatch.setenv("CHATCRM_HOME", str(tmp_path / "home"))

    refused = CliRunner().invoke(app, ["kb", "ingest", str(folder)])
    monkeypatch.setenv("CHATCRM_PAYMENT_ACCOUNTS", "0123 456 789")
    declared = CliRunner().invoke(app, ["kb", "ingest", str(folder)])

    assert refused.exit_code == 1
    assert "[undeclared_account]" in refused.output
    assert declared.exit_code == 0
    assert "added      payment.md" in declared.output


# --- the second attacker review's bypasses: each was reported "added" and served by kb ask -------------------

LOWERCASE_CONTACTS_MD = "# Khách quen\n\n- chị hằng quận 7: 0912 345 671\n- anh tư bình thạnh 0987.654.321\n"


def test_lower_case_names_after_an_honorific_beside_mobiles_are_refused_and_never_given(tmp_path: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)

    report = kb.ingest([_folder(tmp_path / "kb", khach_md=LOWERCASE_CONTACTS_MD, returns_md=RETURNS_MD)], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("khach.md", "personal_data")]
    assert "line 3" in report.errors[0].message
    assert report.added == ["returns.md"]
    body = kb.ask("số điện thoại chị hằng quận 7").body or ""
    assert "0912" not in body
    assert "0987" not in body


@pytest.mark.parametrize("text", [
    "# Khách\n\n- chị hằng quận 7: 0912 345 671\n",
    "# Khách\n\n- anh tư bình thạnh 0987.654.321\n",
    "# Khách\n\nĐơn giao cho c. hằng 0912 345 671.\n",
    "# Khách\n\n0987 654 321 (bác tư)\n",
    "# Contacts\n\nmr smith +1 415 555 0100\n",
])
def test_an_honorific_and_a_name_in_any_case_beside_a_mobile_is_personal_data(text: str) -> None:
    assert _whats(text)[:1] == [("personal_data", "phone")]


@pytest.mark.parametrize("text", [
    "# Liên hệ\n\nAnh chị vui lòng gọi 0909 111 222 để được tư vấn.\n",
    "# Liên hệ\n\nCần tư vấn, gọi chị tư vấn 0909 111 222.\n",
    "# Giao hàng\n\nAnh giao hàng sẽ gọi trước 30 phút từ số 0909 111 222.\n",
    "# Liên hệ\n\nEm nhắn Zalo 0909 111 222 nhé.\n",
])
def test_an_honorific_before_a_role_or_no_name_beside_a_mobile_is_not_personal_data(text: str) -> None:
    assert _whats(text) == []


def test_a_declared_staff_mobile_after_a_lower_case_name_is_the_business_own() -> None:
    text = "# Dự án\n\nDự án lớn: chị hằng 0909 111 222.\n"

    assert _whats(text) == [("personal_data", "phone")]
    assert _whats(text, SHOP | OwnContacts.declared(contacts=["0909 111 222"])) == []


@pytest.mark.parametrize(("text", "account"), [
    # a VietQR image address carries the bank and the account
    ("# Thanh toán\n\nQuét mã hoặc mở liên kết https://img.vietqr.io/image/VCB-0441000886699-compact.png "
     "để thanh toán.\n", "0441000886699"),
    # the letter O written for zero
    ("# Thanh toán\n\nSTK O441 OOO 886 699 Vietcombank\n", "0441000886699"),
    # the groups of digits on lines of their own
    ("# Thanh toán\n\nChuyển khoản ngân hàng ACB.\nSố: 1234\n5678\n9012\n", "123456789012"),
], ids=["qr_url", "letter_o", "split_lines"])
def test_an_account_in_a_link_with_look_alike_letters_or_split_over_lines_is_refused_and_never_given(
        tmp_path: Path, text: str, account: str) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", own_contacts=SHOP)

    report = kb.ingest([_folder(tmp_path / "kb", payment_md=text, returns_md=RETURNS_MD)], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("payment.md", "undeclared_account")]
    assert f"bank account {account} at" in report.errors[0].message
    assert report.added == ["returns.md"]
    assert "payment.md" not in {s.doc for s in kb.ask("cho em xin số tài khoản để chuyển khoản").sources}


@pytest.mark.parametrize(("text", "account"), [
    ("# Thanh toán\n\nMã QR: qr.sepay.vn/img?acc=19036512345678&bank=TCB&amount=500000\n", "19036512345678"),
    ("# Thanh toán\n\nhttps://img.vietqr.io/image/970436-0441000886699-print.jpg?amount=150000000\n", "0441000886699"),
    ("# Payment\n\nPay here: https://pay.example.net/vcb/0441000886699\n", "0441000886699"),
    ("# Thanh toán\n\nSố tài khoản: l9O3 65l2 3456 78 (Techcombank).\n", "19036512345678"),
    ("# Thanh toán\n\nNgân hàng Techcombank, số tài khoản 1903 / 6512 / 3456 / 78.\n", "19036512345678"),
    ("# Thanh toán\n\nTechcombank\nSTK:\n1903\n6512\n3456\n78\n", "19036512345678"),
])
def test_an_account_in_a_link_in_look_alike_letters_or_in_slashed_groups_is_an_account(text: str,
                                                                                        account: str) -> None:
    needles = [f.needle for f in screen_document(markdown_units(text, "doc.md"), SHOP)]

    assert account in needles


@pytest.mark.parametrize("text", [
    "# Thanh toán\n\nQuét mã https://img.vietqr.io/image/VCB-0441000886688-compact.png?amount=150000000 để trả.\n",
    "# Thanh toán\n\nVietcombank — STK O441 OOO 886 688.\n",
    "# Thanh toán\n\nVietcombank, STK 0441 000 886 688 lo việc hoàn tiền.\n",
    "# Thanh toán\n\nNgân hàng Vietcombank.\nSố: 0441\n000\n886\n688\n",
    "# Sản phẩm\n\nXem ảnh tại https://anphat.example/san-pham/ghe-ap-c300-20260115.jpg\n",
    "# Liên hệ\n\nHotline 1900 636 768 / 028 3811 2468, Vietcombank hỗ trợ trả góp.\n",
])
def test_the_declared_account_written_these_ways_and_ordinary_links_still_pass(text: str) -> None:
    assert _whats(text) == []
