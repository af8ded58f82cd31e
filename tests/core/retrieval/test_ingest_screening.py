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
