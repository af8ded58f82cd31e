"""Which company a log means (review of issue 10, new user 6): the one stored name holding every telling word
typed is known without a question ("Kaizen" -> "Kaizen Precision Vietnam"); two such names are asked about."""

from __future__ import annotations

from crm_core.understanding.matching import judge_company

COMPANIES = {1: "Kaizen Precision Vietnam", 2: "Giao nhận Hải Âu", 3: "Hòa Phát Nội thất", 4: "FPT Software",
             5: "Lotus Bay Software", 6: "Bảo hiểm Bảo An"}


def test_a_short_form_of_the_only_candidate_is_known_without_a_question() -> None:
    for typed, cid in (("Kaizen", 1), ("Hai Au", 2), ("Hải Âu", 2), ("Bảo An", 6)):
        verdict = judge_company(typed, COMPANIES)
        assert (verdict.known, verdict.asks) == (cid, False), typed


def test_two_names_holding_the_words_typed_are_asked_about() -> None:
    verdict = judge_company("Hòa Phát", {**COMPANIES, 7: "Hòa Phát Steel"})
    assert verdict.known is None
    assert verdict.asks
    assert set(verdict.options) == {3, 7}


def test_a_generic_word_alone_matches_no_company() -> None:
    verdict = judge_company("Minh Long Software", COMPANIES)
    assert verdict.known is None
    assert verdict.preselect is None
