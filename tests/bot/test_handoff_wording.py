"""What a customer is told when a person must take their question (issue 11): one line per reason, in their language."""

from __future__ import annotations

import pytest

from bot.texts import Texts
from bot.texts.answers import phrase_answer
from crm_core.retrieval.models import Answer

NEW_REASONS = ["own_order", "dispute", "named_person"]


@pytest.mark.parametrize("reason", NEW_REASONS)
@pytest.mark.parametrize("language", ["vi", "en"])
def test_each_new_reason_has_its_own_line_and_staff_label(reason: str, language: str) -> None:
    t = Texts(language)
    answer = Answer(confidence=0.9, handoff=True, reason=reason, language=language)
    assert phrase_answer(answer, t) == t(f"support.handoff_line.{reason}")
    assert t(f"staff.reason_{reason}")  # a missing key raises


@pytest.mark.parametrize("reason", NEW_REASONS)
def test_the_vietnamese_line_addresses_the_customer_politely(reason: str) -> None:
    line = Texts("vi")(f"support.handoff_line.{reason}")
    assert "anh/chị" in line
    assert line != Texts("en")(f"support.handoff_line.{reason}")
