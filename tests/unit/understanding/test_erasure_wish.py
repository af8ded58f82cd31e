"""A customer asking in her own words to have her data erased is shown /privacy; saying not to, or asking about
other data, is not such a wish."""

from __future__ import annotations

import pytest

from crm_core.understanding.customer_intent import asks_erasure


@pytest.mark.parametrize("text", ["minh muon xoa du lieu", "xoa du lieu cua minh di",
                                  "shop xóa hết thông tin của em đi", "xóa dữ liệu cá nhân của tôi",
                                  "please delete my data"])
def test_her_own_words_asking_erasure(text: str) -> None:
    assert asks_erasure(text)


@pytest.mark.parametrize("text", ["đừng xóa dữ liệu của em nhé", "em không muốn xóa dữ liệu",
                                  "máy tính bị xóa dữ liệu có bảo hành không", "shop có tuân thủ GDPR không?",
                                  "làm sao xóa tài khoản ngân hàng đã lưu", "lam sao xoa thong tin tren may tinh bang?",
                                  "xoa thong tin don hang cu giup e nha", "I do not want you to delete my data"])
def test_not_a_wish_to_be_erased(text: str) -> None:
    assert not asks_erasure(text)
