"""Signals that tell the section that answers from one that mentions: the kind of value asked, product codes, and the
question's pull towards sections in its own language."""

from __future__ import annotations

import numpy as np
import pytest

from crm_core.retrieval.cache import DenseVectors
from crm_core.retrieval.kb import _Corpus, _language_means, _language_offsets
from crm_core.retrieval.loaders import Unit
from crm_core.retrieval.normalize import AccentRestorer, prepare_query
from crm_core.retrieval.signals import QuestionSignals, asked_kinds, asked_types, codes, states_type


def _signals(question: str) -> QuestionSignals:
    return QuestionSignals.of(prepare_query(question, AccentRestorer()))


def _unit(section: str, text: str) -> Unit:
    return Unit(doc="products.md", section=section, title=f"Sản phẩm › {section}", text=text)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("ghế chịu tải bao nhiêu kg", "weight"),
        ("ghe chiu tai bao nhieu kg", "weight"),
        ("công ty thành lập năm nào", "year"),
        ("ship ra Đà Nẵng mất bao lâu", "duration"),
        ("how long does delivery take?", "duration"),
        ("bàn này kích thước bao nhiêu", "size"),
        ("mua nhiều được chiết khấu mấy phần trăm", "percent"),
        ("cửa hàng mở cửa mấy giờ", "time_of_day"),
        ("cho xin số điện thoại", "phone"),
    ],
)
def test_a_question_asking_for_a_kind_of_value_is_read_as_such(question: str, kind: str) -> None:
    assert kind in asked_types(question)


def test_a_question_asking_no_value_asks_no_kind() -> None:
    assert asked_types("bàn có màu trắng không") == frozenset()


def test_a_text_states_a_kind_of_value_by_its_unit() -> None:
    assert states_type("weight", "Tải trọng tối đa: 150 kg")
    assert states_type("year", "Thành lập năm 2012 tại TP.HCM")
    assert states_type("duration", "Nội thành 1-2 ngày, tỉnh khác 3-5 ngày làm việc")
    assert not states_type("weight", "Khung thép sơn tĩnh điện")


def test_the_section_stating_the_asked_kind_of_value_scores_it() -> None:
    signals = _signals("ghế AP-C300 chịu tải bao nhiêu kg")
    assert signals.score(_unit("Ghế AP-C300", "Tải trọng: 150 kg. Giá: 4.250.000 ₫"))["x:type"] == 1.0
    assert signals.score(_unit("Ghế AP-C300 có ngả được không?", "Có, ngả 135 độ."))["x:type"] == 0.0


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("bàn AP-HD160 có ồn không", {"hd160"}),
        ("ghe c300", {"c300"}),
        ("bàn báo lỗi E01", {"e01"}),
        ("máy lọc RO-500 giá bao nhiêu", {"ro-500"}),
        ("mua 50 bộ, bàn 2m, tải 50kg, giao 10h", set()),
    ],
)
def test_product_codes_are_named_by_their_part_with_digits_and_quantities_are_not_codes(
    text: str, found: set[str]
) -> None:
    assert codes(text) == found


def test_the_asked_models_section_states_its_code_and_a_look_alikes_section_clashes() -> None:
    signals = _signals("bàn AP-HD160 có ồn không")
    own = signals.score(_unit("Bàn nâng hạ điện AP-HD160", "Động cơ kép, độ ồn dưới 45 dB."))
    look_alike = signals.score(_unit("Bàn nâng hạ điện AP-HD140", "Động cơ đơn, độ ồn dưới 50 dB."))
    assert (own["x:code"], own["x:code_clash"]) == (1.0, 0.0)
    assert (look_alike["x:code"], look_alike["x:code_clash"]) == (0.0, 1.0)


def test_a_question_without_codes_has_no_code_signal() -> None:
    scored = _signals("bàn nâng hạ có ồn không").score(_unit("Bàn nâng hạ điện AP-HD140", "Độ ồn dưới 50 dB."))
    assert (scored["x:code"], scored["x:code_clash"]) == (0.0, 0.0)


def test_a_faq_entry_asking_another_kind_of_value_only_mentions_the_question() -> None:
    signals = _signals("bảo hành ghế bao lâu?")
    sinking = Unit(doc="faq.csv", section="Ghế bị lún dần thì phải làm sao?", title="FAQ",
                   text="Piston bảo hành 24 tháng.")
    how_long = Unit(doc="faq.csv", section="Ghế bảo hành mấy năm?", title="FAQ", text="Khung 36 tháng.")
    table = _unit("Thời hạn bảo hành theo loại sản phẩm", "Ghế: khung 36 tháng")
    assert signals.score(sinking)["x:asks_other"] == 1.0
    assert signals.score(how_long)["x:asks_other"] == 0.0
    assert signals.score(table)["x:asks_other"] == 0.0  # a section is not a question: it may answer any kind


def test_a_price_question_is_a_kind_of_value_too() -> None:
    assert "price" in asked_kinds("how much is the AP-C300 chair?")
    recline = Unit(doc="faq.csv", section="Ghế AP-C300 có ngả nằm được không?", title="FAQ", text="Có, 135 độ.")
    assert _signals("how much is the AP-C300 chair?").score(recline)["x:asks_other"] == 1.0


def test_a_question_asking_no_value_never_sets_a_faq_entry_aside() -> None:
    recline = Unit(doc="faq.csv", section="Ghế AP-C300 có ngả nằm được không?", title="FAQ", text="Có, 135 độ.")
    assert _signals("ghế AP-C300 có tựa đầu không").score(recline)["x:asks_other"] == 0.0


def _corpus_in(languages: dict[tuple[str, int], str], rows: list[list[float]]) -> _Corpus:
    vectors = DenseVectors.of(rows, [{"doc": doc, "ord": ord_} for doc, ord_ in languages])
    typed = {key: ("vi" if lang == "vi" else "en") for key, lang in languages.items()}
    return _Corpus(generation=1, units={}, keys=list(typed), bm25=None, languages=typed,  # type: ignore[arg-type]
                   language_means=_language_means(vectors, typed))  # type: ignore[arg-type]


def test_a_question_is_pulled_less_towards_the_language_it_is_nearest() -> None:
    corpus = _corpus_in({("vi.md", 0): "vi", ("vi.md", 1): "vi", ("en.md", 0): "en"},
                       [[1.0, 0.1, 0.0], [0.9, 0.0, 0.3], [0.0, 1.0, 0.0]])
    offsets = _language_offsets([0.1, 1.0, 0.0], corpus)  # a question near the English section
    assert offsets["en"] > 0 > offsets["vi"]
    assert offsets["en"] + offsets["vi"] == pytest.approx(0.0, abs=1e-4)


def test_a_corpus_in_one_language_has_no_language_offsets() -> None:
    corpus = _corpus_in({("a.md", 0): "en", ("b.md", 0): "en"}, [[1.0, 0.0], [0.0, 1.0]])
    assert corpus.language_means == {}
    assert _language_offsets(list(np.ones(2)), corpus) == {}


def test_a_faq_entry_is_judged_by_what_it_adds_to_the_question_accents_counted() -> None:
    quotation = Unit(doc="faq.csv", section="Bao lâu thì nhận được báo giá?", title="FAQ", text="Trong ngày.")
    delivery = Unit(doc="faq.csv", section="Bao lâu thì nhận được hàng?", title="FAQ", text="2-3 ngày.")
    section = _unit("Thời gian giao hàng", "Nội thành 1-2 ngày.")
    signals = _signals("bao lâu thì nhận đc hàng")

    assert signals.score(quotation)["x:faq_extra"] > 0.0  # "giá": the quotation is what it is about
    assert signals.score(delivery)["x:faq_extra"] == 0.0
    assert signals.score(section)["x:faq_extra"] == 0.0  # a heading that is not a question adds nothing
    # "tính" (charge) is not "tỉnh" (province) when the customer typed accents; unaccented, they cannot be told apart.
    fee = Unit(doc="faq.csv", section="Có tính phí lắp đặt không?", title="FAQ", text="Miễn phí.")
    assert _signals("giao tỉnh có lắp đặt không").score(fee)["x:faq_extra"] > _signals(
        "giao tinh co lap dat khong").score(fee)["x:faq_extra"]


def test_an_english_faq_entrys_plural_is_the_questions_singular() -> None:
    sundays = Unit(doc="faq.csv", section="Do you deliver on Sundays?", title="FAQ", text="On request.")

    assert _signals("do you deliver on sunday?").score(sundays)["x:faq_extra"] == 0.0


def test_what_a_faq_entry_adds_counts_only_where_faq_entries_compete_with_document_sections() -> None:
    from crm_core.retrieval.kb import _faq_and_sections

    faq = [Unit(doc="faq.csv", section="Bao lâu thì nhận được hàng?", title="FAQ", text="2-3 ngày."),
           Unit(doc="faq.csv", section="Có xuất hóa đơn không?", title="FAQ", text="Có.")]
    policy = Unit(doc="policies/giao-hang.md", section="Thời gian giao hàng", title="Giao hàng", text="1-2 ngày.")

    assert _faq_and_sections([*faq, policy])
    assert not _faq_and_sections(faq)
    assert not _faq_and_sections([policy])


def test_a_run_of_thousands_of_digits_is_no_number_and_breaks_nothing() -> None:
    from crm_core.retrieval.signals import numbers, ranges

    assert numbers("9" * 5000) == set()
    assert ranges("9" * 5000 + "-1") == []
    assert numbers("mua 50 bộ, giá 1.850.000 ₫") == {50, 1850000}
