"""The highlights paragraph: an LLM's text is kept only when every number in it is one of the figures."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from crm_core.config import Settings
from crm_core.ports import ChatModelPort, Ports
from crm_core.prompting import PromptLibrary
from crm_core.reports.flow import ReportFlow
from crm_core.reports.highlights import figures_text, numbers_in
from tests.conftest import OpenServices
from tests.core.test_reports import seed_book


async def _highlights(open_services: OpenServices, answer: str) -> tuple[object, str]:
    async with open_services() as services:
        book = await seed_book(services)
    settings = Settings()
    prompt = PromptLibrary(settings.prompts_dir).get("parse_log")
    ports = Ports(chat_model=ChatModelPort(model=FakeListChatModel(responses=[answer]), log_prompt=prompt,
                                           timeout_s=5.0))
    async with open_services() as services:
        summary = await ReportFlow(services=services, ports=ports, settings=settings).summary(book.quang)
    return summary.highlights, figures_text(summary)


async def test_an_llm_paragraph_made_of_the_figures_is_kept_with_its_prompt_version(
        open_services: OpenServices) -> None:
    paragraph = "Đội thắng 1 hợp đồng 480 triệu; Lan có 3 việc quá hạn và 1 cơ hội đứng yên."

    highlights, figures = await _highlights(open_services, paragraph)

    assert numbers_in(paragraph) <= numbers_in(figures)
    assert highlights.text == paragraph  # type: ignore[attr-defined]
    assert highlights.prompt == "summary_highlights@1"  # type: ignore[attr-defined]
    assert highlights.source == "llm"  # type: ignore[attr-defined]


async def test_an_llm_paragraph_with_a_number_not_in_the_figures_falls_back_to_the_rules(
        open_services: OpenServices) -> None:
    highlights, _ = await _highlights(open_services, "Đội thắng 7 hợp đồng, doanh thu tăng 25%.")

    assert highlights.text is None  # type: ignore[attr-defined]
    assert highlights.source == "rules"  # type: ignore[attr-defined]
    assert [f.key for f in highlights.facts][:2] == ["won", "created"]  # type: ignore[attr-defined]
