"""The bot phrases the knowledge base's structured answers; `kb ask` shows the customer's words."""

from __future__ import annotations

from typing import Any

import pytest

from bot.commands import kb_ask_one
from bot.texts import Texts
from bot.texts.answers import phrase_answer
from crm_core.retrieval.models import Answer, Source

DELIVERY = Source(doc="delivery.md", section="Phí giao hàng", title="Giao hàng › Phí giao hàng", score=0.8)


def _answer(**fields: Any) -> Answer:
    base: dict[str, Any] = {"body": "Phí giao hàng là 30.000 đồng.", "body_language": "vi", "sources": [DELIVERY],
                            "confidence": 0.8, "handoff": False, "language": "vi"}
    return Answer(**{**base, **fields})


def test_an_extracted_answer_is_an_opening_then_the_knowledge_then_its_source() -> None:
    t = Texts("vi")
    assert phrase_answer(_answer(), t) == t("support.answer_opening") + "\nPhí giao hàng là 30.000 đồng.\n\n" + t(
        "support.source", title="Giao hàng › Phí giao hàng")


def test_a_vietnamese_answer_opens_as_a_shop_speaks_to_anh_chi() -> None:
    opening = Texts("vi")("support.answer_opening")
    assert opening.startswith("Dạ")
    assert "anh/chị" in opening


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_opening_is_in_the_customers_language_whatever_the_documents(language: str) -> None:
    t = Texts(language)
    for body_language in ("vi", "en"):
        phrased = phrase_answer(_answer(language=language, body_language=body_language), t)
        assert phrased.splitlines()[0] == t("support.answer_opening")
    assert Texts("en")("support.answer_opening") != Texts("vi")("support.answer_opening")


def test_an_llm_answer_gets_no_opening_its_prompt_words_it_for_the_customer() -> None:
    t = Texts("vi")
    phrased = phrase_answer(_answer(body="Dạ, phí giao hàng là 30.000 đồng [1].", prompt="faq_answer@1"), t)
    assert t("support.answer_opening") not in phrased


def test_a_source_in_another_language_than_the_reply_says_so() -> None:
    t = Texts("en")
    phrased = phrase_answer(_answer(language="en"), t)
    assert phrased.endswith(t("support.source_other_language", title="Giao hàng › Phí giao hàng"))


def test_an_llm_answer_that_names_its_section_gets_no_second_source_line() -> None:
    body = "Phí giao hàng là 30.000 đồng (Giao hàng › Phí giao hàng)."
    assert phrase_answer(_answer(body=body, prompt="faq_answer@1"), Texts("vi")) == body


def test_an_llm_answer_citing_by_number_gets_the_source_line() -> None:
    t = Texts("vi")
    phrased = phrase_answer(_answer(body="Phí giao hàng là 30.000 đồng [1].", prompt="faq_answer@1"), t)
    assert phrased.endswith(t("support.source", title="Giao hàng › Phí giao hàng"))


def test_a_faq_rows_source_is_named_without_the_file_name() -> None:
    t = Texts("vi")
    faq = Source(doc="faq.csv", section="Showroom ở đâu?", title="Faq › Showroom ở đâu?", score=0.8)
    phrased = phrase_answer(_answer(sources=[faq]), t)
    assert phrased.endswith(t("support.source", title="Showroom ở đâu?"))
    assert "Faq" not in phrased


def test_a_documents_own_title_stays_in_the_source_line() -> None:
    t = Texts("vi")
    assert phrase_answer(_answer(), t).endswith(t("support.source", title="Giao hàng › Phí giao hàng"))


def test_a_body_cut_short_points_to_its_source_for_more() -> None:
    t = Texts("vi")
    phrased = phrase_answer(_answer(body="Phí giao hàng là 30.000 đồng.", truncated=True), t)
    assert phrased.endswith("Phí giao hàng là 30.000 đồng.\n\n" + t("support.source_more",
                                                                        title="Giao hàng › Phí giao hàng"))


def test_the_body_keeps_its_lines() -> None:
    body = "- Nội thành: 150.000 ₫\n- Ngoại thành: 300.000 ₫"
    t = Texts("vi")
    assert phrase_answer(_answer(body=body), t).startswith(t("support.answer_opening") + "\n" + body + "\n\n")


@pytest.mark.parametrize("reason", ["low_confidence", "out_of_scope", "asked_for_human", "complaint"])
@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_hand_off_says_a_person_takes_over_for_its_reason(reason: str, language: str) -> None:
    t = Texts(language)
    answer = _answer(body=None, handoff=True, reason=reason, language=language)
    assert phrase_answer(answer, t) == t(f"support.handoff_line.{reason}")


def test_an_unsafe_request_is_declined_in_the_bots_own_words() -> None:
    t = Texts("en")
    answer = _answer(body=None, handoff=True, reason="unsafe", language="en")
    assert phrase_answer(answer, t) == t("support.unsafe")


class _FixedKnowledge:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def ask(self, question: str) -> Answer:
        return self.answer


def test_kb_ask_prints_the_phrased_answer_under_the_contract_keys() -> None:
    answer = _answer(language="en")
    doc = kb_ask_one(_FixedKnowledge(answer), "How much is delivery?")
    assert set(doc) == {"answer", "sources", "confidence", "handoff", "reason"}
    assert doc["answer"] == phrase_answer(answer, Texts("en"))
    assert doc["sources"] == [DELIVERY.model_dump()]


def test_kb_asks_answer_is_what_the_customer_reads_opening_and_source_line_included() -> None:
    answer = _answer()
    t = Texts("vi")
    said = kb_ask_one(_FixedKnowledge(answer), "phí giao hàng bao nhiêu")["answer"]
    assert said.startswith(t("support.answer_opening") + "\n")
    assert said.endswith(t("support.source", title="Giao hàng › Phí giao hàng"))
