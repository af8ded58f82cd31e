"""An answer that tells a customer about her personal data gets /privacy beneath it (the chat can do it)."""

from __future__ import annotations

import pytest

from crm_core.understanding.customer_intent import speaks_of_data_rights


@pytest.mark.parametrize("answer", [
    "Theo Nghị định 13/2023/NĐ-CP, khách hàng có quyền được biết, đồng ý, truy cập, chỉnh sửa, xóa dữ liệu",
    "Chúng tôi chỉ dùng dữ liệu cá nhân để liên hệ tư vấn.",
    "You may ask us to delete your data at any time.",
    "Our privacy policy explains what we keep.",
])
def test_an_answer_about_personal_data_speaks_of_data_rights(answer: str) -> None:
    assert speaks_of_data_rights(answer)


@pytest.mark.parametrize("answer", [
    "Bàn AP-D140 có 3 màu: đen, trắng, vân gỗ.",
    "Hoàn tiền bằng chuyển khoản trong 5-7 ngày làm việc.",
    "We deliver to Hanoi in 3-5 days.",
    "Tấm chắn privacy cho bàn AP-D140 giá 450.000 ₫.",
    "",
])
def test_other_answers_do_not(answer: str) -> None:
    assert not speaks_of_data_rights(answer)
